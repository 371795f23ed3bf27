#include "engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job_internal.h"

int engine_init(struct engine *e, const struct provider_options *o,
		const char *(*env)(const char *name), size_t concurrency, long rpm,
		volatile sig_atomic_t *interrupts, struct buf *err)
{
	memset(e, 0, sizeof(*e));
	e->retry = (struct retry_policy)RETRY_POLICY_INIT;
	if (provider_config(&e->api, o, env, err) || price_table_load(&e->prices, env, err))
		return -1;
	if (http_loop_init(&e->loop, concurrency, interrupts)) {
		buf_addf(err, "cannot start the HTTP engine");
		return -1;
	}
	pace_init(&e->pace, &e->loop, concurrency, rpm);
	e->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	return 0;
}

void engine_release(struct engine *e)
{
	http_loop_release(&e->loop);
	provider_release(&e->api);
	price_table_release(&e->prices);
	history_release(&e->history);
}

/* Variations ran only on dall-e-2: OpenAI has none since its shutdown. */
static int check_operation(const struct engine *e, enum operation op, struct buf *err)
{
	if (op != OP_VARIATION || !provider_at_openai(&e->api))
		return 0;
	buf_addf(err, "variation: OpenAI shut down dall-e-2, the only model that made "
		 "variations, on 2026-05-12; use 'imagegen edit --image FILE' with a "
		 "gpt-image-2.5 or 2.6 model (variations still work on compatible servers)");
	return -1;
}

int engine_check_server(const struct engine *e, const struct img_params *p, enum operation op,
			bool allow_retired, struct buf *warn, struct buf *err)
{
	bool at_openai = provider_at_openai(&e->api);

	if (check_operation(e, op, err) || provider_check_params(&e->api, p, err))
		return -1;
	return params_check_life(p, at_openai, allow_retired, time(NULL), err, warn);
}

int engine_plan(const struct engine *e, const struct job_spec *s, struct job_plan *plan,
		struct buf *warn, struct buf *err)
{
	if (check_operation(e, s->op, err) || spec_plan(s, plan, warn, err) ||
	    engine_check_server(e, &plan->params, s->op, s->allow_retired, warn, err))
		return -1;
	return 0;
}

int engine_start(struct engine *e, struct job *job, struct job_env *env,
		 const struct job_spec *s, struct job_plan *plan, struct buf *err)
{
	const char *missing = provider_missing_auth(&e->api);

	if (missing) {
		buf_addf(err, "%s (--dry-run works without it)", missing);
		return -1;
	}
	if (!s->no_save && spec_make_folders(&plan->names, err))
		return -1;
	env->loop = &e->loop;
	env->api = &e->api;
	env->retry = e->retry;
	env->pace = &e->pace;
	env->prices = &e->prices;
	env->history = e->history.db ? &e->history : NULL;   /* records only if open to */
	job_env_init(env, s, &plan->chroma);
	job_init_plan(job, env, 0, plan, &e->api);
	if (job_start(job))
		job_fail(job, NULL);   /* ends at once, as failed, with its reason */
	return 0;
}

int engine_open_history(struct engine *e, const char *command, bool record,
			const char *(*env)(const char *name), struct buf *err)
{
	const char *named = env("IMAGEGEN_HISTORY");
	char *path = named && *named ? xstrdup(named) : history_path(env);
	int rc;

	if (!path) {
		buf_addf(err, "the spend history has no place: XDG_STATE_HOME is not an absolute "
			 "path, and this user has no home folder");
		return -1;
	}
	rc = record ? history_open(&e->history, path, command, err)
		    : history_open_existing(&e->history, path, err) < 0 ? -1 : 0;
	free(path);
	return rc;
}

const char *engine_close_history(struct engine *e)
{
	struct history *h = &e->history;
	size_t lost = json_array_size(h->held);

	if (!h->db)
		return NULL;
	sqlite3_busy_timeout(h->db, 5000);
	if (history_flush(h) == 0)
		return NULL;
	buf_addf(&h->error, "; %zu paid request%s not recorded", lost, lost == 1 ? " was" : "s were");
	json_array_clear(h->held);   /* said: not tried again at release */
	return h->error.data;
}

int engine_run(struct engine *e)
{
	return http_loop_run(&e->loop);
}
