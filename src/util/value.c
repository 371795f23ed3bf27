/* Strict number parsers shared by options, JSONL fields and response
 * headers: the whole text must be a number within the range. */
#include "value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int value_parse_long(const char *s, double min, double max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || (double)v < min || (double)v > max)
		return -1;
	*out = v;
	return 0;
}

int value_parse_seconds(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || (*s != '.' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int value_parse_dollars(const char *s, double min, double max, double *out)
{
	if (s && *s == '$')
		s++;
	for (const char *p = s; p && *p; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return -1;
	return value_parse_seconds(s, min, max, out);
}
