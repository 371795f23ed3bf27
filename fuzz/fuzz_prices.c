/* A user's price table (prices.json), whatever is in it: parsed into a table
 * that already holds a row, then every row asked the cost of a usage and an
 * estimate. A table that parses must price only with the rates it holds: a
 * cost is unknown, or a finite amount at least 0, never NaN or negative; a
 * table that does not parse leaves the table as it was. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "price.h"

static const char base[] =
	"{\"date\": \"2026-11-30\", \"models\": [{\"model\": \"gpt-image-2\", \"tokens\": "
	"{\"text_input\": 5, \"image_input\": 8, \"image_output\": 30}, \"estimate\": "
	"\"gpt-image-2\", \"batch_discount\": 0.5}]}";

static void check(const struct cost *c)
{
	if (c->basis != COST_UNKNOWN && (!isfinite(c->usd) || c->usd < 0))
		abort();
	if (c->basis == COST_UNKNOWN && !c->why)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct price_table t = { 0 };
	struct buf err = BUF_INIT;
	char *text = malloc(size + 1);
	static const char *const qualities[] = { "low", "medium", "high", "xhigh", "auto", NULL };
	static const char *const sizes[] = { "1024x1024", "auto", "3840x2160", "16x99999", NULL };
	struct usage u = { .present = true, .input = 50, .input_split = true, .input_text = 20,
			   .input_image = 30, .cached = 25, .output = 4000, .total = 4050,
			   .partial_images = 2 };

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (price_table_parse(&t, base, "base", false, &err))
		abort();
	size_t before = t.n;
	if (price_table_parse(&t, text, "fuzz.json", true, &err) && t.n != before)
		abort();
	for (size_t i = 0; i < t.n; i++) {
		for (size_t q = 0; qualities[q]; q++) {
			for (size_t s = 0; sizes[s]; s++) {
				struct estimate_in in = { .quality = qualities[q], .size = sizes[s],
							  .n = 10, .partials = 3, .prompt_chars = 32000,
							  .input_image_tokens = 16 * 1105,
							  .batch = s % 2, .history_tokens = 5000,
							  .history_images = (long)q };
				struct cost c;
				price_cost(&t.rows[i], &u, qualities[q], sizes[s], 10, s % 2, &c);
				check(&c);
				price_estimate(&t.rows[i], &in, &c, NULL);
				check(&c);
			}
		}
		if (price_find(&t, t.rows[i].model) == NULL)
			abort();
	}
	price_table_release(&t);
	buf_release(&err);
	free(text);
	return 0;
}
