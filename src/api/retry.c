#include "retry.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

bool retry_status(long status, const struct retry_hints *h)
{
	if (h && h->error_code && !strcmp(h->error_code, "insufficient_quota"))
		return false;
	if (h && h->should_retry) {
		if (!strcmp(h->should_retry, "true"))
			return true;
		if (!strcmp(h->should_retry, "false"))
			return false;
	}
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

long retry_hint_ms(const struct retry_hints *h, time_t now)
{
	double v;

	if (!h)
		return -1;
	if (h->retry_after_ms &&
	    value_parse_seconds(h->retry_after_ms, 0, 1e12, &v) == 0)
		return (long)llround(v);
	if (!h->retry_after)
		return -1;
	if (value_parse_seconds(h->retry_after, 0, 1e9, &v) == 0)
		return (long)llround(v * 1000);
	time_t when = curl_getdate(h->retry_after, NULL);
	if (when == -1)
		return -1;
	if (when <= now)
		return 0;
	/* A date years away is as good as never; keep the product in range. */
	return when - now > 1000000000 ? 1000000000L * 1000 : (long)(when - now) * 1000;
}

long retry_delay_ms(const struct retry_policy *p, int retries_done,
		    const struct retry_hints *h, double jitter, time_t now)
{
	long hint = retry_hint_ms(h, now);
	double delay;

	if (hint > 0 && hint <= RETRY_HINT_MAX_MS)
		return hint;
	if (retries_done > 1000)
		retries_done = 1000;
	delay = p->base * pow(2.0, retries_done);
	if (delay > p->max)
		delay = p->max;
	delay *= 1.0 - 0.25 * jitter;
	return delay > 0 ? (long)llround(delay * 1000) : 0;
}
