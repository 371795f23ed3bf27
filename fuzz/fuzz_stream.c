/* A streamed answer, whatever the server sends: a job planned into a temp
 * folder takes the event stream (image_generation.* and image_edit.*
 * partial_image, completed and error events) in arbitrary chunks through
 * stream.c, as job.c hands it over, and ends as job.c would end it (the
 * transfer ended, failed, or Ctrl-C came). partial_image_index goes into a
 * file name, so afterwards:
 *   - nothing exists beside the job's folder, and in it only NAME.ext and
 *     NAME.partial-K.ext (K 0 to 2, the planned extension) for the planned
 *     NAMEs, each one the job said it saved; no temp file is left;
 *   - partial images are gone when the job ended well or was interrupted,
 *     unless kept (--keep-partials);
 *   - a file that was there before (not the job's) is never replaced
 *     without --force;
 *   - a paid job's cost is unknown with a reason, or a finite amount at
 *     least 0.
 * Input: byte 0 chooses n (1-3), the format, --keep-partials, --out,
 * --force and metadata; byte 1 --no-save, an interrupt, a foreign file, the
 * model and the chunk sizes; the rest is the stream. */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job_internal.h"
#include "price.h"
#include "stream.h"

#define FOREIGN "not the job's"

static char base[96], out[128];
static struct price_table prices;

/* Every path the job said it saved (final or partial), this input. */
static struct {
	char *v[64];
	size_t n;
} said;

static void remember(const char *path)
{
	if (strncmp(path, out, strlen(out)) || path[strlen(out)] != '/' ||
	    strchr(path + strlen(out) + 1, '/'))
		abort();   /* said saved outside the folder */
	for (size_t i = 0; i < said.n; i++)
		if (!strcmp(said.v[i], path))
			return;
	if (said.n < ARRAY_SIZE(said.v))
		said.v[said.n++] = xstrdup(path);
}

static void on_saved(struct job *job, size_t index, const char *path)
{
	(void)job;
	(void)index;
	remember(path);
}

static void on_partial(struct job *job, size_t index, long k, const char *path)
{
	char *expected;

	if (index >= job->names.n || k < 0 || k >= PARTIAL_IMAGES_MAX)
		abort();
	expected = naming_partial(job->names.paths[index], k);
	if (strcmp(expected, path))
		abort();
	free(expected);
	remember(path);
}

static void on_warning(struct job *job, const char *text)
{
	(void)job;
	(void)text;
}

/* The folder goes at exit (it is emptied after every input). */
static void remove_folder(void)
{
	rmdir(out);
	rmdir(base);
}

static void setup(void)
{
	struct buf text = BUF_INIT, err = BUF_INIT;

	/* tmpfs where there is one: every commit fsyncs. */
	snprintf(base, sizeof(base), "%s/fuzz-stream-%d",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	snprintf(out, sizeof(out), "%s/out", base);
	if (mkdir_p(out))
		abort();
	atexit(remove_folder);
	if (read_file(PRICES_JSON, 1 << 20, &text) ||
	    price_table_parse(&prices, text.data, PRICES_JSON, false, &err))
		abort();
	buf_release(&text);
	buf_release(&err);
}

/* Is name (in the folder) one of the plan's, or a partial of one? */
static bool planned_name(const struct name_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->n; i++) {
		const char *mine = path_basename(plan->paths[i]);
		const char *ext = path_ext(mine);
		size_t stem = (size_t)(ext - mine);
		const char *rest = name + stem;

		if (strncmp(name, mine, stem))
			continue;
		/* A final image may take the extension of the format sent. */
		if (!strcmp(rest, ext) || (!plan->explicit_names && ext_format(rest)))
			return true;
		if (!strncmp(rest, ".partial-", 9) && rest[9] >= '0' &&
		    rest[9] < '0' + PARTIAL_IMAGES_MAX && !strcmp(rest + 10, ext))
			return true;
	}
	return false;
}

static bool was_said(const char *path)
{
	for (size_t i = 0; i < said.n; i++)
		if (!strcmp(said.v[i], path))
			return true;
	return false;
}

/* Checks the folder against the rules above, then empties it. */
static void check_folder(const struct name_plan *plan, const char *foreign, bool partials_gone,
			 bool force)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "out"))
			abort();   /* a file beside the job's folder */
	if (d)
		closedir(d);
	/* Someone else's file stays as it was, never taken for the job's. */
	if (foreign && !force) {
		struct buf b = BUF_INIT;
		if (read_file(foreign, 64, &b) || strcmp(b.data ? b.data : "", FOREIGN) ||
		    was_said(foreign))
			abort();
		buf_release(&b);
	}
	d = opendir(out);
	if (!d)
		abort();
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", out, e->d_name);
		if (foreign && !strcmp(path, foreign) && !was_said(path)) {
			/* (checked above; with --force the job may have replaced it) */
		} else if (!planned_name(plan, e->d_name) || !was_said(path)) {
			abort();   /* a name the job may not make, or never said */
		} else if (partials_gone && strstr(e->d_name, ".partial-")) {
			abort();   /* a partial image outlived its job */
		}
		unlink(path);
	}
	closedir(d);
}

static const char *const formats[] = { "png", "jpeg", "webp", "gif" };
static const char *const models[] = { "gpt-image-2", "gpt-image-1.5" };

struct choice {
	long n;
	const char *format;
	bool keep_partials, explicit_names, force, metadata, no_save, interrupt, foreign;
	unsigned seed;
};

static struct choice choose(uint8_t a, uint8_t b)
{
	return (struct choice){
		.n = 1 + a % 3, .format = formats[(a >> 2) & 3], .keep_partials = a & 16,
		.explicit_names = a & 32, .force = a & 64, .metadata = a & 128,
		.no_save = b & 1, .interrupt = b & 2, .foreign = b & 4, .seed = b >> 4,
	};
}

/* Feeds the stream in chunks of 1 to 97 bytes the seed chooses. 0 or -1. */
static int feed(struct job *job, const char *data, size_t size, unsigned seed)
{
	for (size_t at = 0; at < size;) {
		size_t step = (seed = seed * 1103515245u + 12345u) % 97 + 1;
		if (step > size - at)
			step = size - at;
		if (job_stream_feed(job, data + at, step))
			return -1;
		at += step;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_env env = JOB_ENV_INIT;
	struct img_params params = IMG_PARAMS_INIT;
	struct job_request req = { NULL, NULL, FORM_INIT };
	struct name_plan plan = NAME_PLAN_INIT, kept = NAME_PLAN_INIT;
	struct buf err = BUF_INIT;
	struct job job;
	struct choice c;
	char *foreign = NULL;
	int rc;

	if (size < 2)
		return 0;
	if (!base[0])
		setup();
	c = choose(data[0], data[1]);
	params.model = models[data[1] & 8 ? 1 : 0];
	params.n = c.n;
	params.output_format = c.format;
	params.stream = true;
	params.partial_images = PARTIAL_IMAGES_MAX;
	struct name_request nr = { .out = c.explicit_names ? "pic" : NULL, .out_dir = out,
				   .prefix = "img", .format = c.format, .n = c.n,
				   .force = c.force };
	if (naming_plan(&nr, naming_exists_on_disk, NULL, &plan, &err))
		abort();   /* the folder is empty */
	/* Someone else's file where the first image's partial 1 would go. */
	if (c.foreign) {
		FILE *f;
		foreign = naming_partial(plan.paths[0], 1);
		f = fopen(foreign, "wb");
		if (!f)
			abort();
		fputs(FOREIGN, f);
		fclose(f);
	}
	kept.n = plan.n;
	kept.explicit_names = plan.explicit_names;
	kept.paths = xcalloc(plan.n, sizeof(char *));
	for (size_t i = 0; i < plan.n; i++)
		kept.paths[i] = xstrdup(plan.paths[i]);

	env.prices = &prices;
	env.no_save = c.no_save;
	env.force = c.force;
	env.keep_partials = c.keep_partials;
	env.metadata = c.metadata;
	env.on_saved = on_saved;
	env.on_partial = on_partial;
	env.on_warning = on_warning;
	job_init(&job, &env, 0, xstrdup("a lighthouse at dusk"), &params, &req, &plan);

	/* As job.c: the body began as an event stream, then the transfer ended
	 * (job_done) or Ctrl-C came. */
	job_stream_begin(&job);
	rc = feed(&job, (const char *)data + 2, size - 2, c.seed);
	if (rc) {
		job_fail(&job, NULL);   /* the sink refused: curl stops the transfer */
	} else if (c.interrupt) {
		job.state = JOB_INTERRUPTED;
		job_stream_interrupted(&job);
		job_fail(&job, "interrupted");
	} else if (job_stream_end(&job)) {
		job_fail(&job, NULL);
	} else {
		job_finish(&job);
	}
	if (job.paid && (job.cost.basis == COST_UNKNOWN
				 ? !job.cost.why
				 : (!isfinite(job.cost.usd) || job.cost.usd < 0)))
		abort();
	bool gone = !c.keep_partials && (job.state == JOB_DONE || job.state == JOB_INTERRUPTED);
	job_release(&job);
	check_folder(&kept, foreign, gone, c.force);

	for (size_t i = 0; i < said.n; i++)
		free(said.v[i]);
	said.n = 0;
	free(foreign);
	name_plan_release(&kept);
	buf_release(&err);
	return 0;
}
