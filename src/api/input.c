#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "imgvips.h"
#include "model.h"
#include "slug.h"
#include "sniff.h"

static bool is_file_id(const char *s)
{
	if (strncmp(s, "file-", 5) || !s[5])
		return false;
	for (const char *p = s + 5; *p; p++)
		if (!(*p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

enum input_kind input_classify(const char *arg, bool exists_locally)
{
	if (exists_locally)
		return INPUT_FILE;
	if (!strncmp(arg, "https://", 8))
		return INPUT_URL;
	if (!strncmp(arg, "data:", 5))
		return INPUT_DATA_URL;
	if (is_file_id(arg))
		return INPUT_FILE_ID;
	return INPUT_FILE;
}

/* Width, height and alpha from the header; libvips reads no pixels here. */
static int read_header(struct input *in, struct buf *err)
{
	struct img_header h;
	struct buf why = BUF_INIT;

	if (imgvips_header(in->arg, &h, &why)) {
		buf_addf(err, "%s '%s': cannot read the image: %s", in->flag, in->arg,
			 why.data ? why.data : "unknown error");
		buf_release(&why);
		return -1;
	}
	in->width = h.width;
	in->height = h.height;
	in->has_alpha = h.has_alpha;
	return 0;
}

/* What the API takes as an input image. */
static bool input_format_ok(const char *format)
{
	return format && (!strcmp(format, "png") || !strcmp(format, "jpeg") ||
			  !strcmp(format, "webp"));
}

/* What a file that is not a regular one is, for the message. */
static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a folder" : S_ISFIFO(mode) ? "a FIFO (named pipe)" :
	       S_ISSOCK(mode) ? "a socket" : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" :
	       "not a regular file";
}

static const char *format_name(const char *format)
{
	return !strcmp(format, "png") ? "PNG" : !strcmp(format, "jpeg") ? "JPEG" : "WebP";
}

/* The whole file is read: a PNG, JPEG or WebP cut short has a whole header,
 * and would be uploaded (and paid for) as it is. 0, or -1 with why. */
static int check_complete(struct input *in, int fd, struct buf *err)
{
	struct buf bytes = BUF_INIT;
	const char *why;
	int rc = 0;

	if (lseek(fd, 0, SEEK_SET) != 0 || read_all_fd(fd, (size_t)INPUT_MAX_BYTES, &bytes)) {
		buf_addf(err, "%s '%s': cannot read: %s", in->flag, in->arg, strerror(errno));
		rc = -1;
	} else if ((why = sniff_incomplete((const unsigned char *)bytes.data, bytes.len,
					   in->format))) {
		buf_addf(err, "%s '%s': not a whole %s image: %s", in->flag, in->arg,
			 format_name(in->format), why);
		rc = -1;
	}
	buf_release(&bytes);
	return rc;
}

static int inspect_file(struct input *in, struct buf *err)
{
	unsigned char head[SNIFF_BYTES];
	struct stat st = { 0 };
	ssize_t got;
	int rc = -1;
	/* Not blocking: opening a FIFO to read waits for a writer, forever. */
	int fd = open(in->arg, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		buf_addf(err, "%s '%s': %s", in->flag, in->arg, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		buf_addf(err, "%s '%s': %s; give an image file", in->flag, in->arg,
			 file_kind(st.st_mode));
		goto cleanup;
	}
	got = read(fd, head, sizeof(head));
	in->size = st.st_size;
	in->format = got > 0 ? sniff_format(head, (size_t)got) : NULL;
	if (!input_format_ok(in->format)) {
		buf_addf(err, "%s '%s': not a PNG, JPEG or WebP image by its content%s%s",
			 in->flag, in->arg, in->format ? " (it is " : "",
			 !in->format ? "" : !strcmp(in->format, "gif") ? "a GIF)" : "an SVG)");
		in->format = NULL;
		goto cleanup;
	}
	if (in->size >= INPUT_MAX_BYTES) {
		buf_addf(err, "%s '%s': %lld bytes; images must be under 50 MB",
			 in->flag, in->arg, in->size);
		goto cleanup;
	}
	rc = check_complete(in, fd, err) ? -1 : read_header(in, err);
cleanup:
	close(fd);
	return rc;
}

/* A data: URL's picture, decoded whole, as a file's is read whole. */
static int check_data_complete(const struct input *in, const char *text, size_t len,
			       struct buf *err)
{
	unsigned char *bytes = malloc(B64_OUT_MAX(len));
	struct b64 d = B64_INIT;
	ssize_t n;
	const char *why;

	if (!bytes)
		abort();
	n = b64_decode(&d, text, len, bytes);
	why = n < 0 || b64_finish(&d) ? "its base64 is broken" :
	      sniff_incomplete(bytes, (size_t)n, in->format);
	free(bytes);
	if (!why)
		return 0;
	buf_addf(err, "%s: the data: URL is not a whole %s image: %s", in->flag,
		 format_name(in->format), why);
	return -1;
}

static int inspect_data_url(struct input *in, struct buf *err)
{
	const char *comma = strchr(in->arg, ',');
	const char *type = in->arg + 5;
	unsigned char head[B64_OUT_MAX(24)];
	struct b64 d = B64_INIT;
	size_t type_len;

	if (!comma || comma - type < 8 || strncmp(comma - 7, ";base64", 7)) {
		buf_addf(err, "%s: a data: URL must be data:image/TYPE;base64,DATA", in->flag);
		return -1;
	}
	type_len = (size_t)(comma - 7 - type);
	size_t text_len = strlen(comma + 1);
	size_t take = text_len < 24 ? text_len : 24;
	ssize_t n = b64_decode(&d, comma + 1, take, head);
	in->format = n > 0 ? sniff_format(head, (size_t)n) : NULL;
	if (!input_format_ok(in->format) ||
	    strncmp(type, sniff_mime(in->format), type_len) ||
	    strlen(sniff_mime(in->format)) != type_len) {
		buf_addf(err, "%s: the data: URL is not a PNG, JPEG or WebP image of the "
			 "type it declares", in->flag);
		in->format = NULL;
		return -1;
	}
	in->size = (long long)(text_len / 4 * 3);
	if (in->size >= INPUT_MAX_BYTES) {
		buf_addf(err, "%s: the data: URL holds %lld bytes; images must be under 50 MB",
			 in->flag, in->size);
		return -1;
	}
	return check_data_complete(in, comma + 1, text_len, err);
}

int input_inspect(struct input *in, const char *flag, const char *arg, struct buf *err)
{
	memset(in, 0, sizeof(*in));
	in->arg = arg;
	in->flag = flag;
	in->kind = input_classify(arg, path_exists(arg));
	if (!strncmp(arg, "http://", 7) && in->kind != INPUT_FILE) {
		buf_addf(err, "%s '%s': the API fetches https:// URLs only", flag, arg);
		return -1;
	}
	switch (in->kind) {
	case INPUT_FILE:
		return inspect_file(in, err);
	case INPUT_DATA_URL:
		return inspect_data_url(in, err);
	default:
		return 0;
	}
}

bool input_all_local(const struct input *images, size_t n, const struct input *mask)
{
	for (size_t i = 0; i < n; i++)
		if (images[i].kind != INPUT_FILE)
			return false;
	return !mask || mask->kind == INPUT_FILE;
}

/* An image laid over the first one (a mask, a markup): a PNG under
 * max_bytes (0: any size) whose alpha means something (alpha_use), the same
 * size as the first image. 0, or -1 with a message naming its flag. */
static int check_overlay(const struct input *first, const struct input *in,
			 long long max_bytes, const char *alpha_use, struct buf *err)
{
	if (in->format && strcmp(in->format, "png")) {
		buf_addf(err, "%s '%s': must be a PNG (it is %s)", in->flag, in->arg, in->format);
		return -1;
	}
	if (max_bytes && in->size >= max_bytes) {
		buf_addf(err, "%s '%s': %lld bytes; a mask must be under 4 MB", in->flag,
			 in->arg, in->size);
		return -1;
	}
	if (in->kind == INPUT_FILE && !in->has_alpha) {
		buf_addf(err, "%s '%s': needs an alpha channel (%s)", in->flag, in->arg, alpha_use);
		return -1;
	}
	if (first->width && in->width &&
	    (first->width != in->width || first->height != in->height)) {
		buf_addf(err, "%s '%s': %dx%d, but the first image is %dx%d; they must "
			 "be the same size", in->flag, in->arg, in->width, in->height,
			 first->width, first->height);
		return -1;
	}
	return 0;
}

static int check_mask(const struct input *first, const struct input *mask, struct buf *err)
{
	return check_overlay(first, mask, INPUT_MASK_MAX_BYTES,
			     "transparent areas mark where to edit", err);
}

/* dall-e-2: one square PNG under 4 MB, as a file. */
static int check_dalle2(const struct input *in, struct buf *err)
{
	if (in->kind != INPUT_FILE) {
		buf_addf(err, "%s '%s': dall-e-2 takes uploaded files only", in->flag, in->arg);
		return -1;
	}
	if (strcmp(in->format, "png")) {
		buf_addf(err, "%s '%s': dall-e-2 takes PNG images only (it is %s)",
			 in->flag, in->arg, in->format);
		return -1;
	}
	if (in->width != in->height) {
		buf_addf(err, "%s '%s': dall-e-2 takes square images only (it is %dx%d)",
			 in->flag, in->arg, in->width, in->height);
		return -1;
	}
	if (in->size >= INPUT_DALLE2_MAX_BYTES) {
		buf_addf(err, "%s '%s': %lld bytes; dall-e-2 takes images under 4 MB",
			 in->flag, in->arg, in->size);
		return -1;
	}
	return 0;
}

int input_check_set(const struct input *images, size_t n, const struct input *mask,
		    const char *model, enum operation op, struct buf *err)
{
	const struct model *m = model_find(model);
	bool dalle2 = m && m->family == FAMILY_DALLE2;

	if (n == 0) {
		buf_addf(err, "--image: give at least one input image");
		return -1;
	}
	if (n > INPUT_MAX_IMAGES) {
		buf_addf(err, "--image: %zu images; at most %d", n, INPUT_MAX_IMAGES);
		return -1;
	}
	if (op == OP_VARIATION && (n > 1 || mask)) {
		buf_addf(err, "--image: a variation takes one image and no mask");
		return -1;
	}
	if (dalle2 && n > 1) {
		buf_addf(err, "--image: dall-e-2 edits take one image, not %zu", n);
		return -1;
	}
	if (mask && check_mask(&images[0], mask, err))
		return -1;
	if (dalle2 && (check_dalle2(&images[0], err) || (mask && check_dalle2(mask, err))))
		return -1;
	return 0;
}

int input_check_markup(const struct input *first, const struct input *markup,
		       const struct input *mask, const char *model, struct buf *err,
		       struct buf *warn)
{
	const struct model *m = model_find(model);

	if (m && !m->markup) {
		buf_addf(err, "--markup: only the gpt-image-2.6 models take a markup image, "
			 "not %s", m->name);
		return -1;
	}
	if (check_overlay(first, markup, 0, "transparent except for the marks", err))
		return -1;
	if (mask)
		buf_addf(warn, "--markup with --mask: whether the API takes both is not "
			 "documented; sending both\n");
	return 0;
}

char *input_data_url(const struct input *in, bool preview, struct buf *err)
{
	struct buf bytes = BUF_INIT;
	const char *mime = sniff_mime(in->format);
	char *url;

	if (in->kind == INPUT_DATA_URL && preview)
		return xasprintf("%.*s...(%zu characters)", (int)(strchr(in->arg, ',') - in->arg + 1),
				 in->arg, strlen(in->arg));
	if (in->kind == INPUT_DATA_URL)
		return xstrdup(in->arg);
	if (preview) {
		return xasprintf("data:%s;base64,...(%lld bytes from %s)", mime,
				 in->size, in->arg);
	}
	if (read_file(in->arg, (size_t)INPUT_MAX_BYTES, &bytes)) {
		buf_addf(err, "%s '%s': %s", in->flag, in->arg, strerror(errno));
		buf_release(&bytes);
		return NULL;
	}
	size_t prefix = strlen("data:") + strlen(mime) + strlen(";base64,");
	url = malloc(prefix + B64_ENCODED_LEN(bytes.len) + 1);
	if (!url)
		abort();
	snprintf(url, prefix + 1, "data:%s;base64,", mime);
	b64_encode((const unsigned char *)bytes.data, bytes.len, url + prefix);
	buf_release(&bytes);
	return url;
}

char *input_stem(const struct input *in)
{
	const char *base;
	const char *dot;
	char *stem, *slug;

	switch (in->kind) {
	case INPUT_FILE:
		base = path_basename(in->arg);
		dot = path_ext(base);
		return dot ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
	case INPUT_URL:
		stem = xstrndup(in->arg, strcspn(in->arg, "?#"));
		base = path_basename(stem);
		dot = path_ext(base);
		slug = xstrndup(base, dot ? (size_t)(dot - base) : strlen(base));
		free(stem);
		stem = slug_make(slug, SLUG_MAX);
		free(slug);
		return stem;
	case INPUT_FILE_ID:
		return slug_make(in->arg, SLUG_MAX);
	default:
		return xstrdup("image");
	}
}
