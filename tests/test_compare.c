/* test_compare.c -- `portchurn compare`, end to end on real runs: two runs
 * of the same scenario pass (the default threshold and noise floors were
 * measured to hold that; the two run at once, so they meet the same load),
 * a fixture slowed by startup_delay_ms is flagged,
 * a verdict flip is flagged, and mismatched inputs exit 2 naming what is
 * missing on either side. The threshold and noise arithmetic is checked on
 * hand-made results. */
#include "e2e.h"

#define TIMEOUT_MS 90000
#define MS 1000000LL

/* The default noise floors are times measured on plain builds. Under
 * AddressSanitizer every cycle takes 10 to 20 times longer, and so do its
 * hiccups: the sanitized suite compares with floors five times wider. */
#if defined(__SANITIZE_ADDRESS__)
#define NOISE "50,100"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOISE "50,100"
#endif
#endif
#ifndef NOISE
#define NOISE NULL
#endif

static const char base_ini[] =
	"[scenario]\nname = cmp\ncycles = 16\nrequests = 2\n"
	"[matrix]\nopts = reuseaddr, reuseport\n[expect]\nbind = ok\n";

/* The same cases, each fixture 200 ms slower to start: twice as slow even
 * where ASan and a loaded machine make the base itself take 50 ms or more. */
static const char slow_ini[] =
	"[scenario]\nname = cmp\ncycles = 16\nrequests = 2\nstartup_delay_ms = 200\n"
	"[matrix]\nopts = reuseaddr, reuseport\n[expect]\nbind = ok\n";

static void run_ok(struct e2e *t, const char *ini, const char *out)
{
	char dir[32];
	const char *args[] = { "run", ini, "--out", dir, "-q", "--charts", "off", NULL };

	snprintf(dir, sizeof(dir), "@/%s", out);
	cr_assert_eq(e2e_run(t, args, TIMEOUT_MS), 0, "run %s: exit %d\n%s", ini, t->status,
		     e2e_read(t, "stdout"));
}

/* Two runs at the same time, so both meet the same machine: a loaded
 * machine (ASan, other jobs) slows a run by several times, and two runs
 * taken one after the other would compare the load, not the code. Scenario
 * files and output folders are names in t's temp dir. */
static void run_pair(struct e2e *t, const char *ini_a, const char *out_a, const char *ini_b,
		     const char *out_b)
{
	char a_ini[256], a_out[256], b_ini[256], b_out[256];
	const char *a[] = { "run", a_ini, "--out", a_out, "-q", "--charts", "off", NULL };
	const char *b[] = { "run", b_ini, "--out", b_out, "-q", "--charts", "off", NULL };
	struct e2e u = *t;   /* the second run keeps its stdout and stderr apart */

	snprintf(a_ini, sizeof(a_ini), "%s/%s", t->dir, ini_a);
	snprintf(a_out, sizeof(a_out), "%s/%s", t->dir, out_a);
	snprintf(b_ini, sizeof(b_ini), "%s/%s", t->dir, ini_b);
	snprintf(b_out, sizeof(b_out), "%s/%s", t->dir, out_b);
	snprintf(u.dir, sizeof(u.dir), "%.100s/second", t->dir);
	cr_assert(mkdir(u.dir, 0755) == 0 || errno == EEXIST, "mkdir %s", u.dir);
	e2e_start(t, a);
	e2e_start(&u, b);
	cr_assert_eq(e2e_wait(t, TIMEOUT_MS), 0, "run %s: exit %d\n%s", ini_a, t->status,
		     e2e_read(t, "stdout"));
	cr_assert_eq(e2e_wait(&u, TIMEOUT_MS), 0, "run %s: exit %d\n%s", ini_b, u.status,
		     e2e_read(&u, "stdout"));
}

static int compare(struct e2e *t, const char *base, const char *cur, const char *extra)
{
	char b[32], c[32];
	const char *args[8] = { "compare", b, c };
	int n = 3;

	snprintf(b, sizeof(b), "@/%s", base);
	snprintf(c, sizeof(c), "@/%s", cur);
	if (extra) {
		args[n++] = extra;
		args[n++] = "@/cmp.md";
	}
	if (NOISE) {
		args[n++] = "--noise-ms";
		args[n++] = NOISE;
	}
	return e2e_run(t, args, TIMEOUT_MS);
}

Test(compare, identical_runs_pass, .timeout = 240)
{
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "base.ini", base_ini);
	run_pair(&t, "base.ini", "a", "base.ini", "b");
	cr_assert_eq(compare(&t, "a", "b", "--markdown"), 0, "two runs of one scenario: exit %d\n%s",
		     t.status, e2e_read(&t, "stdout"));
	cr_assert(strstr(e2e_read(&t, "stdout"), "0 of 2 cases regressed"), "%s",
		  e2e_read(&t, "stdout"));
	cr_assert(strstr(e2e_read(&t, "cmp.md"), "## portchurn compare: no regression"),
		  "markdown: %s", e2e_read(&t, "cmp.md"));
	cr_assert_eq(compare(&t, "a/results.json", "a", NULL), 0, "a run against itself");
	e2e_assert_no_leftovers(&t);
}

Test(compare, slowed_fixture_is_a_regression, .timeout = 240)
{
	struct e2e t;
	const char *out;

	e2e_init(&t);
	e2e_write(&t, "base.ini", base_ini);
	e2e_write(&t, "slow.ini", slow_ini);
	run_pair(&t, "base.ini", "fast", "slow.ini", "slow");
	cr_assert_eq(compare(&t, "fast", "slow", "--markdown"), 1, "exit %d\n%s", t.status,
		     e2e_read(&t, "stdout"));
	out = e2e_read(&t, "stdout");
	cr_assert(strstr(out, "2 of 2 cases regressed"), "%s", out);
	for (const char *p = strstr(out, "REGRESSION:"), *end; p; p = strstr(end, "REGRESSION:")) {
		char row[200];

		end = strchr(p, '\n');
		snprintf(row, sizeof(row), "%.*s", (int)(end - p), p);
		cr_assert(strstr(row, "rebind p50") && strstr(row, "restart p50"),
			  "the medians of a slowed fixture regress: %s\n%s", row, out);
	}
	cr_assert(strstr(e2e_read(&t, "cmp.md"), "**REGRESSION**"), "markdown: %s",
		  e2e_read(&t, "cmp.md"));
	/* the other way round it is an improvement, not a failure */
	cr_assert_eq(compare(&t, "slow", "fast", NULL), 0, "exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stdout"), "0 of 2 cases regressed, 2 improved"), "%s",
		  e2e_read(&t, "stdout"));
	e2e_assert_no_leftovers(&t);
}

Test(compare, mismatched_inputs_exit_2, .timeout = 240)
{
	const char *part[] = { "run", "@/base.ini", "--case", "*reuseport*", "--out", "@/part", "-q",
			       "--charts", "off", NULL };
	struct e2e t;
	const char *err;

	e2e_init(&t);
	e2e_write(&t, "base.ini", base_ini);
	e2e_write(&t, "other.ini", "[scenario]\nname = other\ncycles = 1\nopts = reuseaddr\n");
	e2e_write(&t, "more.ini", "[scenario]\nname = cmp\ncycles = 1\n[matrix]\n"
		  "opts = reuseaddr, reuseport, linger=0\n");
	run_ok(&t, "@/base.ini", "base");
	run_ok(&t, "@/other.ini", "other");
	run_ok(&t, "@/more.ini", "more");
	cr_assert_eq(e2e_run(&t, part, TIMEOUT_MS), 0, "run --case: exit %d", t.status);

	cr_assert_eq(compare(&t, "base", "other", NULL), 2, "other scenario: exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "different scenarios: BASE is 'cmp', CURRENT is "
			 "'other'"), "stderr: %s", e2e_read(&t, "stderr"));
	cr_assert_eq(compare(&t, "base", "part", NULL), 2, "fewer cases: exit %d", t.status);
	err = e2e_read(&t, "stderr");
	cr_assert(strstr(err, "missing in CURRENT: 'old=reuseaddr new=reuseaddr'") && !strstr(err, "missing in "
		  "BASE"), "stderr: %s", err);
	cr_assert_eq(compare(&t, "part", "more", NULL), 2, "cases on both sides: exit %d", t.status);
	err = e2e_read(&t, "stderr");
	cr_assert(strstr(err, "missing in BASE: 'old=reuseaddr new=reuseaddr', 'old=linger=0 "
			 "new=linger=0'"),
		  "stderr: %s", err);
	cr_assert_eq(compare(&t, "base", "nothing-here", NULL), 2, "missing file: exit %d",
		     t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "nothing-here"), "names the file");
	e2e_write(&t, "bad.json", "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": 3}}");
	cr_assert_eq(compare(&t, "base", "bad.json", NULL), 2, "bad JSON: exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "scenario.name: want a string"), "stderr: %s",
		  e2e_read(&t, "stderr"));
}

/* ---- the arithmetic, on hand-made results ---- */

/* One case named name whose 4 cycles rebind in r ms and restart in s ms
 * (each 0 or above: none), verdict v. */
static json_t *case_of(const char *name, const char *v, double r, double s)
{
	json_t *recs = json_array();

	for (int i = 0; i < 4; i++) {
		int64_t kill = 1000 * MS + i * 100 * MS, reaped = kill + MS;

		json_array_append_new(recs, json_pack("{s:I, s:I, s:I, s:I, s:I, s:s}", "kill_ns",
				      (json_int_t)kill, "reaped_ns", (json_int_t)reaped, "bind_ns",
				      (json_int_t)(reaped + 1), "listen_ns",
				      (json_int_t)(r > 0 ? reaped + (int64_t)(r * MS) : 0),
				      "first_ok_ns", (json_int_t)(s > 0 ? kill + (int64_t)(s * MS) : 0),
				      "bind_errno", r > 0 ? "0" : "EADDRINUSE"));
	}
	return json_pack("{s:s, s:s, s:o}", "name", name, "verdict", v, "records", recs);
}

static void write_doc(const struct e2e *t, const char *file, json_t *cases)
{
	char path[256];
	json_t *d = json_pack("{s:s, s:{s:s}, s:o}", "schema", "portchurn/1", "scenario", "name",
			      "hand", "cases", cases);

	snprintf(path, sizeof(path), "%s/%s", t->dir, file);
	cr_assert_eq(json_dump_file(d, path, 0), 0);
	json_decref(d);
}

struct arith {
	double base_r, base_s, cur_r, cur_s;
	char base_v[8], cur_v[8];
	int exit;
	char want[64];
};

ParameterizedTestParameters(compare, threshold_and_noise)
{
	static struct arith cases[] = {
		/* doubled, but by less than the 5 ms p50 floor: noise */
		{ 1, 5, 2.5, 9, "pass", "pass", 0, "same" },
		/* 40 ms slower: beyond both */
		{ 1, 5, 41, 45, "pass", "pass", 1, "REGRESSION: rebind p50, rebind p99" },
		/* 20 -> 35 ms: beyond the floor, within 100 % */
		{ 20, 25, 35, 40, "pass", "pass", 0, "same" },
		/* no rebind any more */
		{ 1, 5, 0, 0, "pass", "pass", 1, "REGRESSION: rebind p50" },
		/* pass -> fail */
		{ 1, 5, 1, 5, "pass", "fail", 1, "REGRESSION: verdict pass -> fail" },
		/* fail -> pass, and faster */
		{ 40, 50, 1, 5, "fail", "pass", 0, "improved: verdict fail -> pass, rebind p50" },
	};
	return cr_make_param_array(struct arith, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct arith *a, compare, threshold_and_noise, .timeout = 30)
{
	const char *args[] = { "compare", "@/b.json", "@/c.json", NULL };
	struct e2e t;

	e2e_init(&t);
	write_doc(&t, "b.json", json_pack("[o]", case_of("k", a->base_v, a->base_r, a->base_s)));
	write_doc(&t, "c.json", json_pack("[o]", case_of("k", a->cur_v, a->cur_r, a->cur_s)));
	cr_assert_eq(e2e_run(&t, args, 10000), a->exit, "%.0f->%.0f ms: exit %d, want %d\n%s%s",
		     a->base_r, a->cur_r, t.status, a->exit, e2e_read(&t, "stdout"),
		     e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "stdout"), a->want), "want '%s':\n%s", a->want,
		  e2e_read(&t, "stdout"));
}

Test(compare, flags_change_the_limits, .timeout = 30)
{
	const char *strict[] = { "compare", "@/b.json", "@/c.json", "--threshold", "50",
				 "--noise-ms", "0.5,1", NULL };
	const char *bad[] = { "compare", "@/b.json", "@/c.json", "--noise-ms", "x", NULL };
	struct e2e t;

	e2e_init(&t);
	write_doc(&t, "b.json", json_pack("[o]", case_of("k", "pass", 1, 5)));
	write_doc(&t, "c.json", json_pack("[o]", case_of("k", "pass", 2.5, 9)));
	cr_assert_eq(e2e_run(&t, strict, 10000), 1, "stricter limits: exit %d\n%s", t.status,
		     e2e_read(&t, "stdout"));
	cr_assert(strstr(e2e_read(&t, "stdout"), "more than 50% and by more than 0.500 ms at p50, "
			 "1.000 ms at p99"), "%s", e2e_read(&t, "stdout"));
	cr_assert_eq(e2e_run(&t, bad, 10000), 2, "bad --noise-ms: exit %d", t.status);
}

Test(compare, github_step_summary_gets_the_table, .timeout = 30)
{
	const char *args[] = { "compare", "@/b.json", "@/c.json", NULL };
	char summary[256];
	struct e2e t;

	e2e_init(&t);
	write_doc(&t, "b.json", json_pack("[o]", case_of("k", "pass", 1, 5)));
	write_doc(&t, "c.json", json_pack("[o]", case_of("k", "pass", 1, 5)));
	e2e_write(&t, "summary", "earlier step\n");
	snprintf(summary, sizeof(summary), "%s/summary", t.dir);
	setenv("GITHUB_STEP_SUMMARY", summary, 1);
	cr_assert_eq(e2e_run(&t, args, 10000), 0);
	cr_assert(!strncmp(e2e_read(&t, "summary"), "earlier step\n## portchurn compare: no "
			   "regression", 45), "appended: %s", e2e_read(&t, "summary"));
}
