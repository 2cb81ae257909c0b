/* report_json.c -- results.json: the whole run, every cycle included, for
 * machines (`portchurn merge`, `compare`, dashboards). Built with jansson and
 * dumped with two-space indent, keys in the order below. Strings are UTF-8:
 * a byte that is not valid UTF-8 is written as '?'.
 *
 *   schema         "portchurn/1"
 *   scenario       {name, description, file, addr, port (0 = auto)}
 *   platform       {os, kernel}
 *   netns          "private" or "host (reason)"
 *   cleanup        the layers that keep fixtures from outliving the run
 *                  ("process groups, lifeline pipe, subreaper, pidfd")
 *   started_utc    ISO 8601 text
 *   duration_ns    integer
 *   interrupted    bool
 *   verdict        "pass" when every planned case ran and passed and the run
 *                  was not interrupted, else "fail"
 *   cases_planned  cases in the scenario (cases[] holds the ones that ran)
 *   shard          only with --shard K/N: {index K, total N, cases (of the
 *                  list all N shards share)}
 *   cases[]        one per case that ran:
 *     name, old, new (canonical option sets), signal ("KILL", "TERM", "INT"),
 *     close_first ("server" | "client"), opts_at ("before-bind", ...),
 *     requests, leak_child, keep_open, bind_retry_ms, bind_retry_interval_ms,
 *     term_timeout_ms, cycles (run), records_kept (records[] holds the first
 *     PC_RECORDS_MAX = 10 000 cycles; the statistics and totals cover all),
 *     cycles_planned, duration_ns,
 *     bind {ok, failed, errors {ERRNAME: count}},
 *     rebind_ns, restart_ns  {n, min, p50, p90, p99, max (integer ns),
 *                             mean, stddev (real ns)}, or null when n == 0,
 *     expectations[] {text, line, held (n/a counts as held),
 *                     status ("held" | "failed" | "n/a"), measured},
 *     strategy ("naive" | "eager" | "overlap" | "handoff"), migrate_req
 *       (net.ipv4.tcp_migrate_req as used: "on", "off", "off (host, not
 *       changed)", "unavailable"),
 *     load: null without load clients, else {clients, keepalive, rate,
 *       requests, dropped, outcomes {ok, refused, reset, timeout,
 *       http_error, other}, downtime_ns, latency_steady_ns,
 *       latency_restart_ns (stats as rebind_ns), bucket_ns, series[] {t_ns
 *       (bucket start, CLOCK_MONOTONIC), ok, refused, reset, timeout,
 *       http_error, other: requests started in the bucket, by outcome}},
 *     census_max {at_kill, at_bind}: per-state maxima over the cycles (each
 *       as a census object below, or null when not known),
 *     diagnosis (why the first failed bind failed, or null),
 *     verdict ("pass" | "fail" | "error"), env_error (string or null),
 *     records[]  one per cycle: index, port, old_pid, new_pid, old_ready_ns,
 *       kill_ns, reaped_ns, spawn_ns, bind_ns, listen_ns, first_ok_ns
 *       (integer ns, CLOCK_MONOTONIC, 0 = did not happen), bind_errno
 *       ("EADDRINUSE", "0" when bound), bind_attempts, blocked_ns, escalated,
 *       old_exit (status >= 0 or -signal), leaked, requests_ok,
 *       requests_failed, served_new, served_orphan (with a leaked child
 *       beside a new generation that bound: who answered), load (load
 *       requests started in the cycle's window, by outcome), downtime_ns
 *       (first failed request's start to last failed one's end), at_kill, at_bind ({listen, established, time_wait,
 *       fin_wait1, fin_wait2, close_wait, other} or null when not known),
 *       diagnosis (string, or null when the bind did not fail),
 *       error (string or null), rebind_ns, restart_ns (derived, integer ns,
 *       null when the cycle has no such figure).
 *
 * Reals are printed by jansson in the C locale with 15 significant digits. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errname.h"

/* A JSON string, or null for NULL. Text that is not valid UTF-8 is copied
 * with '?' for each bad byte, since jansson refuses it. */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *copy;
	size_t n = 0;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = malloc(strlen(s) + 1);
	if (!copy)
		return NULL;
	while (*s) {
		size_t k = pc_report_utf8_len(s);

		if (!k) {
			copy[n++] = '?';
			s++;
			continue;
		}
		memcpy(copy + n, s, k);
		n += k;
		s += k;
	}
	copy[n] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

/* An empty buffer means "none": null. */
static json_t *jstr_or_null(const char *s)
{
	return s[0] ? jstr(s) : json_null();
}

static json_t *jint(int64_t v)
{
	return json_integer((json_int_t)v);
}

/* Builders below return a new reference or NULL when memory ran out. Each
 * collects failures of json_object_set_new (which releases the value it is
 * given, and fails on a NULL value) and gives up once at the end. */
static json_t *done(json_t *o, int bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *stats_json(const struct pc_stats *s)
{
	json_t *o;
	int bad = 0;

	if (!s->n)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "n", jint((int64_t)s->n));
	bad |= json_object_set_new(o, "min", jint(s->min));
	bad |= json_object_set_new(o, "p50", jint(s->p50));
	bad |= json_object_set_new(o, "p90", jint(s->p90));
	bad |= json_object_set_new(o, "p99", jint(s->p99));
	bad |= json_object_set_new(o, "max", jint(s->max));
	bad |= json_object_set_new(o, "mean", json_real(s->mean));
	bad |= json_object_set_new(o, "stddev", json_real(s->stddev));
	return done(o, bad);
}

static json_t *census_json(const struct pc_census *c)
{
	json_t *o;
	int bad = 0;

	if (!c->known)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "listen", json_integer(c->listen));
	bad |= json_object_set_new(o, "established", json_integer(c->established));
	bad |= json_object_set_new(o, "time_wait", json_integer(c->time_wait));
	bad |= json_object_set_new(o, "fin_wait1", json_integer(c->fin_wait1));
	bad |= json_object_set_new(o, "fin_wait2", json_integer(c->fin_wait2));
	bad |= json_object_set_new(o, "close_wait", json_integer(c->close_wait));
	bad |= json_object_set_new(o, "other", json_integer(c->other));
	return done(o, bad);
}

static json_t *array_of(const void *base, int n, size_t size, json_t *(*item)(const void *))
{
	json_t *a = json_array();
	int bad = !a;

	for (int i = 0; !bad && i < n; i++)
		bad |= json_array_append_new(a, item((const char *)base + (size_t)i * size));
	return done(a, bad);
}

static json_t *outcomes_json(const int *n32, const long *nl)
{
	json_t *o = json_object();
	int bad = !o;

	for (int i = 0; o && i < PC_OUT_COUNT; i++) {
		/* cppcheck-suppress nullPointer ; one of n32 and nl is set */
		long v = n32 ? n32[i] : nl[i];

		bad |= json_object_set_new(o, pc_outcome_name((enum pc_outcome)i), json_integer(v));
	}
	return done(o, bad);
}

static json_t *bucket_item(const void *item)
{
	const struct pc_load_bucket *b = item;
	json_t *o = outcomes_json(b->n, NULL);

	if (o && json_object_set_new(o, "t_ns", jint(b->t_ns)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *load_json(const struct pc_load_result *l)
{
	json_t *o;
	int bad;

	if (!l)
		return json_null();
	o = json_object();
	bad = !o;
	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "clients", json_integer(l->clients));
	bad |= json_object_set_new(o, "keepalive", json_boolean(l->keepalive));
	bad |= json_object_set_new(o, "rate", json_integer(l->rate));
	bad |= json_object_set_new(o, "requests", json_integer((json_int_t)l->requests));
	bad |= json_object_set_new(o, "dropped", json_integer((json_int_t)l->dropped));
	bad |= json_object_set_new(o, "outcomes", outcomes_json(NULL, l->total));
	bad |= json_object_set_new(o, "downtime_ns", stats_json(&l->downtime));
	bad |= json_object_set_new(o, "latency_steady_ns", stats_json(&l->latency_steady));
	bad |= json_object_set_new(o, "latency_restart_ns", stats_json(&l->latency_restart));
	bad |= json_object_set_new(o, "bucket_ns", jint(l->bucket_ns));
	bad |= json_object_set_new(o, "series", array_of(l->series, (int)l->nseries,
							   sizeof(*l->series), bucket_item));
	return done(o, bad);
}

static json_t *census_max_json(const struct pc_case_result *r)
{
	json_t *o = json_object();
	int bad = !o;

	if (o) {
		bad |= json_object_set_new(o, "at_kill", census_json(&r->peak_at_kill));
		bad |= json_object_set_new(o, "at_bind", census_json(&r->peak_at_bind));
	}
	return done(o, bad);
}

static json_t *figure_json(int64_t v)
{
	return v < 0 ? json_null() : jint(v);
}

static json_t *cycle_json(const struct pc_cycle *c)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "index", json_integer(c->index));
	bad |= json_object_set_new(o, "port", json_integer(c->port));
	bad |= json_object_set_new(o, "old_pid", json_integer(c->old_pid));
	bad |= json_object_set_new(o, "new_pid", json_integer(c->new_pid));
	bad |= json_object_set_new(o, "old_ready_ns", jint(c->old_ready_ns));
	bad |= json_object_set_new(o, "kill_ns", jint(c->kill_ns));
	bad |= json_object_set_new(o, "reaped_ns", jint(c->reaped_ns));
	bad |= json_object_set_new(o, "spawn_ns", jint(c->spawn_ns));
	bad |= json_object_set_new(o, "bind_ns", jint(c->bind_ns));
	bad |= json_object_set_new(o, "listen_ns", jint(c->listen_ns));
	bad |= json_object_set_new(o, "first_ok_ns", jint(c->first_ok_ns));
	bad |= json_object_set_new(o, "bind_errno", jstr(pc_errno_name(c->bind_errno)));
	bad |= json_object_set_new(o, "bind_attempts", json_integer(c->bind_attempts));
	bad |= json_object_set_new(o, "blocked_ns", jint(c->blocked_ns));
	bad |= json_object_set_new(o, "escalated", json_boolean(c->escalated));
	bad |= json_object_set_new(o, "old_exit", json_integer(c->old_exit));
	bad |= json_object_set_new(o, "leaked", json_integer(c->leaked));
	bad |= json_object_set_new(o, "requests_ok", json_integer(c->requests_ok));
	bad |= json_object_set_new(o, "requests_failed", json_integer(c->requests_failed));
	bad |= json_object_set_new(o, "served_new", json_integer(c->served_new));
	bad |= json_object_set_new(o, "served_orphan", json_integer(c->served_orphan));
	bad |= json_object_set_new(o, "escaped", json_integer(c->escaped));
	bad |= json_object_set_new(o, "stack_ok", json_integer(c->stack_ok));
	bad |= json_object_set_new(o, "load", outcomes_json(c->load, NULL));
	bad |= json_object_set_new(o, "downtime_ns", jint(c->downtime_ns));
	bad |= json_object_set_new(o, "at_kill", census_json(&c->at_kill));
	bad |= json_object_set_new(o, "at_bind", census_json(&c->at_bind));
	bad |= json_object_set_new(o, "diagnosis", jstr_or_null(c->diagnosis));
	bad |= json_object_set_new(o, "error", jstr_or_null(c->error));
	bad |= json_object_set_new(o, "rebind_ns", figure_json(pc_cycle_rebind_ns(c)));
	bad |= json_object_set_new(o, "restart_ns", figure_json(pc_cycle_restart_ns(c)));
	return done(o, bad);
}

static const char *exp_status_name(enum pc_exp_status s)
{
	return s == PC_EXP_HELD ? "held" : s == PC_EXP_FAILED ? "failed" : "n/a";
}

static json_t *exp_json(const struct pc_exp_result *e)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "text", jstr(e->text));
	bad |= json_object_set_new(o, "line", json_integer(e->line));
	bad |= json_object_set_new(o, "held", json_boolean(e->status != PC_EXP_FAILED));
	bad |= json_object_set_new(o, "status", json_string(exp_status_name(e->status)));
	bad |= json_object_set_new(o, "measured", jstr(e->measured));
	return done(o, bad);
}

static json_t *bind_json(const struct pc_case_result *r)
{
	json_t *o = json_object(), *errs = json_object();
	int bad = !o || !errs;

	for (int i = 0; !bad && i < r->nerrors; i++)
		bad |= json_object_set_new(errs, pc_errno_name(r->errors[i].err),
					   json_integer(r->errors[i].count));
	if (!o) {
		json_decref(errs);
		return NULL;
	}
	bad |= json_object_set_new(o, "ok", json_integer(r->bind_ok));
	bad |= json_object_set_new(o, "failed", json_integer(r->bind_failed));
	bad |= json_object_set_new(o, "errors", errs);
	return done(o, bad);
}

/* An array of n items made by item(base + i * size). */

static json_t *cycle_item(const void *p)
{
	return cycle_json(p);
}

static json_t *exp_item(const void *p)
{
	return exp_json(p);
}

static json_t *case_json(const struct pc_case_result *r)
{
	const struct pc_case *c = r->spec;
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "name", jstr(c->name));
	bad |= json_object_set_new(o, "old", jstr(c->old_text));
	bad |= json_object_set_new(o, "new", jstr(c->new_text));
	bad |= json_object_set_new(o, "signal", jstr(pc_signal_name(c->signal)));
	bad |= json_object_set_new(o, "close_first", json_string(
		c->close_first == PC_CLOSE_CLIENT ? "client" : "server"));
	bad |= json_object_set_new(o, "opts_at", jstr(pc_opts_at_name(c->opts_at)));
	bad |= json_object_set_new(o, "requests", json_integer(c->requests));
	bad |= json_object_set_new(o, "leak_child", json_boolean(c->leak_child));
	bad |= json_object_set_new(o, "keep_open", json_boolean(c->keep_open));
	bad |= json_object_set_new(o, "strategy", jstr(pc_strategy_name(c->strategy)));
	bad |= json_object_set_new(o, "components", json_integer(c->components));
	bad |= json_object_set_new(o, "migrate_req", jstr(r->migrate_req));
	bad |= json_object_set_new(o, "fixture", jstr(c->fixture_command ? c->command : "pc-fixture"));
	bad |= json_object_set_new(o, "start_output", jstr_or_null(r->start_output));
	bad |= json_object_set_new(o, "socket_setup", jstr_or_null(r->socket_setup));
	bad |= json_object_set_new(o, "bind_retry_ms", json_integer(c->bind_retry_ms));
	bad |= json_object_set_new(o, "bind_retry_interval_ms",
				   json_integer(c->bind_retry_interval_ms));
	bad |= json_object_set_new(o, "term_timeout_ms", json_integer(c->term_timeout_ms));
	bad |= json_object_set_new(o, "cycles", json_integer(r->cycles_run ? r->cycles_run :
								  r->ncycles));
	bad |= json_object_set_new(o, "records_kept", json_integer(r->ncycles));
	bad |= json_object_set_new(o, "cycles_planned", json_integer(c->cycles));
	bad |= json_object_set_new(o, "duration_ns",
				   jint(pc_report_span_ns(r->started_ns, r->finished_ns)));
	bad |= json_object_set_new(o, "bind", bind_json(r));
	bad |= json_object_set_new(o, "rebind_ns", stats_json(&r->rebind));
	bad |= json_object_set_new(o, "restart_ns", stats_json(&r->restart));
	bad |= json_object_set_new(o, "expectations",
				   array_of(r->exps, r->nexps, sizeof(*r->exps), exp_item));
	bad |= json_object_set_new(o, "census_max", census_max_json(r));
	bad |= json_object_set_new(o, "load", load_json(r->load));
	bad |= json_object_set_new(o, "diagnosis", jstr_or_null(r->diagnosis ? r->diagnosis : ""));
	bad |= json_object_set_new(o, "verdict", json_string(pc_report_case_verdict(r)));
	bad |= json_object_set_new(o, "env_error", jstr_or_null(r->env_error));
	return done(o, bad);   /* records[] are streamed by write_case() */
}

static json_t *scenario_json(const struct pc_scenario *s)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "name", jstr(s->name));
	bad |= json_object_set_new(o, "description", jstr(s->description));
	bad |= json_object_set_new(o, "file", jstr(s->file));
	bad |= json_object_set_new(o, "addr", jstr(s->addr));
	bad |= json_object_set_new(o, "port", json_integer(s->port));
	return done(o, bad);
}

static json_t *run_json(const struct pc_run *run)
{
	struct pc_report_tally t;
	json_t *o = json_object(), *platform = json_object();
	int bad = !o || !platform;

	pc_report_tally(run, &t);
	if (platform) {
		bad |= json_object_set_new(platform, "os", jstr(run->os));
		bad |= json_object_set_new(platform, "kernel", jstr(run->kernel));
	}
	if (!o) {
		json_decref(platform);
		return NULL;
	}
	bad |= json_object_set_new(o, "schema", json_string("portchurn/1"));
	bad |= json_object_set_new(o, "scenario", scenario_json(run->scenario));
	bad |= json_object_set_new(o, "platform", platform);
	bad |= json_object_set_new(o, "netns", jstr(run->netns));
	bad |= json_object_set_new(o, "cleanup", jstr(run->cleanup));
	bad |= json_object_set_new(o, "started_utc", jstr(run->started_utc));
	bad |= json_object_set_new(o, "duration_ns",
				   jint(pc_report_span_ns(run->started_ns, run->finished_ns)));
	bad |= json_object_set_new(o, "interrupted", json_boolean(run->interrupted));
	bad |= json_object_set_new(o, "verdict",
				   json_string(pc_report_run_passed(run) ? "pass" : "fail"));
	bad |= json_object_set_new(o, "cases_planned", json_integer(t.planned));
	if (run->scenario && run->scenario->shard_total)
		bad |= json_object_set_new(o, "shard", json_pack("{s:i,s:i,s:i}",
			"index", run->scenario->shard_index, "total", run->scenario->shard_total,
			"cases", run->scenario->shard_cases));
	return done(o, bad);   /* cases[] are streamed by pc_report_json() */
}

/* ---- streaming: the document is written a piece at a time (the run's
 * fields, then each case's, then each record), never built whole: a
 * 100 000-cycle run would be hundreds of MB of json_t. Members go one per
 * line; each value is dumped compact. Keys are ours, plain identifiers. */

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) | \
		    JSON_ENCODE_ANY)

/* The members of o, without braces; a trailing comma when more follow. */
static int dump_members(json_t *o, FILE *out, const char *indent, bool more)
{
	const char *key;
	json_t *v;
	size_t i = 0, n = json_object_size(o);

	json_object_foreach(o, key, v) {
		fprintf(out, "%s\"%s\": ", indent, key);
		if (json_dumpf(v, out, DUMP_FLAGS) < 0)
			return -ENOMEM;
		fputs(++i < n || more ? ",\n" : "\n", out);
	}
	return 0;
}

static int write_records(const struct pc_case_result *r, FILE *out)
{
	fputs("      \"records\": [", out);
	for (int i = 0; i < r->ncycles; i++) {
		json_t *rec = cycle_item(&r->cycles[i]);
		int rc = rec ? json_dumpf(rec, out, DUMP_FLAGS) : -1;

		json_decref(rec);
		if (rc < 0)
			return -ENOMEM;
		fputs(i + 1 < r->ncycles ? ",\n        " : "", out);
	}
	fputs("]\n", out);
	return 0;
}

static int write_case(const struct pc_case_result *r, FILE *out, bool last)
{
	json_t *o = case_json(r);
	int rc = o ? 0 : -ENOMEM;

	fputs("    {\n", out);
	if (!rc)
		rc = dump_members(o, out, "      ", true);
	json_decref(o);
	if (!rc)
		rc = write_records(r, out);
	fputs(last ? "    }\n" : "    },\n", out);
	return rc;
}

int pc_report_json(const struct pc_run *run, FILE *out)
{
	json_t *root = run_json(run);
	int rc = root ? 0 : -ENOMEM;

	fputs("{\n", out);
	if (!rc)
		rc = dump_members(root, out, "  ", true);
	json_decref(root);
	fputs("  \"cases\": [\n", out);
	for (int i = 0; !rc && i < run->ncases; i++)
		rc = write_case(&run->cases[i], out, i + 1 == run->ncases);
	fputs("  ]\n}\n", out);
	if (rc)
		return rc;
	return ferror(out) ? -EIO : 0;
}
