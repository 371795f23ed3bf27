/* Drives one generation through the engine API with no command-line code
 * linked (tests/meson.build links only the engine and the layers below):
 * the way an MCP server or another front end would. Prints every event it
 * hears as one JSON line on stdout; exits 0 when the job ended done with
 * the events a front end needs, 1 otherwise.
 *
 * usage: drive_engine OUT_DIR N [stream]   (OPENAI_BASE_URL and
 * OPENAI_API_KEY reach the stand-in) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "imgvips.h"

struct heard {
	size_t saved, partials, finished, warnings;
};

static void print_event(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

static void on_saved(struct job *job, size_t index, const char *path)
{
	struct heard *h = job->env->data;

	h->saved++;
	print_event(json_pack("{s:s,s:I,s:s}", "event", "saved", "index", (json_int_t)index,
			      "path", path));
}

static void on_partial(struct job *job, size_t index, long k, const char *path)
{
	struct heard *h = job->env->data;

	h->partials++;
	print_event(json_pack("{s:s,s:I,s:I,s:s}", "event", "partial", "index",
			      (json_int_t)index, "k", (json_int_t)k, "path", path));
}

static void on_warning(struct job *job, const char *text)
{
	struct heard *h = job->env->data;

	h->warnings++;
	print_event(json_pack("{s:s,s:s}", "event", "warning", "text", text));
}

static void on_finished(struct job *job)
{
	struct heard *h = job->env->data;

	h->finished++;
	print_event(json_pack("{s:s,s:s,s:I,s:I,s:s?}", "event", "finished", "state",
			      job->state == JOB_DONE ? "done" : "failed", "input_tokens",
			      (json_int_t)job->usage.input, "output_tokens",
			      (json_int_t)job->usage.output, "error",
			      job->error.len ? job->error.data : NULL));
}

static const char *env(const char *name)
{
	return getenv(name);
}

int main(int argc, char **argv)
{
	struct provider_options o = { .timeout = 60 };
	struct job_spec spec = JOB_SPEC_INIT;
	struct job_plan plan = JOB_PLAN_INIT;
	struct job_env jenv = JOB_ENV_INIT;
	struct heard heard = { 0 };
	struct buf warn = BUF_INIT, err = BUF_INIT;
	struct engine e;
	struct job job;
	int rc = 1;

	if (argc < 3)
		return 2;
	memset(&job, 0, sizeof(job));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	spec.op = OP_GENERATE;
	spec.prompt = "a red fox in the snow";
	spec.params.size = "1024x640";
	spec.params.n = strtol(argv[2], NULL, 10);
	spec.out_dir = argv[1];
	if (argc > 3 && !strcmp(argv[3], "stream"))
		spec.params.partial_images = 2;
	jenv.on_saved = on_saved;
	jenv.on_partial = on_partial;
	jenv.on_warning = on_warning;
	jenv.on_finished = on_finished;
	jenv.data = &heard;
	if (engine_init(&e, &o, env, 1, 0, NULL, &err) ||
	    engine_plan(&e, &spec, &plan, &warn, &err) ||
	    engine_start(&e, &job, &jenv, &spec, &plan, &err)) {
		fprintf(stderr, "drive_engine: %s\n", err.data);
		goto cleanup;
	}
	engine_run(&e);
	rc = job.state == JOB_DONE && heard.finished == 1 && heard.saved == (size_t)spec.params.n &&
	     (spec.params.partial_images == -1 || heard.partials > 0) && job.usage.present ? 0 : 1;
cleanup:
	job_release(&job);
	job_plan_release(&plan);
	engine_release(&e);
	buf_release(&warn);
	buf_release(&err);
	imgvips_shutdown();
	curl_global_cleanup();
	return rc;
}
