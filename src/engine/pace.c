#include "pace.h"

#include <stdlib.h>
#include <string.h>

#include "value.h"

void pace_init(struct pace *p, struct http_loop *loop, size_t concurrency, long rpm)
{
	memset(p, 0, sizeof(*p));
	p->loop = loop;
	p->concurrency = concurrency ? concurrency : 1;
	loop->max_running = p->concurrency;
	if (rpm > 0)
		loop->launch_interval = (60000 + rpm - 1) / rpm;
}

void pace_success(struct pace *p)
{
	/* Additive increase after a cut: one more slot per window of successes. */
	if (++p->successes >= p->loop->max_running && p->loop->max_running < p->concurrency) {
		p->loop->max_running++;
		p->successes = 0;
	}
}

void pace_retry(struct pace *p, long status, long delay_ms)
{
	struct http_loop *l = p->loop;
	int64_t now = now_ms();

	if (status != 429)
		return;
	if (l->paused_until < now + delay_ms)
		l->paused_until = now + delay_ms;
	if (now - p->last_cut >= 1000 && l->max_running > 1) {
		l->max_running = (l->max_running + 1) / 2;
		p->last_cut = now;
	}
	p->successes = 0;
}

long pace_parse_duration(const char *s)
{
	double total = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		/* Digits (and a point) only: strtod would also take a sign,
		 * "inf", "nan" and hex, none of which is a duration. */
		if (!((*s >= '0' && *s <= '9') || *s == '.') ||
		    (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
			return -1;
		double v = strtod(s, &end);
		if (end == s)
			return -1;
		if (!strncmp(end, "ms", 2))
			total += v, end += 2;
		else if (*end == 'h')
			total += v * 3600000, end++;
		else if (*end == 'm')
			total += v * 60000, end++;
		else if (*end == 's' || !*end)
			total += v * 1000, end += *end == 's';
		else
			return -1;
		if (!(total <= PACE_DURATION_MAX_MS))
			return -1;   /* past any real window (and never out of range) */
		s = end;
	}
	return (long)total;
}

/* Pace before the limit is hit: a successful answer that states the
 * account's request limit sets the launch pace to it (never faster than
 * --rpm); without a stated limit, an answer saying no requests remain pauses
 * launches until the reset. */
void pace_answer(struct pace *p, const struct http_xfer *x)
{
	struct http_loop *l = p->loop;
	long limit, remaining, reset;

	if (x->status < 200 || x->status >= 300)
		return;
	if (x->resp.limit_requests &&
	    value_parse_long(x->resp.limit_requests, 1, 1e9, &limit) == 0) {
		/* A little slack: a launch exactly on the server's refill
		 * instant may reach it a hair early. */
		int64_t interval = (60000 + limit - 1) / limit + PACE_SLACK_MS;
		if (interval > l->launch_interval) {
			/* The launch already made counts against the new pace too. */
			l->launch_interval = interval;
			if (l->next_launch < l->last_launch + interval)
				l->next_launch = l->last_launch + interval;
		}
		return;
	}
	if (!x->resp.remaining_requests ||
	    value_parse_long(x->resp.remaining_requests, 0, 1e12, &remaining) || remaining > 0)
		return;
	reset = pace_parse_duration(x->resp.reset_requests);
	if (reset > 0 && reset <= 60000 && l->paused_until < now_ms() + reset)
		l->paused_until = now_ms() + reset;
}
