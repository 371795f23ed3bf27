#include "progress.h"

#include <stdio.h>

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
