/* Pacing a run's launches to the account's rate limits, for any front end:
 * a 429 pauses every launch until the server's time and halves the number
 * in flight (at most once a second), successes win the slots back one at a
 * time; a stated request limit (x-ratelimit-limit-requests) or --rpm sets
 * the launch interval; "no requests remaining" pauses until the reset. */
#ifndef IMAGEGEN_PACE_H
#define IMAGEGEN_PACE_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define PACE_SLACK_MS 15

struct pace {
	struct http_loop *loop;
	size_t concurrency;    /* the most in flight */
	size_t successes;      /* since the last cut */
	int64_t last_cut;
};

/* Paces loop's launches: at most concurrency in flight, rpm a minute (0 =
 * no stated limit). */
void pace_init(struct pace *p, struct http_loop *loop, size_t concurrency, long rpm);
/* Every answer to an API request (its rate-limit headers). */
void pace_answer(struct pace *p, const struct http_xfer *x);
/* A retry was scheduled delay_ms from now after an answer of status. */
void pace_retry(struct pace *p, long status, long delay_ms);
/* A request succeeded. */
void pace_success(struct pace *p);

/* The longest reset a rate-limit header may announce: a day. */
#define PACE_DURATION_MAX_MS 86400000.0

/* "1s", "6m0s", "250ms", "1.5s" (the API's reset format) in ms, or -1 when
 * it is not one, or longer than PACE_DURATION_MAX_MS. */
long pace_parse_duration(const char *s);

#endif
