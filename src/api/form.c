#include "form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static struct form_part *new_part(struct form *f, const char *name)
{
	struct form_part *parts = realloc(f->parts, (f->n + 1) * sizeof(*parts));

	if (!parts)
		abort();
	f->parts = parts;
	memset(&parts[f->n], 0, sizeof(parts[f->n]));
	parts[f->n].name = xstrdup(name);
	return &parts[f->n++];
}

void form_add_text(struct form *f, const char *name, const char *value)
{
	if (value)
		new_part(f, name)->value = xstrdup(value);
}

void form_add_long(struct form *f, const char *name, long value)
{
	if (value != -1)
		new_part(f, name)->value = xasprintf("%ld", value);
}

void form_add_file(struct form *f, const char *name, const char *path,
		   const char *type, long long size)
{
	struct form_part *p = new_part(f, name);

	p->path = xstrdup(path);
	p->filename = xstrdup(path_basename(path));
	p->type = type;
	p->size = size;
}

void form_copy(struct form *dst, const struct form *src)
{
	*dst = (struct form)FORM_INIT;
	for (size_t i = 0; i < src->n; i++) {
		const struct form_part *p = &src->parts[i];
		if (p->value) {
			form_add_text(dst, p->name, p->value);
		} else {
			form_add_file(dst, p->name, p->path, p->type, p->size);
			free(dst->parts[dst->n - 1].filename);
			dst->parts[dst->n - 1].filename = xstrdup(p->filename);
		}
	}
}

/* FNV-1a over a file's bytes, read in pieces; "unreadable" when it is not. */
static json_t *file_digest(const char *path)
{
	unsigned char chunk[65536];
	uint64_t h = 14695981039346656037ULL;
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return json_string("unreadable");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		for (size_t i = 0; i < n; i++)
			h = (h ^ chunk[i]) * 1099511628211ULL;
	fclose(f);
	return json_sprintf("%016llx", (unsigned long long)h);
}

json_t *form_identity(const struct form *f)
{
	json_t *parts = json_array();

	for (size_t i = 0; i < f->n; i++) {
		const struct form_part *p = &f->parts[i];
		json_t *o = json_pack("{s:s}", "name", p->name);

		if (p->value) {
			json_object_set_new(o, "value", json_string(p->value));
		} else {
			json_object_set_new(o, "type", json_string(p->type ? p->type : ""));
			json_object_set_new(o, "content", file_digest(p->path));
		}
		json_array_append_new(parts, o);
	}
	return parts;
}

static void part_release(struct form_part *p)
{
	free(p->name);
	free(p->value);
	free(p->path);
	free(p->filename);
}

void form_remove(struct form *f, const char *name)
{
	size_t kept = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (!strcmp(f->parts[i].name, name))
			part_release(&f->parts[i]);
		else
			f->parts[kept++] = f->parts[i];
	}
	f->n = kept;
}

void form_release(struct form *f)
{
	for (size_t i = 0; i < f->n; i++)
		part_release(&f->parts[i]);
	FREE_AND_NULL(f->parts);
	f->n = 0;
}

curl_mime *form_mime(const struct form *f, CURL *easy)
{
	curl_mime *mime = curl_mime_init(easy);

	for (size_t i = 0; mime && i < f->n; i++) {
		const struct form_part *p = &f->parts[i];
		curl_mimepart *part = curl_mime_addpart(mime);
		CURLcode rc;

		rc = curl_mime_name(part, p->name);
		if (p->value) {
			if (rc == CURLE_OK)
				rc = curl_mime_data(part, p->value, CURL_ZERO_TERMINATED);
		} else {
			if (rc == CURLE_OK)
				rc = curl_mime_filedata(part, p->path);
			if (rc == CURLE_OK)
				rc = curl_mime_filename(part, p->filename);
			if (rc == CURLE_OK)
				rc = curl_mime_type(part, p->type);
		}
		if (rc != CURLE_OK) {
			curl_mime_free(mime);
			mime = NULL;
		}
	}
	return mime;
}

void form_print(const struct form *f, FILE *out)
{
	fputs("multipart/form-data fields:\n", out);
	for (size_t i = 0; i < f->n; i++) {
		const struct form_part *p = &f->parts[i];
		if (p->value && strchr(p->value, '\n'))
			fprintf(out, "  %s:\n    %s\n", p->name, p->value);
		else if (p->value)
			fprintf(out, "  %s: %s\n", p->name, p->value);
		else
			fprintf(out, "  %s: file '%s' (%s, %lld bytes) from %s\n", p->name,
				p->filename, p->type, p->size, p->path);
	}
}

json_t *form_to_json(const struct form *f)
{
	json_t *parts = json_array();

	for (size_t i = 0; i < f->n; i++) {
		const struct form_part *p = &f->parts[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(p->name));
		if (p->value) {
			json_object_set_new(o, "value", json_string(p->value));
		} else {
			json_object_set_new(o, "filename", json_string(p->filename));
			json_object_set_new(o, "content_type", json_string(p->type));
			json_object_set_new(o, "size", json_integer(p->size));
			json_object_set_new(o, "path", json_string(p->path));
		}
		json_array_append_new(parts, o);
	}
	return parts;
}
