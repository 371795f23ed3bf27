/* Edit inputs named by arbitrary text: data: URLs (their declared type, the
 * base64 and the picture it holds), https URLs and file ids, classified and
 * inspected as --image would be. Whatever is accepted has a known format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg = malloc(size + 6);
	struct input in;
	struct buf err = BUF_INIT;

	/* Half the inputs as data: URLs, the rest as given (never a local file). */
	size_t at = size && data[0] & 1 ? 5 : 0;
	memcpy(arg, "data:", at);
	memcpy(arg + at, data, size);
	arg[at + size] = '\0';
	if (strlen(arg) == at + size && input_classify(arg, false) != INPUT_FILE &&
	    input_inspect(&in, "--image", arg, &err) == 0 &&
	    in.kind == INPUT_DATA_URL && !in.format)
		abort();   /* a data: URL accepted without knowing what it holds */
	buf_release(&err);
	free(arg);
	return 0;
}
