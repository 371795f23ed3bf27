/* Input images for edits and variations: what each --image/--mask argument
 * is (a local file, an https URL, a data: URL or a File API id), checks on
 * local files by their content (libvips reads only headers), and the rules
 * the set of inputs must follow. */
#ifndef IMAGEGEN_INPUT_H
#define IMAGEGEN_INPUT_H

#include <stdbool.h>

#include "params.h"
#include "util.h"

#define INPUT_MAX_IMAGES 16
#define INPUT_MAX_BYTES (50LL * 1024 * 1024)
#define INPUT_DALLE2_MAX_BYTES (4LL * 1024 * 1024)
#define INPUT_MASK_MAX_BYTES (4LL * 1024 * 1024)

enum input_kind {
	INPUT_FILE,
	INPUT_URL,       /* https:// */
	INPUT_DATA_URL,  /* data:image/...;base64, */
	INPUT_FILE_ID,   /* file-... */
};

struct input {
	const char *arg;       /* as given; borrowed */
	const char *flag;      /* "--image" or "--mask" */
	enum input_kind kind;
	const char *format;    /* png, jpeg or webp by content; NULL if unknown */
	long long size;        /* bytes (files; decoded size for data URLs) */
	int width, height;     /* 0 when unknown (remote inputs) */
	bool has_alpha;
};

/* What an argument names, from its text alone (pure). */
enum input_kind input_classify(const char *arg, bool exists_locally);

/* Fills in and checks one input: a file exists, is readable, is a real
 * PNG/JPEG/WebP by content and under the size limit; a data: URL is a base64
 * image; an https URL or file id is taken as given. 0, or -1 with a message
 * naming the flag and the input in err. */
int input_inspect(struct input *in, const char *flag, const char *arg, struct buf *err);

/* The rules for a whole request (pure): at most 16 images; the mask a PNG
 * with alpha the size of the first image; dall-e-2 takes one square PNG
 * under 4 MB (and local files only). 0, or -1 with a message in err. */
int input_check_set(const struct input *images, size_t n, const struct input *mask,
		    const char *model, enum operation op, struct buf *err);

/* The markup of a markup-guided edit (gpt-image-2.6): a PNG whose drawn
 * arrows and notes show what to change, transparent elsewhere, the size of
 * the first image. Pure. 0, or -1 with a message in err; a rule the
 * reference marks unknown (markup with a mask) is a warning in warn. */
int input_check_markup(const struct input *first, const struct input *markup,
		       const struct input *mask, const char *model, struct buf *err,
		       struct buf *warn);

/* True when every input (and the mask) is a local file: multipart can carry
 * them. Otherwise the request is the JSON form. */
bool input_all_local(const struct input *images, size_t n, const struct input *mask);

/* The data: URL of a local file (read and encoded now). Caller frees; NULL
 * with a message in err. With preview, only the start is encoded and the
 * rest summarised, for --dry-run. */
char *input_data_url(const struct input *in, bool preview, struct buf *err);

/* A name stem for outputs: a file's base name without extension, a URL's
 * last path segment, the file id, or "image". Caller frees. */
char *input_stem(const struct input *in);

#endif
