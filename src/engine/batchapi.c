#include "batchapi.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exchange.h"
#include "job_internal.h"

/* Pages of GET /batches read to find a part's batch (100 a page). */
#define LIST_PAGES_MAX 100
/* Output lines decoded before the loop commits them (each holds its
 * images' temp files open until then). */
#define COLLECT_CHUNK 16

/* One input file and its batch. */
struct part {
	char *name;               /* ours: the file's name, the batch's metadata */
	json_t *record;           /* as the ledger keeps it (owned) */
	const char *state;        /* "written", "uploaded", "submitted", "closed" */
	struct batch_job **jobs;  /* its lines, in order */
	size_t n;
	bool fresh;               /* uploaded by this run: no batch of it can exist */
	bool ours;                /* every job of it is in this run: it is collected */
	char *status;             /* the batch's last status */
	json_int_t completed, failed, total;
};

struct key_entry {
	const char *key;
	struct batch_job *bj;
};

struct remote {
	struct batch_run *r;
	const struct batch_api_opts *o;
	struct part *parts;
	size_t nparts, cap;
	struct key_entry *index;  /* every job of the plan by key, sorted */
	size_t nindex;
};

/* ---- saying things ---- */

static void note(struct remote *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct remote *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xcalloc((size_t)len + 1, 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)len + 1, fmt, ap);
	va_end(ap);
	if (b->r->events->note)
		b->r->events->note(b->r->events->ud, s);
	free(s);
}

static void warn(struct remote *b, const char *text)
{
	if (b->r->events->warning)
		b->r->events->warning(b->r->events->ud, text);
}

static bool interrupted(const struct remote *b)
{
	const struct http_loop *l = &b->r->engine->loop;

	return l->interrupts && *l->interrupts;
}

bool batch_api_new_part(size_t lines, unsigned long long bytes, size_t len,
			const struct batch_api_opts *o)
{
	if (!lines)
		return false;
	return lines >= o->max_lines || bytes + len > o->max_bytes;
}

size_t batch_api_split(const struct batch_api_line *lines, size_t n,
		       const struct batch_api_opts *o, size_t *part)
{
	bool *placed = xcalloc(n ? n : 1, sizeof(*placed));
	size_t files = 0;

	for (size_t i = 0; i < n; i++) {
		part[i] = BATCH_API_UNPLACED;
		placed[i] = !lines[i].len || lines[i].len > o->max_bytes;
	}
	for (size_t first = 0; first < n; first++) {
		const struct batch_api_line *lead = &lines[first];
		size_t in_file = 0;
		unsigned long long bytes = 0;

		if (placed[first])
			continue;
		for (size_t i = first; i < n; i++) {
			if (placed[i] || strcmp(lines[i].endpoint, lead->endpoint) ||
			    strcmp(lines[i].model, lead->model))
				continue;
			placed[i] = true;
			if (batch_api_new_part(in_file, bytes, lines[i].len, o)) {
				files++;
				in_file = 0;
				bytes = 0;
			}
			part[i] = files;
			in_file++;
			bytes += lines[i].len;
		}
		files++;
	}
	free(placed);
	return files;
}

/* ---- one request to the Files or Batch API, run to its end ---- */

static void warn_retry(void *ud, const char *text)
{
	warn(ud, text);
}

/* engine_exchange for the Batch API: its messages say so. */
static int exchange(struct remote *b, const char *what, const char *path, const char *json,
		    const struct form *form, FILE *sink, long attempts, json_t **answer,
		    long *status, struct buf *err)
{
	struct exchange_opts o = { "the Batch API: ", what, json, form, sink, attempts,
				   warn_retry, b };

	return engine_exchange(b->r->engine, path, &o, answer, status, err);
}

/* A string member of o, or NULL. */
static const char *text(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* ---- the jobs by key ---- */

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct key_entry *)a)->key, ((const struct key_entry *)b)->key);
}

static struct batch_job *find_job(const struct remote *b, const char *key)
{
	struct key_entry want = { key, NULL }, *hit;

	if (!key)
		return NULL;
	hit = bsearch(&want, b->index, b->nindex, sizeof(*b->index), by_key);
	return hit ? hit->bj : NULL;
}

static void index_jobs(struct remote *b)
{
	const struct batch_plan *plan = &b->r->plan;

	/* A batch made before keys were by content alone names its jobs by
	 * their earlier keys: found by either. */
	b->index = xcalloc(plan->n ? 2 * plan->n : 1, sizeof(*b->index));
	for (size_t i = 0; i < plan->n; i++) {
		b->index[b->nindex++] = (struct key_entry){ plan->jobs[i].key, &plan->jobs[i] };
		b->index[b->nindex++] = (struct key_entry){ plan->jobs[i].legacy_key,
							    &plan->jobs[i] };
	}
	qsort(b->index, b->nindex, sizeof(*b->index), by_key);
}

/* ---- parts ---- */

static struct part *new_part(struct remote *b)
{
	if (b->nparts == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->parts = realloc(b->parts, b->cap * sizeof(*b->parts));
		if (!b->parts)
			abort();
	}
	memset(&b->parts[b->nparts], 0, sizeof(*b->parts));
	return &b->parts[b->nparts++];
}

static void part_release(struct part *p)
{
	free(p->name);
	json_decref(p->record);
	free(p->jobs);
	free(p->status);
}

/* A name no other part has: "imagegen-" and 12 random hex digits. */
static char *part_name(void)
{
	unsigned char bytes[6] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	struct timespec ts;

	if (fd < 0 || read(fd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long long v = (unsigned long long)ts.tv_nsec ^
				       ((unsigned long long)getpid() << 24) ^ (unsigned long long)ts.tv_sec;
		for (size_t i = 0; i < sizeof(bytes); i++)
			bytes[i] = (unsigned char)(v >> (8 * i));
	}
	if (fd >= 0)
		close(fd);
	return xasprintf("imagegen-%02x%02x%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2],
			 bytes[3], bytes[4], bytes[5]);
}

/* Where the part's input file is written before it is uploaded. */
static char *input_path(const struct remote *b, const struct part *p)
{
	return xasprintf("%s/%s/%s.jsonl", b->r->plan.dir, LEDGER_DIR, p->name);
}

static int record(struct remote *b, struct part *p, const char *state, struct buf *err)
{
	struct batch_run *r = b->r;
	int rc;

	pthread_mutex_lock(&r->ledger_lock);
	rc = ledger_remote_put(&r->ledger, p->name, state, p->record, err);
	pthread_mutex_unlock(&r->ledger_lock);
	if (rc == 0)
		p->state = state;
	return rc;
}

/* The line of a job: {"custom_id", "method", "url", "body"}, as text (the
 * caller frees), or NULL with why in err. */
static char *job_line(struct remote *b, const struct batch_job *bj, struct buf *err)
{
	json_t *body = batch_job_line_body(bj, b->r->defaults, err), *line;
	char *url, *text;

	if (!body)
		return NULL;
	url = provider_prepare(&b->r->engine->api, bj->endpoint, bj->params.model, body, NULL);
	free(url);   /* a line names the path; the body's quirks are what count */
	line = json_pack("{s:s, s:s, s:s+, s:o}", "custom_id", bj->key, "method", "POST",
			 "url", "/v1/", bj->endpoint, "body", body);
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	return text;
}

/* Writes a part's input file from its jobs (again, after a kill: the lines
 * are made the same from the same jobs). 0 or -1. */
static int write_input(struct remote *b, struct part *p, struct buf *err)
{
	char *path = input_path(b, p), *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = -1;

	if (!f) {
		buf_addf(err, "cannot write '%s': %s", tmp, strerror(errno));
		goto cleanup;
	}
	for (size_t i = 0; i < p->n; i++) {
		char *line = job_line(b, p->jobs[i], err);
		if (!line || fputs(line, f) == EOF || fputc('\n', f) == EOF) {
			if (line)
				buf_addf(err, "cannot write '%s': %s", tmp, strerror(errno));
			free(line);
			fclose(f);
			goto cleanup;
		}
		free(line);
	}
	if (fclose(f) || rename(tmp, path)) {
		buf_addf(err, "cannot write '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

static json_t *keys_of(const struct part *p)
{
	json_t *keys = json_array();

	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(keys, json_string(p->jobs[i]->key));
	return keys;
}

/* A new part of jobs [0, n) of list, recorded as written (its file is
 * written before it is uploaded, from the record). 0 or -1. */
static int add_part(struct remote *b, struct batch_job **list, size_t n, struct buf *err)
{
	struct part *p = new_part(b);

	p->name = part_name();
	p->jobs = xcalloc(n, sizeof(*p->jobs));
	memcpy(p->jobs, list, n * sizeof(*p->jobs));
	p->n = n;
	p->ours = true;
	p->record = json_pack("{s:s+, s:s, s:o, s:I}", "endpoint", "/v1/", list[0]->endpoint,
			      "model", list[0]->params.model, "keys", keys_of(p), "created",
			      (json_int_t)time(NULL));
	for (size_t i = 0; i < n; i++)
		list[i]->remote = true;
	return record(b, p, "written", err);
}

/* Fails a job whose line is alone above what an input file may hold. */
static void too_large(struct remote *b, struct batch_job *bj, size_t len)
{
	char *reason = xasprintf("its Batch API line is %.1f MB, above the %.0f MB an input "
				 "file may hold; send it without --batch-api", len / 1048576.0,
				 b->o->max_bytes / 1048576.0);

	batch_run_fail_unsent(b->r, bj, reason);
	free(reason);
}

/* Adds the files batch_api_split made of jobs[0, n) as parts, in order
 * (part[i] is job i's file). 0 or -1. */
static int add_parts(struct remote *b, struct batch_job **jobs, const size_t *part, size_t n,
		     size_t files, struct buf *err)
{
	/* Each file's jobs side by side, in order: file f's are [start[f], start[f + 1]). */
	struct batch_job **list = xcalloc(n ? n : 1, sizeof(*list));
	size_t *start = xcalloc(files + 2, sizeof(*start)), *fill = xcalloc(files + 1, sizeof(*fill));
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (part[i] != BATCH_API_UNPLACED)
			start[part[i] + 1]++;
	for (size_t f = 0; f < files; f++)
		start[f + 1] += start[f];
	for (size_t i = 0; i < n; i++)
		if (part[i] != BATCH_API_UNPLACED)
			list[start[part[i]] + fill[part[i]]++] = jobs[i];
	for (size_t f = 0; rc == 0 && f < files; f++)
		rc = add_part(b, list + start[f], start[f + 1] - start[f], err);
	free(fill);
	free(start);
	free(list);
	return rc;
}

/* Splits the jobs to send into parts (batch_api_split): one endpoint and
 * model each, at most max_lines lines and max_bytes bytes. Each line is
 * made to be measured (an edit's data: URLs read), then again when its
 * file is written. A job whose line cannot be made, or alone is too large,
 * fails unsent. 0 or -1. */
static int plan_parts(struct remote *b, struct buf *err)
{
	struct batch_plan *plan = &b->r->plan;
	struct batch_job **todo = xcalloc(plan->n ? plan->n : 1, sizeof(*todo));
	struct batch_api_line *lines = xcalloc(plan->n ? plan->n : 1, sizeof(*lines));
	size_t *part = xcalloc(plan->n ? plan->n : 1, sizeof(*part));
	size_t n = 0, files;
	int rc = 0;

	for (size_t i = 0; i < plan->n; i++) {
		struct batch_job *bj = &plan->jobs[i];
		struct buf why = BUF_INIT;
		char *line;

		if (bj->resumed || bj->elsewhere || bj->remote || bj->job.state != JOB_PENDING)
			continue;
		line = job_line(b, bj, &why);
		todo[n] = bj;
		lines[n++] = (struct batch_api_line){ bj->endpoint, bj->params.model,
						      line ? strlen(line) + 1 : 0 };
		if (!line)
			batch_run_fail_unsent(b->r, bj, why.data);
		else if (lines[n - 1].len > b->o->max_bytes)
			too_large(b, bj, lines[n - 1].len);
		free(line);
		buf_release(&why);
	}
	files = batch_api_split(lines, n, b->o, part);
	rc = add_parts(b, todo, part, n, files, err);
	free(part);
	free(lines);
	free(todo);
	return rc;
}

/* The folder's open parts from the ledger: a part whose every job is in
 * this run is resumed; one holding jobs this run does not have is left (its
 * jobs that are here are not sent: they are paid for there). */
static void open_parts(struct remote *b)
{
	struct batch_run *r = b->r;
	json_t *rows, *row, *key;
	size_t i, k;

	pthread_mutex_lock(&r->ledger_lock);
	rows = ledger_remote_parts(&r->ledger, true);
	pthread_mutex_unlock(&r->ledger_lock);
	json_array_foreach(rows, i, row) {
		json_t *keys = json_object_get(row, "keys");
		struct part *p = new_part(b);
		size_t missing = 0, away = 0;

		const char *state = text(row, "state") ? text(row, "state") : "";

		p->name = xstrdup(text(row, "part") ? text(row, "part") : "?");
		p->state = !strcmp(state, "written") ? "written" :
			   !strcmp(state, "uploaded") ? "uploaded" : "submitted";
		p->record = json_incref(row);
		json_object_del(p->record, "part");
		json_object_del(p->record, "state");
		p->jobs = xcalloc(json_array_size(keys) ? json_array_size(keys) : 1, sizeof(*p->jobs));
		json_array_foreach(keys, k, key) {
			struct batch_job *bj = find_job(b, json_string_value(key));
			if (!bj) {
				missing++;
				continue;
			}
			away += bj->elsewhere;
			p->jobs[p->n++] = bj;
		}
		p->ours = !missing && !away;
		if (!p->ours && !away) {
			char *why = xasprintf("the Batch API: %s%s%s holds %zu job%s not in this "
					      "run's input; its %zu here are left to it (collect it "
					      "with the input it was made from)", p->name,
					      text(p->record, "batch_id") ? ", batch " : "",
					      text(p->record, "batch_id") ? text(p->record, "batch_id")
									  : "",
					      missing, missing == 1 ? "" : "s", p->n);
			warn(b, why);
			free(why);
		}
	}
	json_decref(rows);
}

/* ---- the steps of a part ---- */

static int upload(struct remote *b, struct part *p, struct buf *err)
{
	char *path = input_path(b, p), *what = xasprintf("POST /files (%s.jsonl)", p->name);
	struct form form = FORM_INIT;
	struct stat st;
	json_t *file = NULL;
	int rc = -1;

	if (stat(path, &st) && (write_input(b, p, err) || stat(path, &st))) {
		if (!err->len)
			buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	form_add_text(&form, "purpose", "batch");
	form_add_file(&form, "file", path, "application/jsonl", (long long)st.st_size);
	if (exchange(b, what, "files", NULL, &form, NULL, 0, &file, NULL, err))
		goto cleanup;
	if (!text(file, "id")) {
		buf_addf(err, "the Batch API: %s: the answer has no file id", what);
		goto cleanup;
	}
	json_object_set_new(p->record, "file_id", json_string(text(file, "id")));
	if (record(b, p, "uploaded", err))
		goto cleanup;
	p->fresh = true;
	unlink(path);
	rc = 0;
cleanup:
	json_decref(file);
	form_release(&form);
	free(what);
	free(path);
	return rc;
}

/* The batch made of the part, found by its metadata: a new reference, or
 * NULL when there is none (or, with err set, when the list failed). */
static json_t *find_batch(struct remote *b, const struct part *p, struct buf *err)
{
	json_int_t created = json_integer_value(json_object_get(p->record, "created"));
	char *after = NULL;
	json_t *found = NULL;

	for (int page = 0; !found && page < LIST_PAGES_MAX; page++) {
		char *path = after ? xasprintf("batches?limit=100&after=%s", after)
				   : xstrdup("batches?limit=100");
		json_t *list = NULL, *batch;
		bool older = false;
		size_t i;

		if (exchange(b, "GET /batches", path, NULL, NULL, NULL, 0, &list, NULL, err)) {
			free(path);
			break;
		}
		free(path);
		json_array_foreach(json_object_get(list, "data"), i, batch) {
			const char *tag = text(json_object_get(batch, "metadata"), "imagegen_part");
			if (tag && !strcmp(tag, p->name)) {
				found = json_incref(batch);
				break;
			}
			/* Newest first: one made well before the part is not it. */
			older |= json_integer_value(json_object_get(batch, "created_at")) <
				 created - 3600;
		}
		free(after);
		after = text(list, "last_id") ? xstrdup(text(list, "last_id")) : NULL;
		bool more = json_is_true(json_object_get(list, "has_more"));
		json_decref(list);
		if (!more || older || !after)
			break;
	}
	free(after);
	return found;
}

/* Waits seconds, or less when interrupted. */
static void pause_for(const struct remote *b, double seconds)
{
	int64_t until = now_ms() + (int64_t)(seconds * 1000);

	while (!interrupted(b) && now_ms() < until) {
		int64_t left = until - now_ms();
		struct timespec ts = { 0, (left > 100 ? 100 : left) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Makes the part's batch, unless one was made already (a kill, or an answer
 * lost after the server acted): before every try but a fresh part's first,
 * the batch is looked for by its metadata, so there is never a second. */
static int create(struct remote *b, struct part *p, struct buf *err)
{
	long tries = b->r->engine->retry.max_attempts > 0 ? b->r->engine->retry.max_attempts : 1;
	json_t *batch = NULL;
	int rc = -1;

	for (long attempt = 1; !batch && attempt <= tries && !interrupted(b); attempt++) {
		struct buf why = BUF_INIT;
		long status = 0;

		if (!p->fresh || attempt > 1) {
			batch = find_batch(b, p, &why);
			if (batch || why.len) {
				if (!batch) {
					buf_addf(err, "%s (the batch of %s may exist: nothing was "
						 "made again)", why.data, p->name);
					buf_release(&why);
					return -1;
				}
				buf_release(&why);
				break;
			}
		}
		json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "input_file_id",
					 text(p->record, "file_id"), "endpoint",
					 text(p->record, "endpoint"), "completion_window", "24h",
					 "metadata", "imagegen_part", p->name, "imagegen_model",
					 text(p->record, "model"));
		char *json = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		rc = exchange(b, "POST /batches", "batches", json, NULL, NULL, 1, &batch, &status,
			      &why);
		free(json);
		/* Refused (4xx but 408, 409, 429): the server made nothing. */
		if (rc && status >= 400 && status < 500 && status != 408 && status != 409 &&
		    status != 429) {
			buf_adds(err, why.data);
			buf_release(&why);
			return -1;
		}
		if (rc && attempt < tries) {
			char *text_ = xasprintf("%s; looking for the batch, then trying again",
						why.data);
			warn(b, text_);
			free(text_);
			pause_for(b, 1.0);
		} else if (rc) {
			buf_adds(err, why.data);
		}
		buf_release(&why);
	}
	if (!batch) {
		if (!err->len)
			buf_addf(err, "the Batch API: the batch of %s was not made", p->name);
		return -1;
	}
	if (!text(batch, "id")) {
		buf_addf(err, "the Batch API: POST /batches: the answer has no batch id");
		json_decref(batch);
		return -1;
	}
	json_object_set_new(p->record, "batch_id", json_string(text(batch, "id")));
	json_decref(batch);
	return record(b, p, "submitted", err);
}

/* Takes a part as far as a batch at the server. 0 or -1. */
static int submit(struct remote *b, struct part *p, struct buf *err)
{
	if (!strcmp(p->state, "written") && upload(b, p, err))
		return -1;
	if (!strcmp(p->state, "uploaded") && create(b, p, err))
		return -1;
	if (p->fresh)
		note(b, "the Batch API: batch %s made of %zu job%s (%s, %s)",
		     text(p->record, "batch_id"), p->n, p->n == 1 ? "" : "s",
		     text(p->record, "endpoint"), text(p->record, "model"));
	return 0;
}

/* ---- collecting ---- */

/* "CODE: message" of an {code, message} object, made safe to print (a key
 * a server quotes redacted); the caller frees. */
static char *error_text(const json_t *e)
{
	const char *code = text(e, "code"), *message = text(e, "message");
	char *raw = xasprintf("%s%s%s", code ? code : "", code && message ? ": " : "",
			      message ? message : code ? "" : "no reason given");
	char *safe = api_text_safe(raw, strlen(raw), NULL);

	free(raw);
	return safe;
}

/* " (line 2 of the input, custom_id KEY)": where a job's line came from and
 * what the Batch API's files call it; the caller frees. */
static char *where(const struct batch_job *bj)
{
	if (bj->item->line)
		return xasprintf(" (line %zu of the input, custom_id %s)", bj->item->line, bj->key);
	return xasprintf(" (custom_id %s)", bj->key);
}

/* One line of an output or error file, into its job. */
static void take_line(struct remote *b, struct part *p, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, 0, &jerr), *response, *error;
	struct batch_job *bj = NULL;
	bool in_part = false;

	if (!json_is_object(o)) {
		warn(b, "the Batch API: a line of the batch's results is not JSON: skipped");
		goto cleanup;
	}
	bj = find_job(b, text(o, "custom_id"));
	for (size_t i = 0; bj && i < p->n; i++)
		in_part |= p->jobs[i] == bj;
	if (!in_part) {
		char *safe = utf8_scrub(text(o, "custom_id") ? text(o, "custom_id") : "(none)");
		char *why = xasprintf("the Batch API: batch %s answered a custom_id it was not "
				      "given: %.80s; skipped", text(p->record, "batch_id"), safe);
		warn(b, why);
		free(why);
		free(safe);
		goto cleanup;
	}
	if (bj->resumed || bj->job.state != JOB_PENDING)
		goto cleanup;   /* collected by an earlier run (or twice in the files) */
	response = json_object_get(o, "response");
	error = json_object_get(o, "error");
	const char *request_id = text(response, "request_id");
	json_int_t status = json_integer_value(json_object_get(response, "status_code"));
	json_t *body = json_object_get(response, "body");
	char *reason = NULL, *at = where(bj);

	if (json_is_object(response) && status >= 200 && status < 300 && json_is_object(body)) {
		char *answer = json_dumps(body, JSON_COMPACT);
		job_take_answer(&bj->job, answer, strlen(answer), request_id);
		free(answer);
	} else if (json_is_object(response)) {
		struct api_error e = API_ERROR_INIT;
		char *raw = json_is_object(body) ? json_dumps(body, JSON_COMPACT) : xstrdup("");
		api_error_parse(&e, (long)status, raw, strlen(raw), request_id);
		char *summary = api_error_summary(&e);
		reason = xasprintf("the Batch API refused it%s: %s", at, summary);
		free(summary);
		free(raw);
		api_error_release(&e);
	} else {
		char *why = error_text(error);
		reason = xasprintf("%s%s%s", why, at,
				   !strcmp(text(error, "code") ? text(error, "code") : "",
					   "batch_expired") ?
				   "; run the same command again to send it in a new batch" : "");
		free(why);
	}
	if (reason)
		job_take_failure(&bj->job, reason, request_id);
	free(reason);
	free(at);
cleanup:
	json_decref(o);
}

/* Downloads a results file and takes each of its lines. 0 or -1. */
static int take_file(struct remote *b, struct part *p, const char *id, struct buf *err)
{
	char *path = xasprintf("%s/%s/%s-%s.jsonl", b->r->plan.dir, LEDGER_DIR, p->name, id);
	char *api_path = xasprintf("files/%s/content", id);
	char *what = xasprintf("GET /files/%s/content", id);
	FILE *f = fopen(path, "w+");
	char *line = NULL;
	size_t cap = 0, taken = 0;
	ssize_t len;
	int rc = -1;

	if (!f) {
		buf_addf(err, "cannot write '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (exchange(b, what, api_path, NULL, NULL, f, 0, NULL, NULL, err))
		goto cleanup;
	if (fflush(f) || fseek(f, 0, SEEK_SET)) {
		buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (len <= 1 && line[0] == '\n')
			continue;
		take_line(b, p, line, (size_t)len);
		/* The images of a few lines at a time go to disk and the
		 * ledger before more are decoded. */
		if (++taken % COLLECT_CHUNK == 0)
			engine_run(b->r->engine);
	}
	engine_run(b->r->engine);
	rc = 0;
cleanup:
	if (f)
		fclose(f);
	unlink(path);
	free(line);
	free(what);
	free(api_path);
	free(path);
	return rc;
}

/* Why a job the batch never answered failed, by the batch's end. */
static char *unanswered(const json_t *batch)
{
	const char *status = text(batch, "status");
	json_t *errors = json_object_get(json_object_get(batch, "errors"), "data");

	if (!strcmp(status, "failed") && json_array_size(errors)) {
		char *why = error_text(json_array_get(errors, 0));
		char *text_ = xasprintf("the Batch API failed batch %s: %s", text(batch, "id"), why);
		free(why);
		return text_;
	}
	if (!strcmp(status, "expired"))
		return xasprintf("batch %s expired before this job ran; run the same command again "
				 "to send it in a new batch", text(batch, "id"));
	if (!strcmp(status, "cancelled"))
		return xasprintf("batch %s was cancelled before this job ran", text(batch, "id"));
	return xasprintf("batch %s ended (%s) with no answer for this job", text(batch, "id"),
			 status);
}

/* A batch that ended: its results into the jobs, each failed line said
 * with its job, then the part is closed. 0 or -1. */
static int collect(struct remote *b, struct part *p, const json_t *batch, struct buf *err)
{
	json_t *errors = json_object_get(json_object_get(batch, "errors"), "data"), *e;
	const char *files[] = { text(batch, "output_file_id"), text(batch, "error_file_id") };
	size_t i;

	for (size_t k = 0; k < ARRAY_SIZE(files); k++)
		if (files[k] && take_file(b, p, files[k], err))
			return -1;
	if (interrupted(b)) {
		buf_addf(err, "interrupted while collecting batch %s", text(batch, "id"));
		return -1;
	}
	/* A failed batch ran nothing: its errors name the lines they found. */
	json_array_foreach(errors, i, e) {
		json_int_t line = json_integer_value(json_object_get(e, "line"));
		struct batch_job *bj = line >= 1 && (size_t)line <= p->n ? p->jobs[line - 1] : NULL;
		char *why, *reason, *at;
		if (!bj || bj->resumed || bj->job.state != JOB_PENDING)
			continue;
		why = error_text(e);
		at = where(bj);
		reason = xasprintf("the Batch API refused line %lld of batch %s's input%s: %s",
				   (long long)line, text(batch, "id"), at, why);
		job_take_failure(&bj->job, reason, NULL);
		free(reason);
		free(why);
		free(at);
	}
	for (i = 0; i < p->n; i++) {
		struct batch_job *bj = p->jobs[i];
		if (bj->resumed || bj->job.state != JOB_PENDING)
			continue;
		char *reason = unanswered(batch);
		job_take_failure(&bj->job, reason, NULL);
		free(reason);
	}
	engine_run(b->r->engine);
	json_object_set_new(p->record, "status", json_string(text(batch, "status")));
	return record(b, p, "closed", err);
}

/* ---- polling ---- */

static bool ended(const char *status)
{
	return !strcmp(status, "completed") || !strcmp(status, "failed") ||
	       !strcmp(status, "expired") || !strcmp(status, "cancelled");
}

/* Polls a part's batch once: its progress said when it moved, and
 * collected when it ended. 0 (*done when it has), or -1. */
static int poll_part(struct remote *b, struct part *p, bool *done, struct buf *err)
{
	const char *id = text(p->record, "batch_id");
	char *path = xasprintf("batches/%s", id), *what = xasprintf("GET /batches/%s", id);
	json_t *batch = NULL, *counts;
	int rc = -1;

	*done = false;
	long refused = 0;
	if (exchange(b, what, path, NULL, NULL, NULL, 0, &batch, &refused, err)) {
		if (refused == 404)
			buf_addf(err, " (is --base-url or OPENAI_BASE_URL the server it was made at? "
				 "the same command with --cancel forgets it)");
		goto cleanup;
	}
	const char *status = text(batch, "status") ? text(batch, "status") : "unknown";
	counts = json_object_get(batch, "request_counts");
	json_int_t completed = json_integer_value(json_object_get(counts, "completed"));
	json_int_t failed = json_integer_value(json_object_get(counts, "failed"));
	json_int_t total = json_integer_value(json_object_get(counts, "total"));
	if (!p->status || strcmp(p->status, status) || completed != p->completed ||
	    failed != p->failed || total != p->total) {
		char *safe = utf8_scrub(status);
		note(b, "the Batch API: batch %s: %s, %lld of %lld done, %lld failed", id, safe,
		     (long long)completed, (long long)(total ? total : (json_int_t)p->n),
		     (long long)failed);
		free(safe);
		free(p->status);
		p->status = xstrdup(status);
		p->completed = completed;
		p->failed = failed;
		p->total = total;
	}
	rc = 0;
	if (ended(status)) {
		*done = true;
		rc = collect(b, p, batch, err);
	}
cleanup:
	json_decref(batch);
	free(what);
	free(path);
	return rc;
}

/* Cancels a part's batch: 0, 1 when the server does not have it (the part
 * is forgotten: its jobs may be sent again), or -1. */
static int cancel(struct remote *b, struct part *p, struct buf *err)
{
	const char *id = text(p->record, "batch_id");
	char *path = xasprintf("batches/%s/cancel", id), *what = xasprintf("POST /batches/%s/cancel",
									  id);
	json_t *batch = NULL;
	long status = 0;
	int rc = exchange(b, what, path, "", NULL, NULL, 0, &batch, &status, err);

	/* 409: it ended already; collecting it says how. */
	if (rc && status == 409) {
		buf_reset(err);
		rc = 0;
	}
	if (rc && status == 404) {
		note(b, "the Batch API: batch %s is not at this server: forgotten (its jobs are "
		     "sent again by the next run)", id);
		buf_reset(err);
		json_object_set_new(p->record, "status", json_string("not found"));
		rc = record(b, p, "closed", err) ? -1 : 1;
		for (size_t i = 0; rc == 1 && i < p->n; i++)
			p->jobs[i]->remote = false;
	} else if (rc == 0) {
		note(b, "the Batch API: batch %s: cancelling (what ran is collected)", id);
	}
	json_decref(batch);
	free(what);
	free(path);
	return rc;
}

/* The jobs of the parts that did not end: left at the server. */
static void count_waiting(struct remote *b)
{
	b->r->remote_waiting = 0;
	for (size_t i = 0; i < b->r->plan.n; i++) {
		const struct batch_job *bj = &b->r->plan.jobs[i];
		b->r->remote_waiting += bj->remote && !bj->resumed && bj->job.state == JOB_PENDING;
	}
}

int batch_api_run(struct batch_run *r, const struct batch_api_opts *o, struct buf *err)
{
	struct remote b = { .r = r, .o = o };
	double wait = o->poll;
	size_t cancels = 0;
	int rc = -1;

	index_jobs(&b);
	open_parts(&b);
	for (size_t i = 0; i < b.nparts; i++)
		for (size_t k = 0; k < b.parts[i].n; k++)
			b.parts[i].jobs[k]->remote = true;
	if (!o->cancel && plan_parts(&b, err))
		goto cleanup;
	for (size_t i = 0; i < b.nparts; i++) {
		struct part *p = &b.parts[i];
		if (!p->ours)
			continue;
		if (o->cancel && strcmp(p->state, "submitted")) {
			/* Not made yet, unless a kill came after the server made it. */
			struct buf why = BUF_INIT;
			json_t *batch = strcmp(p->state, "uploaded") ? NULL : find_batch(&b, p, &why);
			if (why.len) {
				buf_adds(err, why.data);
				buf_release(&why);
				goto cleanup;
			}
			buf_release(&why);
			if (batch) {
				json_object_set_new(p->record, "batch_id",
						    json_string(text(batch, "id")));
				json_decref(batch);
				if (record(&b, p, "submitted", err))
					goto cleanup;
			} else {
				for (size_t k = 0; k < p->n; k++)
					p->jobs[k]->remote = false;
				json_object_set_new(p->record, "status", json_string("not made"));
				if (record(&b, p, "closed", err))
					goto cleanup;
				continue;
			}
		}
		if (!o->cancel && submit(&b, p, err))
			goto cleanup;
		int cancelled = o->cancel ? cancel(&b, p, err) : 0;
		if (cancelled < 0)
			goto cleanup;
		cancels += cancelled == 0 && o->cancel;
		if (interrupted(&b))
			break;
	}
	if (o->cancel && !cancels)
		note(&b, "the Batch API: no batch of %s to cancel", r->plan.dir);
	if (o->no_wait || interrupted(&b)) {
		rc = 0;
		goto cleanup;
	}
	for (;;) {
		size_t open = 0;
		for (size_t i = 0; i < b.nparts && !interrupted(&b); i++) {
			struct part *p = &b.parts[i];
			bool done;
			if (!p->ours || !strcmp(p->state, "closed"))
				continue;
			if (poll_part(&b, p, &done, err))
				goto cleanup;
			open += !done;
		}
		if (!open || interrupted(&b))
			break;
		pause_for(&b, wait);
		/* Half again as long each time, to a minute (or the first wait, if
		 * that was longer). */
		double most = o->poll > BATCH_API_POLL_MAX ? o->poll : BATCH_API_POLL_MAX;
		wait = wait * 1.5 < most ? wait * 1.5 : most;
	}
	rc = 0;
cleanup:
	count_waiting(&b);
	for (size_t i = 0; i < b.nparts; i++)
		part_release(&b.parts[i]);
	free(b.parts);
	free(b.index);
	return rc;
}
