/* Incremental, strict base64 decoding: fed text in pieces of any size, it
 * writes bytes as whole quanta arrive and rejects anything not base64. */
#ifndef IMAGEGEN_B64_H
#define IMAGEGEN_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct b64 {
	uint32_t acc;     /* pending bits */
	int nbits;
	int pad;          /* '=' seen */
	int pad_need;     /* '=' the last quantum needs */
	size_t chars;     /* base64 characters seen, padding included */
};
#define B64_INIT { 0, 0, 0, 0, 0 }

/* Space out needs for len characters. */
#define B64_OUT_MAX(len) ((len) / 4 * 3 + 3)

/* Decodes len characters into out (at least B64_OUT_MAX(len) bytes). Line
 * breaks are skipped. Returns the bytes written, or -1 on a character that is
 * not base64 or data after padding. */
ssize_t b64_decode(struct b64 *d, const char *in, size_t len, unsigned char *out);

/* Checks that the text ended on a whole quantum (padding optional). 0 or -1. */
int b64_finish(const struct b64 *d);

/* Encodes len bytes as padded base64 into out, which holds at least
 * B64_ENCODED_LEN(len) + 1 bytes; NUL-terminates; returns the length. */
#define B64_ENCODED_LEN(len) (((len) + 2) / 3 * 4)
size_t b64_encode(const unsigned char *in, size_t len, char *out);

#endif
