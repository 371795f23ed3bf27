#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The sink's settings are process-wide by nature: there is one stderr. */
static struct {
	bool quiet;
	bool color;
	void (*clear)(void *data);   /* the status line's, or NULL */
	void *clear_data;
} sink;

void msg_setup(bool quiet)
{
	const char *no_color = getenv("NO_COLOR");

	sink.quiet = quiet;
	sink.color = isatty(STDERR_FILENO) && !(no_color && *no_color);
	if (getenv("TERM") && !*getenv("TERM"))
		sink.color = false;
}

bool msg_quiet(void)
{
	return sink.quiet;
}

bool msg_color(void)
{
	return sink.color;
}

static void emit(const char *color, const char *label, const char *indent,
		 const char *fmt, va_list ap) PRINTF_LIKE(4, 0);

void msg_set_status(void (*clear)(void *data), void *data)
{
	sink.clear = clear;
	sink.clear_data = data;
}

static void emit(const char *color, const char *label, const char *indent,
		 const char *fmt, va_list ap)
{
	if (sink.clear)
		sink.clear(sink.clear_data);
	fputs(indent ? indent : "imagegen: ", stderr);
	bool paint = sink.color && color;

	if (label && paint) {
		fprintf(stderr, "\033[%sm%s\033[0m", color, label);
		paint = false;
	} else if (label) {
		fputs(label, stderr);
	} else if (paint) {
		fprintf(stderr, "\033[%sm", color);
	}
	vfprintf(stderr, fmt, ap);
	fputs(paint ? "\033[0m\n" : "\n", stderr);
}

void errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("1;31", "error: ", NULL, fmt, ap);
	va_end(ap);
}

void warnf(const char *fmt, ...)
{
	va_list ap;

	if (sink.quiet)
		return;
	va_start(ap, fmt);
	emit("33", "warning: ", NULL, fmt, ap);
	va_end(ap);
}

void notef(const char *fmt, ...)
{
	va_list ap;

	if (sink.quiet)
		return;
	va_start(ap, fmt);
	emit(NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

void goodf(const char *fmt, ...)
{
	va_list ap;

	if (sink.quiet)
		return;
	va_start(ap, fmt);
	emit("32", NULL, NULL, fmt, ap);
	va_end(ap);
}

void detailf(const char *fmt, ...)
{
	va_list ap;

	if (sink.quiet)
		return;
	va_start(ap, fmt);
	emit(NULL, NULL, "  ", fmt, ap);
	va_end(ap);
}

void errdetailf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(NULL, NULL, "  ", fmt, ap);
	va_end(ap);
}
