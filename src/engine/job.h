/* One API request and everything it produces: its attempts and retries, the
 * response streamed into atomic files, dall-e URL downloads, usage and the
 * error. Runs on the shared http_loop; single commands are one job. */
#ifndef IMAGEGEN_JOB_H
#define IMAGEGEN_JOB_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "afile.h"
#include "apierr.h"
#include "b64.h"
#include "call.h"
#include "chroma.h"
#include "form.h"
#include "http.h"
#include "naming.h"
#include "pace.h"
#include "params.h"
#include "price.h"
#include "provider.h"
#include "retry.h"
#include "scan.h"
#include "sniff.h"
#include "spec.h"
#include "sse.h"

struct job;
struct job_note;
struct history;

#define JOB_EXTRA_FILE ((size_t)-1)

/* What jobs share: the loop, the API, the retry policy and the callbacks
 * through which a command hears about progress. */
struct job_env {
	struct http_loop *loop;
	const struct api_config *api;
	struct retry_policy retry;
	bool no_save;
	bool keep_response;        /* keep base64 in job->response (--json) */
	bool force;                /* explicit names may be replaced */
	bool keep_partials;        /* keep NAME.partial-K.ext after the final image */
	bool metadata;             /* record how each PNG was made inside it */
	bool sidecar;              /* and in NAME.json beside every image */
	struct chroma_opts chroma; /* key the background out when enabled */
	bool keep_original;        /* and keep the image as sent, NAME-original.ext */
	int downscale_max;         /* also write a copy this size at most; 0 = no */
	const char *downscale_suffix;
	/* A file was saved: image index, or JOB_EXTRA_FILE for a copy. */
	void (*on_saved)(struct job *job, size_t index, const char *path);
	void (*on_finished)(struct job *job);
	/* The job was priced (on the loop): its answer came, or a stream's
	 * next image. NULL: nothing to do. */
	void (*on_paid)(struct job *job);
	/* Image index is about to take the final name path (batch: record it
	 * first, so a kill between the two never loses track of a paid image).
	 * Nonzero: it could not be recorded, the image is not given the name
	 * (the reason is in job->error). */
	int (*on_committing)(struct job *job, size_t index, const char *path);
	/* A warning about the job (the server sent another format, a name
	 * appeared meanwhile, a retry); NULL: printed with warnf. */
	void (*on_warning)(struct job *job, const char *text);
	/* Partial image k of image index was saved as path (streaming). */
	void (*on_partial)(struct job *job, size_t index, long k, const char *path);
	/* Is the file at path this job's own from an earlier run, to replace
	 * (batch: the ledger says so)? NULL: only with force. */
	bool (*owns)(const struct job *job, const char *path);
	/* Hands a job whose response is whole over to be committed off the
	 * loop (a batch's worker), which runs job_commit_handed and gives it
	 * back to job_committed on the loop. NULL: committed on the loop. */
	void (*commit)(struct job *job);
	struct pace *pace;         /* the run's pacing, or NULL */
	const struct price_table *prices; /* for costs, or NULL: unknown */
	struct history *history;   /* where paid requests are recorded, or NULL */
	bool batch_api;            /* priced at the Batch discount */
	void *data;
	unsigned int seed;         /* jitter */
};
#define JOB_ENV_INIT { .metadata = true, .downscale_suffix = SPEC_DEFAULT_SUFFIX }

/* Sets env's output options from a spec (what a run saves and how) and
 * seeds the jitter; the loop, API, policy and callbacks are the caller's. */
void job_env_init(struct job_env *env, const struct job_spec *s,
		  const struct chroma_opts *chroma);

/* {"input_tokens", "output_tokens", "total_tokens"} and the details that were
 * reported (a new reference). */
json_t *job_usage_json(const struct usage *u);
/* Adds "partial_images" and "partial_image_output_tokens" (100 each, billed
 * beside the reported usage) to o when a stream had partial images. */
void job_partials_json(const struct usage *u, json_t *o);

enum job_state {
	JOB_PENDING,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_INTERRUPTED,
};

/* What a job sends: a JSON body, or a multipart form when form.n > 0. */
struct job_request {
	char *url;
	char *json;
	struct form form;
};

/* One image of the response on its way to disk. */
struct job_image {
	struct afile file;
	struct b64 b64;
	unsigned char head[SNIFF_BYTES];
	size_t head_len;
	bool complete;             /* base64 ended well */
	bool signed_kept;          /* saved as sent: it keeps its C2PA manifest */
	bool keyed;                /* its embedded record names the job's key */
	bool chroma_keyed;         /* chroma-keyed (its border was the key colour) */
	double keyed_share;        /* ... and the share of its pixels made transparent */
	/* dall-e URL downloads */
	struct call call;
	char *url;
	struct job *job;
	size_t index;
};

struct job {
	size_t index;
	const char *label;         /* "job 3: " in messages, or NULL; borrowed */
	const char *key;           /* a batch job's ledger key, recorded in its
				      images' metadata (so a rerun knows an image
				      the ledger has no record of), or NULL;
				      borrowed */
	char *prompt;              /* the prompt as sent; owned */
	struct img_params params;
	struct job_request req;
	struct name_plan names;
	struct job_env *env;

	enum job_state state;
	int64_t started_ms, finished_ms;
	struct call call;          /* the request: attempts, answer, API error */
	struct scan scan;
	struct job_image *images;  /* names.n of them */
	size_t pending_downloads;
	void (*finish)(struct job *job);  /* ends the job (downloads call it) */
	bool body_started;         /* the answer's body has begun */
	size_t received;           /* bytes of this attempt's answer so far (progress) */

	/* Streams (--stream): events parsed as they arrive. */
	struct sse sse;
	bool streaming;            /* this answer is an event stream */
	bool event_open;           /* the current event's data is being scanned */
	size_t completed;          /* images whose completed event arrived */
	json_t *first_usage;       /* the first completed event's usage (streams) */
	bool usage_doubt;          /* its repeats could not be told apart: warned */
	char **partials;           /* partial files on disk, for removal */
	size_t npartials;

	/* Committed off the loop: the images handed over, and what their
	 * commit says (files saved, warnings), kept in order for the loop. */
	size_t to_commit;
	bool off_loop;
	struct job_note *notes, *notes_tail;

	json_t *response;          /* the parsed response (b64 emptied unless kept) */
	char **saved;              /* final paths, index-aligned; NULL = not saved */
	struct usage usage;
	bool paid;                 /* the server answered with images: billed */
	int cut_short;             /* earlier attempts billed but cut short (retried) */
	long input_tokens;         /* estimated, of an edit's inputs */
	struct cost estimate;      /* before sending */
	struct cost cost;          /* from the usage (or per-image price) */
	const char *size;          /* from the response, borrowed from it */
	struct buf error;          /* why the job failed, one line */
	bool disk_full;            /* it failed because an image could not be written
				      for want of space: sending more is paying for
				      images that cannot be saved */
};

/* Takes ownership of prompt; req and plan are moved into the job. */
void job_init(struct job *job, struct job_env *env, size_t index, char *prompt,
	      const struct img_params *params, struct job_request *req,
	      struct name_plan *plan);
/* A job for a plan: its prompt, body or form and names move into the job
 * (the plan is left empty); the request goes to the API's endpoint. */
void job_init_plan(struct job *job, struct job_env *env, size_t index, struct job_plan *plan,
		   const struct api_config *api);
/* On the worker env->commit hands the job to: commits the images handed
 * over (fsync, metadata, rename, copies), saying nothing yet. */
void job_commit_handed(struct job *job);
/* Back on the loop: says what the commit did and ends the job. */
void job_committed(struct job *job);
/* For an image an earlier run saved at path, of the job described (its
 * prompt, parameters and usage): writes the sidecar and the downscaled copy
 * env asks for when they are missing (a kill came between the image and
 * them), each said through on_saved. 0, or -1 with the reason in job->error. */
int job_complete_image(struct job *job, const char *path);
/* The answer to the job's request, sent once another way (a Batch API
 * output line's body; request_id may be NULL): decoded, checked, priced and
 * committed as an answer of the job's own request would be; the job ends as
 * that one would. */
void job_take_answer(struct job *job, const char *body, size_t len, const char *request_id);
/* The job's request, sent once another way, failed for reason: it ends as
 * failed (not paid for). */
void job_take_failure(struct job *job, const char *reason, const char *request_id);
/* Queues the first attempt on env->loop. */
int job_start(struct job *job);
/* Aborts the job's request, waiting or in flight (its temp files go, it
 * ends as interrupted); a job whose answer is whole (its images being
 * downloaded or committed) is left to end. Returns whether it was aborted. */
bool job_cancel(struct job *job);
void job_release(struct job *job);

#endif
