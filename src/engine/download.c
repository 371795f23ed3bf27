/* dall-e URL responses: each image is fetched with a GET (without the API
 * key) into the same atomic file the base64 path uses, through the same
 * call path and retry policy as the request itself. */
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"

static int download_body(struct call *c, const char *data, size_t len)
{
	struct job_image *im = c->owner;
	size_t room = SNIFF_BYTES - im->head_len;
	size_t copy = len < room ? len : room;

	memcpy(im->head + im->head_len, data, copy);
	im->head_len += copy;
	if (im->file.fd < 0)
		return 0;
	return afile_write(&im->file, data, len, &im->job->error);
}

static int download_again(struct call *c, const char *reason, long status, long delay_ms)
{
	struct job_image *im = c->owner;
	struct job *job = im->job;

	(void)status;
	job_warn(job, "downloading image %zu: %s; retrying in %.1f s", im->index + 1, reason,
		 delay_ms / 1000.0);
	im->head_len = 0;
	afile_abort(&im->file);
	return afile_open(&im->file, job->names.paths[im->index], &job->error);
}

static void download_done(struct call *c, enum call_result r)
{
	struct job_image *im = c->owner;
	struct job *job = im->job;

	if (r == CALL_INTERRUPTED) {
		job->state = JOB_INTERRUPTED;
		afile_abort(&im->file);
	} else if (r == CALL_OK) {
		im->complete = true;
		if (job_check_image(job, im->index) || job_commit_image(job, im->index))
			afile_abort(&im->file);
	} else {
		buf_addf(&job->error, "%sdownloading image %zu failed: %s",
			 job->error.len ? "; " : "", im->index + 1,
			 c->error.data ? c->error.data : "stopped");
		afile_abort(&im->file);
	}
	if (--job->pending_downloads == 0)
		job->finish(job);
}

static const struct call_ops download_ops = { download_body, NULL, download_again,
					      download_done };

void job_download_start(struct job *job, size_t i, const char *url)
{
	struct job_image *im = &job->images[i];
	struct job_env *env = job->env;

	if (env->no_save)
		return;
	im->url = xstrdup(url);
	im->head_len = 0;
	if (afile_open(&im->file, job->names.paths[i], &job->error) ||
	    call_setup(&im->call, &download_ops, im, env->loop, &env->retry, &env->seed, im->url,
		       NULL, env->api->timeout, false)) {
		afile_abort(&im->file);
		return;
	}
	job->pending_downloads++;
	call_start(&im->call);
}
