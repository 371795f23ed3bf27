/* Request bodies from parameters (pure), and the --dry-run view of a request. */
#ifndef IMAGEGEN_REQUEST_H
#define IMAGEGEN_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "http.h"
#include "naming.h"
#include "params.h"

/* The JSON body of POST /images/generations: only parameters the API defines,
 * with its types; parameters a known model does not take are left out.
 * Returns a new reference. */
json_t *request_generation_body(const struct img_params *p, const char *prompt);

/* "BASE/images/generations" etc.; the caller frees. */
char *request_url(const struct api_config *api, const char *endpoint);

/* Prints what would be sent and where images would go, without the key:
 * human-readable, or one JSON object when as_json. */
void request_print_dry_run(FILE *out, const struct api_config *api,
			   const char *url, json_t *body,
			   const struct name_plan *plan, bool no_save, bool as_json);

#endif
