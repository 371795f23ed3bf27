#include "opt.h"

#include <stdlib.h>
#include <string.h>

#include "value.h"

/* Does name (up to len bytes) equal one of the '|'-separated names? */
static int names_match(const char *names, const char *name, size_t len)
{
	const char *p = names;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && !strncmp(p, name, len))
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

static const struct opt *find_long(const struct opt *opts, const char *name,
				   size_t len)
{
	for (const struct opt *o = opts; o->type != OPT_T_END; o++)
		if (o->names && names_match(o->names, name, len))
			return o;
	return NULL;
}

static const struct opt *find_short(const struct opt *opts, char c)
{
	for (const struct opt *o = opts; o->type != OPT_T_END; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

static size_t edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t row[64];

	if (alen >= ARRAY_SIZE(row) || blen >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= blen; j++)
		row[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[blen];
}

/* The closest known long name within two edits, for "did you mean". */
static void suggest(const struct opt *opts, const char *name, size_t len,
		    struct buf *err)
{
	size_t best = 3;
	const char *pick = NULL;
	size_t pick_len = 0;

	for (const struct opt *o = opts; o->type != OPT_T_END; o++) {
		for (const char *p = o->names; p && *p;) {
			const char *bar = strchr(p, '|');
			size_t n = bar ? (size_t)(bar - p) : strlen(p);
			size_t d = edit_distance(name, len, p, n);
			if (d < best) {
				best = d;
				pick = p;
				pick_len = n;
			}
			p = bar ? bar + 1 : NULL;
		}
	}
	if (pick)
		buf_addf(err, " (did you mean '--%.*s'?)", (int)pick_len, pick);
}

const struct opt *opt_find(const struct opt *opts, const char *name)
{
	return find_long(opts, name, strlen(name));
}

int opt_set(const struct opt *o, const char *flag, const char *arg, struct buf *err)
{
	switch (o->type) {
	case OPT_T_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_T_LIST:
		return strlist_push(o->value, arg);
	case OPT_T_INT:
		if (value_parse_long(arg, o->min, o->max, o->value) == 0)
			return 0;
		buf_addf(err, "%s: '%s' is not a whole number from %.0f to %.0f",
			 flag, arg, o->min, o->max);
		return -1;
	case OPT_T_SECONDS:
		if (value_parse_seconds(arg, o->min, o->max, o->value) == 0)
			return 0;
		buf_addf(err, "%s: '%s' is not a number of seconds from %g to %g",
			 flag, arg, o->min, o->max);
		return -1;
	case OPT_T_DOLLARS:
		if (value_parse_dollars(arg, o->min, o->max, o->value) == 0)
			return 0;
		buf_addf(err, "%s: '%s' is not an amount of dollars from %g to %g (as 5 or "
			 "0.50)", flag, arg, o->min, o->max);
		return -1;
	default:
		*(bool *)o->value = true;
		return 0;
	}
}

static enum opt_result parse_long_opt(const struct opt *opts, int argc,
				      char **argv, int *i, struct buf *err)
{
	const char *name = argv[*i] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct opt *o;
	const char *arg = eq ? eq + 1 : NULL;
	char flag[80];

	if (names_match("help", name, len))
		return OPT_HELP;
	o = find_long(opts, name, len);
	snprintf(flag, sizeof(flag), "--%.*s", (int)(len < 60 ? len : 60), name);
	if (!o) {
		buf_addf(err, "unknown option '%s'", flag);
		suggest(opts, name, len, err);
		return OPT_ERROR;
	}
	if (o->type == OPT_T_BOOL) {
		if (arg) {
			buf_addf(err, "%s takes no value", flag);
			return OPT_ERROR;
		}
	} else if (!arg) {
		if (*i + 1 >= argc) {
			buf_addf(err, "%s needs a value (%s)", flag, o->argname);
			return OPT_ERROR;
		}
		arg = argv[++*i];
	}
	return opt_set(o, flag, arg, err) ? OPT_ERROR : OPT_OK;
}

static enum opt_result parse_short_opts(const struct opt *opts, int argc,
					char **argv, int *i, struct buf *err)
{
	for (const char *p = argv[*i] + 1; *p; p++) {
		const struct opt *o = find_short(opts, *p);
		char flag[3] = { '-', *p, '\0' };

		if (*p == 'h')
			return OPT_HELP;
		if (!o) {
			buf_addf(err, "unknown option '%s'", flag);
			return OPT_ERROR;
		}
		if (o->type == OPT_T_BOOL) {
			*(bool *)o->value = true;
			continue;
		}
		const char *arg = p[1] ? p + 1 : NULL;
		if (!arg) {
			if (*i + 1 >= argc) {
				buf_addf(err, "%s needs a value (%s)", flag, o->argname);
				return OPT_ERROR;
			}
			arg = argv[++*i];
		}
		return opt_set(o, flag, arg, err) ? OPT_ERROR : OPT_OK;
	}
	return OPT_OK;
}

enum opt_result opt_parse(const struct opt *opts, int argc, char **argv,
			  struct strlist *args, struct buf *err)
{
	int only_words = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		enum opt_result r = OPT_OK;

		if (only_words || a[0] != '-' || !a[1]) {
			if (strlist_push(args, a))
				return OPT_ERROR;
			continue;
		}
		if (!strcmp(a, "--"))
			only_words = 1;
		else if (a[1] == '-')
			r = parse_long_opt(opts, argc, argv, &i, err);
		else
			r = parse_short_opts(opts, argc, argv, &i, err);
		if (r != OPT_OK)
			return r;
	}
	return OPT_OK;
}

static void print_flags(FILE *out, const struct opt *o)
{
	int col = 2;

	fputs("  ", out);
	if (o->short_name)
		col += fprintf(out, "-%c, ", o->short_name);
	for (const char *p = o->names; p && *p;) {
		const char *bar = strchr(p, '|');
		int n = bar ? (int)(bar - p) : (int)strlen(p);

		col += fprintf(out, "%s--%.*s", p == o->names ? "" : ", ", n, p);
		p = bar ? bar + 1 : NULL;
	}
	if (o->argname)
		col += fprintf(out, " %s", o->argname);
	if (col >= 30)
		fprintf(out, "\n%30s", "");
	else
		fprintf(out, "%*s", 30 - col, "");
	fprintf(out, "%s\n", o->help);
}

void opt_help(FILE *out, const char *usage, const char *about,
	      const struct opt *opts)
{
	fprintf(out, "usage: %s\n", usage);
	if (about)
		fprintf(out, "\n%s\n", about);
	for (const struct opt *o = opts; o->type != OPT_T_END; o++) {
		if (o->type == OPT_T_GROUP)
			fprintf(out, "\n%s:\n", o->help);
		else
			print_flags(out, o);
	}
	fprintf(out, "\n  -h, --help                  show this help\n");
}
