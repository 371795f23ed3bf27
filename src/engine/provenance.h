/* Content provenance checks (POST /v1/content_provenance_checks): a file is
 * sent as multipart "file" and OpenAI answers with what it finds, a C2PA
 * manifest and a SynthID watermark (reference §5.1), through the same call
 * path as image requests. */
#ifndef IMAGEGEN_PROVENANCE_H
#define IMAGEGEN_PROVENANCE_H

#include <jansson.h>

#include "engine.h"

#define PROVENANCE_ENDPOINT "content_provenance_checks"
#define PROVENANCE_ANSWER_MAX (4 * 1024 * 1024)

/* Checks the file at path; *answer is the API's JSON object as it came (a
 * new reference, every field kept). 0, or -1 with the reason in err (an API
 * error as its one-line summary). */
int provenance_check(struct engine *e, const char *path, json_t **answer, struct buf *err);

#endif
