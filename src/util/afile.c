#include "afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open temp files, so an interrupted run leaves none behind. A batch opens
 * them on the loop thread and commits them on its worker: the list has a
 * lock. */
static struct afile *active;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;

static void track(struct afile *f)
{
	pthread_mutex_lock(&active_lock);
	f->next_active = active;
	active = f;
	pthread_mutex_unlock(&active_lock);
}

static void untrack(struct afile *f)
{
	pthread_mutex_lock(&active_lock);
	for (struct afile **p = &active; *p; p = &(*p)->next_active) {
		if (*p == f) {
			*p = f->next_active;
			break;
		}
	}
	f->next_active = NULL;
	pthread_mutex_unlock(&active_lock);
}

int afile_open(struct afile *f, const char *path, struct buf *err)
{
	char *dir = path_dirname(path);
	int rc = -1;

	free(f->path);
	f->path = xstrdup(path);
	f->size = 0;
	if (mkdir_p(dir)) {
		buf_addf(err, "cannot create folder '%s': %s", dir, strerror(errno));
		goto cleanup;
	}
	/* The pid in the name tells a later run whether the writer is gone
	 * (afile_sweep). */
	f->tmp = xasprintf("%s/.%s.tmp-%ld-XXXXXX", dir, path_basename(path), (long)getpid());
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		buf_addf(err, "cannot create a file in '%s': %s", dir, strerror(errno));
		FREE_AND_NULL(f->tmp);
		goto cleanup;
	}
	/* mkostemp makes 0600; images are ordinary files. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(f->fd, 0666 & ~mask);
	track(f);
	rc = 0;
cleanup:
	free(dir);
	return rc;
}

int afile_write(struct afile *f, const void *data, size_t len, struct buf *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(f->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			buf_addf(err, "cannot write '%s': %s", f->path, strerror(saved));
			errno = saved;   /* the caller tells a full disk from the rest */
			return -1;
		}
		p += n;
		len -= (size_t)n;
		f->size += (size_t)n;
	}
	return 0;
}

int afile_rewrite(struct afile *f, const void *data, size_t len, struct buf *err)
{
	if (ftruncate(f->fd, 0) || lseek(f->fd, 0, SEEK_SET) != 0) {
		buf_addf(err, "cannot rewrite '%s': %s", f->path, strerror(errno));
		return -1;
	}
	f->size = 0;
	return afile_write(f, data, len, err);
}

/* Filesystems without hard links: check, then rename (a small window). */
static bool link_unsupported(struct afile *f)
{
	if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP)
		return false;
	if (path_exists(f->path)) {
		errno = EEXIST;
		return false;
	}
	if (rename(f->tmp, f->path))
		return false;
	return true;
}

int afile_commit(struct afile *f, enum afile_commit_mode mode, struct buf *err)
{
	if (f->fd >= 0) {
		if (fsync(f->fd) || close(f->fd)) {
			int saved = errno;
			buf_addf(err, "cannot write '%s': %s", f->path, strerror(saved));
			f->fd = -1;
			errno = saved;
			return -1;
		}
		f->fd = -1;
	}
	if (mode == AFILE_REPLACE) {
		if (rename(f->tmp, f->path)) {
			buf_addf(err, "cannot rename to '%s': %s", f->path, strerror(errno));
			return -1;
		}
	} else {
		/* link() never replaces: a name taken since planning is kept. */
		if (link(f->tmp, f->path) && !link_unsupported(f)) {
			int saved = errno;
			if (saved != EEXIST)
				buf_addf(err, "cannot create '%s': %s", f->path, strerror(saved));
			errno = saved;
			return -1;
		}
		if (f->tmp && path_exists(f->tmp))
			unlink(f->tmp);
	}
	untrack(f);
	FREE_AND_NULL(f->tmp);
	return 0;
}

void afile_rename(struct afile *f, const char *path)
{
	free(f->path);
	f->path = xstrdup(path);
}

void afile_abort(struct afile *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->tmp) {
		unlink(f->tmp);
		untrack(f);
		FREE_AND_NULL(f->tmp);
	}
}

void afile_release(struct afile *f)
{
	afile_abort(f);
	FREE_AND_NULL(f->path);
	f->size = 0;
}

void afile_cleanup_all(void)
{
	pthread_mutex_lock(&active_lock);
	for (struct afile *f = active; f; f = f->next_active)
		if (f->tmp)
			unlink(f->tmp);
	active = NULL;
	pthread_mutex_unlock(&active_lock);
}

/* ".NAME.tmp-PID-XXXXXX": the pid, or -1 when the name is not one of ours. */
static long temp_pid(const char *name)
{
	const char *mark = strstr(name, ".tmp-");
	char *end;
	long pid;

	if (name[0] != '.' || !mark)
		return -1;
	for (const char *next; (next = strstr(mark + 1, ".tmp-"));)
		mark = next;   /* the last one: NAME may hold ".tmp-" too */
	errno = 0;
	pid = strtol(mark + 5, &end, 10);
	if (errno || pid <= 0 || end == mark + 5 || *end != '-' || strlen(end + 1) != 6)
		return -1;
	return pid;
}

size_t afile_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t swept = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		long pid = temp_pid(e->d_name);
		/* Only a writer that is gone: kill(pid, 0) fails with ESRCH. A pid
		 * reused by a live process keeps its file (swept another time). */
		if (pid < 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0)
			swept++;
		free(path);
	}
	closedir(d);
	return swept;
}
