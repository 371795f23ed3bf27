/* The engine as a front end drives it: a provider and a loop, specs planned
 * into requests, jobs started on the loop and run to their end. The front
 * end (the command line, later an MCP server) fills a job_spec, hears about
 * progress through the job_env callbacks, and does its own printing: the
 * engine never writes to stdout. */
#ifndef IMAGEGEN_ENGINE_H
#define IMAGEGEN_ENGINE_H

#include <signal.h>

#include "job.h"
#include "history.h"
#include "pace.h"
#include "price.h"
#include "provider.h"
#include "retry.h"
#include "spec.h"

struct engine {
	struct api_config api;       /* owned */
	struct http_loop loop;
	struct retry_policy retry;
	struct pace pace;
	struct price_table prices;   /* the bundled table and the user's rows */
	struct history history;      /* the spend history, when open */
	unsigned int seed;           /* retry jitter of calls that are no job's */
};

/* Reaches the provider the options and environment name (env reads a
 * variable), with up to concurrency requests in flight and rpm a minute
 * (0: no stated limit); interrupts (or NULL) stops the loop when it counts
 * up. 0, or -1 with a message in err; release e either way. */
int engine_init(struct engine *e, const struct provider_options *o,
		const char *(*env)(const char *name), size_t concurrency, long rpm,
		volatile sig_atomic_t *interrupts, struct buf *err);
void engine_release(struct engine *e);

/* What this server takes of a planned request: the provider's rules, and a
 * model's life (refused at OpenAI after its shutdown unless allow_retired,
 * warned elsewhere and before it); variations are refused at OpenAI. 0, or
 * -1 with a message in err; warnings one a line in warn. */
int engine_check_server(const struct engine *e, const struct img_params *p, enum operation op,
			bool allow_retired, struct buf *warn, struct buf *err);

/* Plans the spec's request for this provider (every rule checked, nothing
 * sent): warnings one a line in warn. 0, or -1 with a message in err. */
int engine_plan(const struct engine *e, const struct job_spec *s, struct job_plan *plan,
		struct buf *warn, struct buf *err);

/* Starts a planned request as job: checks the credentials, creates the
 * output folders, fills env's output options from the spec and its share of
 * the engine (loop, provider, retries, pacing; callbacks stay the caller's)
 * moves the plan into the job and queues it (a job that cannot even be set
 * up ends at once as failed). 0, or -1 with a message in err (nothing was
 * sent). */
int engine_start(struct engine *e, struct job *job, struct job_env *env,
		 const struct job_spec *s, struct job_plan *plan, struct buf *err);

/* Opens the spend history (env reads a variable: IMAGEGEN_HISTORY names
 * another file): when record, every paid request of this run is recorded
 * there as command; otherwise it is only read, for estimates, if it exists.
 * 0, or -1 with a message in err (the run goes on without it). */
int engine_open_history(struct engine *e, const char *command, bool record,
			const char *(*env)(const char *name), struct buf *err);
/* Writes what the history still holds; the reason it could not, or NULL. */
const char *engine_close_history(struct engine *e);

/* Runs until every job has ended. 0, or -1 when interrupted. */
int engine_run(struct engine *e);

#endif
