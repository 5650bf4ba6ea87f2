/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line of the three tools, one dialect:
 *
 *   - verbs from a table { "name", do_fn, help }, matched by unique prefix
 *     (an exact name wins; an ambiguous prefix lists the candidates);
 *   - options from one getopt_long table per tool, each verb saying which
 *     of them it takes; -j/--json, -p/--pretty, -h/--help, -V/--version are
 *     taken everywhere; an option a verb does not take is refused by name;
 *   - p_err(): "Error: ..." on stderr, or {"error": "..."} on stdout under
 *     --json; p_info(): a note on stderr, silent under --json;
 *   - argument errors exit with CLI_EXIT_USAGE (2), failures with 1;
 *   - one set of value parsers (numbers, sizes, durations, addresses).
 *
 * Value rules (vs_parse_*; the cli_* forms exit 2 with "--opt: ..."):
 *
 *   NUMBER   := decimal digits, or 0x and hex digits ("010" is ten); no
 *               sign, no blanks, no suffix
 *   SIZE     := NUMBER[.FRACTION][K|M|G][B|iB]; K, M, G are 1024, 1024^2,
 *               1024^3; a fraction is allowed when the result is a whole
 *               number of bytes ("1.5K" is 1536, "1.1K" is refused)
 *   DURATION := DECIMAL[.FRACTION][ns|us|ms|s|m|h], seconds without a
 *               unit; the result must be a whole number of nanoseconds
 *   ADDRESS  := vsock:CID:PORT | tcp:HOST:PORT | tcp:[V6ADDR]:PORT, with
 *               CID := NUMBER | any | local | host (see addr.h)
 */
#ifndef VS_CLI_H
#define VS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "addr.h"

#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2

/* Option ids every tool takes; put them in the getopt tables with CLI_COMMON_OPTIONS. */
#define CLI_OPT_JSON	'j'
#define CLI_OPT_PRETTY	'p'
#define CLI_OPT_HELP	'h'
#define CLI_OPT_VERSION	'V'
#define CLI_COMMON_SHORT	"jphV"
#define CLI_COMMON_OPTIONS						\
	{ "json",	no_argument,	NULL, CLI_OPT_JSON },		\
	{ "pretty",	no_argument,	NULL, CLI_OPT_PRETTY },		\
	{ "help",	no_argument,	NULL, CLI_OPT_HELP },		\
	{ "version",	no_argument,	NULL, CLI_OPT_VERSION }

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0] is the verb */
	void (*help)(FILE *out);		/* the verb's usage */
};

struct cli_state {
	const char *prog;
	const char *verb;		/* NULL until one is chosen */
	bool json;
	bool pretty;
};
extern struct cli_state cli;

/*
 * Start the command line of @prog: @longopts/@shortopts are every option
 * the tool has (shortopts without a leading '+' or ':'), @help prints the
 * tool's usage.  --json/--pretty anywhere in @argv switch p_err() to JSON
 * at once, so even an error in an earlier argument comes out as JSON.
 */
void cli_init(const char *prog, const struct option *longopts, const char *shortopts,
	      void (*help)(FILE *out), int argc, char **argv);

void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void p_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* p_err(), then (text mode) "Try 'PROG [VERB] --help'.", then exit 2. */
void cli_usage_err(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* "PROG VERSION" on stdout; VERSION is VSTRACE_VERSION of include/uapi/vstrace.h. */
void cli_print_version(void);
const char *cli_version(void);

/* Is @arg a non-empty prefix of @name? */
bool cli_is_prefix(const char *arg, const char *name);

/*
 * The verb @arg names in @cmds (terminated by a NULL name): an exact name,
 * or the one verb it is a prefix of.  NULL with a message in @err if none
 * or several.
 */
const struct cli_cmd *cli_cmd_find(const struct cli_cmd *cmds, const char *arg,
				   char *err, size_t errlen);

/*
 * Options before the verb, then the verb: run it with the rest of the
 * arguments.  The options given before the verb are checked against the
 * verb's list when it asks for options (cli_next_opt).  Returns the verb's
 * exit status; argument errors exit 2.
 */
int cli_dispatch(const struct cli_cmd *cmds, int argc, char **argv);

/*
 * The "help [VERB]" verb of a tool with verbs @cmds: the usage of VERB, or
 * @tool_help's, on stdout.  cli_help_help() is its own usage.
 */
int cli_do_help(const struct cli_cmd *cmds, void (*tool_help)(FILE *out),
		int argc, char **argv);
void cli_help_help(FILE *out);

/*
 * Next option for the current verb (or for the whole tool, without
 * verbs): the option id, with its argument in optarg, or -1 when done
 * (positional arguments are then argv[optind..argc-1]).  @allowed lists the
 * ids the verb takes, 0-terminated; NULL takes every option.  The common
 * options are handled here and never returned, except that --json and
 * --pretty are also recorded in cli.json/cli.pretty.  Unknown options,
 * missing arguments and options of other verbs exit 2, naming the option.
 */
int cli_next_opt(int argc, char **argv, const int *allowed);

/* For a verb without options or arguments: refuse any, by name. */
void cli_no_args(int argc, char **argv);

/* ---- values: 0, or -1 with a message naming the value in @err ---- */

int vs_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		 char *err, size_t errlen);
int vs_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen);
int vs_parse_duration(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *ns,
		      char *err, size_t errlen);
/* DECIMAL[.FRACTION]: no hex, exponent, inf or nan. */
int vs_parse_double(const char *s, double min, double max, double *out,
		    char *err, size_t errlen);

/* The same, exiting 2 with "OPT: MESSAGE" on a bad value. */
uint64_t cli_u64(const char *opt, const char *arg, uint64_t min, uint64_t max);
uint64_t cli_size(const char *opt, const char *arg, uint64_t min, uint64_t max);
uint64_t cli_duration_ns(const char *opt, const char *arg, uint64_t min_ns, uint64_t max_ns);
double cli_double(const char *opt, const char *arg, double min, double max);
void cli_addr(const char *opt, const char *arg, struct vs_addr *a);

#endif
