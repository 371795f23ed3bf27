/* Printing a planned request for --dry-run. */
#ifndef IMAGEGEN_DRYRUN_H
#define IMAGEGEN_DRYRUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "form.h"
#include "naming.h"
#include "provider.h"

/* Prints the request to url, the planned outputs and the estimated cost
 * (a cost_json object and its text, or NULL), without secrets:
 * human-readable, or one JSON object a line when as_json. */
void dryrun_print(FILE *out, const struct api_config *api, const char *url, json_t *body,
		  const struct form *form, const struct name_plan *plan, bool no_save,
		  json_t *estimate, const char *estimate_text, bool as_json);

#endif
