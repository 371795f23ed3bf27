/* Messages for people: one stream (stderr), one prefix, quiet and colour rules. */
#ifndef IMAGEGEN_MSG_H
#define IMAGEGEN_MSG_H

#include <stdbool.h>

#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))

/* Exit statuses; documented in README.md and the man page. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* a request or a job failed */
	EXIT_USAGE = 2,       /* bad usage or input, caught before any request */
	EXIT_INTERRUPTED = 130,
};

/* Configure the message sink once, early in main(): quiet hides notes and
 * warnings; colour is used only when stderr is a terminal and NO_COLOR is unset. */
void msg_setup(bool quiet);
bool msg_quiet(void);
bool msg_color(void);

/* A line redrawn in place on stderr (a progress line): clear is called
 * before each message, so that none lands in the middle of it. NULL: none. */
void msg_set_status(void (*clear)(void *data), void *data);

void errorf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void warnf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void notef(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A continuation line (indented, no prefix) shown unless quiet. */
void detailf(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A continuation line of an error: shown even when quiet. */
void errdetailf(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A success line ("saved ..."), green on a terminal; hidden when quiet. */
void goodf(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
