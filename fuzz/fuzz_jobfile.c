/* The JSONL job reader, and validation of every job it accepts. */
#include <stddef.h>
#include <stdint.h>

#include "jobfile.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch_items items = BATCH_ITEMS_INIT;
	struct buf err = BUF_INIT, warn = BUF_INIT;

	jobfile_parse((const char *)data, size, &items, &err);
	for (size_t i = 0; i < items.n; i++) {
		struct img_params p = items.v[i].params;
		params_apply_defaults(&p, OP_GENERATE);
		params_validate(&p, OP_GENERATE, items.v[i].prompt, &err, &warn);
		buf_reset(&err);
		(void)jobfile_safe_name(items.v[i].out);
	}
	batch_items_release(&items);
	buf_release(&err);
	buf_release(&warn);
	return 0;
}
