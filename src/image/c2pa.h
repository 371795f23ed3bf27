/* Whether an image file carries a C2PA manifest store, found by its
 * container (C2PA 2.x, "Embedding manifests"): a caBX chunk in a PNG, a C2PA
 * chunk in a WebP (RIFF) file, APP11 JUMBF segments in a JPEG. The manifest
 * is not parsed or verified (OpenAI's check does that): imagegen only needs
 * to know that changing one byte of the file would break its hard binding. */
#ifndef IMAGEGEN_C2PA_H
#define IMAGEGEN_C2PA_H

#include <stdbool.h>

/* True when the file at path (in format: "png", "webp", "jpeg") holds a
 * manifest store; false when it holds none or cannot be read. */
bool c2pa_present(const char *path, const char *format);

#endif
