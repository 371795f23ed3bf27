/* An SVG document's root element (its size attributes) found by walking
 * the prolog, and imagegen's record kept in a <metadata id="imagegen">
 * element right after the root's start tag. Only the prolog, the root's
 * start tag and the document's end are read: this checks that a file is
 * an SVG document, it does not render or validate the drawing. */
#ifndef IMAGEGEN_SVGMETA_H
#define IMAGEGEN_SVGMETA_H

#include <stddef.h>

#include "util.h"

#define SVGMETA_ATTR_MAX 64

struct svg_info {
	char width[SVGMETA_ATTR_MAX];     /* as written ("1024", "100%"), or "" */
	char height[SVGMETA_ATTR_MAX];
	char view_box[SVGMETA_ATTR_MAX];
	size_t tag_end;                   /* offset just past the root start tag */
	int self_closing;                 /* <svg .../> */
};

/* Is this the start of an SVG document (its root element within len)? */
int svgmeta_sniff(const char *data, size_t len);

/* Checks that data is an SVG document (an <svg> root element, closed at
 * the end) and fills info; imagegen's record, when there is one, is
 * appended to meta (unescaped). 0, or -1 with the reason in err. */
int svgmeta_scan(const char *data, size_t len, struct svg_info *info, struct buf *meta,
		 struct buf *err);

/* out = the SVG in data with text (imagegen's record, escaped) as the
 * root's first child. 0, or -1 with the reason in err. */
int svgmeta_add(const char *data, size_t len, const char *text, struct buf *out,
		struct buf *err);

#endif
