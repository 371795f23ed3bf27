#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static void clock_text(char *out, size_t size, int64_t ms)
{
	/* Clamped so the text always fits: 0 to 999 hours. */
	int s = ms < 0 ? 0 : ms > 3599999000LL ? 3599999 : (int)(ms / 1000);

	if (s >= 3600)
		snprintf(out, size, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, size, "%d:%02d", s / 60, s % 60);
}

void progress_format(const struct progress *p, int64_t now, char *out, size_t size)
{
	enum { BAR = 20 };
	char bar[BAR + 1], elapsed[32], eta[32] = "?";
	size_t finished = p->done + p->failed;
	size_t fill = p->total ? finished * BAR / p->total : BAR;
	int64_t spent = now - p->started_ms;

	for (size_t i = 0; i < BAR; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR] = '\0';
	clock_text(elapsed, sizeof(elapsed), spent);
	if (finished && finished < p->total)
		clock_text(eta, sizeof(eta), spent * (int64_t)(p->total - finished) / (int64_t)finished);
	else if (finished == p->total)
		snprintf(eta, sizeof(eta), "0:00");
	snprintf(out, size, "[%s] %zu/%zu done, %zu failed, %zu in flight, %s elapsed, "
		 "ETA %s, %ld tokens", bar, p->done, p->total, p->failed, p->running,
		 elapsed, eta, p->tokens);
}

void progress_draw(struct progress *p, bool force)
{
	char line[256];
	int64_t now = now_ms();

	if (!p->enabled || (!force && now - p->drawn_ms < 100))
		return;
	p->drawn_ms = now;
	progress_format(p, now, line, sizeof(line));
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	p->visible = true;
}

void progress_clear(struct progress *p)
{
	if (!p->visible)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->visible = false;
}

/* "512 bytes", "48.2 kB", "2.4 MB" (decimal units, as curl shows them). */
static void bytes_text(char *out, size_t size, size_t n)
{
	if (n < 1000)
		snprintf(out, size, "%zu bytes", n);
	else if (n < 1000 * 1000)
		snprintf(out, size, "%.1f kB", n / 1e3);
	else
		snprintf(out, size, "%.1f MB", n / 1e6);
}

void progress_one_format(const struct progress_one *p, int64_t now, char *out, size_t size)
{
	char elapsed[32], got[32], tail[64] = "";

	clock_text(elapsed, sizeof(elapsed), now - p->started_ms);
	bytes_text(got, sizeof(got), p->received);
	if (p->attempt > 1)
		snprintf(tail, sizeof(tail), " (attempt %d of %d)", p->attempt, p->attempts);
	if (!p->received)
		snprintf(out, size, "%s: %s, waiting for the answer%s", p->verb, elapsed, tail);
	else if (p->partials)
		snprintf(out, size, "%s: %s, %s received, %ld partial image%s%s", p->verb, elapsed,
			 got, p->partials, p->partials == 1 ? "" : "s", tail);
	else
		snprintf(out, size, "%s: %s, %s received%s", p->verb, elapsed, got, tail);
}

void progress_one_draw(struct progress_one *p)
{
	char line[sizeof(p->text)];
	int64_t now = now_ms();
	size_t len, room;

	if (!p->enabled || (p->shown && now - p->drawn_ms < 100))
		return;
	progress_one_format(p, now, line, sizeof(line));
	/* "imagegen: " and the text on one row: a line that wrapped could not
	 * be drawn over. */
	room = p->width > 12 ? (size_t)p->width - 11 : sizeof(line) - 1;
	len = strlen(line);
	if (len > room)
		line[len = room] = '\0';
	if (p->shown && !strcmp(line, p->text))
		return;
	fprintf(stderr, "\rimagegen: %s", line);
	for (size_t i = len; i < p->shown; i++)
		fputc(' ', stderr);
	fflush(stderr);
	memcpy(p->text, line, len + 1);
	p->shown = len > p->shown ? len : p->shown;
	p->drawn_ms = now;
}

void progress_one_clear(struct progress_one *p)
{
	if (!p->shown)
		return;
	fputc('\r', stderr);
	for (size_t i = 0; i < p->shown + 10; i++)
		fputc(' ', stderr);
	fputc('\r', stderr);
	fflush(stderr);
	p->shown = 0;
	p->text[0] = '\0';
}
