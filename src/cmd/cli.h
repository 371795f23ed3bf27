/* What the commands share: the option rows for API parameters, output,
 * connection and prompt fields (declared once, used by every command), and
 * the steps from parsed options to a validated request. */
#ifndef IMAGEGEN_CLI_H
#define IMAGEGEN_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "chroma.h"
#include "http.h"
#include "provider.h"
#include "engine.h"
#include "job.h"
#include "opt.h"
#include "params.h"
#include "prompt.h"
#include "retry.h"
#include "settings.h"
#include "spec.h"

/* A command's options: the job spec they fill, and what only the command
 * line has (where the prompt comes from, how to print, the connection). */
struct cli {
	struct job_spec spec;
	const char *prompt;          /* --prompt */
	const char *prompt_file;
	char *prompt_text;           /* the prompt read from its source; owned */
	bool json;
	bool dry_run;
	bool quiet;
	/* connection */
	const char *provider;
	const char *base_url;
	const char *deployment;
	const char *api_version;
	double timeout;
	long max_attempts;
	long retries;
	double backoff;
	/* cost */
	double max_cost;             /* --max-cost; <0: none */
	double confirm_above;        /* ask on a terminal above this; <0: default */
	bool yes;
	bool no_history;
	const char *command;         /* recorded in the spend history; NULL: none kept */
	const char *profile;         /* --profile */
	bool verbose;                /* --verbose: trace the HTTP exchanges */
	struct settings settings;    /* the config file's */
	char *config_key;            /* the key api_key_command printed (owned) */
	struct strlist words;
	struct strlist images;       /* edit and variation inputs */
};
#define CLI_INIT { .spec = JOB_SPEC_INIT, .settings = SETTINGS_INIT, .timeout = -1, \
		   .max_attempts = -1, .retries = -1, .backoff = -1, .max_cost = -1, \
		   .confirm_above = -1 }
/* Runs estimated above this ask first on a terminal ($IMAGEGEN_CONFIRM_ABOVE
 * or --confirm-above change it). */
#define CLI_CONFIRM_ABOVE 5.0

/* Local image work on saved images (generate, edit, batch; variation only
 * the copy: it has no prompt to ask for a key colour). */
#define OPT_CLI_DOWNSCALE(c) \
	OPT_INT(0, "downscale-max-dim", &(c)->spec.downscale_max, "N", 1, 100000, "also write a copy whose longer edge is at most N"), \
	OPT_STRING(0, "downscale-suffix", &(c)->spec.downscale_suffix, "S", "the copy's name suffix (default -web: cat.png -> cat-web.png)")
#define OPT_CLI_IMAGE_WORK(c) \
	OPT_CLI_DOWNSCALE(c), \
	OPT_BOOL(0, "chroma-key", &(c)->spec.chroma_key, "transparency for any model: generate on a flat key colour, remove it locally"), \
	OPT_STRING(0, "key-color", &(c)->spec.key_color, "#RRGGBB", "the key colour for --chroma-key (default " CHROMA_DEFAULT_KEY ")"), \
	OPT_BOOL(0, "keep-original", &(c)->spec.keep_original, "with --chroma-key: also keep the image as sent, NAME-original.ext")

/* An edit's inputs (edit, and the MCP server's edit tool). */
#define OPT_CLI_INPUTS(c) \
	OPT_LIST('i', "image", &(c)->images, "FILE", "an image to edit (repeat for up to 16)"), \
	OPT_STRING(0, "mask", &(c)->spec.mask, "FILE", "PNG mask: transparent areas mark where to edit"), \
	OPT_STRING(0, "markup", &(c)->spec.markup, "FILE", "gpt-image-2.6: a transparent PNG with arrows and notes on the first image")

#define OPT_CLI_PROMPT(c) \
	OPT_GROUP("Prompt (from --prompt, --prompt-file, the words after the options, or standard input)"), \
	OPT_STRING('p', "prompt", &(c)->prompt, "TEXT", "the prompt"), \
	OPT_STRING(0, "prompt-file", &(c)->prompt_file, "FILE", "read the prompt from FILE ('-' = standard input)"), \
	OPT_CLI_FIELDS(c)

#define OPT_CLI_FIELDS(c) \
	OPT_STRING(0, "use-case", &(c)->spec.fields.use_case, "TEXT", "augmentation: what the image is for"), \
	OPT_STRING(0, "scene", &(c)->spec.fields.scene, "TEXT", "augmentation: scene or backdrop"), \
	OPT_STRING(0, "subject", &(c)->spec.fields.subject, "TEXT", "augmentation: the subject"), \
	OPT_STRING(0, "style", &(c)->spec.style_text, "TEXT", "vivid|natural: dall-e-3's style; other text: the style field"), \
	OPT_STRING(0, "composition", &(c)->spec.fields.composition, "TEXT", "augmentation: composition and framing"), \
	OPT_STRING(0, "lighting", &(c)->spec.fields.lighting, "TEXT", "augmentation: lighting and mood"), \
	OPT_STRING(0, "palette", &(c)->spec.fields.palette, "TEXT", "augmentation: colour palette"), \
	OPT_STRING(0, "materials", &(c)->spec.fields.materials, "TEXT", "augmentation: materials and textures"), \
	OPT_STRING(0, "text", &(c)->spec.fields.text, "TEXT", "augmentation: text to render verbatim"), \
	OPT_STRING(0, "constraints", &(c)->spec.fields.constraints, "TEXT", "augmentation: constraints"), \
	OPT_STRING(0, "negative", &(c)->spec.fields.negative, "TEXT", "augmentation: what to avoid"), \
	OPT_BOOL(0, "no-augment", &(c)->spec.no_augment, "send the prompt as given (refused with any field)")

#define OPT_CLI_PARAMS(c) \
	OPT_GROUP("Image parameters"), \
	OPT_STRING('m', "model", &(c)->spec.params.model, "MODEL", "model (default " DEFAULT_MODEL "; others pass through with a warning)"), \
	OPT_INT('n', "n", &(c)->spec.params.n, "N", 1, 10, "images per request (1-10; dall-e-3: 1)"), \
	OPT_STRING('s', "size", &(c)->spec.params.size, "WxH", "size, e.g. 1024x1024, 1536x1024, auto (default auto)"), \
	OPT_STRING(0, "quality", &(c)->spec.params.quality, "Q", "low|medium|high|auto, xhigh|max (2.5, 2.6); default medium"), \
	OPT_STRING(0, "background", &(c)->spec.params.background, "B", "transparent|opaque|auto"), \
	OPT_STRING(0, "output-format|format", &(c)->spec.params.output_format, "FMT", "png|jpeg|webp, gif|svg (2.6); default png"), \
	OPT_INT(0, "output-compression|compression", &(c)->spec.params.output_compression, "0-100", 0, 100, "jpeg/webp compression"), \
	OPT_STRING(0, "moderation", &(c)->spec.params.moderation, "M", "low|auto"), \
	OPT_STRING(0, "response-format", &(c)->spec.params.response_format, "F", "url|b64_json (dall-e only)"), \
	OPT_STRING(0, "user", &(c)->spec.params.user, "ID", "deprecated: use --safety-identifier"), \
	OPT_STRING(0, "input-fidelity", &(c)->spec.params.input_fidelity, "F", "low|high (edits; gpt-image-1.5 both, 1-mini low; none from gpt-image-2 on)"), \
	OPT_STRING(0, "complexity", &(c)->spec.params.complexity, "C", "low|medium|high: how much gpt-image-2.6 plans (default high)"), \
	OPT_STRING(0, "safety-identifier", &(c)->spec.params.safety_identifier, "ID", "a stable, hashed id of your end user (replaces --user)"), \
	OPT_BOOL(0, "allow-retired", &(c)->spec.allow_retired, "send a model OpenAI shut down (accounts that still have it)"), \
	OPT_BOOL(0, "stream", &(c)->spec.params.stream, "stream the answer; partial images are saved as they arrive"), \
	OPT_INT(0, "partial-images", &(c)->spec.params.partial_images, "N", 0, PARTIAL_IMAGES_MAX, "partial images to stream (0-3; implies --stream)"), \
	OPT_INT(0, "frame-count", &(c)->spec.params.frame_count, "N", 2, 16, "GIF: frames (2-16; the API's default 9)"), \
	OPT_INT(0, "frame-duration-ms", &(c)->spec.params.frame_duration_ms, "MS", 20, 655350, "GIF: each frame's time in ms (at least 20, in 10s; default 200)"), \
	OPT_STRING(0, "svg-model", &(c)->spec.params.svg_model, "MODEL", "SVG: the text model that writes the SVG"), \
	OPT_STRING(0, "svg-effort", &(c)->spec.params.svg_effort, "E", "SVG: that model's reasoning effort (none|low|medium|high|xhigh|max)")

#define OPT_CLI_OUTPUT(c) \
	OPT_CLI_SAVE(c), \
	OPT_BOOL(0, "keep-partials", &(c)->spec.keep_partials, "keep NAME.partial-K.ext after the final image"), \
	OPT_CLI_METADATA(c), \
	OPT_CLI_IMAGE_WORK(c), \
	OPT_CLI_DRY_QUIET(c)

/* Where a single request's images go, and --json. */
#define OPT_CLI_SAVE(c) \
	OPT_GROUP("Output"), \
	OPT_STRING('o', "out", &(c)->spec.out, "FILE", "save as FILE (n>1: FILE-1.ext, FILE-2.ext, ...); a folder or DIR/: save into it"), \
	OPT_STRING(0, "out-dir|output-dir|output", &(c)->spec.out_dir, "DIR", "save into DIR (created if needed)"), \
	OPT_STRING(0, "prefix", &(c)->spec.prefix, "NAME", "file name stem instead of the prompt slug"), \
	OPT_BOOL('f', "force", &(c)->spec.force, "overwrite an existing --out file"), \
	OPT_BOOL(0, "no-save", &(c)->spec.no_save, "write no files (not with --out, --out-dir, --prefix, ...)"), \
	OPT_BOOL(0, "json", &(c)->json, "print the API response JSON on stdout (paths go to stderr)")

/* A batch's output and run rows (batch, and the MCP server's batch tool). */
#define OPT_CLI_BATCH_OUTPUT(c) \
	OPT_STRING(0, "out-dir|output-dir|output", &(c)->spec.out_dir, "DIR", "save into DIR (default: named from the prompts)"), \
	OPT_BOOL('f', "force", &(c)->spec.force, "redo every job and replace its files")
#define OPT_CLI_BATCH_RUN(fail_fast, no_gallery) \
	OPT_BOOL(0, "fail-fast", fail_fast, "stop launching after the first failed job"), \
	OPT_BOOL(0, "no-gallery", no_gallery, "do not write index.html (the gallery) in the folder")

#define OPT_CLI_METADATA(c) \
	OPT_BOOL(0, "sidecar", &(c)->spec.sidecar, "also write NAME.json describing each image"), \
	OPT_BOOL(0, "no-metadata", &(c)->spec.no_metadata, "do not record the prompt and parameters in PNG files")

#define OPT_CLI_DRY_QUIET(c) \
	OPT_BOOL(0, "dry-run", &(c)->dry_run, "print the request and output paths; send nothing"), \
	OPT_BOOL('q', "quiet", &(c)->quiet, "print only errors on stderr")

#define OPT_CLI_COST(c) \
	OPT_GROUP("Cost"), \
	OPT_DOLLARS(0, "max-cost", &(c)->max_cost, "USD", 0, 1e9, "refuse a run estimated above USD (exit 2, nothing sent); stop sending before passing it"), \
	OPT_DOLLARS(0, "confirm-above", &(c)->confirm_above, "USD", 0, 1e9, "on a terminal, ask before a run estimated above USD (default 5)"), \
	OPT_BOOL('y', "yes", &(c)->yes, "do not ask before an expensive run"), \
	OPT_BOOL(0, "no-history", &(c)->no_history, "do not record this run in the spend history (imagegen usage)")
#define OPT_CLI_CONNECTION(c) \
	OPT_GROUP("Connection"), \
	OPT_STRING(0, "profile", &(c)->profile, "NAME", "use [profile NAME] of the config file (default $IMAGEGEN_PROFILE)"), \
	OPT_BOOL('v', "verbose", &(c)->verbose, "trace each HTTP exchange on stderr (headers, status, timing; secrets redacted)"), \
	OPT_STRING(0, "provider", &(c)->provider, "NAME", "openai (or any compatible server) or azure (default: from the environment)"), \
	OPT_STRING(0, "base-url", &(c)->base_url, "URL", "API base URL (default $OPENAI_BASE_URL or " DEFAULT_BASE_URL "; azure: the resource endpoint)"), \
	OPT_STRING(0, "deployment", &(c)->deployment, "NAME", "azure: the deployment (default: the model's name)"), \
	OPT_STRING(0, "api-version", &(c)->api_version, "V", "azure: the api-version of deployment paths (default $OPENAI_API_VERSION)"), \
	OPT_SECONDS(0, "timeout", &(c)->timeout, "SECONDS", 0.001, 86400, "per-request timeout (default 600)"), \
	OPT_INT(0, "max-attempts", &(c)->max_attempts, "N", 1, 100, "attempts per request, retries included (default 3)"), \
	OPT_INT(0, "retries", &(c)->retries, "N", 0, 99, "retries per request (= max-attempts - 1; not with another --max-attempts)"), \
	OPT_SECONDS(0, "backoff", &(c)->backoff, "SECONDS", 0, 600, "first retry delay, doubling up to 8 s (default 0.5)")

void cli_release(struct cli *c);

/* When set, cli_parse hands the command's option table to it instead of
 * parsing and returns EXIT_OK (the completion scripts are made from the
 * tables the commands parse with). */
extern void (*cli_table_hook)(const struct opt *opts);

/* The values a flag (by its names, "output-format|format") takes or is
 * often given, appended to out without repeats: the model table's models
 * and sizes, the parameters' value lists. Returns whether they are all it
 * takes (false: only suggestions, as models, sizes, qualities and styles,
 * or none listed). */
bool cli_flag_values(const char *names, struct strlist *out);

/* Writes one line of text from a server or a file to out, with control
 * characters made harmless ('?'), so it cannot drive the terminal. */
void cli_put_safe(FILE *out, const char *s);
/* The same for text of several lines: each newline is kept, followed by
 * indent. */
void cli_put_safe_lines(FILE *out, const char *s, const char *indent);

/* Parses argv into c; prints help or the usage error. Returns -1 to go on,
 * or the exit status. Sets up messages (quiet, colour). */
int cli_parse(struct cli *c, const struct opt *opts, const char *usage,
	      const char *about, int argc, char **argv);

/* Reads the prompt from its sources (--prompt, --prompt-file, the words,
 * standard input) into c->spec.prompt. 0, or -1 with a message in err. */
int cli_read_prompt(struct cli *c, struct buf *err);

/* The engine from the connection options and the environment: the
 * provider, the loop (concurrency, rpm) and the retry policy. 0, or -1 with
 * a message in err; release e either way. */
int cli_engine(struct cli *c, struct engine *e, size_t concurrency, long rpm,
	       struct buf *err);
/* Reads the config file (once) and fills in what neither a flag nor the
 * environment gave: model, quality, size, output format and folder, the
 * connection, --max-cost, and the key (api_key_env, or api_key_command,
 * run only when something may be sent). 0, or -1 with a message in err. */
int cli_settings(struct cli *c, struct buf *err);
/* Fills in what c's options left unset from the settings s (model,
 * quality, size, output format and folder, deployment, --max-cost). */
void cli_settings_defaults(const struct settings *s, struct cli *c);
/* The user's models.json ($XDG_CONFIG_HOME/imagegen/models.json) added to
 * the model table (model_load_user). 0, or -1 with why in err. */
int cli_load_models(struct buf *err);
/* concurrency as given (> 0), else the config's, else fallback. */
long cli_concurrency(const struct cli *c, long given, long fallback);
/* The environment as a command sees it: a variable, or else the config's
 * value that stands for it (base URL, provider, api-version, the key). */
const char *cli_env(const char *name);
struct retry_policy cli_retry_policy(const struct cli *c);
/* Writes what the spend history still holds, warning if it cannot. */
void cli_close_history(struct engine *e);

/* Before anything is paid for: refuses a run whose estimate (of which
 * unknown requests cannot be estimated, the first for the reason why) is
 * above --max-cost, and on a terminal asks when it is above the confirm
 * threshold or any request cannot be estimated (unless --yes), saying what
 * would be sent and how many have no estimate. -1 to go on, or
 * EXIT_USAGE (EXIT_INTERRUPTED) with the reason in err. */
int cli_check_cost(const struct cli *c, const char *what, double estimate, size_t unknown,
		   const char *why, struct buf *err);
/* Prints each warning line of warn. */
void cli_print_warnings(const struct buf *warn);

/* A command that sends one request: its help, options, the operation and
 * what it checks of the command line before the engine plans the request
 * (NULL: nothing); check returns 0, or -1 with a usage error in err. */
struct cli_command {
	const char *usage;
	const char *about;
	const struct opt *opts;
	const char *verb;          /* "generating", "editing", ... */
	enum operation op;
	int (*check)(struct cli *c, struct buf *err);
};

/* Parses argv, has the engine plan and run the request, prints the outcome
 * (paths on stdout, or the response with --json) and returns the exit
 * status. */
int cli_run_single(const struct cli_command *cmd, struct cli *c, int argc, char **argv);

/* Signal handling: SIGINT/SIGTERM count into cli_interrupts. */
extern volatile sig_atomic_t cli_interrupts;
void cli_install_signals(void);

#endif
