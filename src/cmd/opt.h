/* Table-driven command-line options: each row names its flags, the field it
 * sets and its help text; parsing and --help both come from the table. */
#ifndef IMAGEGEN_OPT_H
#define IMAGEGEN_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum opt_type {
	OPT_T_END,
	OPT_T_GROUP,   /* a heading in --help */
	OPT_T_BOOL,    /* bool, set to true */
	OPT_T_STRING,  /* const char *, points into argv */
	OPT_T_INT,     /* long within [min, max] */
	OPT_T_SECONDS, /* double within [min, max] */
	OPT_T_DOLLARS, /* double within [min, max], "$" allowed */
	OPT_T_LIST,    /* struct strlist, appended to; repeatable */
};

struct opt {
	enum opt_type type;
	char short_name;
	const char *names;   /* "out-dir|output-dir|output": first is shown first */
	void *value;
	const char *argname;
	const char *help;
	double min, max;
};


/* Each row's field has the type its kind writes, checked when the table is
 * compiled (git's parse-options records the width for the same reason): the
 * conditional below is an error with -Werror when the pointer types differ,
 * so an int field can never be written as a long. */
#define OPT_TYPED(type, v) (1 ? (v) : (type *)0)

#define OPT_GROUP(title) { OPT_T_GROUP, 0, NULL, NULL, NULL, (title), 0, 0 }
#define OPT_BOOL(s, n, v, h) { OPT_T_BOOL, (s), (n), OPT_TYPED(bool, v), NULL, (h), 0, 0 }
#define OPT_STRING(s, n, v, a, h) \
	{ OPT_T_STRING, (s), (n), OPT_TYPED(const char *, v), (a), (h), 0, 0 }
#define OPT_INT(s, n, v, a, lo, hi, h) \
	{ OPT_T_INT, (s), (n), OPT_TYPED(long, v), (a), (h), (lo), (hi) }
#define OPT_SECONDS(s, n, v, a, lo, hi, h) \
	{ OPT_T_SECONDS, (s), (n), OPT_TYPED(double, v), (a), (h), (lo), (hi) }
#define OPT_DOLLARS(s, n, v, a, lo, hi, h) \
	{ OPT_T_DOLLARS, (s), (n), OPT_TYPED(double, v), (a), (h), (lo), (hi) }
#define OPT_LIST(s, n, v, a, h) \
	{ OPT_T_LIST, (s), (n), OPT_TYPED(struct strlist, v), (a), (h), 0, 0 }
#define OPT_END() { OPT_T_END, 0, NULL, NULL, NULL, NULL, 0, 0 }

enum opt_result {
	OPT_OK = 0,
	OPT_ERROR = -1,   /* message in err */
	OPT_HELP = 1,     /* -h or --help was given */
};

/* Parses argv[1..argc-1] (argv[0] is the command name). Options and words may
 * be mixed; "--" ends options; "-" is a word. Words go to args. */
enum opt_result opt_parse(const struct opt *opts, int argc, char **argv,
			  struct strlist *args, struct buf *err);

/* The row one of whose long names is name, or NULL. */
const struct opt *opt_find(const struct opt *opts, const char *name);
/* Sets o's field from arg as the command line does (ranges checked; a
 * string points at arg), flag naming it in the message. 0, or -1 with the
 * message in err. */
int opt_set(const struct opt *o, const char *flag, const char *arg, struct buf *err);
/* Prints usage, description and the option table. */
void opt_help(FILE *out, const char *usage, const char *about,
	      const struct opt *opts);


#endif
