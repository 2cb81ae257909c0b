/* scenario.c -- see scenario.h. inih splits lines; a reader of ours feeds
 * it one line at a time so we know the line number (Debian's inih does not
 * pass it), and rewrites "key < value" into "key = < value" so expectation
 * lines need no '='. Every key has one entry in the key table: how to parse
 * it into a case and how to print it back canonically, so matrix values and
 * [expect key=value] conditions compare in one form. */
#include "scenario.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expect.h"
#include "sys.h"

#define MAX_LINE 200      /* Debian's inih INI_MAX_LINE */
#define MAX_VALUES 32     /* per matrix key */
#define MAX_MATRIX 12
#define MAX_SECTIONS 64
#define VAL_MAX 96

/* ---- keys of a case ---------------------------------------------------- */

typedef int (*key_parse_fn)(const char *v, struct pc_case *c, char *err, size_t errlen);
typedef void (*key_format_fn)(const struct pc_case *c, char *buf, size_t len);

struct key_def {
	const char *name;
	key_parse_fn parse;
	key_format_fn format;
};

static int parse_int(const char *v, int min, int max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -1;
	*out = (int)n;
	return 0;
}

#define INT_KEY(field, min, max) \
	static int parse_##field(const char *v, struct pc_case *c, char *err, size_t errlen) \
	{ \
		if (parse_int(v, min, max, &c->field) == 0) \
			return 0; \
		snprintf(err, errlen, "bad " #field " '%s' (a whole number, %d-%d)", v, min, max); \
		return -1; \
	} \
	static void format_##field(const struct pc_case *c, char *buf, size_t len) \
	{ snprintf(buf, len, "%d", c->field); }
INT_KEY(cycles, 1, 1000000)
INT_KEY(requests, 0, 10000)
INT_KEY(bind_retry_ms, 0, 600000)
INT_KEY(bind_retry_interval_ms, 1, 60000)
INT_KEY(term_timeout_ms, 1, 600000)
INT_KEY(startup_delay_ms, 0, 600000)
INT_KEY(clients, 0, 1000)
INT_KEY(rate, 0, 1000000)
INT_KEY(steady_ms, 0, 600000)
INT_KEY(ready_timeout_ms, 1, 600000)
INT_KEY(components, 1, PC_MAX_COMPONENTS)
#undef INT_KEY

static int parse_opts(const char *v, struct pc_optset *o, char *text, char *err, size_t errlen)
{
	if (pc_optset_parse(v, o, err, errlen) < 0)
		return -1;
	pc_optset_format(o, text, PC_OPTSET_TEXT_MAX);
	return 0;
}

static int parse_old(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	return parse_opts(v, &c->old_opts, c->old_text, err, errlen);
}

static int parse_new(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	return parse_opts(v, &c->new_opts, c->new_text, err, errlen);
}

/* Both generations at once: a restart loop of one option set. */
static int parse_opts_both(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (parse_old(v, c, err, errlen) < 0)
		return -1;
	c->new_opts = c->old_opts;
	memcpy(c->new_text, c->old_text, sizeof(c->new_text));
	return 0;
}

static void format_opts_both(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strcmp(c->old_text, c->new_text) ? "(differs)" : c->old_text);
}

static void format_old(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->old_text);
}

static void format_new(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->new_text);
}

static const struct { const char *name; int sig; } signals[] = {
	{ "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT },
	{ "HUP", SIGHUP }, { "QUIT", SIGQUIT },
};

const char *pc_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return "?";
}

static int parse_signal(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	const char *name = strncasecmp(v, "SIG", 3) ? v : v + 3;

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (!strcasecmp(name, signals[i].name)) {
			c->signal = signals[i].sig;
			return 0;
		}
	}
	snprintf(err, errlen, "bad signal '%s' (KILL, TERM, INT, HUP, QUIT)", v);
	return -1;
}

static void format_signal(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", pc_signal_name(c->signal));
}

static int parse_close_first(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (!strcmp(v, "server") || !strcmp(v, "client")) {
		c->close_first = v[0] == 's' ? PC_CLOSE_SERVER : PC_CLOSE_CLIENT;
		return 0;
	}
	snprintf(err, errlen, "bad close_first '%s' (server, client)", v);
	return -1;
}

static void format_close_first(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->close_first == PC_CLOSE_SERVER ? "server" : "client");
}

static int parse_opts_at(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (pc_opts_at_parse(v, &c->opts_at) == 0)
		return 0;
	snprintf(err, errlen, "bad opts_at '%s' (before-bind, after-bind, after-listen, accepted, "
		 "after-accept)", v);
	return -1;
}

static void format_opts_at(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", pc_opts_at_name(c->opts_at));
}

static int parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else {
		snprintf(err, errlen, "bad %s '%s' (yes, no)", key, v);
		return -1;
	}
	return 0;
}

#define BOOL_KEY(field) \
	static int parse_##field(const char *v, struct pc_case *c, char *err, size_t errlen) \
	{ return parse_bool(#field, v, &c->field, err, errlen); } \
	static void format_##field(const struct pc_case *c, char *buf, size_t len) \
	{ snprintf(buf, len, "%s", c->field ? "yes" : "no"); }
BOOL_KEY(leak_child)
BOOL_KEY(keep_open)
BOOL_KEY(keepalive)
BOOL_KEY(migrate_req)
BOOL_KEY(preload)

static int parse_inject(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	struct pc_optset o;

	if (pc_optset_parse(v, &o, err, errlen) < 0)
		return -1;
	pc_optset_format(&o, c->inject, sizeof(c->inject));
	if (!strcmp(c->inject, "none"))
		c->inject[0] = '\0';
	return 0;
}

static void format_inject(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->inject[0] ? c->inject : "none");
}

static int parse_fixture(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (strcmp(v, "pc-fixture") && strcmp(v, "command")) {
		snprintf(err, errlen, "bad fixture '%s' (pc-fixture, command)", v);
		return -1;
	}
	c->fixture_command = v[0] == 'c';
	return 0;
}

static void format_fixture(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->fixture_command ? "command" : "pc-fixture");
}

static int parse_command(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (!*v || strlen(v) >= sizeof(c->command)) {
		snprintf(err, errlen, "command must be 1-%zu characters", sizeof(c->command) - 1);
		return -1;
	}
	snprintf(c->command, sizeof(c->command), "%s", v);
	c->fixture_command = true;
	return 0;
}

/* Case names show a command without what every case shares: directories
 * of the program, and {placeholder} arguments with the flag before them.
 * "/usr/bin/python3 -m uvicorn app:app --port {port}" reads
 * "python3 -m uvicorn app:app". */
static void format_command(const struct pc_case *c, char *buf, size_t len)
{
	char words[PC_COMMAND_MAX], *save, *w, *prev = NULL;
	size_t n = 0;

	snprintf(words, sizeof(words), "%s", c->command);
	buf[0] = '\0';
	for (w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		bool flag = w[0] == '-';

		if (strchr(w, '{')) {
			if (prev && n >= strlen(prev) + 1)
				n -= strlen(prev) + 1;   /* "--port {port}": drop both */
			buf[n] = '\0';
			prev = NULL;
			continue;
		}
		if (!n && strrchr(w, '/'))
			w = strrchr(w, '/') + 1;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "", w);
		if (n >= len)
			break;   /* cut short (snprintf ended it): n must stay inside buf */
		prev = flag ? w : NULL;
	}
}

static int parse_ready(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (strcmp(v, "http") && strcmp(v, "tcp")) {
		snprintf(err, errlen, "bad ready '%s' (http, tcp)", v);
		return -1;
	}
	c->ready_tcp = v[0] == 't';
	return 0;
}

static void format_ready(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->ready_tcp ? "tcp" : "http");
}

static int parse_ready_path(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	if (v[0] != '/' || strlen(v) >= sizeof(c->ready_path) || strpbrk(v, " \t")) {
		snprintf(err, errlen, "bad ready_path '%s' (a path starting with /)", v);
		return -1;
	}
	snprintf(c->ready_path, sizeof(c->ready_path), "%s", v);
	return 0;
}

static void format_ready_path(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->ready_path);
}

static const char *const strategy_names[] = {
	[PC_STRATEGY_NAIVE] = "naive", [PC_STRATEGY_EAGER] = "eager",
	[PC_STRATEGY_OVERLAP] = "overlap", [PC_STRATEGY_HANDOFF] = "handoff",
};

const char *pc_strategy_name(enum pc_strategy s)
{
	return strategy_names[s];
}

static int parse_strategy(const char *v, struct pc_case *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++) {
		if (!strcmp(v, strategy_names[i])) {
			c->strategy = (enum pc_strategy)i;
			return 0;
		}
	}
	snprintf(err, errlen, "bad strategy '%s' (naive, eager, overlap, handoff)", v);
	return -1;
}

static void format_strategy(const struct pc_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strategy_names[c->strategy]);
}
#undef BOOL_KEY

#define KEY(n) { #n, parse_##n, format_##n }
static const struct key_def case_keys[] = {
	{ "opts", parse_opts_both, format_opts_both },
	KEY(old), KEY(new), KEY(signal), KEY(close_first), KEY(requests),
	KEY(opts_at), KEY(cycles), KEY(bind_retry_ms), KEY(bind_retry_interval_ms),
	KEY(term_timeout_ms), KEY(startup_delay_ms), KEY(leak_child), KEY(keep_open),
	KEY(strategy), KEY(clients), KEY(keepalive), KEY(rate), KEY(migrate_req),
	KEY(steady_ms), KEY(fixture), KEY(command), KEY(ready), KEY(ready_path),
	KEY(ready_timeout_ms), KEY(components), KEY(preload), KEY(inject),
};
#undef KEY
#define NKEYS (sizeof(case_keys) / sizeof(case_keys[0]))
_Static_assert(NKEYS <= 64, "seen_scenario_keys is a 64-bit mask");

static const struct key_def *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(case_keys[i].name, name))
			return &case_keys[i];
	return NULL;
}

/* ---- parser state ------------------------------------------------------ */

struct matrix_key {
	const struct key_def *key;
	char values[MAX_VALUES][VAL_MAX];          /* canonical: compared, named */
	char raw[MAX_VALUES][PC_COMMAND_MAX];      /* as written: parsed into cases */
	int nvalues;
	int line;
};

struct cond {
	const struct key_def *key;
	char value[VAL_MAX];   /* canonical */
};

struct expect_section {
	int line;
	bool other_platform;
	struct cond conds[8];
	int nconds;
	struct pc_expect exps[PC_MAX_EXPS];
	int nexps;
};

struct parser {
	const char *file;
	const char *text, *pos;    /* what the reader walks */
	int line, section_line;
	int matrix_line;           /* where [matrix] opened, 0 = none */
	/* inih cuts section names at 50 characters; the reader keeps each
	 * header here and hands inih "[#N]" instead. */
	char headers[MAX_SECTIONS + 8][MAX_LINE];
	int nheaders;
	char section[MAX_LINE];
	uint64_t seen_scenario_keys;   /* bitmask over case_keys (at most 64) */
	bool seen_setting[5];      /* name, description, addr, port, cwd */
	struct pc_case base;
	struct pc_scenario *s;
	struct matrix_key matrix[MAX_MATRIX];
	int nmatrix;
	struct expect_section sections[MAX_SECTIONS];
	int nsections;
	char *err;
	size_t errlen;
	bool failed;
};

static int fail(struct parser *p, int line, const char *fmt, const char *a, const char *b)
{
	char msg[256];

	if (p->failed)
		return 0;
	/* cppcheck-suppress wrongPrintfScanfArgNum ; fmt takes a, b or both */
	snprintf(msg, sizeof(msg), fmt, a, b);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, msg);
	p->failed = true;
	return 0;   /* inih: stop at the first error */
}

/* ---- the reader: one line a call, counted and normalised ---------------- */

static bool is_op_char(char c)
{
	return c == '<' || c == '>' || c == '!' || c == '=';
}

/* "key < 20" -> "key = < 20"; "key <= 20" -> "key = <= 20". */
static void normalise(char *line, size_t size)
{
	char *k = line, *op;
	char tmp[MAX_LINE + 8];

	if (!isalpha((unsigned char)*k))
		return;
	while (isalnum((unsigned char)*k) || *k == '_' || *k == '.')
		k++;
	op = k;
	while (*op == ' ' || *op == '\t')
		op++;
	if (!is_op_char(*op) || (*op == '=' && op[1] != '='))
		return;
	snprintf(tmp, sizeof(tmp), "%.*s = %s", (int)(k - line), line, op);
	snprintf(line, size, "%s", tmp);
}

/* "[expect old=none]  ; c" -> "[#3]  ; c", keeping "expect old=none". */
static void alias_section(struct parser *p, char *buf, size_t size)
{
	char *end = strchr(buf, ']'), *name = buf + 1, rest[MAX_LINE];

	p->section_line = p->line;
	if (!end) {
		fail(p, p->line, "missing ']' in section header%s%s", "", "");
		return;
	}
	if (p->nheaders == MAX_SECTIONS + 8) {
		fail(p, p->line, "too many sections%s%s", "", "");
		return;
	}
	*end = '\0';
	while (isspace((unsigned char)*name))
		name++;
	for (char *e = name + strlen(name); e > name && isspace((unsigned char)e[-1]); e--)
		e[-1] = '\0';
	snprintf(p->headers[p->nheaders], MAX_LINE, "%s", name);
	if (!strcmp(name, "matrix") && !p->matrix_line)
		p->matrix_line = p->line;
	snprintf(rest, sizeof(rest), "%s", end + 1);
	snprintf(buf, size, "[#%d]%s", p->nheaders++, rest);
}

static char *reader(char *buf, int num, void *stream)
{
	struct parser *p = stream;
	const char *start = p->pos, *nl;
	size_t len;

	if (p->failed || !*p->pos)
		return NULL;
	nl = strchr(start, '\n');
	len = nl ? (size_t)(nl - start) : strlen(start);
	p->pos = nl ? nl + 1 : start + len;
	p->line++;
	while (len && (*start == ' ' || *start == '\t')) {   /* no inih continuation lines */
		start++;
		len--;
	}
	if (len + 12 >= (size_t)num) {
		fail(p, p->line, "line too long (max %s characters)", "180", "");
		return NULL;
	}
	memcpy(buf, start, len);
	buf[len] = '\0';
	if (buf[0] == '[')
		alias_section(p, buf, (size_t)num);
	else
		normalise(buf, (size_t)num);
	return strcat(buf, "\n");
}

/* ---- sections ---------------------------------------------------------- */

static int set_scenario_key(struct parser *p, const char *name, const char *value)
{
	static const char *const settings[] = { "name", "description", "addr", "port", "cwd" };
	const struct key_def *k = key_find(name);
	char err[200];

	if (!strncmp(name, "env.", 4))
		return 1;   /* the caller stores it */
	for (int i = 0; i < 5; i++) {
		if (strcmp(name, settings[i]))
			continue;
		if (p->seen_setting[i])
			return fail(p, p->line, "key '%s' given twice", name, "");
		p->seen_setting[i] = true;
		return 1;   /* the caller stores it */
	}
	if (!k)
		return fail(p, p->line, "unknown key '%s' in [scenario]", name, "");
	if (p->seen_scenario_keys & (1ULL << (k - case_keys)))
		return fail(p, p->line, "key '%s' given twice", name, "");
	p->seen_scenario_keys |= 1ULL << (k - case_keys);
	if (k->parse(value, &p->base, err, sizeof(err)) < 0)
		return fail(p, p->line, "%s", err, "");
	return 2;
}

static int store_env(struct parser *p, const char *name, const char *value)
{
	struct pc_scenario *s = p->s;
	const char *c = name;

	while (*c && (isalnum((unsigned char)*c) || *c == '_'))
		c++;
	if (!*name || *c || isdigit((unsigned char)*name))
		return fail(p, p->line, "bad environment variable name 'env.%s'", name, "");
	if (s->nenv == PC_MAX_ENV)
		return fail(p, p->line, "too many env. keys (max 16)%s", "", "");
	if (strlen(name) + strlen(value) + 2 > sizeof(s->env[0]))
		return fail(p, p->line, "env.%s is too long", name, "");
	snprintf(s->env[s->nenv++], sizeof(s->env[0]), "%s=%s", name, value);
	return 1;
}

/* Relative to the scenario file's folder, as the command line is. */
static int store_cwd(struct parser *p, const char *value)
{
	struct pc_scenario *s = p->s;
	char buf[sizeof(s->cwd) * 2];

	if (value[0] == '/')
		snprintf(buf, sizeof(buf), "%s", value);
	else
		snprintf(buf, sizeof(buf), "%s/%s", s->cwd, value);
	if (strlen(buf) >= sizeof(s->cwd))
		return fail(p, p->line, "cwd '%s' is too long", value, "");
	memcpy(s->cwd, buf, sizeof(s->cwd));
	return 1;
}

static int store_setting(struct parser *p, const char *name, const char *value)
{
	struct pc_scenario *s = p->s;
	struct in6_addr a6;
	struct in_addr a4;

	if (!strncmp(name, "env.", 4))
		return store_env(p, name + 4, value);
	if (!strcmp(name, "cwd"))
		return store_cwd(p, value);
	if (!strcmp(name, "name")) {
		if (!*value || strlen(value) >= sizeof(s->name) || strpbrk(value, "/\\ \t"))
			return fail(p, p->line, "bad name '%s' (1-63 characters, no spaces or slashes)",
				    value, "");
		snprintf(s->name, sizeof(s->name), "%s", value);
	} else if (!strcmp(name, "description")) {
		snprintf(s->description, sizeof(s->description), "%s", value);
	} else if (!strcmp(name, "addr")) {
		if (strlen(value) >= sizeof(s->addr) ||
		    (inet_pton(AF_INET, value, &a4) != 1 && inet_pton(AF_INET6, value, &a6) != 1))
			return fail(p, p->line, "bad addr '%s' (an IPv4 or IPv6 literal)", value, "");
		snprintf(s->addr, sizeof(s->addr), "%s", value);
	} else if (strcmp(value, "auto") && parse_int(value, 1, 65535, &s->port) < 0) {
		return fail(p, p->line, "bad port '%s' (auto, or 1-65535)", value, "");
	}
	return 1;
}

static int add_matrix_value(struct parser *p, struct matrix_key *m, char *v)
{
	struct pc_case scratch = p->base;
	char err[200];

	while (isspace((unsigned char)*v))
		v++;
	for (char *e = v + strlen(v); e > v && isspace((unsigned char)e[-1]); e--)
		e[-1] = '\0';
	if (!*v)
		return fail(p, p->line, "empty value in the list for '%s'", m->key->name, "");
	if (m->nvalues == MAX_VALUES)
		return fail(p, p->line, "too many values for '%s' (max 32)", m->key->name, "");
	if (m->key->parse(v, &scratch, err, sizeof(err)) < 0)
		return fail(p, p->line, "%s", err, "");
	m->key->format(&scratch, m->values[m->nvalues], VAL_MAX);
	snprintf(m->raw[m->nvalues], sizeof(m->raw[0]), "%s", v);
	for (int i = 0; i < m->nvalues; i++)
		if (!strcmp(m->values[i], m->values[m->nvalues]))
			return fail(p, p->line, "value '%s' listed twice for '%s'", v, m->key->name);
	m->nvalues++;
	return 1;
}

static bool is_side(const char *key)
{
	return !strcmp(key, "old") || !strcmp(key, "new");
}

static bool opts_conflict(const char *a, const char *b)
{
	return (!strcmp(a, "opts") && is_side(b)) || (!strcmp(b, "opts") && is_side(a));
}

/* A key listed again appends to its list, so long lists can span lines. */
static int set_matrix_key(struct parser *p, const char *name, const char *value)
{
	const struct key_def *k = key_find(name);
	struct matrix_key *m = NULL;
	char list[MAX_LINE], *next;

	if (!k)
		return fail(p, p->line, "'%s' cannot vary in [matrix] (see portchurn(1))", name, "");
	for (int i = 0; i < p->nmatrix; i++) {
		if (p->matrix[i].key == k)
			m = &p->matrix[i];
		else if (opts_conflict(name, p->matrix[i].key->name))
			return fail(p, p->line, "'%s' and '%s' cannot both vary (opts sets old and new)",
				    name, p->matrix[i].key->name);
	}
	if (!m) {
		if (p->nmatrix == MAX_MATRIX)
			return fail(p, p->line, "too many keys in [matrix]%s", "", "");
		m = &p->matrix[p->nmatrix++];
		m->key = k;
		m->line = p->line;
	}
	snprintf(list, sizeof(list), "%s", value);
	if (!*list)
		return fail(p, p->line, "empty list for '%s'", name, "");
	/* every comma separates two values: an empty one is refused, where
	 * strtok_r would skip it and "cycles = ," would make no case at all */
	for (char *tok = list; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (!add_matrix_value(p, m, tok))
			return 0;
	}
	return 1;
}

static bool is_platform_word(const char *w)
{
	static const char *const words[] = { "linux", "darwin", "macos", "freebsd", "posix" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(w, words[i]))
			return true;
	return false;
}

static bool platform_matches(const char *w)
{
	const char *here = pc_scenario_platform();

	return !strcmp(w, here) || (!strcmp(w, "macos") && !strcmp(here, "darwin"));
}

static int add_condition(struct parser *p, struct expect_section *sec, char *word)
{
	char *eq = strchr(word, '=');
	struct pc_case scratch = p->base;
	const struct key_def *k;
	char err[200];

	if (!eq) {
		if (!is_platform_word(word))
			return fail(p, p->section_line, "bad condition '%s' in section header "
				    "(key=value or a platform word)", word, "");
		sec->other_platform |= !platform_matches(word);
		return 1;
	}
	*eq = '\0';
	k = key_find(word);
	if (!k)
		return fail(p, p->section_line, "unknown key '%s' in section header", word, "");
	if (sec->nconds == 8)
		return fail(p, p->section_line, "too many conditions in section header%s", "", "");
	if (k->parse(eq + 1, &scratch, err, sizeof(err)) < 0)
		return fail(p, p->section_line, "%s", err, "");
	sec->conds[sec->nconds].key = k;
	k->format(&scratch, sec->conds[sec->nconds].value, VAL_MAX);
	sec->nconds++;
	return 1;
}

/* The next space-separated word; key="a value with spaces" is one word
 * (quotes removed). NULL at the end. */
static char *next_word(char **pos)
{
	char *w = *pos, *out;
	bool quoted = false;

	while (*w == ' ' || *w == '\t')
		w++;
	if (!*w)
		return NULL;
	for (out = w, *pos = w; **pos && (quoted || (**pos != ' ' && **pos != '\t')); (*pos)++) {
		if (**pos == '"')
			quoted = !quoted;
		else
			*out++ = **pos;
	}
	if (**pos)
		(*pos)++;
	*out = '\0';
	return w;
}

/* "[expect old=none linux]": one section record per header line. */
static struct expect_section *expect_section(struct parser *p, const char *header)
{
	char words[MAX_LINE], *save, *w;
	struct expect_section *sec;


	if (p->nsections && p->sections[p->nsections - 1].line == p->section_line)
		return &p->sections[p->nsections - 1];
	for (int i = 0; i < p->nsections; i++)
		if (p->sections[i].line == p->section_line)
			return &p->sections[i];
	if (p->nsections == MAX_SECTIONS) {
		fail(p, p->section_line, "too many [expect] sections (max 64)%s", "", "");
		return NULL;
	}
	sec = &p->sections[p->nsections++];
	memset(sec, 0, sizeof(*sec));
	sec->line = p->section_line;
	snprintf(words, sizeof(words), "%s", header + strlen("expect"));
	for (save = words; (w = next_word(&save));)
		if (!add_condition(p, sec, w))
			return NULL;
	return sec;
}

static int set_expect_key(struct parser *p, const char *name, const char *value)
{
	struct expect_section *sec = expect_section(p, p->section);
	struct pc_expect e;
	char err[200];

	if (!sec)
		return 0;
	if (pc_expect_parse(name, value, &e, err, sizeof(err)) < 0)
		return fail(p, p->line, "%s", err, "");
	for (int i = 0; i < sec->nexps; i++)
		if (!strcmp(sec->exps[i].key, e.key) && sec->exps[i].op == e.op)
			return fail(p, p->line, "expectation '%s' given twice in this section", name, "");
	if (sec->nexps == PC_MAX_EXPS)
		return fail(p, p->line, "too many expectations in one section (max 16)%s", "", "");
	e.line = p->line;
	sec->exps[sec->nexps++] = e;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;

	if (section[0] == '#')
		section = p->headers[atoi(section + 1)];
	snprintf(p->section, sizeof(p->section), "%s", section);
	if (!strcmp(section, "scenario")) {
		int r = set_scenario_key(p, name, value);

		return r == 1 ? store_setting(p, name, value) : r;
	}
	if (!strcmp(section, "matrix"))
		return set_matrix_key(p, name, value);
	if (!strcmp(section, "expect") || !strncmp(section, "expect ", 7) ||
	    !strncmp(section, "expect\t", 7))
		return set_expect_key(p, name, value);
	if (!*section)
		return fail(p, p->line, "key '%s' outside a section", name, "");
	return fail(p, p->section_line, "unknown section [%s] (scenario, matrix, expect ...)",
		    section, "");
}

/* ---- expansion --------------------------------------------------------- */

static bool section_applies(const struct expect_section *sec, const struct pc_case *c)
{
	char here[VAL_MAX];

	if (sec->other_platform)
		return false;
	for (int i = 0; i < sec->nconds; i++) {
		sec->conds[i].key->format(c, here, sizeof(here));
		if (strcmp(here, sec->conds[i].value))
			return false;
	}
	return true;
}

/* The most specific applicable section wins per (key, operator); two
 * different expectations at the same specificity contradict each other. */
static int pick_expectations(struct parser *p, struct pc_case *c)
{
	int best[PC_MAX_EXPS * 4] = { 0 };   /* set with each exps[k]; zeroed for the analyzer */

	c->nexps = 0;
	for (int i = 0; i < p->nsections; i++) {
		const struct expect_section *sec = &p->sections[i];

		if (!section_applies(sec, c))
			continue;
		for (int j = 0; j < sec->nexps; j++) {
			const struct pc_expect *e = &sec->exps[j];
			int k;

			for (k = 0; k < c->nexps; k++)
				if (!strcmp(c->exps[k].key, e->key) && c->exps[k].op == e->op)
					break;
			if (k == c->nexps) {
				if (c->nexps == PC_MAX_EXPS)
					return fail(p, e->line, "too many expectations for case '%.100s'",
						    c->name, "");
				c->exps[c->nexps++] = *e;
				best[k] = sec->nconds;
			} else if (sec->nconds > best[k]) {
				c->exps[k] = *e;
				best[k] = sec->nconds;
			} else if (sec->nconds == best[k] && strcmp(c->exps[k].value, e->value)) {
				char other[32];

				snprintf(other, sizeof(other), "%d", c->exps[k].line);
				p->line = e->line;
				return fail(p, e->line, "contradicting expectations for '%s' (see line %s)",
					    e->key, other);
			}
		}
	}
	return 1;
}

static void case_name(struct parser *p, struct pc_case *c)
{
	char v[VAL_MAX];
	size_t n;

	/* A command fixture takes no option set: its command names it. */
	if (c->fixture_command) {
		format_command(c, v, sizeof(v));
		n = (size_t)snprintf(c->name, sizeof(c->name), "command=%s", v);
	} else {
		n = (size_t)snprintf(c->name, sizeof(c->name), "old=%s new=%s", c->old_text,
				     c->new_text);
	}
	for (int i = 0; i < p->nmatrix && n < sizeof(c->name); i++) {
		const struct key_def *k = p->matrix[i].key;

		if (!strcmp(k->name, "old") || !strcmp(k->name, "new") || !strcmp(k->name, "opts") ||
		    !strcmp(k->name, "command"))
			continue;
		k->format(c, v, sizeof(v));
		n += (size_t)snprintf(c->name + n, sizeof(c->name) - n, " %s=%s", k->name, v);
	}
}

static int expand(struct parser *p)
{
	long total = 1;
	int idx[MAX_MATRIX] = { 0 };
	char err[200];

	for (int i = 0; i < p->nmatrix; i++) {
		total *= p->matrix[i].nvalues;
		if (total > PC_MAX_CASES) {
			snprintf(err, sizeof(err), "the matrix expands to more than %d cases", PC_MAX_CASES);
			return fail(p, p->matrix[i].line, "%s%s", err, "");
		}
	}
	p->s->cases = calloc((size_t)total, sizeof(*p->s->cases));
	if (!p->s->cases)
		return fail(p, p->line, "out of memory%s%s", "", "");
	for (long n = 0; n < total; n++) {
		struct pc_case *c = &p->s->cases[n];

		*c = p->base;
		for (int i = 0; i < p->nmatrix; i++)
			p->matrix[i].key->parse(p->matrix[i].raw[idx[i]], c, err, sizeof(err));
		case_name(p, c);
		if (c->fixture_command && !c->command[0])
			return fail(p, p->line, "fixture = command needs a command = line%s", "", "");
		if (!pick_expectations(p, c))
			return 0;
		for (int i = p->nmatrix - 1; i >= 0 && ++idx[i] == p->matrix[i].nvalues; i--)
			idx[i] = 0;
		p->s->ncases++;
	}
	return 1;
}

static void set_defaults(struct parser *p)
{
	struct pc_case *b = &p->base;

	memset(b, 0, sizeof(*b));
	b->old_opts.linger_s = b->new_opts.linger_s = PC_LINGER_UNSET;
	strcpy(b->old_text, "none");
	strcpy(b->new_text, "none");
	b->signal = SIGKILL;
	b->close_first = PC_CLOSE_SERVER;
	b->requests = 4;
	b->opts_at = PC_AT_BEFORE_BIND;
	b->cycles = 10;
	b->bind_retry_interval_ms = 1;
	b->term_timeout_ms = 2000;
	b->keepalive = true;
	strcpy(b->ready_path, "/health");
	b->ready_timeout_ms = 10000;
	b->components = 1;
	b->preload = true;
	strcpy(p->s->addr, "127.0.0.1");
	strcpy(p->s->name, "scenario");
}

/* Commands run in the scenario file's folder unless cwd = says otherwise. */
static void scenario_dir(const char *file, char *buf, size_t len)
{
	const char *slash = strrchr(file, '/');

	if (file[0] == '(' || !slash)
		snprintf(buf, len, ".");
	else
		snprintf(buf, len, "%.*s", slash == file ? 1 : (int)(slash - file), file);
}

struct pc_scenario *pc_scenario_parse(const char *text, const char *file, char *err,
				      size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct pc_scenario *s = calloc(1, sizeof(*s));
	int rc;

	if (!p || !s) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto error;
	}
	*p = (struct parser){ .file = file, .text = text, .pos = text, .s = s,
			      .err = err, .errlen = errlen };
	snprintf(s->file, sizeof(s->file), "%s", file);
	scenario_dir(file, s->cwd, sizeof(s->cwd));
	set_defaults(p);
	rc = ini_parse_stream(reader, p, handler, p);
	if (!p->failed && rc != 0)
		fail(p, rc > 0 ? rc : p->line, "syntax error (expected [section] or key = value)%s",
		     "", "");
	if (!p->failed && !p->nsections && !p->nmatrix && !p->seen_scenario_keys &&
	    !p->seen_setting[0])
		fail(p, p->line > 0 ? p->line : 1, "no [scenario], [matrix] or [expect] found%s", "", "");
	if (!p->failed && p->matrix_line && !p->nmatrix)
		fail(p, p->matrix_line, "empty [matrix] (list at least one key, or leave the section out)%s", "", "");
	if (!p->failed)
		expand(p);
	if (p->failed)
		goto error;
	free(p);
	return s;
error:
	free(p);
	pc_scenario_free(s);
	return NULL;
}

struct pc_scenario *pc_scenario_load(const char *path, char *err, size_t errlen)
{
	struct pc_scenario *s = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(1 << 20);
	if (text) {
		len = fread(text, 1, (1 << 20) - 1, f);
		text[len] = '\0';
	}
	if (!text)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (ferror(f))
		snprintf(err, errlen, "%s: read error", path);
	else if (len == (1 << 20) - 1 && fgetc(f) != EOF)
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
	else if (memchr(text, '\0', len))
		snprintf(err, errlen, "%s: not a text file (contains NUL bytes)", path);
	else
		s = pc_scenario_parse(text, path, err, errlen);
	fclose(f);
	free(text);
	return s;
}

extern const char pc_default_scenario_ini[];   /* generated from scenarios/default.ini */

struct pc_scenario *pc_scenario_default(char *err, size_t errlen)
{
	return pc_scenario_parse(pc_default_scenario_ini, "(built-in default.ini)", err, errlen);
}

void pc_scenario_free(struct pc_scenario *s)
{
	if (!s)
		return;
	free(s->cases);
	free(s);
}

const char *pc_scenario_platform(void)
{
	return pc_sys_os_word();
}
