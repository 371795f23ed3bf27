/* Chroma-key removal: pixels near the key colour become transparent, with a
 * soft ramp at the edge, the key's colour taken back out of half-transparent
 * pixels, and spill (the key's tint on the subject) removed. Pure pixel work
 * on RGB bytes; libvips reads and writes the images (imgvips.c). */
#ifndef IMAGEGEN_CHROMA_H
#define IMAGEGEN_CHROMA_H

#include <stdbool.h>
#include <stddef.h>

#define CHROMA_DEFAULT_KEY "#00FF00"
#define CHROMA_DEFAULT_TOLERANCE 12.0   /* percent of the largest RGB distance */
#define CHROMA_DEFAULT_SOFTNESS 10.0

struct chroma_opts {
	bool enabled;       /* --chroma-key (or --key-color) was given */
	unsigned char key[3];
	bool auto_key;      /* sample the key from the image's border instead */
	double tolerance;   /* 0-100: at or below this distance, fully transparent */
	double softness;    /* 0-100: the ramp above it to fully opaque */
	bool despill;
};

/* "#RRGGBB" or "RRGGBB" (case-insensitive). 0 or -1. */
int chroma_parse_color(const char *s, unsigned char rgb[3]);

/* The background colour sampled from the image's border: the per-channel
 * median of every edge pixel. */
void chroma_auto_key(const unsigned char *rgb, int width, int height, unsigned char key[3]);

/* Keying a picture whose border is not mostly the key colour would cut holes
 * in its subject rather than take its background away: below this share of
 * border pixels the key would touch, --chroma-key leaves the image as sent. */
#define CHROMA_BORDER_MIN 0.5

/* The share (0 to 1) of the border pixels (the outermost row and column on
 * each side) that keying with o would make at least partly transparent. */
double chroma_border_match(const unsigned char *rgb, int width, int height,
			   const struct chroma_opts *o);

/* rgb (3 bytes a pixel) to rgba (4 bytes a pixel), npix pixels. Returns how
 * many pixels it made fully or partly transparent. */
size_t chroma_key(const unsigned char *rgb, unsigned char *rgba, size_t npix,
		  const struct chroma_opts *o);

#endif
