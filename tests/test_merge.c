/* test_merge.c -- sharding and merging. The shard assignment is checked as
 * a pure function (a partition; deterministic; balanced within the
 * heaviest case; round robin when all weigh the same), then end to end:
 * shards 1/3, 2/3 and 3/3 of a scenario, merged, hold exactly the cases of
 * the unsharded run; TEST_SHARD_INDEX / TEST_TOTAL_SHARDS select the same
 * shard as --shard; merge refuses a case found twice and results of
 * another scenario, and keeps fields it does not know. */
#include "e2e.h"

#include "shard.h"

/* ---- the assignment ---- */

struct parse_case {
	char text[16];
	int index, total;   /* 0: refused */
};

ParameterizedTestParameters(shard, parse)
{
	static struct parse_case cases[] = {
		{ "1/1", 1, 1 }, { "2/3", 2, 3 }, { "3/3", 3, 3 }, { "10/10000", 10, 10000 },
		{ "0/3", 0, 0 }, { "4/3", 0, 0 }, { "1/0", 0, 0 }, { "1", 0, 0 }, { "a/b", 0, 0 },
		{ "1/3x", 0, 0 }, { "-1/3", 0, 0 }, { "1/10001", 0, 0 }, { "/3", 0, 0 },
	};
	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, shard, parse, .timeout = 10)
{
	struct pc_shard s = { 0 };
	char err[160];
	int rc = pc_shard_parse(c->text, &s, err, sizeof(err));

	if (!c->total) {
		cr_assert_neq(rc, 0, "'%s' was accepted as %d/%d", c->text, s.index, s.total);
		cr_assert(strstr(err, c->text), "the message names the text: %s", err);
		return;
	}
	cr_assert_eq(rc, 0, "'%s' refused: %s", c->text, err);
	cr_assert(s.index == c->index && s.total == c->total, "'%s' read as %d/%d", c->text,
		  s.index, s.total);
}

Test(shard, from_env, .timeout = 10)
{
	struct pc_shard s = { 0 };
	char err[200];

	cr_assert_eq(pc_shard_from_env(NULL, NULL, &s, err, sizeof(err)), 0, "neither set");
	cr_assert_eq(pc_shard_from_env("0", "3", &s, err, sizeof(err)), 1);
	cr_assert(s.index == 1 && s.total == 3, "index 0 of 3 is shard 1/3, not %d/%d", s.index,
		  s.total);
	cr_assert_eq(pc_shard_from_env("2", "3", &s, err, sizeof(err)), 1);
	cr_assert_eq(s.index, 3);
	cr_assert_lt(pc_shard_from_env("3", "3", &s, err, sizeof(err)), 0, "index == total");
	cr_assert_lt(pc_shard_from_env("0", NULL, &s, err, sizeof(err)), 0, "one without the other");
	cr_assert_lt(pc_shard_from_env("x", "2", &s, err, sizeof(err)), 0, "not a number");
}

static void assign(const int64_t *w, int n, int total, int *of)
{
	cr_assert_eq(pc_shard_assign(w, n, total, of), 0);
	for (int i = 0; i < n; i++)
		cr_assert(of[i] >= 1 && of[i] <= total, "case %d in shard %d of %d", i, of[i], total);
}

Test(shard, equal_weights_are_round_robin, .timeout = 10)
{
	int64_t w[7] = { 5, 5, 5, 5, 5, 5, 5 };
	int of[7], want[7] = { 1, 2, 3, 1, 2, 3, 1 };

	assign(w, 7, 3, of);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(of[i], want[i], "case %d in shard %d, want %d", i, of[i], want[i]);
}

/* Random weights, many shapes: a partition, the same twice, and no two
 * shards further apart than the heaviest case. */
Test(shard, balanced_and_deterministic, .timeout = 10)
{
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		int n = 1 + (int)(rand_r(&seed) % 300), total = 1 + (int)(rand_r(&seed) % 12);
		int64_t w[300], load[13] = { 0 }, heaviest = 0, lo = INT64_MAX, hi = 0;
		int of[300], again[300];

		for (int i = 0; i < n; i++) {
			w[i] = 1 + rand_r(&seed) % 5000;
			heaviest = w[i] > heaviest ? w[i] : heaviest;
		}
		assign(w, n, total, of);
		assign(w, n, total, again);
		cr_assert(!memcmp(of, again, (size_t)n * sizeof(*of)), "round %d differs", round);
		for (int i = 0; i < n; i++)
			load[of[i]] += w[i];
		for (int s = 1; s <= total && n >= total; s++) {
			lo = load[s] < lo ? load[s] : lo;
			hi = load[s] > hi ? load[s] : hi;
		}
		cr_assert(n < total || hi - lo <= heaviest, "round %d: shards %lld..%lld apart by "
			  "more than the heaviest case (%lld)", round, (long long)lo, (long long)hi,
			  (long long)heaviest);
	}
}

Test(shard, weight_counts_cycles_and_startup_delay, .timeout = 10)
{
	struct pc_case a = { .cycles = 10 }, b = { .cycles = 10, .startup_delay_ms = 50 };
	struct pc_case c = { .cycles = 20 };

	cr_assert_lt(pc_shard_weight(&a), pc_shard_weight(&b), "a slow fixture weighs more");
	cr_assert_eq(pc_shard_weight(&c), 2 * pc_shard_weight(&a), "twice the cycles, twice");
}

/* ---- end to end ---- */

#define TIMEOUT_MS 90000

static const char seven_ini[] =
	"[scenario]\nname = seven\ncycles = 2\nrequests = 1\nclose_first = client\n"
	"[matrix]\nopts = none, reuseaddr, reuseport, reuseaddr+reuseport, linger=0, "
	"reuseaddr+linger=0, reuseport+linger=0\n[expect]\nbind = ok\n";

/* Case names in a results.json, sorted, one per line. */
static void case_names(const struct e2e *t, const char *file, char *out, size_t len)
{
	json_t *r = e2e_json(t, file), *cases = json_object_get(r, "cases");
	const char *names[64];
	size_t n = json_array_size(cases), used = 0;

	cr_assert(n < 64);
	for (size_t i = 0; i < n; i++)
		names[i] = json_string_value(json_object_get(json_array_get(cases, i), "name"));
	for (size_t i = 0; i < n; i++)   /* insertion sort: a handful of names */
		for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
			const char *x = names[k];

			names[k] = names[k - 1];
			names[k - 1] = x;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s\n", names[i]);
	json_decref(r);
}

static void run_ok(struct e2e *t, const char *const *args)
{
	cr_assert_eq(e2e_run(t, args, TIMEOUT_MS), 0, "%s: exit %d\n%s%s", args[0], t->status,
		     e2e_read(t, "stdout"), e2e_read(t, "stderr"));
}

Test(merge, three_shards_merged_are_the_unsharded_run, .timeout = 240)
{
	const char *full[] = { "run", "@/s.ini", "--out", "@/full", "-q", "--charts", "off",
			       NULL };
	const char *merge[] = { "merge", "@/s1", "@/s2/results.json", "@/s3", "--out", "@/merged",
				"--charts", "scripts", NULL };
	char want[2048], got[2048], out[16], file[32], shard[8];
	struct e2e t;
	json_t *m;
	int total = 0;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	run_ok(&t, full);
	for (int k = 1; k <= 3; k++) {
		const char *args[] = { "run", "@/s.ini", "--shard", shard, "--out", out, "-q",
				       "--charts", "off", NULL };
		json_t *r;

		snprintf(shard, sizeof(shard), "%d/3", k);
		snprintf(out, sizeof(out), "@/s%d", k);
		run_ok(&t, args);
		snprintf(file, sizeof(file), "s%d/results.json", k);
		r = e2e_json(&t, file);
		total += (int)json_array_size(json_object_get(r, "cases"));
		cr_assert(json_array_size(json_object_get(r, "cases")) >= 2, "shard %d/3 holds "
			  "%zu of 7 cases: not balanced", k, json_array_size(json_object_get(r, "cases")));
		json_decref(r);
	}
	cr_assert_eq(total, 7, "the shards hold %d cases together, want 7", total);
	run_ok(&t, merge);
	case_names(&t, "full/results.json", want, sizeof(want));
	case_names(&t, "merged/results.json", got, sizeof(got));
	cr_assert_str_eq(got, want, "merged cases differ from the unsharded run's");
	m = e2e_json(&t, "merged/results.json");
	cr_assert_eq(e2e_int(m, "cases_planned"), 7);
	cr_assert_str_eq(json_string_value(json_object_get(m, "verdict")), "pass");
	json_decref(m);
	cr_assert(strstr(e2e_read(&t, "merged/summary.md"), "**PASS** — 7/7 cases"),
		  "merged summary.md: %s", e2e_read(&t, "merged/summary.md"));
	cr_assert(strstr(e2e_read(&t, "merged/results.tap"), "1..7\n"), "merged TAP plan");
	cr_assert(strstr(e2e_read(&t, "merged/charts/matrix.gp"), "plot"), "merged charts");
	e2e_assert_no_leftovers(&t);
}

Test(merge, list_shows_the_same_shards, .timeout = 60)
{
	const char *full[] = { "list", "@/s.ini", NULL };
	char all[1024], joined[1024] = "", shard[8];
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	run_ok(&t, full);
	snprintf(all, sizeof(all), "%s", e2e_read(&t, "stdout"));
	for (int k = 1; k <= 3; k++) {
		const char *args[] = { "list", "@/s.ini", "--shard", shard, NULL };

		snprintf(shard, sizeof(shard), "%d/3", k);
		run_ok(&t, args);
		strcat(joined, e2e_read(&t, "stdout"));
	}
	cr_assert_eq(strlen(joined), strlen(all), "the shards list %zu bytes of names, the "
		     "scenario %zu", strlen(joined), strlen(all));
	for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"))
		cr_assert(strstr(joined, line), "case '%s' is in no shard", line);
}

/* Bazel's convention: a 0-based index, and a status file to touch. */
Test(merge, test_shard_env_picks_the_same_shard, .timeout = 120)
{
	const char *flag[] = { "run", "@/s.ini", "--shard", "2/3", "--out", "@/flag", "-q",
			       "--charts", "off", NULL };
	const char *env[] = { "run", "@/s.ini", "--out", "@/env", "-q", "--charts", "off", NULL };
	char a[1024], b[1024], status[200];
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	run_ok(&t, flag);
	snprintf(status, sizeof(status), "%s/shard-status", t.dir);
	setenv("TEST_SHARD_INDEX", "1", 1);
	setenv("TEST_TOTAL_SHARDS", "3", 1);
	setenv("TEST_SHARD_STATUS_FILE", status, 1);
	run_ok(&t, env);
	case_names(&t, "flag/results.json", a, sizeof(a));
	case_names(&t, "env/results.json", b, sizeof(b));
	cr_assert_str_eq(b, a, "TEST_SHARD_INDEX=1 ran other cases than --shard 2/3");
	cr_assert_eq(access(status, F_OK), 0, "TEST_SHARD_STATUS_FILE was not touched");
}

/* More shards than cases: the empty ones still write results, and merge. */
Test(merge, empty_shard_writes_results, .timeout = 120)
{
	const char *s9[] = { "run", "@/s.ini", "--shard", "9/9", "--out", "@/s9", "-q",
			     "--charts", "off", NULL };
	struct e2e t;
	json_t *r;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	run_ok(&t, s9);
	r = e2e_json(&t, "s9/results.json");
	cr_assert_eq(json_array_size(json_object_get(r, "cases")), 0, "shard 9 of 9 of 7 cases");
	cr_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "pass");
	json_decref(r);
	cr_assert(strstr(e2e_read(&t, "stderr"), "shard 9/9: 0 of 7 cases"), "stderr: %s",
		  e2e_read(&t, "stderr"));
}

Test(merge, refuses_duplicates_and_other_scenarios, .timeout = 120)
{
	const char *a[] = { "run", "@/s.ini", "--shard", "1/2", "--out", "@/a", "-q", "--charts",
			    "off", NULL };
	const char *other[] = { "run", "@/o.ini", "--out", "@/o", "-q", "--charts", "off", NULL };
	const char *dup[] = { "merge", "@/a", "@/a/results.json", "--out", "@/m", NULL };
	const char *mixed[] = { "merge", "@/a", "@/o", "--out", "@/m", NULL };
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	e2e_write(&t, "o.ini", "[scenario]\nname = other\ncycles = 1\nopts = reuseaddr\n");
	run_ok(&t, a);
	run_ok(&t, other);
	cr_assert_eq(e2e_run(&t, dup, TIMEOUT_MS), 2, "a shard given twice: exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "shard 1/2 is given twice"), "stderr: %s",
		  e2e_read(&t, "stderr"));
	cr_assert_eq(e2e_run(&t, mixed, TIMEOUT_MS), 2, "mixed scenarios: exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "different scenarios") &&
		  strstr(e2e_read(&t, "stderr"), "'seven'") &&
		  strstr(e2e_read(&t, "stderr"), "'other'"), "stderr: %s", e2e_read(&t, "stderr"));
	cr_assert_neq(access(strcat(strcpy((char[256]){ 0 }, t.dir), "/m/results.json"), F_OK), 0,
		      "a refused merge writes nothing");
}

/* A shard not given: merged anyway (nothing lost), but its cases count as
 * not run, it is named, and the verdict is fail. A shard and an unsharded
 * run of the same scenario do not merge. */
Test(merge, a_missing_shard_fails_the_merge, .timeout = 120)
{
	const char *a[] = { "run", "@/s.ini", "--shard", "1/2", "--out", "@/a", "-q", "--charts",
			    "off", NULL };
	const char *full[] = { "run", "@/s.ini", "--out", "@/full", "-q", "--charts", "off", NULL };
	const char *alone[] = { "merge", "@/a", "--out", "@/m", "--charts", "off", NULL };
	const char *mixed[] = { "merge", "@/a", "@/full", "--out", "@/m2", NULL };
	struct e2e t;
	json_t *r, *missing;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	run_ok(&t, a);
	r = e2e_json(&t, "a/results.json");
	cr_assert(e2e_int(r, "shard.index") == 1 && e2e_int(r, "shard.total") == 2 &&
		  e2e_int(r, "shard.cases") == 7, "a shard says which it is");
	json_decref(r);
	cr_assert_eq(e2e_run(&t, alone, TIMEOUT_MS), 1, "shard 2/2 missing: exit %d: %s", t.status,
		     e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "stderr"), "shard 2 of 2 not given"), "stderr: %s",
		  e2e_read(&t, "stderr"));
	r = e2e_json(&t, "m/results.json");
	missing = json_object_get(r, "missing_shards");
	cr_assert(json_array_size(missing) == 1 && json_integer_value(json_array_get(missing, 0)) == 2,
		  "missing_shards should be [2]");
	cr_assert_eq(e2e_int(r, "cases_planned"), 7);
	cr_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "fail");
	cr_assert_null(json_object_get(r, "shard"), "the merge is not a shard");
	json_decref(r);
	run_ok(&t, full);
	cr_assert_eq(e2e_run(&t, mixed, TIMEOUT_MS), 2, "shard + unsharded: exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "a run that was not one"), "stderr: %s",
		  e2e_read(&t, "stderr"));
}

/* A field this version does not know survives a merge; a failed case makes
 * the merged verdict fail and merge exit 1. */
Test(merge, keeps_unknown_fields_and_fails_with_a_failed_case, .timeout = 120)
{
	const char *a[] = { "run", "@/s.ini", "--shard", "1/2", "--out", "@/a", "-q", "--charts",
			    "off", NULL };
	const char *b[] = { "run", "@/s.ini", "--shard", "2/2", "--out", "@/b", "-q", "--charts",
			    "off", NULL };
	const char *m[] = { "merge", "@/a", "@/b", "--out", "@/m", "--charts", "off", NULL };
	char path[256];
	struct e2e t;
	json_t *j, *c;

	e2e_init(&t);
	e2e_write(&t, "s.ini", seven_ini);
	run_ok(&t, a);
	run_ok(&t, b);
	snprintf(path, sizeof(path), "%s/b/results.json", t.dir);
	j = json_load_file(path, 0, NULL);
	c = json_array_get(json_object_get(j, "cases"), 0);
	json_object_set_new(c, "x_future", json_integer(42));
	json_object_set_new(c, "verdict", json_string("fail"));
	cr_assert_eq(json_dump_file(j, path, JSON_INDENT(2)), 0);
	json_decref(j);
	cr_assert_eq(e2e_run(&t, m, TIMEOUT_MS), 1, "a failed case: exit %d: %s", t.status,
		     e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "m/results.json"), "\"x_future\": 42"),
		  "unknown field lost in the merge");
	cr_assert(strstr(e2e_read(&t, "m/results.json"), "\"verdict\": \"fail\""));
}
