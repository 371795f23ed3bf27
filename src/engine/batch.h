/* A batch's plan: each job's merged parameters, prompt, request body,
 * output names and request hash, and which jobs an earlier run already did.
 * Everything here happens before the first request is sent. */
#ifndef IMAGEGEN_BATCH_H
#define IMAGEGEN_BATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "job.h"
#include "jobfile.h"
#include "ledger.h"
#include "spec.h"


struct batch_job {
	struct job job;              /* first: a struct job * is a struct batch_job * */
	const struct batch_item *item;
	size_t index;                /* in the plan */
	struct img_params params;    /* CLI defaults with the item's overrides */
	struct img_params asked;     /* ... as they were before being settled */
	enum operation op;           /* OP_GENERATE, or OP_EDIT for a line with images */
	const char *endpoint;        /* "images/generations" or "images/edits" (static) */
	char *sent;                  /* the prompt as sent */
	json_t *body;                /* the JSON request, or NULL for a form */
	struct form form;            /* an edit of local files: the multipart request */
	long input_tokens;           /* an edit's inputs, estimated */
	bool counted;                /* its estimate is in the run's outstanding */
	double booked;               /* its cost in the run's booked */
	char *key;                   /* ledger key: request, occurrence */
	char *legacy_key;            /* an earlier version's: request, id, out,
					occurrence */
	bool rekey;                  /* its entry is under legacy_key: rekeyed at
					start */
	char *hash;
	char *label;                 /* "job N: " */
	struct name_plan names;
	bool resumed;                /* done by an earlier run: not sent */
	bool elsewhere;              /* another live imagegen run has claimed it */
	bool remote;                 /* in a Batch API batch: paid for there, never
					sent again */
	bool recovered;              /* resumed from an image at a name reserved for it
					that an earlier run could not record: the
					record (earlier) is written at start */
	json_t *earlier;             /* its entry from an earlier run, or NULL (owned) */
	bool held_back;              /* it failed only transiently: not said yet, it
					goes again at the end of the run */
	bool second;                 /* it went again at the end of the run */
	int attempts_before;         /* ... after these attempts */
	json_t *foreign;             /* names reserved for its images whose files are
					not its images: given back (owned), or NULL */
};

struct batch_plan {
	struct batch_job *jobs;
	size_t n;
	char *dir;
};
#define BATCH_PLAN_INIT { NULL, 0, NULL }

/* Builds every job from the items with the defaults' parameters, fields,
 * style and image work, validating each (a message "line N: ..." or
 * "prompt N: ..." in err on the first bad one), and plans the output folder
 * (defaults->out_dir, or one named from the prompts); warnings go to warn,
 * one a line, each naming its job. 0 or -1. */
int batch_plan(struct batch_plan *plan, const struct batch_items *items,
	       const struct job_spec *defaults, struct buf *warn, struct buf *err);

/* Finds each job's entry in the ledger (or an imported manifest's) and marks
 * the jobs an earlier run paid for and saved an image of (unless force). */
void batch_resume(struct batch_plan *plan, const struct ledger *l, bool force);

/* The earlier jobs in the ledger that jobs of the plan supersede: each an
 * entry not of the plan whose line (its id, else its "out", else its
 * prompt) is a job's of the plan, but whose request is not that of any job
 * of that line; and the jobs of the plan that were superseded (their lines
 * are as they were again). A new array of [earlier key, the plan job's key]
 * and [plan job's key, null]. */
json_t *batch_superseded(const struct batch_plan *plan, const struct ledger *l);

/* Plans the output names of the jobs still to do: "NN-slug.ext", "<id>.ext"
 * or the job's "out", inside the folder. A job's own files from an earlier
 * run are replaced; a derived name another file holds takes the next free
 * one; an "out" another file holds is refused; --force fixes every name and
 * replaces. 0, or -1 (also when two jobs would write the same file). */
int batch_name_files(struct batch_plan *plan, const struct ledger *l,
		     const struct job_spec *d, struct buf *err);

/* The JSON body of a job's request as a Batch API line sends it: its own
 * body, or for an edit of local files the JSON form with their bytes as
 * data: URLs (read now). A new reference, or NULL with why in err. */
json_t *batch_job_line_body(const struct batch_job *bj, const struct job_spec *d,
			    struct buf *err);

void batch_plan_release(struct batch_plan *plan);

#endif
