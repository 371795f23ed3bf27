/* Response headers as a server may send them: each line through the header
 * parser, then the values that decide waits and retries (retry-after,
 * retry-after-ms, x-should-retry, x-ratelimit-*-requests) through their
 * parsers. A delay is never negative unless it says "none" (-1). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "pace.h"
#include "retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_xfer x;
	const char *p = (const char *)data, *end = p + size;

	memset(&x, 0, sizeof(x));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		http_header_line(&x, p, len);
		p += len;
	}
	struct retry_hints hints = { x.resp.retry_after_ms, x.resp.retry_after,
				     x.resp.should_retry, NULL };
	long hint = retry_hint_ms(&hints, 1796000000);
	if (hint < -1)
		abort();
	(void)retry_status(429, &hints);
	(void)retry_status(500, &hints);
	long reset = pace_parse_duration(x.resp.reset_requests);
	if (reset < -1)
		abort();
	(void)pace_parse_duration(x.resp.limit_requests);
	http_xfer_reset(&x);
	return 0;
}
