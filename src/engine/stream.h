/* Streamed answers of a job (job.c hands an event-stream body here). */
#ifndef IMAGEGEN_STREAM_H
#define IMAGEGEN_STREAM_H

#include "job.h"

/* The answer is an event stream: start parsing it. */
void job_stream_begin(struct job *job);
/* Bytes of the stream. 0, or -1 with the reason in job->error. */
int job_stream_feed(struct job *job, const char *data, size_t len);
/* The transfer ended well: finishes the job (failed if images are missing). */
void job_stream_end(struct job *job);
void job_stream_release(struct job *job);
/* The image a streamed event belongs to: the next one not completed. */
size_t job_stream_slot(const struct job *job);

#endif
