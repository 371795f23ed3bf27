/* imagegen models: the model table imagegen checks requests against (with
 * the rows of the user's models.json), each model's status, shutdown date
 * and replacement, sizes, qualities, formats and limits; with --remote,
 * merged with the server's GET /models, flagging where the two disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "exchange.h"
#include "model.h"
#include "msg.h"

static const char usage[] = "imagegen models [--remote] [--json]";
static const char about[] =
	"List the models imagegen knows: status (active, deprecated with its shutdown\n"
	"date, shut down) and replacement, sizes, qualities, output formats, images per\n"
	"request and whether it edits. Offline by default. --remote also asks the\n"
	"server (GET /models) and says where it and the table disagree: a model the\n"
	"server lists that the table lacks, one it does not list, another shutdown date.\n"
	"$XDG_CONFIG_HOME/imagegen/models.json adds rows without a rebuild:\n"
	"\n"
	"  {\"format\": 1, \"models\": [\n"
	"    {\"name\": \"gpt-image-2.6-flare-2027-01-12\", \"like\": \"gpt-image-2.6-flare\"},\n"
	"    {\"name\": \"gpt-image-2\", \"shutdown\": \"2027-06-01\",\n"
	"     \"replacement\": \"gpt-image-2.6-flare\"}]}\n"
	"\n"
	"A row takes the rules of the model it is \"like\" (a row named as a known model\n"
	"changes that one) with its own shutdown, replacement, qualities and source.";

static const char *life_name(const struct model *m, time_t now)
{
	switch (model_life(m, now)) {
	case MODEL_DEPRECATED:
		return "deprecated";
	case MODEL_SHUT_DOWN:
		return "shut down";
	default:
		return "active";
	}
}

static json_t *list(const char *const *values)
{
	json_t *a = json_array();

	for (; values && *values; values++)
		json_array_append_new(a, json_string(*values));
	return a;
}

static json_t *sizes(const struct model *m)
{
	if (!m->flexible)
		return list(m->sizes);
	return json_pack("{s:s,s:i,s:i,s:i,s:I,s:I}", "rule", "WxH", "multiple",
			 m->flexible->multiple, "max_edge", m->flexible->max_edge, "max_ratio",
			 m->flexible->max_ratio, "min_pixels", (json_int_t)m->flexible->min_pixels,
			 "max_pixels", (json_int_t)m->flexible->max_pixels);
}

static json_t *row(const struct model *m, bool user, time_t now)
{
	return json_pack("{s:s,s:s,s:s?,s:s?,s:o,s:o,s:o,s:i,s:b,s:b,s:s}", "name", m->name,
			 "status", life_name(m, now), "shutdown", m->shutdown, "replacement",
			 m->replacement, "sizes", sizes(m), "qualities", list(m->qualities),
			 "formats", list(m->formats), "max_n", m->max_n, "edits", m->edits,
			 "variations", m->variations, "source", user ? m->source : "built-in");
}

json_t *models_table(time_t now)
{
	size_t n, nu;
	const struct model *t = model_table(&n), *u = model_user_table(&nu);
	json_t *all = json_array();

	for (size_t i = 0; i < nu; i++)
		json_array_append_new(all, row(&u[i], true, now));
	for (size_t i = 0; i < n; i++)
		if (model_find(t[i].name) == &t[i])
			json_array_append_new(all, row(&t[i], false, now));
	return all;
}

static json_t *find_row(json_t *all, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach(all, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "name")), name))
			return r;
	return NULL;
}

/* An image model by its name (the list holds every kind). */
static bool image_model(const char *id)
{
	return strstr(id, "image") || !strncmp(id, "dall-e", 6);
}

/* Merges the server's list into the table's rows: "server" (listed or not),
 * "server_shutdown", and the disagreements in "differs". A new array of
 * notes, one a disagreement. */
static json_t *merge(json_t *all, json_t *answer)
{
	json_t *data = json_object_get(answer, "data"), *m, *r, *notes = json_array();
	size_t i;

	json_array_foreach(all, i, r)
		json_object_set_new(r, "server", json_string("not listed"));
	json_array_foreach(data, i, m) {
		const char *id = json_string_value(json_object_get(m, "id"));
		json_t *date = json_object_get(m, "shutdown_date");
		const char *day = json_string_value(date);
		if (!id || !image_model(id))
			continue;
		r = find_row(all, id);
		if (!r) {
			char *safe = utf8_scrub(id);
			json_array_append_new(notes, json_sprintf("%s: the server lists it and the "
								  "table does not (add it to "
								  "models.json)", safe));
			json_array_append_new(all, json_pack("{s:s,s:s,s:s?,s:s}", "name", safe,
							     "status", "unknown to imagegen",
							     "server_shutdown", day, "server",
							     "listed"));
			free(safe);
			continue;
		}
		const char *ours = json_string_value(json_object_get(r, "shutdown"));
		json_object_set_new(r, "server", json_string("listed"));
		json_object_set_new(r, "server_shutdown", day ? json_string(day) : json_null());
		if ((day || ours) && (!day || !ours || strcmp(day, ours))) {
			char *safe = day ? utf8_scrub(day) : NULL;
			json_array_append_new(notes, json_sprintf("%s: the server says it shuts "
								  "down %s; the table says %s", id,
								  safe ? safe : "never",
								  ours ? ours : "never"));
			free(safe);
		}
	}
	json_array_foreach(all, i, r) {
		const char *status = json_string_value(json_object_get(r, "status"));
		if (!strcmp(json_string_value(json_object_get(r, "server")), "not listed") &&
		    strcmp(status, "shut down"))
			json_array_append_new(notes, json_sprintf("%s: the table has it %s; the "
								  "server does not list it",
								  json_string_value(json_object_get(r,
												    "name")),
								  status));
	}
	return notes;
}

static void print_sizes(json_t *s)
{
	if (json_is_object(s)) {
		printf("WxH in %lld-px steps, edge <= %lld, <= %lld:1, %.2f-%.2f MP",
		       (long long)json_integer_value(json_object_get(s, "multiple")),
		       (long long)json_integer_value(json_object_get(s, "max_edge")),
		       (long long)json_integer_value(json_object_get(s, "max_ratio")),
		       json_integer_value(json_object_get(s, "min_pixels")) / 1e6,
		       json_integer_value(json_object_get(s, "max_pixels")) / 1e6);
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(s, i, v)
		printf("%s%s", i ? " " : "", json_string_value(v));
}

static void print_list(const char *label, json_t *values)
{
	size_t i;
	json_t *v;

	printf("    %s: ", label);
	json_array_foreach(values, i, v) {
		printf("%s", i ? " " : "");
		cli_put_safe(stdout, json_string_value(v));
	}
	putchar('\n');
}

static void print_human(json_t *all, json_t *notes)
{
	size_t i;
	json_t *r, *note;

	json_array_foreach(all, i, r) {
		const char *shutdown = json_string_value(json_object_get(r, "shutdown"));
		const char *instead = json_string_value(json_object_get(r, "replacement"));
		const char *source = json_string_value(json_object_get(r, "source"));
		cli_put_safe(stdout, json_string_value(json_object_get(r, "name")));
		const char *status = json_string_value(json_object_get(r, "status"));
		printf(": %s", status);
		if (shutdown)
			printf("%s %s%s%s%s", strcmp(status, "shut down") ? ": shuts down on" : " on",
			       shutdown, instead ? " (use " : "", instead ? instead : "",
			       instead ? ")" : "");
		if (source && strcmp(source, "built-in")) {
			printf(" [");
			cli_put_safe(stdout, source);
			putchar(']');
		}
		if (json_object_get(r, "server")) {
			printf(", server: %s", json_string_value(json_object_get(r, "server")));
			const char *day = json_string_value(json_object_get(r, "server_shutdown"));
			if (day) {
				printf(" (shutdown ");
				cli_put_safe(stdout, day);
				putchar(')');
			}
		}
		putchar('\n');
		if (!json_object_get(r, "sizes"))
			continue;
		printf("    sizes: ");
		print_sizes(json_object_get(r, "sizes"));
		putchar('\n');
		print_list("qualities", json_object_get(r, "qualities"));
		print_list("formats", json_object_get(r, "formats"));
		printf("    images per request: up to %lld; edits: %s%s\n",
		       (long long)json_integer_value(json_object_get(r, "max_n")),
		       json_is_true(json_object_get(r, "edits")) ? "yes" : "no",
		       json_is_true(json_object_get(r, "variations")) ? "; variations: yes" : "");
	}
	json_array_foreach(notes, i, note) {
		fputs("differs: ", stdout);
		cli_put_safe(stdout, json_string_value(note));
		putchar('\n');
	}
}

/* The server's list merged in: 0, -1 (it failed: the reason in err) or -2
 * (nothing could be sent: no key, another provider). */
static int remote(struct cli *c, json_t *all, json_t **notes, struct buf *err)
{
	struct engine engine;
	struct exchange_opts o = { "models: ", "GET /models", NULL, NULL, NULL, 0, NULL, NULL };
	json_t *answer = NULL;
	int rc = -1;

	memset(&engine, 0, sizeof(engine));
	if (cli_engine(c, &engine, 1, 0, err)) {
		rc = -2;
		goto cleanup;
	}
	const char *missing = provider_missing_auth(&engine.api);
	rc = -2;   /* usage: nothing is sent */
	if (missing) {
		buf_addf(err, "--remote: %s", missing);
		goto cleanup;
	}
	if (strcmp(engine.api.provider->name, "openai")) {
		buf_addf(err, "--remote: GET /models is OpenAI's (not --provider %s)",
			 engine.api.provider->name);
		goto cleanup;
	}
	rc = -1;
	if (engine_exchange(&engine, "models", &o, &answer, NULL, err))
		goto cleanup;
	json_decref(*notes);
	*notes = merge(all, answer);
	rc = 0;
cleanup:
	json_decref(answer);
	engine_release(&engine);
	return rc;
}

int cmd_models(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	bool ask = false;
	struct opt opts[] = {
		OPT_BOOL(0, "remote", &ask, "also ask the server (GET /models) and show where it disagrees"),
		OPT_BOOL(0, "json", &c.json, "one JSON object: the models (and the disagreements)"),
		OPT_CLI_CONNECTION(&c),
		OPT_END(),
	};
	struct buf err = BUF_INIT;
	json_t *all = NULL, *notes = json_array();
	int rc = cli_parse(&c, opts, usage, about, argc, argv);

	if (rc != -1)
		goto cleanup;
	c.dry_run = !ask;   /* offline: no key is asked for */
	c.no_history = true;
	if (cli_settings(&c, &err)) {
		errorf("%s", err.data);
		rc = EXIT_USAGE;
		goto cleanup;
	}
	all = models_table(time(NULL));
	if (ask && (rc = remote(&c, all, &notes, &err)) != 0) {
		errorf("%s", err.data);
		rc = rc == -2 ? EXIT_USAGE : EXIT_FAILED;
		goto cleanup;
	}
	if (c.json) {
		json_t *o = json_pack("{s:O,s:O}", "models", all, "differs", notes);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		print_human(all, notes);
	}
	rc = EXIT_OK;
cleanup:
	json_decref(all);
	json_decref(notes);
	cli_release(&c);
	buf_release(&err);
	return rc;
}
