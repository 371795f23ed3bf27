/* Printing a planned request for --dry-run. */
#ifndef IMAGEGEN_DRYRUN_H
#define IMAGEGEN_DRYRUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "form.h"
#include "naming.h"
#include "provider.h"

/* Prints the request to url and the planned outputs, without secrets:
 * human-readable, or one JSON object a line when as_json. */
void dryrun_print(FILE *out, const struct api_config *api, const char *url, json_t *body,
		  const struct form *form, const struct name_plan *plan, bool no_save,
		  bool as_json);

#endif
