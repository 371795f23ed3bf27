#include "chroma.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DISTANCE 441.6729559300637   /* sqrt(3) * 255 */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int chroma_parse_color(const char *s, unsigned char rgb[3])
{
	if (*s == '#')
		s++;
	if (strlen(s) != 6)
		return -1;
	for (int i = 0; i < 3; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		rgb[i] = (unsigned char)(hi * 16 + lo);
	}
	return 0;
}

static unsigned char median(unsigned *counts, size_t total)
{
	size_t seen = 0;

	for (int v = 0; v < 256; v++) {
		seen += counts[v];
		if (seen * 2 >= total)
			return (unsigned char)v;
	}
	return 255;
}

void chroma_auto_key(const unsigned char *rgb, int width, int height, unsigned char key[3])
{
	unsigned counts[3][256];
	size_t total = 0;

	memset(counts, 0, sizeof(counts));
	for (int y = 0; y < height; y++) {
		for (int x = 0; x < width; x++) {
			if (y != 0 && y != height - 1 && x != 0 && x != width - 1)
				continue;
			const unsigned char *p = rgb + ((size_t)y * (size_t)width + (size_t)x) * 3;
			for (int c = 0; c < 3; c++)
				counts[c][p[c]]++;
			total++;
		}
	}
	for (int c = 0; c < 3; c++)
		key[c] = total ? median(counts[c], total) : 0;
}

static unsigned char clamp255(double v)
{
	return v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char)lround(v);
}

/* Spill: the key's tint on the subject. The key's strong channels may not
 * rise above the subject's others by more than they do without the tint:
 * green key: g <= max(r, b); magenta key: min(r, b) - g is the spill taken
 * off r and b. A key with no weak (white) or no strong (black) channel has no
 * tint to tell apart. */
static void despill(unsigned char px[3], const unsigned char key[3])
{
	int strong_min = 256, weak_max = -1;

	for (int c = 0; c < 3; c++) {
		if (key[c] >= 128 && px[c] < strong_min)
			strong_min = px[c];
		if (key[c] < 128 && px[c] > weak_max)
			weak_max = px[c];
	}
	if (strong_min == 256 || weak_max < 0 || strong_min <= weak_max)
		return;
	for (int c = 0; c < 3; c++)
		if (key[c] >= 128)
			px[c] = (unsigned char)(px[c] - (strong_min - weak_max));
}

/* The alpha keying gives a pixel: 0 (the key) to 1 (kept). */
static double key_alpha(const unsigned char *p, const struct chroma_opts *o)
{
	double lo = o->tolerance / 100.0 * MAX_DISTANCE;
	double ramp = o->softness / 100.0 * MAX_DISTANCE;
	double dr = p[0] - o->key[0], dg = p[1] - o->key[1], db = p[2] - o->key[2];
	double d = sqrt(dr * dr + dg * dg + db * db);

	return d <= lo ? 0.0 : ramp <= 0 || d >= lo + ramp ? 1.0 : (d - lo) / ramp;
}

double chroma_border_match(const unsigned char *rgb, int width, int height,
			   const struct chroma_opts *o)
{
	size_t total = 0, touched = 0;

	for (int y = 0; y < height; y++) {
		/* Every pixel of the first and last rows; the two ends of the others. */
		int step = y == 0 || y == height - 1 ? 1 : width - 1;
		for (int x = 0; x < width; x += step > 0 ? step : 1) {
			const unsigned char *p = rgb + ((size_t)y * (size_t)width + (size_t)x) * 3;
			touched += key_alpha(p, o) < 1.0;
			total++;
		}
	}
	return total ? (double)touched / (double)total : 0.0;
}

size_t chroma_key(const unsigned char *rgb, unsigned char *rgba, size_t npix,
		  const struct chroma_opts *o)
{
	size_t keyed = 0;

	for (size_t i = 0; i < npix; i++) {
		const unsigned char *p = rgb + i * 3;
		unsigned char *q = rgba + i * 4;
		double a = key_alpha(p, o);

		if (a > 0 && a < 1) {
			/* Take the key's share back out: p = a * colour + (1 - a) * key. */
			for (int c = 0; c < 3; c++)
				q[c] = clamp255((p[c] - (1 - a) * o->key[c]) / a);
		} else {
			memcpy(q, p, 3);
		}
		if (a > 0 && o->despill)
			despill(q, o->key);
		if (a == 0)
			memset(q, 0, 3);
		q[3] = clamp255(a * 255);
		keyed += q[3] < 255;
	}
	return keyed;
}
