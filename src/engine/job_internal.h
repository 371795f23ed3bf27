/* What job.c shares with download.c and stream.c: the steps of taking an
 * image from a response to its file. Not for commands. */
#ifndef IMAGEGEN_JOB_INTERNAL_H
#define IMAGEGEN_JOB_INTERNAL_H

#include "job.h"

/* jobimage.c. The scan sink: the response's image `index` begins,
 * continues, ends. */
int job_image_open(void *job, size_t index);
int job_image_scan_write(void *job, const char *text, size_t len);
int job_image_write(struct job *job, size_t index, const char *text, size_t len);
int job_image_close(void *job, size_t index);
/* Removes every temp file of the attempt. */
void job_discard_images(struct job *job);
/* Is image i's content a PNG/JPEG/WebP (renaming a derived name whose
 * format differs)? 0 or -1 with the reason in job->error. */
int job_check_image(struct job *job, size_t i);
/* Gives image i its final name (never overwriting unless --force names it). */
int job_commit_image(struct job *job, size_t i);
/* A warning about the job, through env->on_warning (or warnf). */
void job_warn(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Says (when say) and empties what a commit off the loop noted, in order:
 * through env->on_saved and on_warning. */
void job_say_notes(struct job *job, bool say);
/* The image a streamed event belongs to: the next one not completed, or
 * names.n once every image has its final (later events are not saved). */
size_t job_image_slot(const struct job *job);

/* job.c. Ends the job as failed (reason, or the one already in job->error). */
void job_fail(struct job *job, const char *reason);
/* Ends the job: DONE unless an error was recorded. */
void job_finish(struct job *job);

void job_download_start(struct job *job, size_t i, const char *url);

/* After a failed write: marks the job disk_full when errno says the disk
 * (or the quota) is full. */
void job_note_disk(struct job *job);
/* May the job write over an existing file at path (--force, or its own)? */
bool job_may_replace(const struct job *job, const char *path);

#endif
