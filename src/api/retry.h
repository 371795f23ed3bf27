/* When to retry and how long to wait, like the official SDKs: connection
 * errors, 408, 409, 429 and 5xx are retried with exponential backoff and
 * jitter; a delay the server gives (retry-after-ms, retry-after) up to 60 s
 * is used as given; x-should-retry overrides; exhausted quota never retries. */
#ifndef IMAGEGEN_RETRY_H
#define IMAGEGEN_RETRY_H

#include <stdbool.h>
#include <time.h>

#define RETRY_DEFAULT_ATTEMPTS 3
#define RETRY_DEFAULT_BASE 0.5
#define RETRY_MAX_DELAY 8.0
#define RETRY_HINT_MAX_MS 60000

struct retry_policy {
	long max_attempts;   /* including the first */
	double base;         /* first delay in seconds */
	double max;          /* cap on computed delays */
};
#define RETRY_POLICY_INIT { RETRY_DEFAULT_ATTEMPTS, RETRY_DEFAULT_BASE, RETRY_MAX_DELAY }

/* What the server said about retrying (header values, NULL when absent). */
struct retry_hints {
	const char *retry_after_ms;
	const char *retry_after;
	const char *should_retry;
	const char *error_code;   /* the error's code or type, e.g. insufficient_quota */
};

/* May an HTTP answer with this status be retried? */
bool retry_status(long status, const struct retry_hints *h);

/* The server's requested delay in ms, or -1 when it gave none usable.
 * retry-after may be seconds or an HTTP date (compared with now). */
long retry_hint_ms(const struct retry_hints *h, time_t now);

/* The delay in ms before the next attempt after `retries_done` retries
 * (0 before the first retry). jitter in [0, 1) scales the computed delay by
 * 1 - 0.25 * jitter; a usable server hint (0 < hint <= 60 s) wins. */
long retry_delay_ms(const struct retry_policy *p, int retries_done,
		    const struct retry_hints *h, double jitter, time_t now);

#endif
