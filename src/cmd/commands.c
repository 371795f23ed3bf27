/* The commands by name, for main.c's dispatch and help, and for the
 * completion scripts (cmd_completion.c). */
#include "commands.h"

const struct command commands[] = {
	{ "generate", cmd_generate, "generate images from a prompt" },
	{ "edit", cmd_edit, "edit images with a prompt (up to 16 inputs, a mask)" },
	{ "variation", cmd_variation, "make variations of an image (dall-e-2)" },
	{ "batch", cmd_batch, "generate many images at once, resumable (alias generate-batch)" },
	{ "generate-batch", cmd_batch, NULL },
	{ "remove-bg", cmd_removebg, "make a flat background colour transparent (chroma key)" },
	{ "info", cmd_info, "show how an image was made (prompt, model, parameters)" },
	{ "status", cmd_status, "a batch folder's jobs by state, from its ledger" },
	{ "usage", cmd_usage, "what paid requests cost, from the spend history" },
	{ "models", cmd_models, "the models imagegen knows (--remote: and the server's)" },
	{ "config", cmd_config, "the settings in effect and where each comes from" },
	{ "mcp", cmd_mcp, "serve the image tools to an MCP client (agents) on stdin/stdout" },
	{ "completion", cmd_completion, "a completion script for bash, zsh or fish" },
};
const size_t commands_n = sizeof(commands) / sizeof(commands[0]);
