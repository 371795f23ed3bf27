#include "b64.h"

/* 0..63 for the alphabet, 64 for '=', 65 for line breaks, 255 for the rest. */
static const unsigned char decode_table[256] = {
	['A'] = 0, ['B'] = 1, ['C'] = 2, ['D'] = 3, ['E'] = 4, ['F'] = 5,
	['G'] = 6, ['H'] = 7, ['I'] = 8, ['J'] = 9, ['K'] = 10, ['L'] = 11,
	['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17,
	['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
	['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29,
	['e'] = 30, ['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35,
	['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
	['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
	['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53,
	['2'] = 54, ['3'] = 55, ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59,
	['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63, ['='] = 64,
	['\r'] = 65, ['\n'] = 65,
};

/* The table's zero entries are real zeros only for 'A'. */
static unsigned value_of(unsigned char c)
{
	unsigned v = decode_table[c];

	return v == 0 && c != 'A' ? 255 : v;
}

/* Whole quanta of plain alphabet characters, four at a time, while the
 * decoder sits at a quantum boundary. Returns the characters consumed. */
static size_t decode_fast(struct b64 *d, const unsigned char *in, size_t len,
			  unsigned char *out, size_t *n)
{
	size_t i = 0;

	if (d->nbits || d->pad || (d->chars & 3))
		return 0;
	while (i + 4 <= len) {
		unsigned a = value_of(in[i]), b = value_of(in[i + 1]);
		unsigned c = value_of(in[i + 2]), e = value_of(in[i + 3]);
		if ((a | b | c | e) > 63)
			break;
		uint32_t v = a << 18 | b << 12 | c << 6 | e;
		out[(*n)++] = (unsigned char)(v >> 16);
		out[(*n)++] = (unsigned char)(v >> 8);
		out[(*n)++] = (unsigned char)v;
		i += 4;
	}
	d->chars += i;
	return i;
}

ssize_t b64_decode(struct b64 *d, const char *in, size_t len, unsigned char *out)
{
	size_t n = 0;

	for (size_t i = decode_fast(d, (const unsigned char *)in, len, out, &n); i < len; i++) {
		if (d->nbits == 0 && !d->pad && !(d->chars & 3) && len - i >= 8) {
			i += decode_fast(d, (const unsigned char *)in + i, len - i, out, &n);
			if (i >= len)
				break;
		}
		unsigned v = value_of((unsigned char)in[i]);

		if (v == 65)
			continue;
		if (v == 255)
			return -1;
		d->chars++;
		if (v == 64) {
			/* Padding: "xx==" or "xxx=", nothing else. */
			if (!d->pad && (d->nbits == 4 || d->nbits == 2))
				d->pad_need = d->nbits == 4 ? 2 : 1;
			if (++d->pad > d->pad_need)
				return -1;
			continue;
		}
		if (d->pad)
			return -1;
		d->acc = (d->acc << 6) | v;
		d->nbits += 6;
		if (d->nbits >= 8) {
			d->nbits -= 8;
			out[n++] = (unsigned char)(d->acc >> d->nbits);
			d->acc &= (1u << d->nbits) - 1;
		}
	}
	return (ssize_t)n;
}

int b64_finish(const struct b64 *d)
{
	/* 6 leftover bits: a lone character in the last quantum. */
	if (d->nbits == 6)
		return -1;
	return d->pad == d->pad_need ? 0 : -1;
}

size_t b64_encode(const unsigned char *in, size_t len, char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i = 0;

	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
