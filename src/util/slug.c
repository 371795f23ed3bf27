#include "slug.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Latin letters as lower-case ASCII, made by scripts/slug-table.py: "-" a
 * sign that separates words, "" a letter kept as it is. */
static const char latin[][3] = {
	/* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* U+00C8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", "-",
	/* U+00D8 */ "o", "u", "u", "u", "u", "y", "th", "ss",
	/* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* U+00E8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", "-",
	/* U+00F8 */ "o", "u", "u", "u", "u", "y", "th", "y",
	/* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c",
	/* U+0108 */ "c", "c", "c", "c", "c", "c", "d", "d",
	/* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e",
	/* U+0118 */ "e", "e", "e", "e", "g", "g", "g", "g",
	/* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h",
	/* U+0128 */ "i", "i", "i", "i", "i", "i", "i", "i",
	/* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k",
	/* U+0138 */ "k", "l", "l", "l", "l", "l", "l", "l",
	/* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n",
	/* U+0148 */ "n", "n", "ng", "ng", "o", "o", "o", "o",
	/* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r",
	/* U+0158 */ "r", "r", "s", "s", "s", "s", "s", "s",
	/* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t",
	/* U+0168 */ "u", "u", "u", "u", "u", "u", "u", "u",
	/* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y",
	/* U+0178 */ "y", "z", "z", "z", "z", "z", "z", "s",
	/* U+0180 */ "b", "b", "", "", "", "", "", "c",
	/* U+0188 */ "c", "d", "", "", "", "", "", "",
	/* U+0190 */ "", "f", "f", "g", "", "", "", "i",
	/* U+0198 */ "k", "k", "l", "", "", "n", "", "",
	/* U+01A0 */ "o", "o", "oi", "oi", "p", "p", "", "",
	/* U+01A8 */ "", "", "", "t", "t", "t", "t", "u",
	/* U+01B0 */ "u", "", "", "y", "y", "z", "z", "",
	/* U+01B8 */ "", "", "", "", "", "", "", "w",
	/* U+01C0 */ "", "", "", "", "dz", "dz", "dz", "lj",
	/* U+01C8 */ "lj", "lj", "nj", "nj", "nj", "a", "a", "i",
	/* U+01D0 */ "i", "o", "o", "u", "u", "u", "u", "u",
	/* U+01D8 */ "u", "u", "u", "u", "u", "", "a", "a",
	/* U+01E0 */ "a", "a", "ae", "ae", "", "", "g", "g",
	/* U+01E8 */ "k", "k", "o", "o", "o", "o", "", "",
	/* U+01F0 */ "j", "dz", "dz", "dz", "g", "g", "", "w",
	/* U+01F8 */ "n", "n", "a", "a", "ae", "ae", "o", "o",
	/* U+0200 */ "a", "a", "a", "a", "e", "e", "e", "e",
	/* U+0208 */ "i", "i", "i", "i", "o", "o", "o", "o",
	/* U+0210 */ "r", "r", "r", "r", "u", "u", "u", "u",
	/* U+0218 */ "s", "s", "t", "t", "", "", "h", "h",
	/* U+0220 */ "", "", "", "", "z", "z", "a", "a",
	/* U+0228 */ "e", "e", "o", "o", "o", "o", "o", "o",
	/* U+0230 */ "o", "o", "y", "y", "", "", "", "",
	/* U+0238 */ "db", "qp", "", "c", "c", "l", "", "",
	/* U+0240 */ "", "", "", "", "u", "", "e", "e",
	/* U+0248 */ "j", "j", "", "", "r", "r", "y", "y",
};
static const char latin_additional[][3] = {
	/* U+1E00 */ "a", "a", "b", "b", "b", "b", "b", "b",
	/* U+1E08 */ "c", "c", "d", "d", "d", "d", "d", "d",
	/* U+1E10 */ "d", "d", "d", "d", "e", "e", "e", "e",
	/* U+1E18 */ "e", "e", "e", "e", "e", "e", "f", "f",
	/* U+1E20 */ "g", "g", "h", "h", "h", "h", "h", "h",
	/* U+1E28 */ "h", "h", "h", "h", "i", "i", "i", "i",
	/* U+1E30 */ "k", "k", "k", "k", "k", "k", "l", "l",
	/* U+1E38 */ "l", "l", "l", "l", "l", "l", "m", "m",
	/* U+1E40 */ "m", "m", "m", "m", "n", "n", "n", "n",
	/* U+1E48 */ "n", "n", "n", "n", "o", "o", "o", "o",
	/* U+1E50 */ "o", "o", "o", "o", "p", "p", "p", "p",
	/* U+1E58 */ "r", "r", "r", "r", "r", "r", "r", "r",
	/* U+1E60 */ "s", "s", "s", "s", "s", "s", "s", "s",
	/* U+1E68 */ "s", "s", "t", "t", "t", "t", "t", "t",
	/* U+1E70 */ "t", "t", "u", "u", "u", "u", "u", "u",
	/* U+1E78 */ "u", "u", "u", "u", "v", "v", "v", "v",
	/* U+1E80 */ "w", "w", "w", "w", "w", "w", "w", "w",
	/* U+1E88 */ "w", "w", "x", "x", "x", "x", "y", "y",
	/* U+1E90 */ "z", "z", "z", "z", "z", "z", "h", "t",
	/* U+1E98 */ "w", "y", "a", "s", "", "", "ss", "",
	/* U+1EA0 */ "a", "a", "a", "a", "a", "a", "a", "a",
	/* U+1EA8 */ "a", "a", "a", "a", "a", "a", "a", "a",
	/* U+1EB0 */ "a", "a", "a", "a", "a", "a", "a", "a",
	/* U+1EB8 */ "e", "e", "e", "e", "e", "e", "e", "e",
	/* U+1EC0 */ "e", "e", "e", "e", "e", "e", "e", "e",
	/* U+1EC8 */ "i", "i", "i", "i", "o", "o", "o", "o",
	/* U+1ED0 */ "o", "o", "o", "o", "o", "o", "o", "o",
	/* U+1ED8 */ "o", "o", "o", "o", "o", "o", "o", "o",
	/* U+1EE0 */ "o", "o", "o", "o", "u", "u", "u", "u",
	/* U+1EE8 */ "u", "u", "u", "u", "u", "u", "u", "u",
	/* U+1EF0 */ "u", "u", "y", "y", "y", "y", "y", "y",
	/* U+1EF8 */ "y", "y", "", "", "", "", "", "",
};

/* What one character adds to a slug. */
enum kind {
	SEPARATOR,   /* ends a word: space, punctuation, symbols, emoji */
	MARK,        /* adds nothing and ends nothing: a combining accent */
	TEXT,        /* adds text */
};

struct range {
	long lo, hi;
};

/* Punctuation, symbols and the like beyond ASCII: they end a word. */
static const struct range separators[] = {
	{ 0x0080, 0x00BF }, { 0x00D7, 0x00D7 }, { 0x00F7, 0x00F7 }, { 0x02B0, 0x02FF },
	{ 0x037E, 0x037E }, { 0x0387, 0x0387 }, { 0x055A, 0x055F }, { 0x0589, 0x058A },
	{ 0x05BE, 0x05BE }, { 0x05C0, 0x05C0 }, { 0x05C3, 0x05C3 }, { 0x060C, 0x060D },
	{ 0x061B, 0x061F }, { 0x066A, 0x066D }, { 0x06D4, 0x06D4 }, { 0x0964, 0x0965 },
	{ 0x0E4F, 0x0E4F }, { 0x0E5A, 0x0E5B }, { 0x2000, 0x200A }, { 0x2010, 0x2BFF },
	{ 0x2E00, 0x2E7F }, { 0x3000, 0x3004 }, { 0x3008, 0x3020 }, { 0x3030, 0x3030 },
	{ 0x303D, 0x303D }, { 0x30FB, 0x30FB }, { 0xD800, 0xF8FF }, { 0xFD3E, 0xFD3F },
	{ 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F }, { 0xFF00, 0xFF0F }, { 0xFF1A, 0xFF20 },
	{ 0xFF3B, 0xFF40 }, { 0xFF5B, 0xFF65 }, { 0xFFF0, 0xFFFF }, { 0x1F000, 0x1FAFF },
	{ 0xE0000, 0x10FFFF },
};

/* Combining marks and invisible joiners: "e" + U+0301 is "e". */
static const struct range marks[] = {
	{ 0x0300, 0x036F }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F },
	{ 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF },
};

static bool in(const struct range *r, size_t n, long cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

/* The code point at p, its length in *len (1 to 4); -1 for a byte that
 * starts no valid sequence (its length is then 1). */
static long decode(const unsigned char *p, size_t *len)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
		 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;

	*len = 1;
	if (!n)
		return -1;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return -1;
	if (utf8_length((const char *)p, n) != 1)
		return -1;   /* overlong, a surrogate or past U+10FFFF */
	long cp = n == 1 ? p[0] : n == 2 ? p[0] & 0x1F : n == 3 ? p[0] & 0x0F : p[0] & 0x07;
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3F);
	*len = n;
	return cp;
}

static size_t encode(long cp, char *out)
{
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Greek and Cyrillic capitals in lower case (the rest of the world's
 * letters are kept as written). */
static long lower(long cp)
{
	if ((cp >= 0x0391 && cp <= 0x03AB && cp != 0x03A2) || (cp >= 0x0410 && cp <= 0x042F))
		return cp + 0x20;
	if (cp >= 0x0400 && cp <= 0x040F)
		return cp + 0x50;
	return cp;
}

/* What the character cp (len bytes at p) adds: its text into out (at most 4
 * bytes) and *n, when TEXT. */
static enum kind classify(long cp, const unsigned char *p, size_t len, char *out, size_t *n)
{
	const char *ascii = NULL;

	if (cp < 0)
		return SEPARATOR;
	if (cp < 0x80) {
		if (!((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		      (cp >= '0' && cp <= '9')))
			return SEPARATOR;
		out[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp);
		*n = 1;
		return TEXT;
	}
	if (cp >= 0xC0 && cp <= 0x24F)
		ascii = latin[cp - 0xC0];
	else if (cp >= 0x1E00 && cp <= 0x1EFF)
		ascii = latin_additional[cp - 0x1E00];
	else if ((cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) ||
		 (cp >= 0xFF41 && cp <= 0xFF5A))
		return classify(cp - 0xFEE0, p, len, out, n);   /* full-width ASCII */
	if (ascii && !strcmp(ascii, "-"))
		return SEPARATOR;
	if (ascii && *ascii) {
		*n = strlen(ascii);
		memcpy(out, ascii, *n);
		return TEXT;
	}
	if (in(marks, ARRAY_SIZE(marks), cp))
		return MARK;
	if (in(separators, ARRAY_SIZE(separators), cp))
		return SEPARATOR;
	if (lower(cp) != cp) {
		*n = encode(lower(cp), out);
		return TEXT;
	}
	memcpy(out, p, len);
	*n = len;
	return TEXT;
}

char *slug_make(const char *text, size_t max)
{
	struct buf b = BUF_INIT;
	size_t last_cut = 0;   /* length before the last hyphen */
	int pending_hyphen = 0;

	if (max < 1)
		max = 1;
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		char add[4];
		size_t len, n = 0;
		long cp = decode(p, &len);
		enum kind kind = classify(cp, p, len, add, &n);

		p += len;
		if (kind == MARK)
			continue;
		if (kind == SEPARATOR) {
			pending_hyphen = b.len > 0;
			continue;
		}
		if (pending_hyphen) {
			if (b.len + 1 >= max)
				break;
			last_cut = b.len;
			buf_add(&b, "-", 1);
			pending_hyphen = 0;
		}
		if (b.len + n > max) {
			/* The word does not fit: drop it if an earlier word ended. */
			if (last_cut)
				b.len = last_cut;
			break;
		}
		buf_add(&b, add, n);
	}
	if (b.len && b.data[b.len - 1] == '-')
		b.len--;
	if (!b.len) {
		buf_release(&b);
		return xstrdup("image");
	}
	b.data[b.len] = '\0';
	return buf_detach(&b);
}

char *slug_folder(const char *const *prompts, size_t count)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < count && i < 3; i++) {
		char *s = slug_make(prompts[i], 20);
		buf_addf(&b, "%s%s", b.len ? "-" : "", s);
		free(s);
	}
	if (count > 3)
		buf_addf(&b, "-%zu-more", count - 3);
	if (!b.len)
		buf_adds(&b, "batch");
	return buf_detach(&b);
}
