/* results_load.c -- see results_load.h. A reader walks the document once,
 * checking each field as it copies it into the run; the first bad field
 * stops the walk and names itself. */
#include "results_load.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errname.h"
#include "optset.h"
#include "probe.h"
#include "shard.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Bounds that keep a hostile file from asking for absurd allocations; each
 * is far above what the engine writes (cycles are at most 1000000). */
#define MAX_RECORDS 1000000
#define MAX_EXPS 1024
#define MAX_SERIES 10000000

struct rd {
	char *err;
	size_t errlen;
	int rc;               /* 0 until the first bad field */
	char where[96];       /* "cases[3].records[0]" */
};

/* ---- checked access: absent means default, a wrong type is an error ---- */

static void fail(struct rd *r, const char *key, const char *what)
{
	if (r->rc)
		return;
	r->rc = -EINVAL;
	snprintf(r->err, r->errlen, "%s%s%s: %s", r->where, r->where[0] && key ? "." : "",
		 key ? key : "", what);
}

static const json_t *field(struct rd *r, const json_t *obj, const char *key, bool required)
{
	const json_t *v = r->rc ? NULL : json_object_get(obj, key);

	if (!v && required)
		fail(r, key, "missing");
	return v;
}

static int64_t get_i64(struct rd *r, const json_t *obj, const char *key, int64_t min,
		       int64_t max, int64_t def)
{
	const json_t *v = field(r, obj, key, false);
	char what[80];
	json_int_t x;

	if (!v || json_is_null(v))
		return def;
	x = json_is_integer(v) ? json_integer_value(v) : 0;
	if (json_is_integer(v) && x >= min && x <= max)
		return (int64_t)x;
	if (max == INT64_MAX)
		snprintf(what, sizeof(what), "want an integer >= %lld", (long long)min);
	else
		snprintf(what, sizeof(what), "want an integer from %lld to %lld", (long long)min,
			 (long long)max);
	fail(r, key, what);
	return def;
}

static int get_int(struct rd *r, const json_t *obj, const char *key, int min, int max, int def)
{
	return (int)get_i64(r, obj, key, min, max, def);
}

static bool get_bool(struct rd *r, const json_t *obj, const char *key)
{
	const json_t *v = field(r, obj, key, false);

	if (v && !json_is_boolean(v) && !json_is_null(v))
		fail(r, key, "want true or false");
	return v && json_is_true(v);
}

/* A string (or null, read as "") copied into buf, cut to fit. */
static void get_str(struct rd *r, const json_t *obj, const char *key, char *buf, size_t len,
		    bool required)
{
	const json_t *v = field(r, obj, key, required);

	buf[0] = '\0';
	if (!v || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		fail(r, key, "want a string");
		return;
	}
	snprintf(buf, len, "%s", json_string_value(v));
}

/* An object, or NULL when absent or null. */
static const json_t *get_obj(struct rd *r, const json_t *obj, const char *key, bool required)
{
	const json_t *v = field(r, obj, key, required);

	if (!v || json_is_null(v)) {
		if (v && required)
			fail(r, key, "want an object");
		return NULL;
	}
	if (!json_is_object(v)) {
		fail(r, key, "want an object");
		return NULL;
	}
	return v;
}

/* An array of at most max items, or NULL when absent. */
static const json_t *get_arr(struct rd *r, const json_t *obj, const char *key, size_t max,
			     bool required)
{
	const json_t *v = field(r, obj, key, required);

	if (!v)
		return NULL;
	if (!json_is_array(v)) {
		fail(r, key, "want an array");
		return NULL;
	}
	if (json_array_size(v) > max) {
		fail(r, key, "too many items");
		return NULL;
	}
	return v;
}

/* A string that must be one of names[0..n-1]; returns its index or def. */
static int get_enum(struct rd *r, const json_t *obj, const char *key, const char *const *names,
		    int n, int def)
{
	char buf[64], what[128];

	get_str(r, obj, key, buf, sizeof(buf), false);
	if (r->rc || !buf[0])
		return def;
	for (int i = 0; i < n; i++)
		if (!strcmp(buf, names[i]))
			return i;
	snprintf(what, sizeof(what), "unknown value '%.60s'", buf);
	fail(r, key, what);
	return def;
}

/* Set r->where for an item of an array, returning the old length to
 * restore it with. */
static size_t where_push(struct rd *r, const char *key, size_t i)
{
	size_t n = strlen(r->where);

	snprintf(r->where + n, sizeof(r->where) - n, "%s%s[%zu]", n ? "." : "", key, i);
	return n;
}

/* ---- pieces of a case ---- */

#define NS_MAX INT64_MAX

static void read_census(struct rd *r, const json_t *obj, const char *key, struct pc_census *c)
{
	const json_t *o = get_obj(r, obj, key, false);
	size_t n;

	memset(c, 0, sizeof(*c));
	c->tw_expires_min_ms = c->tw_expires_max_ms = -1;
	if (!o)
		return;
	n = strlen(r->where);
	snprintf(r->where + n, sizeof(r->where) - n, "%s%s", n ? "." : "", key);
	c->known = true;
	c->listen = get_int(r, o, "listen", 0, INT_MAX, 0);
	c->established = get_int(r, o, "established", 0, INT_MAX, 0);
	c->time_wait = get_int(r, o, "time_wait", 0, INT_MAX, 0);
	c->fin_wait1 = get_int(r, o, "fin_wait1", 0, INT_MAX, 0);
	c->fin_wait2 = get_int(r, o, "fin_wait2", 0, INT_MAX, 0);
	c->close_wait = get_int(r, o, "close_wait", 0, INT_MAX, 0);
	c->other = get_int(r, o, "other", 0, INT_MAX, 0);
	r->where[n] = '\0';
}

static void read_outcomes(struct rd *r, const json_t *o, int *n32, long *nl)
{
	for (int i = 0; o && i < PC_OUT_COUNT; i++) {
		int64_t v = get_i64(r, o, pc_outcome_name((enum pc_outcome)i), 0, INT_MAX, 0);

		if (n32) {
			n32[i] = (int)v;
		} else {
			/* cppcheck-suppress nullPointer ; one of n32 and nl is set */
			nl[i] = (long)v;
		}
	}
}

static void read_bind_errno(struct rd *r, const json_t *o, struct pc_cycle *c)
{
	char name[32];
	int e;

	get_str(r, o, "bind_errno", name, sizeof(name), false);
	if (r->rc || !name[0])
		return;
	e = pc_errno_parse(name);
	if (e < 0)
		fail(r, "bind_errno", "unknown errno name");
	c->bind_errno = e < 0 ? 0 : e;
}

static void read_times(struct rd *r, const json_t *o, struct pc_cycle *c)
{
	c->old_ready_ns = get_i64(r, o, "old_ready_ns", 0, NS_MAX, 0);
	c->kill_ns = get_i64(r, o, "kill_ns", 0, NS_MAX, 0);
	c->reaped_ns = get_i64(r, o, "reaped_ns", 0, NS_MAX, 0);
	c->spawn_ns = get_i64(r, o, "spawn_ns", 0, NS_MAX, 0);
	c->bind_ns = get_i64(r, o, "bind_ns", 0, NS_MAX, 0);
	c->listen_ns = get_i64(r, o, "listen_ns", 0, NS_MAX, 0);
	c->first_ok_ns = get_i64(r, o, "first_ok_ns", 0, NS_MAX, 0);
	c->blocked_ns = get_i64(r, o, "blocked_ns", 0, NS_MAX, 0);
	c->downtime_ns = get_i64(r, o, "downtime_ns", 0, NS_MAX, 0);
}

static void read_record(struct rd *r, const json_t *o, int i, struct pc_cycle *c)
{
	if (!json_is_object(o)) {
		fail(r, NULL, "want an object");
		return;
	}
	c->index = get_int(r, o, "index", 0, INT_MAX, i);
	c->port = get_int(r, o, "port", 0, 65535, 0);
	c->old_pid = get_int(r, o, "old_pid", 0, INT_MAX, 0);
	c->new_pid = get_int(r, o, "new_pid", 0, INT_MAX, 0);
	read_times(r, o, c);
	read_bind_errno(r, o, c);
	c->bind_attempts = get_int(r, o, "bind_attempts", 0, INT_MAX, 0);
	c->escalated = get_bool(r, o, "escalated");
	c->old_exit = get_int(r, o, "old_exit", -255, 255, 0);
	c->leaked = get_int(r, o, "leaked", 0, INT_MAX, 0);
	c->requests_ok = get_int(r, o, "requests_ok", 0, INT_MAX, 0);
	c->requests_failed = get_int(r, o, "requests_failed", 0, INT_MAX, 0);
	c->served_new = get_int(r, o, "served_new", 0, INT_MAX, 0);
	c->served_orphan = get_int(r, o, "served_orphan", 0, INT_MAX, 0);
	read_outcomes(r, get_obj(r, o, "load", false), c->load, NULL);
	read_census(r, o, "at_kill", &c->at_kill);
	read_census(r, o, "at_bind", &c->at_bind);
	get_str(r, o, "diagnosis", c->diagnosis, sizeof(c->diagnosis), false);
	get_str(r, o, "error", c->error, sizeof(c->error), false);
}

static int read_records(struct rd *r, const json_t *cj, struct pc_case_result *res)
{
	const json_t *a = get_arr(r, cj, "records", MAX_RECORDS, true);
	size_t n = a ? json_array_size(a) : 0;

	if (!n)
		return 0;
	res->cycles = calloc(n, sizeof(*res->cycles));
	if (!res->cycles)
		return -ENOMEM;
	res->ncycles = (int)n;
	for (size_t i = 0; i < n && !r->rc; i++) {
		size_t keep = where_push(r, "records", i);

		read_record(r, json_array_get(a, i), (int)i, &res->cycles[i]);
		if (!r->rc)
			r->where[keep] = '\0';
	}
	return 0;
}

static void read_exp(struct rd *r, const json_t *o, struct pc_exp_result *e)
{
	static const char *const status[] = { "held", "failed", "n/a" };

	if (!json_is_object(o)) {
		fail(r, NULL, "want an object");
		return;
	}
	get_str(r, o, "text", e->text, sizeof(e->text), false);
	get_str(r, o, "measured", e->measured, sizeof(e->measured), false);
	e->line = get_int(r, o, "line", 0, INT_MAX, 0);
	e->status = (enum pc_exp_status)get_enum(r, o, "status", status, 3, PC_EXP_HELD);
}

static int read_exps(struct rd *r, const json_t *cj, struct pc_case_result *res)
{
	const json_t *a = get_arr(r, cj, "expectations", MAX_EXPS, false);
	size_t n = a ? json_array_size(a) : 0;

	if (!n)
		return 0;
	res->exps = calloc(n, sizeof(*res->exps));
	if (!res->exps)
		return -ENOMEM;
	res->nexps = (int)n;
	for (size_t i = 0; i < n && !r->rc; i++) {
		size_t keep = where_push(r, "expectations", i);

		read_exp(r, json_array_get(a, i), &res->exps[i]);
		if (!r->rc)
			r->where[keep] = '\0';
	}
	return 0;
}

/* Statistics as written (load figures cannot be recomputed: the requests
 * themselves are not in the file). */
static void read_stats(struct rd *r, const json_t *obj, const char *key, struct pc_stats *s)
{
	const json_t *o = get_obj(r, obj, key, false);
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!o)
		return;
	n = strlen(r->where);
	snprintf(r->where + n, sizeof(r->where) - n, "%s%s", n ? "." : "", key);
	s->n = (size_t)get_i64(r, o, "n", 0, INT64_MAX, 0);
	s->min = get_i64(r, o, "min", INT64_MIN, INT64_MAX, 0);
	s->p50 = get_i64(r, o, "p50", INT64_MIN, INT64_MAX, 0);
	s->p90 = get_i64(r, o, "p90", INT64_MIN, INT64_MAX, 0);
	s->p99 = get_i64(r, o, "p99", INT64_MIN, INT64_MAX, 0);
	s->max = get_i64(r, o, "max", INT64_MIN, INT64_MAX, 0);
	s->mean = json_number_value(json_object_get(o, "mean"));
	s->stddev = json_number_value(json_object_get(o, "stddev"));
	r->where[n] = '\0';
}

static void read_bucket(struct rd *r, const json_t *o, struct pc_load_bucket *b)
{
	if (!json_is_object(o)) {
		fail(r, NULL, "want an object");
		return;
	}
	b->t_ns = get_i64(r, o, "t_ns", 0, NS_MAX, 0);
	read_outcomes(r, o, b->n, NULL);
}

static int read_series(struct rd *r, const json_t *lj, struct pc_load_result *l)
{
	const json_t *a = get_arr(r, lj, "series", MAX_SERIES, false);
	size_t n = a ? json_array_size(a) : 0;

	if (!n)
		return 0;
	l->series = calloc(n, sizeof(*l->series));
	if (!l->series)
		return -ENOMEM;
	l->nseries = n;
	for (size_t i = 0; i < n && !r->rc; i++) {
		size_t keep = where_push(r, "series", i);

		read_bucket(r, json_array_get(a, i), &l->series[i]);
		if (!r->rc)
			r->where[keep] = '\0';
	}
	return 0;
}

static int read_load(struct rd *r, const json_t *cj, struct pc_case_result *res)
{
	const json_t *o = get_obj(r, cj, "load", false);
	struct pc_load_result *l;
	size_t n = strlen(r->where);
	int rc;

	if (!o)
		return 0;
	l = res->load = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(r->where + n, sizeof(r->where) - n, ".load");
	l->clients = get_int(r, o, "clients", 0, INT_MAX, 0);
	l->keepalive = get_bool(r, o, "keepalive");
	l->rate = get_int(r, o, "rate", 0, INT_MAX, 0);
	l->requests = (size_t)get_i64(r, o, "requests", 0, INT64_MAX, 0);
	l->dropped = (size_t)get_i64(r, o, "dropped", 0, INT64_MAX, 0);
	read_outcomes(r, get_obj(r, o, "outcomes", false), NULL, l->total);
	read_stats(r, o, "downtime_ns", &l->downtime);
	read_stats(r, o, "latency_steady_ns", &l->latency_steady);
	read_stats(r, o, "latency_restart_ns", &l->latency_restart);
	l->bucket_ns = get_i64(r, o, "bucket_ns", 0, NS_MAX, 0);
	rc = read_series(r, o, l);
	if (!r->rc)
		r->where[n] = '\0';
	return rc;
}

/* ---- a case ---- */

static void read_opts(struct rd *r, const json_t *cj, const char *key, char *text,
		      struct pc_optset *o)
{
	char why[128];

	get_str(r, cj, key, text, PC_OPTSET_TEXT_MAX, false);
	if (!text[0])
		snprintf(text, PC_OPTSET_TEXT_MAX, "none");
	if (!r->rc && pc_optset_parse(text, o, why, sizeof(why)) < 0)
		fail(r, key, why);
}

static void read_spec_enums(struct rd *r, const json_t *cj, struct pc_case *c)
{
	static const char *const sigs[] = { "KILL", "TERM", "INT", "HUP", "QUIT" };
	static const int signo[] = { SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	static const char *const close[] = { "server", "client" };
	const char *strat[PC_STRATEGY_HANDOFF + 1], *at[PC_AT_AFTER_ACCEPT + 1];

	for (int i = 0; i <= PC_STRATEGY_HANDOFF; i++)
		strat[i] = pc_strategy_name((enum pc_strategy)i);
	for (int i = 0; i <= PC_AT_AFTER_ACCEPT; i++)
		at[i] = pc_opts_at_name((enum pc_opts_at)i);
	c->signal = signo[get_enum(r, cj, "signal", sigs, 5, 0)];
	c->close_first = (enum pc_close_first)get_enum(r, cj, "close_first", close, 2, 0);
	c->opts_at = (enum pc_opts_at)get_enum(r, cj, "opts_at", at, PC_AT_AFTER_ACCEPT + 1, 0);
	c->strategy = (enum pc_strategy)get_enum(r, cj, "strategy", strat,
						 PC_STRATEGY_HANDOFF + 1, 0);
}

static void read_spec(struct rd *r, const json_t *cj, struct pc_case *c)
{
	get_str(r, cj, "name", c->name, sizeof(c->name), true);
	if (!r->rc && (!c->name[0] || strlen(json_string_value(json_object_get(cj, "name"))) >=
					      sizeof(c->name)))
		fail(r, "name", "want a name of 1 to 255 bytes");
	read_opts(r, cj, "old", c->old_text, &c->old_opts);
	read_opts(r, cj, "new", c->new_text, &c->new_opts);
	read_spec_enums(r, cj, c);
	c->requests = get_int(r, cj, "requests", 0, INT_MAX, 0);
	c->leak_child = get_bool(r, cj, "leak_child");
	c->keep_open = get_bool(r, cj, "keep_open");
	c->bind_retry_ms = get_int(r, cj, "bind_retry_ms", 0, INT_MAX, 0);
	c->bind_retry_interval_ms = get_int(r, cj, "bind_retry_interval_ms", 0, INT_MAX, 0);
	c->term_timeout_ms = get_int(r, cj, "term_timeout_ms", 0, INT_MAX, 0);
	c->cycles = get_int(r, cj, "cycles_planned", 0, MAX_RECORDS, 0);
}

static void read_verdict(struct rd *r, const json_t *cj, struct pc_case_result *res)
{
	static const char *const verdicts[] = { "pass", "fail", "error" };
	int v;

	if (!field(r, cj, "verdict", true))
		return;
	v = get_enum(r, cj, "verdict", verdicts, 3, 1);
	get_str(r, cj, "env_error", res->env_error, sizeof(res->env_error), false);
	get_str(r, cj, "migrate_req", res->migrate_req, sizeof(res->migrate_req), false);
	res->pass = v == 0 && !res->env_error[0];
	if (v == 2 && !res->env_error[0])  /* the writers tell an error by its message */
		snprintf(res->env_error, sizeof(res->env_error), "environment error");
}

static int read_case(struct rd *r, const json_t *cj, struct pc_case *spec,
		     struct pc_case_result *res)
{
	int64_t dur;
	int rc;

	res->spec = spec;
	if (!json_is_object(cj)) {
		fail(r, NULL, "want an object");
		return 0;
	}
	read_spec(r, cj, spec);
	read_verdict(r, cj, res);
	dur = get_i64(r, cj, "duration_ns", 0, NS_MAX - 1, 0);
	if (dur > 0) {   /* only the span is known; the writers print spans */
		res->started_ns = 1;
		res->finished_ns = 1 + dur;
	}
	rc = read_records(r, cj, res);
	if (!rc)
		rc = read_exps(r, cj, res);
	if (!rc)
		rc = read_load(r, cj, res);
	if (rc || r->rc)
		return rc;
	spec->clients = res->load ? res->load->clients : 0;
	spec->keepalive = res->load && res->load->keepalive;
	spec->rate = res->load ? res->load->rate : 0;
	spec->migrate_req = !strcmp(res->migrate_req, "on");
	pc_case_result_summarize(res);
	return 0;
}

/* ---- the run ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp((*(const struct pc_case *const *)a)->name,
		      (*(const struct pc_case *const *)b)->name);
}

/* Case names are keys for compare and merge: no two alike. */
static int check_unique(struct rd *r, const struct pc_scenario *s, int n)
{
	const struct pc_case **by = malloc((n > 0 ? (size_t)n : 1) * sizeof(*by));
	char what[PC_CASE_NAME_MAX + 32];

	if (!by)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		by[i] = &s->cases[i];
	qsort(by, (size_t)n, sizeof(*by), cmp_names);
	for (int i = 1; i < n && !r->rc; i++) {
		if (strcmp(by[i - 1]->name, by[i]->name))
			continue;
		snprintf(what, sizeof(what), "case '%s' appears twice", by[i]->name);
		fail(r, NULL, what);
	}
	free(by);
	return 0;
}

/* "shard", when the run was one: K of N, and the cases of all N. */
static void read_shard(struct rd *r, const json_t *doc, struct pc_scenario *s)
{
	const json_t *sh = get_obj(r, doc, "shard", false);

	if (!sh)
		return;
	snprintf(r->where, sizeof(r->where), "shard");
	field(r, sh, "total", true);
	field(r, sh, "index", true);
	s->shard_total = get_int(r, sh, "total", 1, PC_SHARD_MAX, 1);
	s->shard_index = get_int(r, sh, "index", 1, s->shard_total, 1);
	s->shard_cases = get_int(r, sh, "cases", 0, PC_MAX_CASES, 0);
	r->where[0] = '\0';
}

static void read_header(struct rd *r, const json_t *doc, struct pc_run *run)
{
	const json_t *sc, *pf;

	sc = get_obj(r, doc, "scenario", true);
	snprintf(r->where, sizeof(r->where), "scenario");
	get_str(r, sc, "name", run->scenario->name, sizeof(run->scenario->name), true);
	get_str(r, sc, "description", run->scenario->description,
		sizeof(run->scenario->description), false);
	get_str(r, sc, "file", run->scenario->file, sizeof(run->scenario->file), false);
	get_str(r, sc, "addr", run->scenario->addr, sizeof(run->scenario->addr), false);
	run->scenario->port = get_int(r, sc, "port", 0, 65535, 0);
	r->where[0] = '\0';
	pf = get_obj(r, doc, "platform", false);
	snprintf(r->where, sizeof(r->where), "platform");
	get_str(r, pf, "os", run->os, sizeof(run->os), false);
	get_str(r, pf, "kernel", run->kernel, sizeof(run->kernel), false);
	r->where[0] = '\0';
	get_str(r, doc, "netns", run->netns, sizeof(run->netns), false);
	get_str(r, doc, "started_utc", run->started_utc, sizeof(run->started_utc), false);
	run->interrupted = get_bool(r, doc, "interrupted");
	read_shard(r, doc, run->scenario);
}

/* The run and its scenario, without cases yet. */
static int alloc_run(struct pc_run **out)
{
	struct pc_run *run = calloc(1, sizeof(*run));

	if (!run)
		return -ENOMEM;
	*out = run;
	run->scenario = calloc(1, sizeof(*run->scenario));
	return run->scenario ? 0 : -ENOMEM;
}

/* Room for the planned cases, of which the first n are listed;
 * placeholders name the cases that did not run. */
static int alloc_cases(struct pc_run *run, int n, int planned)
{
	run->scenario->cases = calloc((planned > 0 ? (size_t)planned : 1), sizeof(struct pc_case));
	run->cases = calloc((planned > 0 ? (size_t)planned : 1), sizeof(*run->cases));
	if (!run->scenario->cases || !run->cases)
		return -ENOMEM;
	run->scenario->ncases = planned;
	for (int i = n; i < planned; i++)
		snprintf(run->scenario->cases[i].name, PC_CASE_NAME_MAX, "(case %d, not run)",
			 i + 1);
	return 0;
}

static int read_cases(struct rd *r, const json_t *cases, struct pc_run *run)
{
	int n = (int)json_array_size(cases), rc = 0;

	for (int i = 0; i < n && !rc && !r->rc; i++) {
		size_t keep = where_push(r, "cases", (size_t)i);

		rc = read_case(r, json_array_get(cases, (size_t)i), &run->scenario->cases[i],
			       &run->cases[i]);
		run->ncases = i + 1;   /* what was allocated gets freed */
		if (!r->rc)
			r->where[keep] = '\0';
	}
	return rc ? rc : check_unique(r, run->scenario, n);
}

/* First of all: is this a results.json of ours at all? */
static void check_schema(struct rd *r, const json_t *doc)
{
	char schema[32];

	if (!json_is_object(doc)) {
		fail(r, NULL, "results.json must be a JSON object");
		return;
	}
	get_str(r, doc, "schema", schema, sizeof(schema), true);
	if (!r->rc && strcmp(schema, PC_RESULTS_SCHEMA))
		fail(r, "schema", "not \"" PC_RESULTS_SCHEMA "\" (not a portchurn results.json, "
		     "or another version)");
}

static int build_run(struct rd *r, const json_t *doc, struct pc_run **out)
{
	const json_t *cases;
	int n, planned, rc;
	int64_t dur;

	check_schema(r, doc);
	rc = r->rc ? r->rc : alloc_run(out);
	if (rc)
		return rc;
	read_header(r, doc, *out);
	dur = get_i64(r, doc, "duration_ns", 0, NS_MAX - 1, 0);
	if (dur > 0) {
		(*out)->started_ns = 1;
		(*out)->finished_ns = 1 + dur;
	}
	cases = get_arr(r, doc, "cases", PC_MAX_CASES, true);
	n = cases ? (int)json_array_size(cases) : 0;
	planned = get_int(r, doc, "cases_planned", 0, PC_MAX_CASES, n);
	if (r->rc)
		return r->rc;
	rc = alloc_cases(*out, n, planned > n ? planned : n);
	if (!rc)
		rc = read_cases(r, cases, *out);
	return rc ? rc : r->rc;
}

int pc_results_to_run(const json_t *doc, struct pc_run **run, char *err, size_t errlen)
{
	struct rd r = { .err = err, .errlen = errlen };
	struct pc_run *out = NULL;
	int rc = build_run(&r, doc, &out);

	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory reading results");
	if (rc) {
		pc_run_free(out);
		return rc;
	}
	*run = out;
	return 0;
}

int pc_results_parse(const char *text, size_t len, json_t **doc, struct pc_run **run,
		     char *err, size_t errlen)
{
	json_error_t jerr;
	struct pc_run *out = NULL;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!j) {
		snprintf(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return -EINVAL;
	}
	rc = pc_results_to_run(j, &out, err, errlen);
	if (rc) {
		json_decref(j);
		return rc;
	}
	if (run)
		*run = out;
	else
		pc_run_free(out);
	if (doc)
		*doc = j;
	else
		json_decref(j);
	return 0;
}

/* The whole file into memory; -errno. */
static int slurp(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if (st.st_size > PC_RESULTS_MAX_BYTES)
		rc = -EFBIG;
	if (rc)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : -EIO;   /* shrank under us */
			goto out;
		}
		n += (size_t)k;
	}
	*text = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int pc_results_load(const char *path, json_t **doc, struct pc_run **run, char *err,
		    size_t errlen)
{
	char file[PATH_MAX], msg[512];
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc;

	snprintf(file, sizeof(file), "%s", path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (size_t)snprintf(file, sizeof(file), "%s/results.json", path) >= sizeof(file)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	rc = slurp(file, &text, &len);
	if (rc == -EFBIG) {
		snprintf(err, errlen, "%s: larger than %ld MiB, more than a results.json can be",
			 file, PC_RESULTS_MAX_BYTES >> 20);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", file, rc == -EINVAL ? "not a regular file" :
			 strerror(-rc));
		return rc;
	}
	rc = pc_results_parse(text, len, doc, run, msg, sizeof(msg));
	free(text);
	if (rc)
		snprintf(err, errlen, "%s: %s", file, msg);
	return rc;
}
