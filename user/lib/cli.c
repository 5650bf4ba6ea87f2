// SPDX-License-Identifier: GPL-2.0
/* The command line shared by vstrace, vsbench and vsproxy (see cli.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "json_writer.h"
#include "vstrace.h"		/* VSTRACE_VERSION: the module's and the tools' */

struct cli_state cli = { .prog = "?" };

static const struct option *cli_longopts;
static char cli_shortopts[128];
static void (*tool_help)(FILE *out);
static void (*verb_help)(FILE *out);

/* Options given before the verb, replayed to the verb's cli_next_opt(). */
#define MAX_EARLY	32
static struct { int id; char *arg; } early[MAX_EARLY];
static int nr_early, next_early;
static bool verb_started;

const char *cli_version(void)
{
	return VSTRACE_VERSION;
}

void cli_print_version(void)
{
	printf("%s %s\n", cli.prog, VSTRACE_VERSION);
}

void cli_init(const char *prog, const struct option *longopts, const char *shortopts,
	      void (*help)(FILE *out), int argc, char **argv)
{
	bool json_alias = strchr(shortopts, 'J') != NULL;

	cli.prog = prog;
	cli.verb = NULL;
	cli_longopts = longopts;
	snprintf(cli_shortopts, sizeof(cli_shortopts), "%s", shortopts);
	tool_help = help;
	verb_help = NULL;
	nr_early = next_early = 0;
	verb_started = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-j") || !strcmp(a, "--json") || (json_alias && !strcmp(a, "-J")))
			cli.json = true;
		else if (!strcmp(a, "-p") || !strcmp(a, "--pretty"))
			cli.json = cli.pretty = true;
	}
}

/* ---- messages ---- */

static void emit_error(const char *msg)
{
	if (cli.json) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		json_writer_t w;

		if (m) {
			jsonw_init(&w, m, cli.pretty);
			jsonw_start_object(&w);
			jsonw_string_field(&w, "error", msg);
			jsonw_end_object(&w);
			fclose(m);
			/* One piece, between other threads' output. */
			flockfile(stdout);
			fflush(stdout);
			fwrite(buf, 1, len, stdout);
			fflush(stdout);
			funlockfile(stdout);
			free(buf);
			return;
		}
	}
	{
		char line[1200];
		int n = snprintf(line, sizeof(line), "Error: %s\n", msg);

		if (n >= (int)sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		/* One write: lines of different threads do not mix. */
		if (write(STDERR_FILENO, line, (size_t)n) < 0)
			return;
	}
}

void p_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_error(msg);
}

void p_info(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (cli.json)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void cli_usage_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_error(msg);
	if (!cli.json)
		fprintf(stderr, "Try '%s%s%s --help'.\n", cli.prog, cli.verb ? " " : "",
			cli.verb ? cli.verb : "");
	exit(CLI_EXIT_USAGE);
}

/* ---- verbs ---- */

bool cli_is_prefix(const char *arg, const char *name)
{
	size_t len = strlen(arg);

	return len && len <= strlen(name) && !strncmp(arg, name, len);
}

static void list_names(const struct cli_cmd *cmds, const char *arg, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct cli_cmd *c = cmds; c->name; c++) {
		if (arg && !cli_is_prefix(arg, c->name))
			continue;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				off ? ", " : "", c->name);
		if (off >= len)
			break;
	}
}

const struct cli_cmd *cli_cmd_find(const struct cli_cmd *cmds, const char *arg,
				   char *err, size_t errlen)
{
	const struct cli_cmd *found = NULL;
	int matches = 0;
	char names[256];

	for (const struct cli_cmd *c = cmds; c->name; c++) {
		if (!strcmp(arg, c->name))
			return c;
		if (cli_is_prefix(arg, c->name)) {
			found = c;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (matches) {
		list_names(cmds, arg, names, sizeof(names));
		snprintf(err, errlen, "'%s' is ambiguous: %s", arg, names);
	} else {
		list_names(cmds, NULL, names, sizeof(names));
		snprintf(err, errlen, "unknown verb '%s' (%s)", arg, names);
	}
	return NULL;
}

/* ---- options ---- */

static const char *opt_name(int id, char *buf, size_t len)
{
	for (const struct option *o = cli_longopts; o && o->name; o++)
		if (o->val == id) {
			snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	snprintf(buf, len, "-%c", id);
	return buf;
}

static bool is_common(int id)
{
	return id == CLI_OPT_JSON || id == CLI_OPT_PRETTY || id == CLI_OPT_HELP ||
	       id == CLI_OPT_VERSION || (id == 'J' && strchr(cli_shortopts, 'J'));
}

/* Handle a common option; true if it was one. */
static bool common_opt(int id)
{
	switch (id) {
	case CLI_OPT_JSON:
	case 'J':
		if (!is_common(id))
			return false;
		cli.json = true;
		return true;
	case CLI_OPT_PRETTY:
		cli.json = cli.pretty = true;
		return true;
	case CLI_OPT_HELP:
		if (verb_help)
			verb_help(stdout);
		else if (tool_help)
			tool_help(stdout);
		exit(0);
	case CLI_OPT_VERSION:
		cli_print_version();
		exit(0);
	}
	return false;
}

/* getopt_long with messages that name the option. */
static int get_opt(int argc, char **argv, bool stop_at_verb)
{
	char spec[sizeof(cli_shortopts) + 4];
	int id;

	snprintf(spec, sizeof(spec), "%s:%s", stop_at_verb ? "+" : "", cli_shortopts);
	opterr = 0;
	id = getopt_long(argc, argv, spec, cli_longopts, NULL);
	if (id == '?') {
		if (optopt)
			cli_usage_err("unknown option '-%c'", optopt);
		cli_usage_err("unknown option '%s'", argv[optind - 1]);
	}
	if (id == ':') {
		char name[64];

		if (optopt && optopt < 256 && argv[optind - 1][1] != '-')
			cli_usage_err("-%c needs an argument", optopt);
		cli_usage_err("%s needs an argument",
			      optopt ? opt_name(optopt, name, sizeof(name)) : argv[optind - 1]);
	}
	return id;
}

static void check_allowed(const int *allowed, int id)
{
	char name[64];

	if (!allowed || is_common(id))
		return;
	for (const int *a = allowed; *a; a++)
		if (*a == id)
			return;
	if (cli.verb)
		cli_usage_err("%s is not an option of '%s'", opt_name(id, name, sizeof(name)),
			      cli.verb);
	cli_usage_err("%s is not an option of %s", opt_name(id, name, sizeof(name)), cli.prog);
}

int cli_next_opt(int argc, char **argv, const int *allowed)
{
	int id;

	if (!verb_started) {
		verb_started = true;
		optind = 0;		/* new argv: start over */
	}
	while (next_early < nr_early) {
		id = early[next_early].id;
		optarg = early[next_early].arg;
		next_early++;
		check_allowed(allowed, id);
		return id;
	}
	for (;;) {
		id = get_opt(argc, argv, false);
		if (id == -1)
			return -1;
		if (common_opt(id))
			continue;
		check_allowed(allowed, id);
		return id;
	}
}

void cli_no_args(int argc, char **argv)
{
	static const int none[] = { 0 };

	cli_next_opt(argc, argv, none);
	if (optind < argc)
		cli_usage_err("unexpected argument '%s'", argv[optind]);
}

int cli_do_help(const struct cli_cmd *cmds, void (*tool_help)(FILE *out),
		int argc, char **argv)
{
	static const int none[] = { 0 };
	const struct cli_cmd *cmd;
	char err[256];

	while (cli_next_opt(argc, argv, none) != -1)
		;
	if (argc - optind > 1)
		cli_usage_err("unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc) {
		cmd = cli_cmd_find(cmds, argv[optind], err, sizeof(err));
		if (!cmd)
			cli_usage_err("%s", err);
		cmd->help(stdout);
		return 0;
	}
	tool_help(stdout);
	return 0;
}

void cli_help_help(FILE *out)
{
	fprintf(out, "Usage: %s help [VERB]\nThe usage of %s, or of VERB.\n", cli.prog,
		cli.prog);
}

int cli_dispatch(const struct cli_cmd *cmds, int argc, char **argv)
{
	const struct cli_cmd *cmd;
	char err[512], names[256];
	int id;

	optind = 0;
	while ((id = get_opt(argc, argv, true)) != -1) {
		if (common_opt(id))
			continue;
		if (nr_early == MAX_EARLY)
			cli_usage_err("too many options before the verb");
		early[nr_early].id = id;
		early[nr_early].arg = optarg;
		nr_early++;
	}
	if (optind >= argc) {
		list_names(cmds, NULL, names, sizeof(names));
		cli_usage_err("no verb given (%s)", names);
	}
	cmd = cli_cmd_find(cmds, argv[optind], err, sizeof(err));
	if (!cmd)
		cli_usage_err("%s", err);
	cli.verb = cmd->name;
	verb_help = cmd->help;
	verb_started = false;
	return cmd->fn(argc - optind, argv + optind);
}

/* ---- values ---- */

/* Digits of @base at @s, into @v; the end in @end.  -ERANGE on overflow. */
static int digits(const char *s, unsigned int base, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	int rc = 0;

	for (; *s; s++) {
		unsigned int d;

		if (isdigit((unsigned char)*s))
			d = (unsigned int)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned int)(tolower((unsigned char)*s) - 'a' + 10);
		else
			break;
		if (x > (UINT64_MAX - d) / base)
			rc = -ERANGE;
		else
			x = x * base + d;
	}
	*v = x;
	*end = s;
	return rc;
}

/* NUMBER at @s: decimal, or 0x hex.  -EINVAL if no digits. */
static int number(const char *s, uint64_t *v, const char **end, bool *hex)
{
	const char *start;
	int rc;

	*hex = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'));
	start = *hex ? s + 2 : s;
	rc = digits(start, *hex ? 16 : 10, v, end);
	if (*end == start)
		return -EINVAL;
	return rc;
}

static void range_err(char *err, size_t errlen, const char *s, uint64_t min, uint64_t max,
		      const char *unit)
{
	snprintf(err, errlen, "%s is out of range (%llu..%llu%s)", s,
		 (unsigned long long)min, (unsigned long long)max, unit);
}

int vs_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		 char *err, size_t errlen)
{
	const char *end;
	bool hex;
	uint64_t v;
	int rc = number(s, &v, &end, &hex);

	if (rc == -EINVAL || *end) {
		snprintf(err, errlen, "'%s' is not a number", s);
		return -1;
	}
	if (rc == -ERANGE || v < min || v > max) {
		range_err(err, errlen, s, min, max, "");
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * INT[.FRAC] times @mult, exactly: -EINVAL if not a whole number, -ERANGE
 * if too large.  At most 18 fraction digits.
 */
static int scaled(uint64_t ip, const char *frac, size_t nfrac, uint64_t mult, uint64_t *out)
{
	unsigned __int128 f = 0, pow10 = 1, v;

	if (nfrac > 18)
		return -EINVAL;
	for (size_t i = 0; i < nfrac; i++) {
		f = f * 10 + (unsigned int)(frac[i] - '0');
		pow10 *= 10;
	}
	if ((f * mult) % pow10)
		return -EINVAL;
	v = (unsigned __int128)ip * mult + f * mult / pow10;
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

/* DECIMAL[.FRACTION] at @s: integer part, fraction digits; end of it. */
static int decimal(const char *s, uint64_t *ip, const char **frac, size_t *nfrac,
		   const char **end)
{
	const char *p;
	int rc = digits(s, 10, ip, &p);

	*frac = NULL;
	*nfrac = 0;
	if (p == s)
		return -EINVAL;		/* no digit before the point: ".5" */
	if (*p == '.') {
		const char *q;
		uint64_t dummy;

		*frac = p + 1;
		digits(p + 1, 10, &dummy, &q);
		*nfrac = (size_t)(q - (p + 1));
		if (!*nfrac)
			return -EINVAL;		/* "1." */
		p = q;
	}
	*end = p;
	return rc;
}

int vs_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen)
{
	const char *end, *frac = NULL;
	uint64_t ip, mult = 1, v;
	size_t nfrac = 0;
	bool hex;
	int rc;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		rc = number(s, &ip, &end, &hex);
	else
		rc = decimal(s, &ip, &frac, &nfrac, &end);
	if (rc == -EINVAL)
		goto bad;
	switch (*end) {
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	}
	if (!strcmp(end, "B") || (mult > 1 && !strcmp(end, "iB")))
		end += strlen(end);
	if (*end)
		goto bad;
	if (rc == -ERANGE)
		goto range;
	rc = scaled(ip, frac, nfrac, mult, &v);
	if (rc == -EINVAL) {
		snprintf(err, errlen, "'%s' is not a whole number of bytes", s);
		return -1;
	}
	if (rc || v < min || v > max)
		goto range;
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a size in bytes (e.g. 64, 4K, 1.5M)", s);
	return -1;
range:
	range_err(err, errlen, s, min, max, " bytes");
	return -1;
}

int vs_parse_duration(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *ns,
		      char *err, size_t errlen)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull }, { "", 1000000000ull },
	};
	const char *end, *frac;
	uint64_t ip, v;
	size_t nfrac;
	int rc = decimal(s, &ip, &frac, &nfrac, &end);

	if (rc == -EINVAL)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (rc == -ERANGE)
			goto range;
		rc = scaled(ip, frac, nfrac, units[i].ns, &v);
		if (rc == -EINVAL) {
			snprintf(err, errlen, "'%s' is finer than a nanosecond", s);
			return -1;
		}
		if (rc || v < min_ns || v > max_ns)
			goto range;
		*ns = v;
		return 0;
	}
bad:
	snprintf(err, errlen, "'%s' is not a duration (e.g. 5, 0.5, 500ms, 2m)", s);
	return -1;
range:
	snprintf(err, errlen, "%s is out of range (%gs..%gs)", s, (double)min_ns / 1e9,
		 (double)max_ns / 1e9);
	return -1;
}

int vs_parse_double(const char *s, double min, double max, double *out,
		    char *err, size_t errlen)
{
	const char *end, *frac;
	uint64_t ip;
	size_t nfrac;
	double v;
	int rc = decimal(s, &ip, &frac, &nfrac, &end);

	if (rc == -EINVAL || *end) {
		snprintf(err, errlen, "'%s' is not a number", s);
		return -1;
	}
	v = strtod(s, NULL);	/* only digits and one dot: no locale surprises */
	if (rc == -ERANGE || v < min || v > max) {
		snprintf(err, errlen, "%s is out of range (%g..%g)", s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

uint64_t cli_u64(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	char err[256];
	uint64_t v;

	if (vs_parse_u64(arg, min, max, &v, err, sizeof(err)))
		cli_usage_err("%s: %s", opt, err);
	return v;
}

uint64_t cli_size(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	char err[256];
	uint64_t v;

	if (vs_parse_size(arg, min, max, &v, err, sizeof(err)))
		cli_usage_err("%s: %s", opt, err);
	return v;
}

uint64_t cli_duration_ns(const char *opt, const char *arg, uint64_t min_ns, uint64_t max_ns)
{
	char err[256];
	uint64_t v;

	if (vs_parse_duration(arg, min_ns, max_ns, &v, err, sizeof(err)))
		cli_usage_err("%s: %s", opt, err);
	return v;
}

double cli_double(const char *opt, const char *arg, double min, double max)
{
	char err[256];
	double v;

	if (vs_parse_double(arg, min, max, &v, err, sizeof(err)))
		cli_usage_err("%s: %s", opt, err);
	return v;
}

void cli_addr(const char *opt, const char *arg, struct vs_addr *a)
{
	char err[256];

	if (vs_addr_parse(arg, a, err, sizeof(err)))
		cli_usage_err("%s: %s", opt, err);
}
