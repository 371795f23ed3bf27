/* The API's answers: the streaming scan of a response body (fed in the
 * chunks the input's first byte chooses), base64 decoding of what it diverts,
 * jansson on the residual, and the error parser on the raw body. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "b64.h"
#include "scan.h"

struct sink {
	struct b64 b64;
	int bad;
};

static int s_open(void *ud, size_t index)
{
	struct sink *s = ud;

	(void)index;
	s->b64 = (struct b64)B64_INIT;
	return 0;
}

static int s_write(void *ud, const char *text, size_t len)
{
	struct sink *s = ud;
	unsigned char out[B64_OUT_MAX(256)];

	while (len) {
		size_t take = len < 256 ? len : 256;
		if (b64_decode(&s->b64, text, take, out) < 0)
			return -1;
		text += take;
		len -= take;
	}
	return 0;
}

static int s_close(void *ud, size_t index)
{
	struct sink *s = ud;

	(void)index;
	return b64_finish(&s->b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink sink = { B64_INIT, 0 };
	struct scan_sink ss = { s_open, s_write, s_close, &sink };
	struct scan scan;
	struct api_error e;
	size_t step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	for (int keep = 0; keep < 2; keep++) {
		scan_init(&scan, &ss, keep);
		for (size_t at = 0; at < size; at += step)
			if (scan_feed(&scan, (const char *)data + at, size - at < step ? size - at : step))
				break;
		if (scan_finish(&scan) == 0) {
			json_t *root = json_loadb(scan.residual.data ? scan.residual.data : "",
						  scan.residual.len, 0, NULL);
			json_decref(root);
		}
		scan_release(&scan);
	}
	api_error_parse(&e, 400, (const char *)data, size, "req_fuzz");
	char *summary = api_error_summary(&e);
	free(summary);
	api_error_release(&e);
	return 0;
}
