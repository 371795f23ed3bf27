#include "sniff.h"

#include <string.h>

#include "svgmeta.h"

const char *sniff_format(const unsigned char *head, size_t len)
{
	if (len >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8))
		return "png";
	if (len >= 3 && !memcmp(head, "\xff\xd8\xff", 3))
		return "jpeg";
	if (len >= 12 && !memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WEBP", 4))
		return "webp";
	if (len >= 6 && (!memcmp(head, "GIF87a", 6) || !memcmp(head, "GIF89a", 6)))
		return "gif";
	if (svgmeta_sniff((const char *)head, len))
		return "svg";
	return NULL;
}

const char *sniff_mime(const char *format)
{
	if (!format)
		return NULL;
	if (!strcmp(format, "png"))
		return "image/png";
	if (!strcmp(format, "jpeg"))
		return "image/jpeg";
	if (!strcmp(format, "webp"))
		return "image/webp";
	if (!strcmp(format, "gif"))
		return "image/gif";
	if (!strcmp(format, "svg"))
		return "image/svg+xml";
	return NULL;
}
