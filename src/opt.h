/* Table-driven command-line options: each row names its flags, the field it
 * sets and its help text; parsing and --help both come from the table. */
#ifndef IMAGEGEN_OPT_H
#define IMAGEGEN_OPT_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum opt_type {
	OPT_T_END,
	OPT_T_GROUP,   /* a heading in --help */
	OPT_T_BOOL,    /* int, set to 1 */
	OPT_T_STRING,  /* const char *, points into argv */
	OPT_T_INT,     /* long within [min, max] */
	OPT_T_SECONDS, /* double within [min, max] */
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

/* A list of borrowed strings (argv entries). */
struct strlist {
	const char **v;
	size_t n;
};
#define STRLIST_INIT { NULL, 0 }
int strlist_push(struct strlist *l, const char *s);
void strlist_release(struct strlist *l);

#define OPT_GROUP(title) { OPT_T_GROUP, 0, NULL, NULL, NULL, (title), 0, 0 }
#define OPT_BOOL(s, n, v, h) { OPT_T_BOOL, (s), (n), (v), NULL, (h), 0, 0 }
#define OPT_STRING(s, n, v, a, h) { OPT_T_STRING, (s), (n), (v), (a), (h), 0, 0 }
#define OPT_INT(s, n, v, a, lo, hi, h) { OPT_T_INT, (s), (n), (v), (a), (h), (lo), (hi) }
#define OPT_SECONDS(s, n, v, a, lo, hi, h) { OPT_T_SECONDS, (s), (n), (v), (a), (h), (lo), (hi) }
#define OPT_LIST(s, n, v, a, h) { OPT_T_LIST, (s), (n), (v), (a), (h), 0, 0 }
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

/* Prints usage, description and the option table. */
void opt_help(FILE *out, const char *usage, const char *about,
	      const struct opt *opts);

/* Strict number parsers shared by options and JSONL fields. 0 or -1. */
int opt_parse_long(const char *s, double min, double max, long *out);
int opt_parse_seconds(const char *s, double min, double max, double *out);

#endif
