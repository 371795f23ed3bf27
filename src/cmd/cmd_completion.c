/* imagegen completion bash|zsh|fish: a completion script made from the
 * option tables the commands parse with (each command hands its table over
 * instead of parsing), the model table (models, sizes, qualities, formats)
 * and the parameters' value lists, so a new flag or model completes with no
 * change here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "model.h"
#include "msg.h"
#include "params.h"

static const char usage[] = "imagegen completion bash|zsh|fish";
static const char about[] =
	"Print a completion script: commands, flags, the values of --model, --size,\n"
	"--quality, --output-format and the other lists, and file names where a flag\n"
	"takes a file. For example:\n"
	"\n"
	"  source <(imagegen completion bash)            # in ~/.bashrc\n"
	"  imagegen completion zsh > ~/.zfunc/_imagegen  # with fpath+=(~/.zfunc)\n"
	"  imagegen completion fish > ~/.config/fish/completions/imagegen.fish\n"
	"\n"
	"make install puts them where bash-completion, zsh and fish look.";

/* One flag of a command: its long names and whether it takes a value. */
struct flag {
	char *names;     /* "out-dir|output-dir|output" */
	char short_name;
	bool value;
	char *help;
};

struct command_flags {
	const char *name;
	struct flag *flags;
	size_t n;
};

static struct command_flags *collecting;

static void take_table(const struct opt *opts)
{
	struct command_flags *c = collecting;

	for (const struct opt *o = opts; o->type != OPT_T_END; o++) {
		if (o->type == OPT_T_GROUP)
			continue;
		c->flags = realloc(c->flags, (c->n + 1) * sizeof(*c->flags));
		if (!c->flags)
			abort();
		c->flags[c->n++] = (struct flag){ xstrdup(o->names), o->short_name,
						  o->type != OPT_T_BOOL, xstrdup(o->help ? o->help : "") };
	}
}

/* Every listed command's flags, from its own table. */
static struct command_flags *collect(size_t *n)
{
	struct command_flags *all = xcalloc(commands_n, sizeof(*all));

	*n = 0;
	cli_table_hook = take_table;
	for (size_t i = 0; i < commands_n; i++) {
		char name[32];
		char *argv[] = { name, NULL };
		if (!commands[i].help || commands[i].fn == cmd_completion)
			continue;
		snprintf(name, sizeof(name), "%s", commands[i].name);
		all[*n].name = commands[i].name;
		collecting = &all[*n];
		commands[i].fn(1, argv);
		(*n)++;
	}
	cli_table_hook = NULL;
	return all;
}

static void release(struct command_flags *all, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < all[i].n; k++) {
			free(all[i].flags[k].names);
			free(all[i].flags[k].help);
		}
		free(all[i].flags);
	}
	free(all);
}

/* The values a flag completes with, space-separated (the caller frees), or
 * NULL: none listed. */
static char *values_of(const char *names)
{
	struct strlist l = { 0 };
	struct buf out = BUF_INIT;

	cli_flag_values(names, &l);
	for (size_t i = 0; i < l.n; i++)
		buf_addf(&out, "%s%s", i ? " " : "", l.v[i]);
	strlist_release(&l);
	return out.len ? buf_detach(&out) : NULL;
}

/* Does the flag take a file name, or a folder? */
static bool takes_file(const char *names)
{
	static const char *const files[] = { "input", "image", "mask", "markup", "prompt-file",
					     "out", "prices" };
	char first[64];

	snprintf(first, sizeof(first), "%.*s", (int)strcspn(names, "|"), names);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (!strcmp(first, files[i]))
			return true;
	return false;
}

static bool takes_folder(const char *names)
{
	return !strncmp(names, "out-dir", 7) || !strncmp(names, "root", 4);
}

/* Calls fn for each long name of a flag. */
static void each_name(const char *names, void (*fn)(const char *name, size_t len, void *data),
		      void *data)
{
	for (const char *p = names; *p;) {
		size_t len = strcspn(p, "|");
		fn(p, len, data);
		p += len;
		if (*p == '|')
			p++;
	}
}

static void print_dashed(const char *name, size_t len, void *data)
{
	(void)data;
	printf(" --%.*s", (int)len, name);
}

static void print_case(const char *name, size_t len, void *data)
{
	bool *first = data;

	printf("%s--%.*s", *first ? "" : "|", (int)len, name);
	*first = false;
}

static void bash(struct command_flags *all, size_t n)
{
	printf("# imagegen completion for bash (imagegen completion bash)\n"
	       "_imagegen() {\n"
	       "\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
	       "\tlocal cmd=\"${COMP_WORDS[1]}\" flags=\"\"\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"");
	for (size_t i = 0; i < commands_n; i++)
		if (commands[i].help)
			printf("%s%s", i ? " " : "", commands[i].name);
	printf(" --help --version\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
	       "\tcase \"$cmd\" in\n");
	for (size_t i = 0; i < n; i++) {
		printf("\t%s%s)\n\t\tcase \"$prev\" in\n", all[i].name,
		       !strcmp(all[i].name, "batch") ? "|generate-batch" : "");
		for (size_t k = 0; k < all[i].n; k++) {
			const struct flag *f = &all[i].flags[k];
			char *values;
			bool first = true;
			if (!f->value)
				continue;
			printf("\t\t");
			each_name(f->names, print_case, &first);
			if (f->short_name)
				printf("|-%c", f->short_name);
			values = takes_file(f->names) || takes_folder(f->names) ? NULL
			       : values_of(f->names);
			if (takes_folder(f->names))
				printf(") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n");
			else if (takes_file(f->names))
				printf(") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n");
			else if (values)
				printf(") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n",
				       values);
			else
				printf(") COMPREPLY=(); return ;;\n");
			free(values);
		}
		printf("\t\tesac\n\t\tflags=\"");
		for (size_t k = 0; k < all[i].n; k++) {
			each_name(all[i].flags[k].names, print_dashed, NULL);
			if (all[i].flags[k].short_name)
				printf(" -%c", all[i].flags[k].short_name);
		}
		printf(" --help\" ;;\n");
	}
	printf("\tesac\n"
	       "\tif [ \"$cmd\" = completion ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\"))\n"
	       "\telif [[ \"$cur\" == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
	       "\telse\n"
	       "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	       "\tfi\n"
	       "}\n"
	       "complete -o filenames -F _imagegen imagegen\n");
}

/* A fish description: single quotes escaped. */
static void fish_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('\'');
}

struct fish_flag {
	const char *command;
	const struct flag *flag;
};

static void fish_one(const char *name, size_t len, void *data)
{
	const struct fish_flag *ff = data;
	const struct flag *f = ff->flag;
	char *values = f->value && !takes_file(f->names) && !takes_folder(f->names)
		       ? values_of(f->names) : NULL;

	printf("complete -c imagegen -n '__fish_seen_subcommand_from %s' -l %.*s", ff->command,
	       (int)len, name);
	if (f->short_name && name == f->names)
		printf(" -s %c", f->short_name);
	if (f->value && (takes_file(f->names) || takes_folder(f->names)))
		printf(" -r -F");
	else if (values)
		printf(" -x -a '%s'", values);
	else if (f->value)
		printf(" -x");
	printf(" -d ");
	fish_quoted(f->help);
	putchar('\n');
	free(values);
}

static void fish(struct command_flags *all, size_t n)
{
	printf("# imagegen completion for fish (imagegen completion fish)\n"
	       "complete -c imagegen -f\n");
	for (size_t i = 0; i < commands_n; i++) {
		if (!commands[i].help)
			continue;
		printf("complete -c imagegen -n '__fish_use_subcommand' -a %s -d ",
		       commands[i].name);
		fish_quoted(commands[i].help);
		putchar('\n');
	}
	printf("complete -c imagegen -n '__fish_seen_subcommand_from completion' -a 'bash zsh "
	       "fish'\n");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < all[i].n; k++) {
			struct fish_flag ff = { all[i].name, &all[i].flags[k] };
			each_name(all[i].flags[k].names, fish_one, &ff);
		}
}

int cmd_completion(int argc, char **argv)
{
	struct cli c = CLI_INIT;
	struct opt opts[] = { OPT_END() };
	int rc = cli_parse(&c, opts, usage, about, argc, argv);
	struct command_flags *all;
	size_t n;

	if (rc != -1)
		goto cleanup;
	if (c.words.n != 1 || (strcmp(c.words.v[0], "bash") && strcmp(c.words.v[0], "zsh") &&
			       strcmp(c.words.v[0], "fish"))) {
		errorf("completion: give one shell: bash, zsh or fish");
		rc = EXIT_USAGE;
		goto cleanup;
	}
	all = collect(&n);
	if (!strcmp(c.words.v[0], "fish")) {
		fish(all, n);
	} else if (!strcmp(c.words.v[0], "zsh")) {
		/* zsh runs the bash script through its bashcompinit. */
		printf("#compdef imagegen\n"
		       "# imagegen completion for zsh (imagegen completion zsh)\n"
		       "autoload -U +X bashcompinit && bashcompinit\n");
		bash(all, n);
	} else {
		bash(all, n);
	}
	release(all, n);
	rc = EXIT_OK;
cleanup:
	cli_release(&c);
	return rc;
}
