/* File-name slugs from prompts: "A cute baby sea otter!" -> "a-cute-baby-sea-otter",
 * "Café über naïve 日本の猫" -> "cafe-uber-naive-日本の猫". */
#ifndef IMAGEGEN_SLUG_H
#define IMAGEGEN_SLUG_H

#include <stddef.h>

#define SLUG_MAX 60

/* The text's words joined by single hyphens, cut at a word boundary to at
 * most max bytes (a single longer word is cut, never inside a character).
 * ASCII letters and digits are kept in lower case; accented Latin letters
 * are spelled in ASCII (é e, ü u, ß ss, æ ae, ø o, þ th); the letters of
 * other scripts are kept as UTF-8 (Greek and Cyrillic in lower case);
 * combining accents are dropped; anything else (spaces, punctuation,
 * symbols, emoji, bytes that are not UTF-8) separates words. Returns a new
 * string the caller frees; "image" when the text has no usable character. */
char *slug_make(const char *text, size_t max);

/* The folder name for a batch (seed 001): slugs of the first three prompts,
 * each at most 20 bytes, joined by hyphens, and "+N-more" when there are more.
 * The caller frees. */
char *slug_folder(const char *const *prompts, size_t count);

#endif
