/* dall-e URL responses: each image is fetched with a GET (without the API
 * key) into the same atomic file the base64 path uses, retried alike. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_internal.h"
#include "msg.h"

static int download_body(struct http_xfer *x, const char *data, size_t len)
{
	struct job_image *im = x->owner;
	size_t room = SNIFF_BYTES - im->head_len;
	size_t copy = len < room ? len : room;

	if (x->status != 200)
		return 0;
	memcpy(im->head + im->head_len, data, copy);
	im->head_len += copy;
	if (im->file.fd < 0)
		return 0;
	return afile_write(&im->file, data, len, &im->job->error);
}

static void download_finish(struct job_image *im)
{
	struct job *job = im->job;

	if (--job->pending_downloads == 0)
		job_finish(job);
}

static void download_done(struct http_xfer *x, CURLcode rc)
{
	struct job_image *im = x->owner;
	struct job *job = im->job;
	char *reason = NULL;

	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		job->state = JOB_INTERRUPTED;
		afile_abort(&im->file);
		download_finish(im);
		return;
	}
	if (rc == CURLE_OK && x->status == 200) {
		im->complete = true;
		if (job_check_image(job, im->index) || (!job->env->no_save && job_commit_image(job, im->index)))
			afile_abort(&im->file);
		download_finish(im);
		return;
	}
	reason = rc != CURLE_OK ? job_transport_reason(x, rc)
				: xasprintf("HTTP %ld", x->status);
	if ((rc != CURLE_OK ? http_retryable(rc) : retry_status(x->status, NULL)) &&
	    im->attempts < job->env->retry.max_attempts) {
		long delay = retry_delay_ms(&job->env->retry, im->attempts - 1, NULL,
					    job_jitter(job->env), time(NULL));
		warnf("downloading image %zu: %s; retrying in %.1f s", im->index + 1,
		      reason, delay / 1000.0);
		im->attempts++;
		im->head_len = 0;
		afile_abort(&im->file);
		if (!job->env->no_save &&
		    afile_open(&im->file, job->names.paths[im->index], &job->error) == 0) {
			http_xfer_reset(x);
			x->not_before = now_ms() + delay;
			http_loop_add(job->env->loop, x);
			free(reason);
			return;
		}
	}
	buf_addf(&job->error, "%sdownloading image %zu failed: %s",
		 job->error.len ? "; " : "", im->index + 1, reason);
	afile_abort(&im->file);
	free(reason);
	download_finish(im);
}

void job_download_start(struct job *job, size_t i, const char *url)
{
	struct job_image *im = &job->images[i];

	if (job->env->no_save)
		return;
	im->url = xstrdup(url);
	im->attempts = 1;
	im->head_len = 0;
	if (afile_open(&im->file, job->names.paths[i], &job->error) ||
	    http_xfer_setup(&im->xfer, job->env->api, im->url, NULL, false)) {
		afile_abort(&im->file);
		return;
	}
	im->xfer.owner = im;
	im->xfer.on_body = download_body;
	im->xfer.on_done = download_done;
	job->pending_downloads++;
	http_loop_add(job->env->loop, &im->xfer);
}

