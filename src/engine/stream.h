/* Streamed answers of a job (job.c hands an event-stream body here). */
#ifndef IMAGEGEN_STREAM_H
#define IMAGEGEN_STREAM_H

#include "job.h"

/* The answer is an event stream: start parsing it. */
void job_stream_begin(struct job *job);
/* Bytes of the stream. 0, or -1 with the reason in job->error. */
int job_stream_feed(struct job *job, const char *data, size_t len);
/* The transfer ended well: 0, or -1 with the reason in job->error when
 * images are missing (their temp files are gone). */
int job_stream_end(struct job *job);
void job_stream_release(struct job *job);

/* Ctrl-C during the stream: its partial images are removed unless
 * --keep-partials (then the job's error names them). */
void job_stream_interrupted(struct job *job);

#endif
