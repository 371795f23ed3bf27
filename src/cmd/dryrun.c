/* --dry-run: what would be sent (the provider's URL and headers with every
 * secret replaced, the body or form) and where the images would go. The
 * engine plans; printing it is the command line's business. */
#include "dryrun.h"

#include <stdlib.h>
#include <string.h>

static void print_json_dry_run(FILE *out, struct curl_slist *headers,
			       const char *url, json_t *body, const struct form *form,
			       const struct name_plan *plan, bool no_save, json_t *estimate)
{
	json_t *o = json_object(), *h = json_object(), *paths = json_array();

	for (struct curl_slist *l = headers; l; l = l->next) {
		const char *colon = strchr(l->data, ':');
		if (!colon)
			continue;
		char *name = xstrndup(l->data, (size_t)(colon - l->data));
		json_object_set_new(h, name, json_string(colon + 2));
		free(name);
	}
	for (size_t i = 0; !no_save && i < plan->n; i++)
		json_array_append_new(paths, json_string(plan->paths[i]));
	json_object_set_new(o, "method", json_string("POST"));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "headers", h);
	if (form)
		json_object_set_new(o, "form", form_to_json(form));
	else
		json_object_set(o, "body", body);
	json_object_set_new(o, "outputs", paths);
	if (estimate)
		json_object_set(o, "estimate", estimate);
	json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER);   /* one line each */
	fputc('\n', out);
	json_decref(o);
}

void dryrun_print(FILE *out, const struct api_config *api, const char *url, json_t *body,
		  const struct form *form, const struct name_plan *plan, bool no_save,
		  json_t *estimate, const char *estimate_text, bool as_json)
{
	const char *type = form ? "multipart/form-data" : "application/json";
	struct curl_slist *headers = provider_headers(api, type, true);
	const char *missing = provider_missing_auth(api);
	char *shown = provider_redact_url(url);

	if (as_json) {
		print_json_dry_run(out, headers, shown, body, form, plan, no_save, estimate);
	} else {
		fprintf(out, "POST %s\n", shown);
		if (missing)
			fprintf(out, "Authorization: (not sent: %s)\n", missing);
		for (struct curl_slist *l = headers; l; l = l->next)
			fprintf(out, "%s\n", l->data);
		fputc('\n', out);
		if (form) {
			form_print(form, out);
			fputc('\n', out);
		} else {
			json_dumpf(body, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputs("\n\n", out);
		}
		if (no_save)
			fputs("output: none (--no-save)\n", out);
		for (size_t i = 0; !no_save && i < plan->n; i++)
			fprintf(out, "output: %s\n", plan->paths[i]);
		if (estimate_text)
			fprintf(out, "estimated cost: %s\n", estimate_text);
	}
	curl_slist_free_all(headers);
	free(shown);
}
