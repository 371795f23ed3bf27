/* What job.c shares with download.c and stream.c: the steps of taking an
 * image from a response to its file. Not for commands. */
#ifndef IMAGEGEN_JOB_INTERNAL_H
#define IMAGEGEN_JOB_INTERNAL_H

#include "job.h"

/* The scan sink: the response's image `index` begins, continues, ends. */
int job_image_open(void *job, size_t index);
int job_image_write(struct job *job, size_t index, const char *text, size_t len);
int job_image_close(void *job, size_t index);
/* Removes every temp file of the attempt. */
void job_discard_images(struct job *job);
/* Is image i's content a PNG/JPEG/WebP (renaming a derived name whose
 * format differs)? 0 or -1 with the reason in job->error. */
int job_check_image(struct job *job, size_t i);
/* Gives image i its final name (never overwriting unless --force names it). */
int job_commit_image(struct job *job, size_t i);
double job_jitter(struct job_env *env);
/* Fills u from a response's usage object (u->present when there is one). */
void job_usage_parse(struct usage *u, json_t *usage);
/* Ends the job as failed (reason, or the one already in job->error). */
void job_fail(struct job *job, const char *reason);
/* Ends the job: DONE unless an error was recorded. */
void job_finish(struct job *job);

/* curl's words for a transport error; the caller frees. */
char *job_transport_reason(const struct http_xfer *x, CURLcode rc);

void job_download_start(struct job *job, size_t i, const char *url);

#endif
