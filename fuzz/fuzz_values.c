/* Option and value parsers: sizes, numbers, seconds, colours, retry-after
 * headers, UTF-8 lengths, slugs and naming from arbitrary text; and image
 * sizes read from arbitrary header bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chroma.h"
#include "naming.h"
#include "opt.h"
#include "value.h"
#include "params.h"
#include "retry.h"
#include "slug.h"
#include "sniff.h"

static bool nothing_exists(const char *path, const void *data)
{
	(void)path;
	(void)data;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	int w, h;
	long l;
	double d;
	unsigned char rgb[3];

	memcpy(s, data, size);
	s[size] = '\0';
	long sw, sh;
	if (sniff_dimensions(data, size, &sw, &sh) == 0 && (sw <= 0 || sh <= 0))
		abort();   /* a size is read only when it is one */
	(void)size_parse(s, &w, &h);
	(void)value_parse_long(s, -1e9, 1e9, &l);
	(void)value_parse_seconds(s, 0, 1e9, &d);
	(void)chroma_parse_color(s, rgb);
	(void)utf8_length(s, size);
	struct retry_hints hints = { s, s, s, s };
	(void)retry_hint_ms(&hints, 784111777);
	(void)retry_status(429, &hints);
	char *slug = slug_make(s, 1 + size % 80);
	free(slug);
	struct name_request r = { .prompt = s, .format = "png", .n = 1 + (long)(size % 3) };
	struct name_plan plan = NAME_PLAN_INIT;
	struct buf err = BUF_INIT;
	naming_plan(&r, nothing_exists, NULL, &plan, &err);
	name_plan_release(&plan);
	buf_release(&err);
	free(s);
	return 0;
}
