#include "svgmeta.h"

#include <stdlib.h>
#include <string.h>

#define META_OPEN "<metadata id=\"imagegen\">"
#define META_CLOSE "</metadata>"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Offset just past the first occurrence of end at or after at, or 0. */
static size_t past(const char *d, size_t len, size_t at, const char *end)
{
	size_t n = strlen(end);

	for (; at + n <= len; at++)
		if (!memcmp(d + at, end, n))
			return at + n;
	return 0;
}

/* Skips a DOCTYPE, its internal subset in [...] included. */
static size_t past_doctype(const char *d, size_t len, size_t at)
{
	char quote = 0;
	int subset = 0;

	for (; at < len; at++) {
		char c = d[at];
		if (quote) {
			quote = c == quote ? 0 : quote;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '[') {
			subset = 1;
		} else if (c == ']') {
			subset = 0;
		} else if (c == '>' && !subset) {
			return at + 1;
		}
	}
	return 0;
}

/* The offset of the root element's '<' after the BOM, XML declaration,
 * comments, processing instructions and DOCTYPE; (size_t)-1 when the
 * prolog does not end within len, (size_t)-2 when text comes first. */
static size_t find_root(const char *d, size_t len)
{
	size_t at = len >= 3 && !memcmp(d, "\xef\xbb\xbf", 3) ? 3 : 0;

	for (;;) {
		while (at < len && is_space(d[at]))
			at++;
		if (at >= len)
			return (size_t)-1;
		if (d[at] != '<')
			return (size_t)-2;
		if (len - at >= 2 && d[at + 1] == '?')
			at = past(d, len, at, "?>");
		else if (len - at >= 4 && !memcmp(d + at, "<!--", 4))
			at = past(d, len, at + 4, "-->");
		else if (len - at >= 9 && !memcmp(d + at, "<!DOCTYPE", 9))
			at = past_doctype(d, len, at + 9);
		else
			return at;
		if (!at)
			return (size_t)-1;
	}
}

static int root_is_svg(const char *d, size_t len, size_t at)
{
	return len - at >= 5 && !memcmp(d + at, "<svg", 4) &&
	       (is_space(d[at + 4]) || d[at + 4] == '>' || d[at + 4] == '/');
}

int svgmeta_sniff(const char *data, size_t len)
{
	size_t at = find_root(data, len);

	return at < len && root_is_svg(data, len, at);
}

/* Copies attribute name's value from the start tag d[from, to) into out. */
static void attribute(const char *d, size_t from, size_t to, const char *name,
		      char out[SVGMETA_ATTR_MAX])
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (size_t at = from; at + n + 2 < to; at++) {
		if (!is_space(d[at - 1]) || memcmp(d + at, name, n))
			continue;
		size_t v = at + n;
		while (v < to && is_space(d[v]))
			v++;
		if (v >= to || d[v] != '=')
			continue;
		for (v++; v < to && is_space(d[v]); v++)
			;
		if (v >= to || (d[v] != '"' && d[v] != '\''))
			continue;
		const char *end = memchr(d + v + 1, d[v], to - v - 1);
		size_t vlen = end ? (size_t)(end - d) - v - 1 : 0;
		if (end && vlen < SVGMETA_ATTR_MAX) {
			memcpy(out, d + v + 1, vlen);
			out[vlen] = '\0';
		}
		return;
	}
}

/* Offset past the start tag that opens at d[at] ('>' outside quotes). */
static size_t tag_end(const char *d, size_t len, size_t at)
{
	char quote = 0;

	for (; at < len; at++) {
		if (quote)
			quote = d[at] == quote ? 0 : quote;
		else if (d[at] == '"' || d[at] == '\'')
			quote = d[at];
		else if (d[at] == '>')
			return at + 1;
	}
	return 0;
}

/* The end of the document without its trailing space and comments. */
static size_t trim_misc(const char *d, size_t len)
{
	size_t end = len;

	for (;;) {
		while (end && is_space(d[end - 1]))
			end--;
		if (end < 7 || memcmp(d + end - 3, "-->", 3))
			return end;
		size_t open = end - 3;
		while (open >= 4 && memcmp(d + open - 4, "<!--", 4))
			open--;
		if (open < 4)
			return end;
		end = open - 4;
	}
}

/* Does the root end the document: its end tag (or, self-closing, its one
 * tag) then only space and comments? */
static int closed(const char *d, size_t len, const struct svg_info *info)
{
	size_t end = trim_misc(d, len);

	if (info->self_closing)
		return end == info->tag_end;
	if (end <= info->tag_end || d[end - 1] != '>')
		return 0;
	end--;
	while (end && is_space(d[end - 1]))
		end--;
	return end >= info->tag_end + 5 && !memcmp(d + end - 5, "</svg", 5);
}

static void unescape(struct buf *out, const char *p, size_t len)
{
	static const struct { const char *name; char c; } named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&apos;", '\'' },
	};

	for (size_t i = 0; i < len; i++) {
		size_t k = 0;
		while (p[i] == '&' && k < ARRAY_SIZE(named) &&
		       (len - i < strlen(named[k].name) ||
			memcmp(p + i, named[k].name, strlen(named[k].name))))
			k++;
		if (p[i] == '&' && k < ARRAY_SIZE(named)) {
			buf_add(out, &named[k].c, 1);
			i += strlen(named[k].name) - 1;
		} else {
			buf_add(out, p + i, 1);
		}
	}
}

int svgmeta_scan(const char *data, size_t len, struct svg_info *info, struct buf *meta,
		 struct buf *err)
{
	size_t root = find_root(data, len), end;

	memset(info, 0, sizeof(*info));
	if (root >= len || !root_is_svg(data, len, root)) {
		buf_addf(err, "not an SVG document (its root element is not <svg>)");
		return -1;
	}
	if (!(end = tag_end(data, len, root))) {
		buf_addf(err, "the SVG's <svg> tag is not closed");
		return -1;
	}
	info->tag_end = end;
	info->self_closing = data[end - 2] == '/';
	if (!closed(data, len, info)) {
		buf_addf(err, "the SVG document does not end with </svg> (cut short?)");
		return -1;
	}
	attribute(data, root + 4, end, "width", info->width);
	attribute(data, root + 4, end, "height", info->height);
	attribute(data, root + 4, end, "viewBox", info->view_box);
	if (meta && !info->self_closing) {
		size_t open = past(data, len, end, META_OPEN);
		size_t close = open ? past(data, len, open, META_CLOSE) : 0;
		if (close)
			unescape(meta, data + open, close - strlen(META_CLOSE) - open);
	}
	return 0;
}

static void escape(struct buf *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '&')
			buf_adds(out, "&amp;");
		else if (*p == '<')
			buf_adds(out, "&lt;");
		else if (*p == '>')
			buf_adds(out, "&gt;");
		else
			buf_add(out, p, 1);
	}
}

int svgmeta_add(const char *data, size_t len, const char *text, struct buf *out,
		struct buf *err)
{
	struct svg_info info;
	size_t head;

	if (svgmeta_scan(data, len, &info, NULL, err))
		return -1;
	head = info.tag_end;
	if (info.self_closing) {
		/* "<svg .../>" becomes "<svg ...>": every '/' before the '>' goes. */
		for (head--; head > 4 && (data[head - 1] == '/' || is_space(data[head - 1]));)
			head--;
	}
	buf_add(out, data, head);
	buf_adds(out, info.self_closing ? ">" META_OPEN : META_OPEN);
	escape(out, text);
	buf_adds(out, META_CLOSE);
	if (info.self_closing)
		buf_adds(out, "</svg>");
	buf_add(out, data + info.tag_end, len - info.tag_end);
	return 0;
}
