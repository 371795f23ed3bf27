/* File-name slugs from prompts: "A cute baby sea otter!" -> "a-cute-baby-sea-otter". */
#ifndef IMAGEGEN_SLUG_H
#define IMAGEGEN_SLUG_H

#include <stddef.h>

#define SLUG_MAX 60

/* Lower-case ASCII letters and digits joined by single hyphens, cut at a word
 * boundary to at most max bytes (a single longer word is cut). Returns a new
 * string the caller frees; "image" when the text has no usable character. */
char *slug_make(const char *text, size_t max);

/* The folder name for a batch (seed 001): slugs of the first three prompts,
 * each at most 20 bytes, joined by hyphens, and "+N-more" when there are more.
 * The caller frees. */
char *slug_folder(const char *const *prompts, size_t count);

#endif
