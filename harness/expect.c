/* expect.c -- see expect.h. A metric is either the bind outcome or a number
 * taken from a case's results; the table below is the one list of names. */
#include "expect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errname.h"

typedef double (*metric_fn)(const struct pc_case_result *r, int *have);

static double from_stats(const struct pc_stats *s, int which, int *have)
{
	int64_t v[] = { s->min, s->p50, s->p90, s->p99, s->max };

	*have = s->n > 0;
	return which < 5 ? (double)v[which] / 1e6 : s->mean / 1e6;
}

#define PC_STAT_FN(field, idx) \
	static double field##_##idx(const struct pc_case_result *r, int *have) \
	{ return from_stats(&r->field, idx, have); }
PC_STAT_FN(rebind, 0) PC_STAT_FN(rebind, 1) PC_STAT_FN(rebind, 2)
PC_STAT_FN(rebind, 3) PC_STAT_FN(rebind, 4) PC_STAT_FN(rebind, 5)
PC_STAT_FN(restart, 0) PC_STAT_FN(restart, 1) PC_STAT_FN(restart, 2)
PC_STAT_FN(restart, 3) PC_STAT_FN(restart, 4) PC_STAT_FN(restart, 5)
#undef PC_STAT_FN

static double bind_ok(const struct pc_case_result *r, int *have)
{
	*have = 1;
	return r->bind_ok;
}

static double bind_failed(const struct pc_case_result *r, int *have)
{
	*have = 1;
	return r->bind_failed;
}

/* Totals over every cycle run (pc_case_result_add), kept as records or not. */
#define PC_TOTAL_FN(field) \
	static double field(const struct pc_case_result *r, int *have) \
	{ *have = 1; return (double)r->field; }
PC_TOTAL_FN(leaked)
PC_TOTAL_FN(escalated)
PC_TOTAL_FN(requests_failed)
PC_TOTAL_FN(served_new)
PC_TOTAL_FN(served_orphan)
#undef PC_TOTAL_FN

/* The fewest components of a stack that came back in any one cycle. */
static double stack_ok_min(const struct pc_case_result *r, int *have)
{
	*have = r->spec->components > 1 && r->cycles_run > 0;
	return r->stack_ok_min;
}

/* Load metrics: n/a (have = 0) when the case ran without load clients. */
static double load_total(const struct pc_case_result *r, int *have, enum pc_outcome o)
{
	*have = r->load != NULL;
	return r->load ? (double)r->load->total[o] : 0;
}

#define PC_LOAD_FN(name, outcome) \
	static double name(const struct pc_case_result *r, int *have) \
	{ return load_total(r, have, outcome); }
PC_LOAD_FN(load_ok, PC_OUT_OK)
PC_LOAD_FN(refused, PC_OUT_REFUSED)
PC_LOAD_FN(reset, PC_OUT_RESET)
PC_LOAD_FN(timeout, PC_OUT_TIMEOUT)
PC_LOAD_FN(http_error, PC_OUT_HTTP_ERROR)
#undef PC_LOAD_FN

static double load_stat(const struct pc_case_result *r, int *have, size_t off, int which)
{
	const struct pc_stats *s;

	if (!r->load) {
		*have = 0;
		return 0;
	}
	s = (const struct pc_stats *)((const char *)r->load + off);
	return from_stats(s, which, have);
}

#define PC_LSTAT_FN(name, field, idx) \
	static double name(const struct pc_case_result *r, int *have) \
	{ return load_stat(r, have, offsetof(struct pc_load_result, field), idx); }
PC_LSTAT_FN(downtime_p50, downtime, 1)
PC_LSTAT_FN(downtime_p99, downtime, 3)
PC_LSTAT_FN(downtime_max, downtime, 4)
PC_LSTAT_FN(latency_steady_p50, latency_steady, 1)
PC_LSTAT_FN(latency_steady_p99, latency_steady, 3)
PC_LSTAT_FN(latency_restart_p50, latency_restart, 1)
PC_LSTAT_FN(latency_restart_p99, latency_restart, 3)
#undef PC_LSTAT_FN

static const struct metric {
	const char *name;
	metric_fn fn;   /* NULL: the bind outcome */
	bool load;      /* needs load clients */
} metrics[] = {
	{ "bind", NULL, false },
	{ "bind_ok", bind_ok, false }, { "bind_failed", bind_failed, false },
	{ "rebind_min_ms", rebind_0, false }, { "rebind_p50_ms", rebind_1, false },
	{ "rebind_p90_ms", rebind_2, false }, { "rebind_p99_ms", rebind_3, false },
	{ "rebind_max_ms", rebind_4, false }, { "rebind_mean_ms", rebind_5, false },
	{ "restart_min_ms", restart_0, false }, { "restart_p50_ms", restart_1, false },
	{ "restart_p90_ms", restart_2, false }, { "restart_p99_ms", restart_3, false },
	{ "restart_max_ms", restart_4, false }, { "restart_mean_ms", restart_5, false },
	{ "leaked", leaked, false }, { "escalated", escalated, false },
	{ "requests_failed", requests_failed, false },
	{ "served_new", served_new, false }, { "served_orphan", served_orphan, false },
	{ "stack_ok_min", stack_ok_min, false },
	{ "load_ok", load_ok, true }, { "refused", refused, true }, { "reset", reset, true },
	{ "timeout", timeout, true }, { "http_error", http_error, true },
	{ "downtime_p50_ms", downtime_p50, true }, { "downtime_p99_ms", downtime_p99, true },
	{ "downtime_max_ms", downtime_max, true },
	{ "latency_steady_p50_ms", latency_steady_p50, true },
	{ "latency_steady_p99_ms", latency_steady_p99, true },
	{ "latency_restart_p50_ms", latency_restart_p50, true },
	{ "latency_restart_p99_ms", latency_restart_p99, true },
};

static const char *const op_text[] = {
	[PC_OP_LT] = "<", [PC_OP_LE] = "<=", [PC_OP_GT] = ">",
	[PC_OP_GE] = ">=", [PC_OP_EQ] = "=", [PC_OP_NE] = "!=",
};

const char *pc_exp_op_text(enum pc_exp_op op)
{
	return op_text[op];
}

static const struct metric *metric_find(const char *name)
{
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (!strcmp(metrics[i].name, name))
			return &metrics[i];
	return NULL;
}

/* Longest operator first so "<=" is not read as "<". */
static const char *parse_op(const char *v, enum pc_exp_op *op)
{
	static const struct { const char *t; enum pc_exp_op op; } ops[] = {
		{ "<=", PC_OP_LE }, { ">=", PC_OP_GE }, { "==", PC_OP_EQ },
		{ "!=", PC_OP_NE }, { "<", PC_OP_LT }, { ">", PC_OP_GT },
	};

	*op = PC_OP_EQ;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].t);

		if (!strncmp(v, ops[i].t, n)) {
			*op = ops[i].op;
			v += n;
			break;
		}
	}
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

static int parse_bind_value(const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "ok") || !strcmp(v, "any") || pc_errno_parse(v) > 0)
		return 0;
	snprintf(err, errlen, "bad bind expectation '%s' (ok, eaddrinuse, any, or an errno name)", v);
	return -1;
}

int pc_expect_parse(const char *key, const char *value, struct pc_expect *out, char *err,
		    size_t errlen)
{
	const struct metric *m = metric_find(key);
	struct pc_expect e = { 0 };
	const char *v;
	char *end;

	if (!m) {
		snprintf(err, errlen, "unknown expectation '%s'", key);
		return -1;
	}
	v = parse_op(value, &e.op);
	if (!*v || strlen(v) >= sizeof(e.value)) {
		snprintf(err, errlen, "expectation '%s' needs a value", key);
		return -1;
	}
	snprintf(e.key, sizeof(e.key), "%s", key);
	snprintf(e.value, sizeof(e.value), "%s", v);
	if (!m->fn) {
		if (e.op != PC_OP_EQ) {
			snprintf(err, errlen, "'bind' takes '=', not '%s'", op_text[e.op]);
			return -1;
		}
		if (parse_bind_value(v, err, errlen) < 0)
			return -1;
	} else {
		e.number = strtod(v, &end);
		if (end == v || *end || !isfinite(e.number)) {
			snprintf(err, errlen, "expectation '%s' needs a number, not '%s'", key, v);
			return -1;
		}
	}
	*out = e;
	return 0;
}

void pc_expect_format(const struct pc_expect *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s", e->key, op_text[e->op], e->value);
}

static int compare(double a, enum pc_exp_op op, double b)
{
	switch (op) {
	case PC_OP_LT: return a < b;
	case PC_OP_LE: return a <= b;
	case PC_OP_GT: return a > b;
	case PC_OP_GE: return a >= b;
	case PC_OP_EQ: return a == b;
	case PC_OP_NE: return a != b;
	}
	return 0;
}

/* "ok 10/10", "EADDRINUSE 10/10", "ok 3/10, EADDRINUSE 7/10" */
static void describe_binds(const struct pc_case_result *r, char *buf, size_t len)
{
	int total = r->bind_ok + r->bind_failed;
	size_t n = 0;

	buf[0] = '\0';
	if (r->bind_ok || !r->nerrors)
		n += (size_t)snprintf(buf, len, "ok %d/%d", r->bind_ok, total);
	for (int i = 0; i < r->nerrors && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s %d/%d", n ? ", " : "",
				      pc_errno_name(r->errors[i].err), r->errors[i].count, total);
}

static enum pc_exp_status eval_bind(const char *want, const struct pc_case_result *r)
{
	if (!strcmp(want, "any"))
		return PC_EXP_HELD;
	if (r->bind_ok + r->bind_failed == 0)
		return PC_EXP_NA;
	if (!strcmp(want, "ok"))
		return r->bind_failed ? PC_EXP_FAILED : PC_EXP_HELD;
	if (r->bind_ok || r->nerrors != 1 || r->errors[0].err != pc_errno_parse(want))
		return PC_EXP_FAILED;
	return PC_EXP_HELD;
}

void pc_expect_evaluate(const struct pc_expect *e, const struct pc_case_result *r,
			struct pc_exp_result *out)
{
	const struct metric *m = metric_find(e->key);
	int have = 0;
	double v;

	memset(out, 0, sizeof(*out));
	pc_expect_format(e, out->text, sizeof(out->text));
	out->line = e->line;
	if (!m->fn) {
		describe_binds(r, out->measured, sizeof(out->measured));
		out->status = eval_bind(e->value, r);
		return;
	}
	v = m->fn(r, &have);
	if (!have) {
		out->status = PC_EXP_NA;
		snprintf(out->measured, sizeof(out->measured), "%s",
			 m->load && !r->load ? "n/a (no load clients)" : "n/a (no sample)");
		return;
	}
	snprintf(out->measured, sizeof(out->measured), "%.3f", v);
	out->status = compare(v, e->op, e->number) ? PC_EXP_HELD : PC_EXP_FAILED;
}
