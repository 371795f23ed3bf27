/* Atomic output files: bytes go to a hidden temp file beside the final name,
 * which only gets the final name once complete (git's lockfile/tempfile).
 * Temp files still open at exit or on a signal are removed. */
#ifndef IMAGEGEN_AFILE_H
#define IMAGEGEN_AFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct afile {
	char *path;       /* final name */
	char *tmp;        /* temp name, NULL once committed or aborted */
	int fd;
	size_t size;
	struct afile *next_active;
};
#define AFILE_INIT { NULL, NULL, -1, 0, NULL }

/* Creates the temp file (O_EXCL) in path's folder, creating the folder if
 * needed. 0, or -1 with a message in err. */
int afile_open(struct afile *f, const char *path, struct buf *err);
int afile_write(struct afile *f, const void *data, size_t len, struct buf *err);

/* Replaces everything written so far by data (the image was reworked). */
int afile_rewrite(struct afile *f, const void *data, size_t len, struct buf *err);

enum afile_commit_mode {
	AFILE_REPLACE,     /* rename over an existing file (--force) */
	AFILE_NO_CLOBBER,  /* fail with EEXIST if the name was taken meanwhile */
};
/* Flushes to disk and gives the file its final name. 0, or -1 (errno EEXIST
 * when the name is taken in no-clobber mode: the temp file stays open, so the
 * caller may afile_rename() and commit again). */
int afile_commit(struct afile *f, enum afile_commit_mode mode, struct buf *err);
/* Changes the final name before commit. */
void afile_rename(struct afile *f, const char *path);
/* Removes the temp file; safe to call on a committed or unopened file. */
void afile_abort(struct afile *f);
/* Frees the names (aborting first if still open). */
void afile_release(struct afile *f);

/* Removes every temp file still open (for exit and signal paths). */
void afile_cleanup_all(void);

/* Removes the temp files in dir that a writer which is no longer running
 * left (kill -9): only our own names, ".NAME.tmp-PID-XXXXXX", and only when
 * no process has that pid. Returns how many. */
size_t afile_sweep(const char *dir);

#endif
