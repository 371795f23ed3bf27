#include "naming.h"

#include <stdlib.h>
#include <string.h>

#include "slug.h"

const char *format_ext(const char *format)
{
	if (format && !strcmp(format, "jpeg"))
		return ".jpg";
	if (format && !strcmp(format, "webp"))
		return ".webp";
	if (format && !strcmp(format, "gif"))
		return ".gif";
	if (format && !strcmp(format, "svg"))
		return ".svg";
	return ".png";
}

const char *ext_format(const char *ext)
{
	static const struct { const char *ext, *format; } map[] = {
		{ ".png", "png" }, { ".jpg", "jpeg" }, { ".jpeg", "jpeg" },
		{ ".webp", "webp" }, { ".PNG", "png" }, { ".JPG", "jpeg" },
		{ ".JPEG", "jpeg" }, { ".WEBP", "webp" }, { ".gif", "gif" },
		{ ".GIF", "gif" }, { ".svg", "svg" }, { ".SVG", "svg" },
	};

	for (size_t i = 0; ext && i < ARRAY_SIZE(map); i++)
		if (!strcmp(ext, map[i].ext))
			return map[i].format;
	return NULL;
}

bool naming_exists_on_disk(const char *path, const void *data)
{
	(void)data;
	return path_exists(path);
}

void name_plan_release(struct name_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		free(plan->paths[i]);
	FREE_AND_NULL(plan->paths);
	plan->n = 0;
}

static char *join(const char *dir, const char *name)
{
	if (!dir || !*dir || name[0] == '/')
		return xstrdup(name);
	return xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
}

/* Paths "stem-K.ext" for K = first .. first+n-1, or "stem.ext" when single. */
static void fill(struct name_plan *plan, const char *stem, const char *ext,
		 long first, bool single)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->paths[i]);
		plan->paths[i] = single ? xasprintf("%s%s", stem, ext)
					: xasprintf("%s-%ld%s", stem, first + (long)i, ext);
	}
}

static bool any_exists(const struct name_plan *plan, exists_fn exists, const void *data)
{
	for (size_t i = 0; i < plan->n; i++)
		if (exists(plan->paths[i], data))
			return true;
	return false;
}

static int plan_explicit(const struct name_request *r, exists_fn exists,
			 const void *data, struct name_plan *plan, struct buf *err)
{
	char *path = join(r->out_dir, r->out);
	const char *dot = path_ext(path);
	char *stem;
	const char *ext;

	if (dot && ext_format(dot)) {
		stem = xstrndup(path, (size_t)(dot - path));
		ext = dot;
	} else {
		stem = xstrdup(path);
		ext = format_ext(r->format);
	}
	fill(plan, stem, ext, 1, plan->n == 1);
	free(stem);
	free(path);
	plan->explicit_names = true;
	for (size_t i = 0; i < plan->n && !r->force; i++) {
		if (exists(plan->paths[i], data)) {
			if (path_exists(plan->paths[i]))
				buf_addf(err, "--out: '%s' already exists (use --force to "
					 "overwrite it)", plan->paths[i]);
			else
				buf_addf(err, "--out: a file that '%s' brings beside it (a partial "
					 "image, the sidecar or a copy) already exists (use --force "
					 "to overwrite it)", plan->paths[i]);
			return -1;
		}
	}
	return 0;
}

static void plan_derived(const struct name_request *r, exists_fn exists,
			 const void *data, struct name_plan *plan)
{
	char *base = r->prefix ? xstrdup(r->prefix) : slug_make(r->prompt ? r->prompt : "", SLUG_MAX);
	char *name = xasprintf("%s%s", base, r->suffix ? r->suffix : "");
	char *stem = join(r->out_dir, name);
	const char *ext = format_ext(r->format);

	if (plan->n == 1) {
		fill(plan, stem, ext, 1, true);
		if (exists(plan->paths[0], data)) {
			char *next = naming_next_free(plan->paths[0], exists, data);
			free(plan->paths[0]);
			plan->paths[0] = next;
			plan->numbered = true;
		}
	} else {
		plan->numbered = true;
		/* Keep a run's images numbered together: shift the whole run past
		 * any earlier run (cat-1..3 taken -> cat-4..6). */
		long first = 1;
		fill(plan, stem, ext, first, false);
		while (any_exists(plan, exists, data)) {
			first += (long)plan->n;
			fill(plan, stem, ext, first, false);
		}
	}
	free(stem);
	free(name);
	free(base);
}

int naming_plan(const struct name_request *r, exists_fn exists, const void *data,
		struct name_plan *plan, struct buf *err)
{
	plan->n = r->n > 0 ? (size_t)r->n : 1;
	plan->paths = xcalloc(plan->n, sizeof(*plan->paths));
	plan->explicit_names = false;
	plan->replace = r->out && r->force;
	if (r->out)
		return plan_explicit(r, exists, data, plan, err);
	plan_derived(r, exists, data, plan);
	return 0;
}

/* path's next free variant, numbered from k on after its stem's first
 * stem_len bytes. */
static char *next_free(const char *path, size_t stem_len, long k, exists_fn exists,
		       const void *data)
{
	const char *dot = path_ext(path);
	const char *ext = dot ? dot : "";
	char *stem = xstrndup(path, stem_len);
	char *candidate = NULL;

	for (;; k++) {
		free(candidate);
		candidate = xasprintf("%s-%ld%s", stem, k, ext);
		if (!exists(candidate, data))
			break;
	}
	free(stem);
	return candidate;
}

char *naming_next_free(const char *path, exists_fn exists, const void *data)
{
	const char *dot = path_ext(path);

	return next_free(path, dot ? (size_t)(dot - path) : strlen(path), 2, exists, data);
}

char *naming_next_numbered(const char *path, exists_fn exists, const void *data)
{
	const char *dot = path_ext(path);
	size_t end = dot ? (size_t)(dot - path) : strlen(path), i = end;

	while (i > 0 && path[i - 1] >= '0' && path[i - 1] <= '9')
		i--;
	if (i == end || i < 2 || path[i - 1] != '-' || end - i > 9)
		return naming_next_free(path, exists, data);
	return next_free(path, i - 1, strtol(path + i, NULL, 10) + 1, exists, data);
}

char *naming_partial(const char *path, long k)
{
	const char *dot = path_ext(path);

	return xasprintf("%.*s.partial-%ld%s", path_stem_len(path), path, k, dot ? dot : "");
}

char *naming_sidecar(const char *path)
{
	return xasprintf("%.*s.json", path_stem_len(path), path);
}
