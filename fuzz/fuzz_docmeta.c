/* The GIF block walker and the SVG root finder on arbitrary bytes (what
 * info reads from any file and the client from any server), and the
 * writers: a record added to a document that scans must scan again and,
 * for SVG, read back exactly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gifmeta.h"
#include "svgmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT, out = BUF_INIT, meta = BUF_INIT;
	struct gif_info g;
	struct svg_info sv;
	static const char record[] = "{\"Description\":\"a <b> & </metadata> ]]>\"}";

	if (gifmeta_scan(data, size, &g, NULL, NULL, &err) == 0) {
		long frames = g.frames;
		if (gifmeta_add_comment(data, size, record, &out, &err) ||
		    gifmeta_scan((unsigned char *)out.data, out.len, &g, NULL, NULL, &err) ||
		    g.frames != frames)
			abort();   /* a GIF that scanned no longer does */
	}
	buf_reset(&out);
	if (svgmeta_scan((const char *)data, size, &sv, NULL, &err) == 0) {
		if (svgmeta_add((const char *)data, size, record, &out, &err) ||
		    svgmeta_scan(out.data, out.len, &sv, &meta, &err) ||
		    meta.len != strlen(record) || memcmp(meta.data, record, meta.len))
			abort();   /* the record was not read back as written */
	}
	svgmeta_sniff((const char *)data, size);
	buf_release(&err);
	buf_release(&out);
	buf_release(&meta);
	return 0;
}
