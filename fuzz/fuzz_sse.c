/* Server-Sent Events in arbitrary chunkings: the parser, and each event's
 * data through the scan as the stream code does it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "sse.h"

struct state {
	struct scan scan;
	int open;
	size_t events;
};

static int on_data(void *ud, const char *p, size_t len)
{
	struct state *s = ud;

	if (!s->open) {
		scan_reset(&s->scan);
		s->open = 1;
	}
	return scan_feed(&s->scan, p, len);
}

static int on_field(void *ud, const char *name, const char *value)
{
	(void)ud;
	return strlen(name) > SSE_NAME_MAX || strlen(value) > SSE_VALUE_MAX ? -1 : 0;
}

static int on_dispatch(void *ud)
{
	struct state *s = ud;

	if (s->open) {
		scan_finish(&s->scan);
		s->open = 0;
	}
	s->events++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st;
	struct sse_sink sink = { on_data, on_field, on_dispatch, &st };
	struct sse sse;
	size_t at = 0;

	if (size < 2)
		return 0;
	memset(&st, 0, sizeof(st));
	scan_init(&st.scan, NULL, false);
	sse_init(&sse, &sink);
	/* Chunk sizes come from a small table the first byte walks through. */
	unsigned seed = data[0];
	data++;
	size--;
	while (at < size) {
		size_t step = (seed = seed * 1103515245u + 12345u) % 97 + 1;
		if (step > size - at)
			step = size - at;
		if (sse_feed(&sse, (const char *)data + at, step))
			break;
		at += step;
	}
	(void)sse_incomplete(&sse);
	scan_release(&st.scan);
	return 0;
}
