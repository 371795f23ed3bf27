#include "gallery.h"

#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "imagework.h"
#include "naming.h"
#include "price.h"
#include "sniff.h"

void gallery_escape(struct buf *out, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		switch (*p) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\'': buf_adds(out, "&#39;"); break;
		default: buf_add(out, p, 1);
		}
	}
}

/* File names are written into attributes percent-encoded (a name is plain,
 * but may hold spaces, '#' or '?'). */
static void url_escape(struct buf *out, const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~/", *p))
			buf_add(out, p, 1);
		else
			buf_addf(out, "%%%02X", *p);
	}
}

static bool newer_or_same(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_mtime >= sb.st_mtime;
}

/* An SVG is its own thumbnail: it scales without a copy. */
static bool is_vector(const char *name)
{
	const char *ext = path_ext(name);

	return ext && ext_format(ext) && !strcmp(ext_format(ext), "svg");
}

bool gallery_shows_itself(const char *dir, const char *name)
{
	char *image;
	unsigned char *head;
	ssize_t got = -1;
	long w, h;
	int fd;

	if (is_vector(name))
		return true;
	/* From the header, read here: libvips would cost a batch of small
	 * images its 40 ms start for nothing. */
	image = xasprintf("%s/%s", dir, name);
	fd = open(image, O_RDONLY | O_CLOEXEC);
	free(image);
	if (fd < 0)
		return false;
	head = xcalloc(1, SNIFF_DIMENSIONS_BYTES);
	/* A PNG, GIF or WebP says it at once; a JPEG may need more. */
	got = pread(fd, head, SNIFF_BYTES, 0);
	bool known = got > 0 && !sniff_dimensions(head, (size_t)got, &w, &h);
	if (!known && got == SNIFF_BYTES) {
		got = pread(fd, head, SNIFF_DIMENSIONS_BYTES, 0);
		known = got > 0 && !sniff_dimensions(head, (size_t)got, &w, &h);
	}
	close(fd);
	free(head);
	return known && w * h <= GALLERY_ITSELF_PIXELS;
}

/* thumbs/NAME for an image that needs one, unless it is up to date. */
static int make_thumbnail(const char *dir, const char *name, struct buf *err)
{
	char *image = xasprintf("%s/%s", dir, name);
	char *thumb = xasprintf("%s/%s/%s", dir, GALLERY_THUMB_DIR, name);
	char *written = NULL;
	int rc = 0;

	if (!newer_or_same(thumb, image)) {
		unsigned char head[SNIFF_BYTES] = { 0 };
		FILE *f = fopen(image, "rb");
		size_t got = f ? fread(head, 1, sizeof(head), f) : 0;
		const char *format = sniff_format(head, got);

		if (f)
			fclose(f);
		rc = format ? work_downscale(image, format, GALLERY_THUMB_SIZE, thumb, true,
					     NULL, NULL, &written, err) : -1;
		if (!format)
			buf_addf(err, "'%s' is not an image", image);
	}
	free(written);
	free(thumb);
	free(image);
	return rc;
}

int gallery_thumbnail(const char *dir, const char *name, struct buf *err)
{
	return gallery_shows_itself(dir, name) ? 0 : make_thumbnail(dir, name, err);
}

static void card_details(struct buf *h, json_t *entry)
{
	json_t *params = json_object_get(entry, "parameters");
	json_t *usage = json_object_get(entry, "usage");
	const char *key;
	json_t *v;

	buf_adds(h, "<dl>");
	json_object_foreach(params, key, v) {
		char *text = json_is_string(v) ? xstrdup(json_string_value(v))
					       : json_dumps(v, JSON_ENCODE_ANY);
		buf_adds(h, "<dt>");
		gallery_escape(h, key);
		buf_adds(h, "</dt><dd>");
		gallery_escape(h, text);
		buf_adds(h, "</dd>");
		free(text);
	}
	if (json_is_object(usage))
		buf_addf(h, "<dt>tokens</dt><dd>%" JSON_INTEGER_FORMAT "</dd>",
			 json_integer_value(json_object_get(usage, "total_tokens")));
	if (json_is_number(json_object_get(json_object_get(entry, "cost"), "usd"))) {
		char usd[32];
		buf_addf(h, "<dt>cost</dt><dd class=\"cost\">%s</dd>",
			 price_format(json_number_value(json_object_get(json_object_get(entry,
										"cost"),
								    "usd")), usd));
	} else if (json_object_get(entry, "cost")) {
		buf_adds(h, "<dt>cost</dt><dd class=\"cost\">unknown</dd>");
	}
	buf_adds(h, "</dl>");
}

static void card(struct buf *h, const char *dir, json_t *entry, struct buf *problems)
{
	json_t *files = json_object_get(entry, "files");
	const char *error = json_string_value(json_object_get(entry, "error"));
	size_t i;
	json_t *f;

	buf_addf(h, "<figure class=\"%s\">", error ? "job failed" : "job");
	json_array_foreach(files, i, f) {
		const char *name = json_string_value(f);
		struct buf why = BUF_INIT;
		if (!name)
			continue;
		bool itself = gallery_shows_itself(dir, name);
		if (!itself && make_thumbnail(dir, name, &why))
			buf_addf(problems, "%s: %s\n", name, why.data ? why.data : "?");
		buf_release(&why);
		buf_adds(h, "<a href=\"");
		url_escape(h, name);
		buf_adds(h, itself ? "\"><img loading=\"lazy\" decoding=\"async\" src=\""
				   : "\"><img loading=\"lazy\" decoding=\"async\" src=\""
				     GALLERY_THUMB_DIR "/");
		url_escape(h, name);
		buf_adds(h, "\" alt=\"");
		gallery_escape(h, name);
		buf_adds(h, "\"></a>");
	}
	buf_addf(h, "<figcaption><span class=\"n\">%" JSON_INTEGER_FORMAT "</span> ",
		 json_integer_value(json_object_get(entry, "index")));
	gallery_escape(h, json_string_value(json_object_get(entry, "prompt")));
	card_details(h, entry);
	if (error) {
		buf_adds(h, "<p class=\"error\">");
		gallery_escape(h, error);
		buf_adds(h, "</p>");
	}
	buf_adds(h, "</figcaption></figure>\n");
}

/* The folder's images and what they cost, above the cards: imagegen's
 * figure from usage and its price table, never the invoice. */
static void total(struct buf *h, json_t *const *entries, size_t n)
{
	double usd = 0;
	size_t images = 0, unknown = 0;
	char text[32];

	for (size_t i = 0; i < n; i++) {
		json_t *cost = json_object_get(entries[i], "cost");
		images += json_array_size(json_object_get(entries[i], "files"));
		if (json_is_number(json_object_get(cost, "usd")))
			usd += json_number_value(json_object_get(cost, "usd"));
		else if (cost)
			unknown++;
	}
	buf_addf(h, "<p id=\"total\">%zu image%s, <span class=\"cost\">%s</span>", images,
		 images == 1 ? "" : "s", price_format(usd, text));
	if (unknown)
		buf_addf(h, " and %zu job%s of unknown cost", unknown, unknown == 1 ? "" : "s");
	buf_adds(h, " (estimated from usage at imagegen's price table)</p>\n<div class=\"grid\">\n");
}

/* In every page imagegen writes: how it knows one it may replace. */
#define GENERATOR_TAG "<meta name=\"generator\" content=\"imagegen\">"

static const char page_head[] =
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	GENERATOR_TAG "\n<title>";
static const char page_style[] =
	"</title>\n<style>\n"
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;background:#f6f6f4;color:#222}\n"
	"h1{font-size:1.2rem;font-weight:600}\n"
	".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:1rem}\n"
	".job{margin:0;background:#fff;border-radius:8px;padding:.6rem;box-shadow:0 1px 3px #0002}\n"
	".job img{width:100%;height:auto;border-radius:4px;display:block;"
	"background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px}\n"
	".failed{outline:2px solid #c33}\n.n{color:#888}\n"
	"dl{display:grid;grid-template-columns:auto 1fr;gap:0 .6rem;font-size:12px;color:#555}\n"
	"dd{margin:0}\n.error{color:#b00}\n#status{color:#888}\n"
	"</style></head><body>\n";
/* Marks images that fail to load, so a moved file shows, and tells how many. */
static const char page_script[] =
	"<script>\n"
	"window.addEventListener('load', function () {\n"
	"  var imgs = document.images, bad = 0;\n"
	"  for (var i = 0; i < imgs.length; i++)\n"
	"    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { bad++; imgs[i].alt += ' (missing)'; }\n"
	"  var s = document.getElementById('status');\n"
	"  s.setAttribute('data-loaded', imgs.length - bad);\n"
	"  s.setAttribute('data-failed', bad);\n"
	"  s.textContent = bad ? bad + ' of ' + imgs.length + ' images could not be loaded' : '';\n"
	"});\n</script>\n";

static int by_index(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));

	return (x > y) - (x < y);
}

/* Is the file at path absent, or a page imagegen wrote (its generator tag
 * in the head)? Anything else there is the user's, never replaced. */
static bool ours_or_absent(const char *path)
{
	char head[1024];
	FILE *f = fopen(path, "rb");
	size_t got;

	if (!f)
		return !path_exists(path);
	got = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[got] = '\0';
	return strstr(head, GENERATOR_TAG) != NULL;
}

int gallery_write(const char *dir, const struct ledger *l, struct buf *err)
{
	struct buf h = BUF_INIT, problems = BUF_INIT;
	struct afile f = AFILE_INIT;
	json_t *jobs = ledger_entries(l);
	size_t count = json_array_size(jobs), shown = 0;
	char *path = xasprintf("%s/%s", dir, GALLERY_NAME);
	int rc = -1;

	if (!ours_or_absent(path)) {
		buf_addf(err, "'%s' is not a gallery imagegen wrote; it is kept, and the gallery "
			 "was not written", path);
		json_decref(jobs);
		free(path);
		return -1;
	}

	buf_adds(&h, page_head);
	gallery_escape(&h, path_basename(dir));
	buf_adds(&h, page_style);
	buf_adds(&h, "<h1>");
	gallery_escape(&h, path_basename(dir));
	buf_addf(&h, "</h1>\n<p id=\"status\"></p>\n");
	/* In job order, whatever the ledger's order. */
	json_t **sorted = xcalloc(count ? count : 1, sizeof(*sorted));
	size_t at;
	json_t *entry;
	/* A job planned and never sent has nothing to show. */
	json_array_foreach(jobs, at, entry) {
		const char *state = json_string_value(json_object_get(entry, "state"));
		if (!state || strcmp(state, "pending"))
			sorted[shown++] = entry;
	}
	qsort(sorted, shown, sizeof(*sorted), by_index);
	total(&h, sorted, shown);
	for (size_t i = 0; i < shown; i++)
		card(&h, dir, sorted[i], &problems);
	free(sorted);
	json_decref(jobs);
	buf_addf(&h, "</div>\n%s</body></html>\n", page_script);
	if (afile_open(&f, path, err) || afile_write(&f, h.data, h.len, err) ||
	    afile_commit(&f, AFILE_REPLACE, err))
		goto cleanup;
	if (problems.len)
		buf_addf(err, "some thumbnails could not be made:\n%s", problems.data);
	rc = problems.len ? -1 : 0;
cleanup:
	afile_release(&f);
	buf_release(&h);
	buf_release(&problems);
	free(path);
	return rc;
}
