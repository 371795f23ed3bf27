#include "b64.h"

/* One more than the value: 1..64 for the alphabet, 65 for '=', 66 for line
 * breaks, and 0 (the default) for everything else, so that "not base64" needs
 * no entry of its own and value_of() subtracts one without a branch. */
static const unsigned char decode_table[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13,
	['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19,
	['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
	['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
	['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64, ['='] = 65,
	['\r'] = 66, ['\n'] = 66,
};

/* 0..63, 64 for '=', 65 for a line break, anything larger for the rest. */
static inline unsigned value_of(unsigned char c)
{
	return decode_table[c] - 1u;
}

/* Whole quanta of plain alphabet characters, four at a time, while the
 * decoder sits at a quantum boundary. Returns the characters consumed; the
 * bytes go to out from *n on, and *n is advanced. (The hot loop of a response:
 * no branch but the one that ends it, and nothing through pointers.) */
static size_t decode_fast(struct b64 *d, const unsigned char *in, size_t len,
			  unsigned char *out, size_t *n)
{
	unsigned char *o = out + *n;
	size_t i = 0;

	if (d->nbits || d->pad || (d->chars & 3))
		return 0;
	for (; i + 4 <= len; i += 4) {
		unsigned a = value_of(in[i]), b = value_of(in[i + 1]);
		unsigned c = value_of(in[i + 2]), e = value_of(in[i + 3]);
		if ((a | b | c | e) > 63)
			break;
		uint32_t v = a << 18 | b << 12 | c << 6 | e;
		o[0] = (unsigned char)(v >> 16);
		o[1] = (unsigned char)(v >> 8);
		o[2] = (unsigned char)v;
		o += 3;
	}
	*n = (size_t)(o - out);
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
		if (v > 65)
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
