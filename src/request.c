#include "request.h"

#include <stdlib.h>
#include <string.h>

static void set_string(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void set_integer(json_t *o, const char *key, long v)
{
	if (v != -1)
		json_object_set_new(o, key, json_integer(v));
}

json_t *request_generation_body(const struct img_params *p, const char *prompt)
{
	const struct model *m = model_find(p->model);
	bool dalle = m && !model_is_gpt(m);
	json_t *o = json_object();

	set_string(o, "model", p->model);
	set_string(o, "prompt", prompt);
	set_integer(o, "n", p->n);
	set_string(o, "size", p->size);
	set_string(o, "quality", p->quality);
	set_string(o, "background", p->background);
	if (!dalle)
		set_string(o, "output_format", p->output_format);
	set_integer(o, "output_compression", p->output_compression);
	set_string(o, "moderation", p->moderation);
	set_string(o, "response_format", p->response_format);
	set_string(o, "style", p->style);
	set_string(o, "user", p->user);
	if (p->stream)
		json_object_set_new(o, "stream", json_true());
	set_integer(o, "partial_images", p->partial_images);
	return o;
}

char *request_url(const struct api_config *api, const char *endpoint)
{
	return xasprintf("%s/%s", api->base_url, endpoint);
}

static void print_json_dry_run(FILE *out, struct curl_slist *headers,
			       const char *url, json_t *body,
			       const struct name_plan *plan, bool no_save)
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
	json_object_set(o, "body", body);
	json_object_set_new(o, "outputs", paths);
	json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(o);
}

void request_print_dry_run(FILE *out, const struct api_config *api,
			   const char *url, json_t *body,
			   const struct name_plan *plan, bool no_save, bool as_json)
{
	struct curl_slist *headers = http_api_headers(api, "application/json", true);

	if (as_json) {
		print_json_dry_run(out, headers, url, body, plan, no_save);
	} else {
		fprintf(out, "POST %s\n", url);
		if (!api->key)
			fputs("Authorization: (not set: OPENAI_API_KEY is empty)\n", out);
		for (struct curl_slist *l = headers; l; l = l->next)
			fprintf(out, "%s\n", l->data);
		fputc('\n', out);
		json_dumpf(body, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputs("\n\n", out);
		if (no_save)
			fputs("output: none (--no-save)\n", out);
		for (size_t i = 0; !no_save && i < plan->n; i++)
			fprintf(out, "output: %s\n", plan->paths[i]);
	}
	curl_slist_free_all(headers);
}
