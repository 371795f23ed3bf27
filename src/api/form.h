/* Multipart forms (edits, variations): text fields and file parts whose bytes
 * curl streams from disk when the request is sent, never held in memory. */
#ifndef IMAGEGEN_FORM_H
#define IMAGEGEN_FORM_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>

struct form_part {
	char *name;
	char *value;         /* text field, or NULL for a file */
	char *path;          /* file part: where the bytes are */
	char *filename;      /* file part: the name sent */
	const char *type;    /* file part: sniffed content type */
	long long size;
};

struct form {
	struct form_part *parts;
	size_t n;
};
#define FORM_INIT { NULL, 0 }

void form_add_text(struct form *f, const char *name, const char *value);
void form_add_long(struct form *f, const char *name, long value);
void form_add_file(struct form *f, const char *name, const char *path,
		   const char *type, long long size);
/* dst = a copy of src (every name and path duplicated). */
void form_copy(struct form *dst, const struct form *src);
/* What the form sends, for knowing a request again: text values, and each
 * file by its type and a digest of its bytes (read now), never its path. A
 * new reference. */
json_t *form_identity(const struct form *f);
/* Drops every part of that name. */
void form_remove(struct form *f, const char *name);
void form_release(struct form *f);

/* Builds curl's MIME structure for an easy handle; the caller (the transfer)
 * frees it with curl_mime_free. NULL on failure. */
curl_mime *form_mime(const struct form *f, CURL *easy);

/* The form as --dry-run shows it: text values, and for files their name,
 * type and size (never the bytes). */
void form_print(const struct form *f, FILE *out);
json_t *form_to_json(const struct form *f);

#endif
