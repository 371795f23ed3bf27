/* Small shared helpers: a growable buffer, clocks, files, strings. */
#ifndef IMAGEGEN_UTIL_H
#define IMAGEGEN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FREE_AND_NULL(p) do { free(p); (p) = NULL; } while (0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A growable, always NUL-terminated byte buffer (git's strbuf). */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
#define BUF_INIT { NULL, 0, 0 }

/* Returns 0, or -1 when memory ran out (the buffer is left as it was). */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Hands the string to the caller (who frees it) and empties the buffer. */
char *buf_detach(struct buf *b);
void buf_release(struct buf *b);

/* Monotonic milliseconds. */
int64_t now_ms(void);

/* Caller frees. NULL only when memory ran out: callers treat that as fatal. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string; the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xcalloc(size_t n, size_t size);

bool path_exists(const char *path);
/* Creates DIR and its parents (mode 0777 minus umask); 0 or -1 with errno. */
int mkdir_p(const char *dir);
/* Reads a whole file or stream (at most max bytes) into out; 0, or -1 with
 * errno (EFBIG when larger than max). */
int read_all_fd(int fd, size_t max, struct buf *out);
int read_file(const char *path, size_t max, struct buf *out);

/* Number of UTF-8 code points, or -1 when s is not valid UTF-8. */
long utf8_length(const char *s, size_t len);
/* s with each byte that is not part of valid UTF-8 replaced by '?' (a name
 * on disk, for JSON); the caller frees. NULL only when memory ran out. */
char *utf8_scrub(const char *s);

/* The user's home folder: $HOME (read with env), else the password
 * database's; NULL when neither has one. Static or the environment's. */
const char *home_dir(const char *(*env)(const char *name));

/* Splits a path into its folder ("." when none) and base name; caller frees. */
char *path_dirname(const char *path);
const char *path_basename(const char *path);
/* Pointer to the extension's dot in the base name, or NULL. */
const char *path_ext(const char *path);
/* The length of path without its extension ("out/cat.png" -> 7). */
int path_stem_len(const char *path);

/* Of names[0..n), the one word is most likely a typo of: at most two edits
 * away (a character added, dropped, changed, or two swapped) and at most a
 * third of word's length, the first of the closest. NULL when none is, or
 * word is one of them. Borrowed from names. */
const char *closest_name(const char *word, const char *const *names, size_t n);

/* A list of borrowed strings (argv entries). */
struct strlist {
	const char **v;
	size_t n;
};
#define STRLIST_INIT { NULL, 0 }
int strlist_push(struct strlist *l, const char *s);
void strlist_release(struct strlist *l);

#endif
