/* Prices as data: the dated table in data/prices.json (installed under
 * share/imagegen/, read at run time), rows added or replaced by the user's
 * $XDG_CONFIG_HOME/imagegen/prices.json, and what an image costs: from a
 * response's usage at the model's token rates, from its per-image price when
 * there is no usage to go by, and estimated before anything is sent. A cost
 * that needs a rate the table does not have is unknown, never made up. */
#ifndef IMAGEGEN_PRICE_H
#define IMAGEGEN_PRICE_H

#include <jansson.h>
#include <stdbool.h>

#include "util.h"

/* A response's usage (reference §2.5), as far as it was reported. */
struct usage {
	long input, output, total, input_text, input_image;
	long cached;               /* input_tokens_details.cached_tokens */
	long output_image, output_text; /* output_tokens_details */
	bool output_split;         /* output_tokens_details was there */
	bool input_split;          /* input_tokens_details was there */
	long partial_images;       /* streamed partials: each billed 100 output tokens */
	bool present;
};

/* Output tokens billed for each partial image of a stream (reference §4). */
#define PARTIAL_IMAGE_TOKENS 100

/* Fills u from a response's usage object (u->present when there is one). */
void usage_parse(struct usage *u, json_t *usage);
/* Adds b's counts to a (a stream's completed events, a run's jobs). */
void usage_add(struct usage *a, const struct usage *b);

enum price_rule {
	RULE_NONE,
	RULE_GPT_IMAGE_2,          /* the output-token rule of reference §6.2 */
	RULE_PER_IMAGE,            /* the row's per-image prices */
};

/* A price per image of one quality and size. */
struct price_each {
	char *quality, *size;
	double usd;
};

/* Rates are US dollars per 1,000,000 tokens; negative means unknown. */
struct price_row {
	char *model;
	char **snapshots;
	size_t nsnapshots;
	double text_in, cached_text_in, image_in, cached_image_in, image_out, text_out;
	struct price_each *each;
	size_t neach;
	enum price_rule rule;
	double batch_discount;     /* the share taken off in a Batch API run; <0 unknown */
	char *source, *read;       /* where and when the row's prices were read */
	bool user;                 /* from the user's file */
};

struct price_table {
	struct price_row *rows;
	size_t n;
	char *date;                /* the bundled table's date */
	char *bundled, *user;      /* the files read (NULL: none) */
};

/* Adds the rows of a table's text to t (a row for a model t has replaces
 * it); file names the text in messages, user marks the user's rows. 0, or
 * -1 with a message in err (t keeps what it had). */
int price_table_parse(struct price_table *t, const char *text, const char *file, bool user,
		      struct buf *err);
/* Reads the bundled table (IMAGEGEN_PRICES names another file) and the
 * user's; env reads a variable. A missing bundled table leaves every cost
 * unknown; a file that cannot be read or parsed is an error. 0, or -1 with
 * a message in err. */
int price_table_load(struct price_table *t, const char *(*env)(const char *name),
		     struct buf *err);
void price_table_release(struct price_table *t);

/* The row for a model id or one of its snapshots, or NULL. */
const struct price_row *price_find(const struct price_table *t, const char *model);

enum cost_basis {
	COST_UNKNOWN,
	COST_USAGE,                /* the response's usage at the token rates */
	COST_PER_IMAGE,            /* the per-image price of its quality and size */
	COST_RULE,                 /* estimate: the gpt-image-2 output-token rule */
	COST_HISTORY,              /* estimate: usage of earlier runs */
};

struct cost {
	double usd;
	enum cost_basis basis;
	const char *why;           /* static: why it is unknown, or a caveat */
	const char *bound;         /* static: why an estimate is only an upper bound
				      ("size auto at its costliest"), or NULL */
};

/* The cost of images images of quality and size (as the response gave them)
 * with usage u (u->present or not) on row (NULL: unknown), at the Batch
 * discount when batch. */
void price_cost(const struct price_row *row, const struct usage *u, const char *quality,
		const char *size, long images, bool batch, struct cost *c);

/* What an estimate is made from. */
struct estimate_in {
	const char *quality, *size;
	long n;
	long partials;             /* partial images asked for, per image */
	long prompt_chars;
	long input_image_tokens;   /* of an edit's inputs (price_input_tokens) */
	int input_w, input_h;      /* an edit's first input, which size auto follows
				      (0: not an edit, or not known) */
	bool batch;
	long history_tokens;       /* output tokens per image earlier runs averaged, or 0 */
	long history_images;       /* how many images that average is of */
	bool prefer_history;       /* before the rule, when the rule is borrowed */
};

/* The estimated cost of a request on row (NULL: unknown); tokens (when not
 * NULL) gets the output tokens it expects. */
void price_estimate(const struct price_row *row, const struct estimate_in *in,
		    struct cost *c, long *tokens);

/* Output image tokens of one image by the gpt-image-2 rule (reference §6.2)
 * at quality low, medium or high; -1 for another quality or a bad size. */
long price_rule_tokens(const char *quality, int w, int h);

/* The size an edit with size auto comes back in, from its first input of
 * w x h: for gpt-image-2 and later the input's shape (at most 3:1) at about
 * a megapixel, in 16-px steps, into *out_w x *out_h. */
void price_auto_edit_size(int w, int h, int *out_w, int *out_h);

/* Input image tokens of a w x h input (the vision tile rule: fit in
 * 2048x2048, short side at most 768, 85 + 170 a 512-px tile); 0x0 (not
 * known) counts as a 1024x1024 image. */
long price_input_tokens(int w, int h);

/* "$0.0527" (four places under $10, two above) into out. */
const char *price_format(double usd, char out[32]);
/* What a basis is called in messages ("from usage", ...). */
const char *price_basis_name(enum cost_basis b);

#endif
