/* test_report.c -- the reporters and results.c against a run built by hand:
 * an interrupted run with a passing case, a failing case, a case that could
 * not run (environment error, 0 cycles) and one never started, with names
 * that need escaping in every format. Files go to a mkdtemp directory that
 * .fini removes. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "errname.h"
#include "report.h"
#include "results.h"

#define NAME_PASS "old=reuseaddr new=reuseaddr <fast> & \"q\""
#define NAME_FAIL "old=none new=none 'a|b'"
#define NAME_ERR "env <err> & \"x\"\x01"
#define NAME_ERR_XML "env <err> & \"x\""   /* control character dropped */
#define NAME_SKIP "never run <3"
#define ENV_ERROR "cannot create netns: Operation not permitted\x02 \xff!"
#define ENV_ERROR_JSON "cannot create netns: Operation not permitted\x02 ?!"
#define CYCLE_ERROR "bind: in use, retried 3\" times, gave up\nnext"

static const char *const report_files[] = {
	"results.json", "junit.xml", "cycles.csv", "summary.md", "results.tap",
};
#define NFILES (sizeof(report_files) / sizeof(report_files[0]))

static struct pc_run *run;
static char dir[64];

/* ---- building a run ---- */

static void set_case(struct pc_case *c, const char *name, const char *old, const char *new,
		     int cycles)
{
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->old_text, sizeof(c->old_text), "%s", old);
	snprintf(c->new_text, sizeof(c->new_text), "%s", new);
	c->signal = SIGKILL;
	c->close_first = PC_CLOSE_SERVER;
	c->requests = 4;
	c->opts_at = PC_AT_BEFORE_BIND;
	c->cycles = cycles;
}

/* A bound cycle whose rebind is 610 us + i * 100 us and restart 5.61 ms +
 * i * 100 us. */
static void bound_cycle(struct pc_cycle *c, int i)
{
	c->index = i;
	c->port = 20001;
	c->old_pid = 100 + i;
	c->new_pid = 101 + i;
	c->old_ready_ns = 500000000;
	c->kill_ns = 1000000000LL + i * 100000000LL;
	c->reaped_ns = c->kill_ns + 2000000;
	c->spawn_ns = c->reaped_ns + 100000;
	c->bind_ns = c->spawn_ns + 500000 + i * 100000;
	c->listen_ns = c->bind_ns + 10000;
	c->first_ok_ns = c->listen_ns + 3000000;
	c->bind_attempts = 1;
	c->old_exit = -SIGKILL;
	c->requests_ok = 4;
}

static struct pc_exp_result exp_of(const char *text, enum pc_exp_status st,
				   const char *measured, int line)
{
	struct pc_exp_result e = { .status = st, .line = line };

	snprintf(e.text, sizeof(e.text), "%s", text);
	snprintf(e.measured, sizeof(e.measured), "%s", measured);
	return e;
}

static struct pc_run *new_run(int nplanned, int nran)
{
	struct pc_run *r = calloc(1, sizeof(*r));

	cr_assert(r != NULL, "out of memory building the run");
	r->scenario = calloc(1, sizeof(*r->scenario));
	cr_assert(r->scenario != NULL, "out of memory building the scenario");
	r->scenario->cases = calloc((size_t)nplanned, sizeof(*r->scenario->cases));
	r->cases = calloc((size_t)nplanned, sizeof(*r->cases));
	cr_assert(r->scenario->cases != NULL && r->cases != NULL, "out of memory");
	r->scenario->ncases = nplanned;
	r->ncases = nran;
	snprintf(r->scenario->name, sizeof(r->scenario->name), "churn & <burn>");
	snprintf(r->scenario->description, sizeof(r->scenario->description), "hand-built — test");
	snprintf(r->scenario->file, sizeof(r->scenario->file), "scenarios/test.ini");
	snprintf(r->scenario->addr, sizeof(r->scenario->addr), "127.0.0.1");
	snprintf(r->netns, sizeof(r->netns), "private");
	snprintf(r->os, sizeof(r->os), "Linux");
	snprintf(r->kernel, sizeof(r->kernel), "6.1.0-test");
	snprintf(r->started_utc, sizeof(r->started_utc), "2025-01-02T03:04:05Z");
	r->started_ns = 1000;
	r->finished_ns = 1000 + 2500000000LL;
	for (int i = 0; i < nran; i++)
		r->cases[i].spec = &r->scenario->cases[i];
	return r;
}

static void add_cycles(struct pc_case_result *r, int n)
{
	r->cycles = calloc((size_t)n, sizeof(*r->cycles));
	cr_assert(r->cycles != NULL, "out of memory for cycles");
	r->ncycles = n;
	for (int i = 0; i < n; i++)
		bound_cycle(&r->cycles[i], i);
}

static void add_exps(struct pc_case_result *r, const struct pc_exp_result *e, int n)
{
	r->exps = calloc((size_t)n, sizeof(*r->exps));
	cr_assert(r->exps != NULL, "out of memory for expectations");
	memcpy(r->exps, e, (size_t)n * sizeof(*e));
	r->nexps = n;
}

/* The passing case: 3 bound cycles, census taken at kill of cycle 0. */
static void case_pass(struct pc_case *spec, struct pc_case_result *r)
{
	struct pc_exp_result e = exp_of("rebind_p99_ms < 20", PC_EXP_HELD, "0.808", 10);

	set_case(spec, NAME_PASS, "reuseaddr", "reuseaddr", 3);
	add_cycles(r, 3);
	r->cycles[0].at_kill = (struct pc_census){ .known = true, .listen = 1, .established = 2,
						   .time_wait = 3, .fin_wait1 = 4, .fin_wait2 = 5,
						   .close_wait = 6, .other = 7 };
	add_exps(r, &e, 1);
	r->pass = true;
	r->started_ns = 2000;
	r->finished_ns = 2000 + 1234567890LL;
	pc_case_result_summarize(r);
}

/* The failing case: cycle 0 bound, cycle 1 got EADDRINUSE. */
static void case_fail(struct pc_case *spec, struct pc_case_result *r)
{
	const struct pc_exp_result e[] = {
		exp_of("bind == ok", PC_EXP_FAILED, "EADDRINUSE 1/2", 12),
		exp_of("rebind_p99_ms < 20", PC_EXP_HELD, "0.610", 13),
		exp_of("restart_p99_ms < 50", PC_EXP_NA, "n/a (no bind succeeded)", 14),
		exp_of("time_wait_at_bind == 0", PC_EXP_FAILED, "2", 15),
	};
	struct pc_cycle *c;

	set_case(spec, NAME_FAIL, "none", "none", 2);
	add_cycles(r, 2);
	c = &r->cycles[1];
	c->bind_errno = EADDRINUSE;
	c->bind_attempts = 3;
	c->blocked_ns = 1500000;
	c->listen_ns = 0;
	c->first_ok_ns = 0;
	c->escalated = true;
	c->at_bind = (struct pc_census){ .known = true, .time_wait = 2, .fin_wait2 = 1 };
	snprintf(c->error, sizeof(c->error), "%s", CYCLE_ERROR);
	add_exps(r, e, 4);
	r->pass = false;
	pc_case_result_summarize(r);
}

static void case_error(struct pc_case *spec, struct pc_case_result *r)
{
	set_case(spec, NAME_ERR, "reuseport", "reuseport", 5);
	spec->close_first = PC_CLOSE_CLIENT;
	snprintf(r->env_error, sizeof(r->env_error), "%s", ENV_ERROR);
	r->pass = false;
	pc_case_result_summarize(r);
}

/* Interrupted during the run: 3 of 4 cases started. */
static struct pc_run *failing_run(void)
{
	struct pc_run *r = new_run(4, 3);

	case_pass(&r->scenario->cases[0], &r->cases[0]);
	case_fail(&r->scenario->cases[1], &r->cases[1]);
	case_error(&r->scenario->cases[2], &r->cases[2]);
	set_case(&r->scenario->cases[3], NAME_SKIP, "none", "reuseaddr", 5);
	r->interrupted = true;
	return r;
}

static struct pc_run *passing_run(void)
{
	struct pc_run *r = new_run(2, 2);

	case_pass(&r->scenario->cases[0], &r->cases[0]);
	case_pass(&r->scenario->cases[1], &r->cases[1]);
	snprintf(r->scenario->cases[1].name, PC_CASE_NAME_MAX, "second");
	return r;
}

/* ---- files ---- */

static char *path_in(const char *d, const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", d, name);
	return buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert(f != NULL, "cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert(buf != NULL, "out of memory reading %s", path);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n, "short read of %s", path);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char sub[512];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_rf(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* Names in d, sorted into one comma-separated string. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *d, char *out, size_t len)
{
	char *names[64];
	int n = 0;
	DIR *dh = opendir(d);
	struct dirent *de;

	cr_assert(dh != NULL, "cannot list %s: %s", d, strerror(errno));
	while ((de = readdir(dh)) && n < 64)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(dh);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t k = strlen(out);

		snprintf(out + k, len - k, "%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- fixture ---- */

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pc_report.XXXXXX");
	cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void write_reports(struct pc_run *r)
{
	char err[512] = "";
	int rc;

	run = r;
	rc = pc_report_write_all(run, dir, err, sizeof(err));
	cr_assert_eq(rc, 0, "pc_report_write_all into %s failed: %d (%s)", dir, rc, err);
}

static void setup_failing(void)
{
	make_dir();
	write_reports(failing_run());
}

static void teardown(void)
{
	pc_run_free(run);
	run = NULL;
	if (dir[0])
		rm_rf(dir);
}

TestSuite(report_files, .init = setup_failing, .fini = teardown, .timeout = 10);

/* ---- results.json ---- */

static json_t *load_json(void)
{
	json_error_t jerr;
	json_t *root = json_load_file(path_in(dir, "results.json"), 0, &jerr);

	cr_assert(root != NULL, "results.json does not parse: line %d: %s", jerr.line, jerr.text);
	return root;
}

static json_t *at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(v != NULL, "results.json: key '%s' missing", key);
	return v;
}

static void expect_str(json_t *o, const char *key, const char *want)
{
	json_t *v = at(o, key);

	cr_assert(json_is_string(v), "results.json: '%s' is not a string", key);
	cr_assert_str_eq(json_string_value(v), want, "results.json: '%s' is \"%s\", want \"%s\"",
			 key, json_string_value(v), want);
}

static void expect_int(json_t *o, const char *key, long long want)
{
	json_t *v = at(o, key);

	cr_assert(json_is_integer(v), "results.json: '%s' is not an integer", key);
	cr_assert_eq(json_integer_value(v), want, "results.json: '%s' is %lld, want %lld", key,
		     (long long)json_integer_value(v), want);
}

static void expect_null(json_t *o, const char *key)
{
	cr_assert(json_is_null(at(o, key)), "results.json: '%s' should be null", key);
}

Test(report_files, json_top_level)
{
	json_t *root = load_json(), *sc = at(root, "scenario");

	expect_str(root, "schema", "portchurn/1");
	expect_str(sc, "name", "churn & <burn>");
	expect_str(sc, "description", "hand-built — test");
	expect_str(sc, "file", "scenarios/test.ini");
	expect_str(sc, "addr", "127.0.0.1");
	expect_int(sc, "port", 0);
	expect_str(at(root, "platform"), "os", "Linux");
	expect_str(at(root, "platform"), "kernel", "6.1.0-test");
	expect_str(root, "netns", "private");
	expect_str(root, "started_utc", "2025-01-02T03:04:05Z");
	expect_int(root, "duration_ns", 2500000000LL);
	cr_assert(json_is_true(at(root, "interrupted")),
		  "results.json: interrupted should be true");
	expect_str(root, "verdict", "fail");
	expect_int(root, "cases_planned", 4);
	cr_assert_eq(json_array_size(at(root, "cases")), 3,
		     "results.json: %zu cases, want the 3 that ran",
		     json_array_size(at(root, "cases")));
	json_decref(root);
}

Test(report_files, json_passing_case)
{
	json_t *root = load_json();
	json_t *c = json_array_get(at(root, "cases"), 0), *s, *rec, *census, *e;

	expect_str(c, "name", NAME_PASS);
	expect_str(c, "old", "reuseaddr");
	expect_str(c, "new", "reuseaddr");
	expect_str(c, "signal", "KILL");
	expect_str(c, "close_first", "server");
	expect_str(c, "opts_at", "before-bind");
	expect_int(c, "requests", 4);
	cr_assert(json_is_false(at(c, "leak_child")), "case 0: leak_child should be false");
	expect_int(c, "cycles", 3);
	expect_int(c, "cycles_planned", 3);
	expect_int(c, "duration_ns", 1234567890LL);
	expect_int(at(c, "bind"), "ok", 3);
	expect_int(at(c, "bind"), "failed", 0);
	cr_assert_eq(json_object_size(at(at(c, "bind"), "errors")), 0,
		     "case 0: bind.errors should be empty");
	s = at(c, "rebind_ns");
	expect_int(s, "n", 3);
	expect_int(s, "min", 610000);
	expect_int(s, "p50", 710000);
	expect_int(s, "p90", 790000);
	expect_int(s, "p99", 808000);
	expect_int(s, "max", 810000);
	cr_assert(json_is_real(at(s, "mean")), "case 0: rebind mean should be a real");
	cr_assert_float_eq(json_real_value(at(s, "mean")), 710000.0, 1e-6,
			   "case 0: rebind mean is %f", json_real_value(at(s, "mean")));
	cr_assert_float_eq(json_real_value(at(s, "stddev")), 100000.0, 1e-6,
			   "case 0: rebind stddev is %f", json_real_value(at(s, "stddev")));
	expect_int(at(c, "restart_ns"), "p50", 5710000);
	expect_str(c, "verdict", "pass");
	expect_null(c, "env_error");
	e = json_array_get(at(c, "expectations"), 0);
	expect_str(e, "status", "held");
	cr_assert(json_is_true(at(e, "held")), "case 0: expectation should be held");
	cr_assert_eq(json_array_size(at(c, "records")), 3, "case 0: want 3 records");
	rec = json_array_get(at(c, "records"), 2);
	expect_int(rec, "index", 2);
	expect_int(rec, "kill_ns", 1200000000LL);
	expect_int(rec, "old_ready_ns", 500000000);
	expect_str(rec, "bind_errno", "0");
	expect_int(rec, "rebind_ns", 810000);
	expect_int(rec, "restart_ns", 5810000);
	expect_int(rec, "old_exit", -SIGKILL);
	expect_null(rec, "error");
	expect_null(rec, "at_kill");
	census = at(json_array_get(at(c, "records"), 0), "at_kill");
	expect_int(census, "listen", 1);
	expect_int(census, "established", 2);
	expect_int(census, "time_wait", 3);
	expect_int(census, "fin_wait1", 4);
	expect_int(census, "fin_wait2", 5);
	expect_int(census, "close_wait", 6);
	expect_int(census, "other", 7);
	json_decref(root);
}

Test(report_files, json_failing_and_error_cases)
{
	json_t *root = load_json();
	json_t *c = json_array_get(at(root, "cases"), 1), *rec, *e;

	expect_str(c, "name", NAME_FAIL);
	expect_str(c, "verdict", "fail");
	expect_int(at(c, "bind"), "ok", 1);
	expect_int(at(c, "bind"), "failed", 1);
	expect_int(at(at(c, "bind"), "errors"), "EADDRINUSE", 1);
	expect_int(at(c, "rebind_ns"), "n", 1);
	e = json_array_get(at(c, "expectations"), 0);
	expect_str(e, "text", "bind == ok");
	expect_str(e, "status", "failed");
	expect_str(e, "measured", "EADDRINUSE 1/2");
	expect_int(e, "line", 12);
	cr_assert(json_is_false(at(e, "held")), "case 1: 'bind == ok' should not be held");
	e = json_array_get(at(c, "expectations"), 2);
	expect_str(e, "status", "n/a");
	cr_assert(json_is_true(at(e, "held")), "case 1: an n/a expectation counts as held");
	rec = json_array_get(at(c, "records"), 1);
	expect_str(rec, "bind_errno", "EADDRINUSE");
	expect_int(rec, "bind_attempts", 3);
	expect_int(rec, "blocked_ns", 1500000);
	expect_null(rec, "rebind_ns");
	expect_null(rec, "restart_ns");
	cr_assert(json_is_true(at(rec, "escalated")), "case 1 cycle 1: escalated should be true");
	expect_str(rec, "error", CYCLE_ERROR);
	expect_int(at(rec, "at_bind"), "time_wait", 2);

	c = json_array_get(at(root, "cases"), 2);
	expect_str(c, "name", NAME_ERR);
	expect_str(c, "verdict", "error");
	expect_str(c, "close_first", "client");
	expect_str(c, "env_error", ENV_ERROR_JSON);
	expect_int(c, "cycles", 0);
	expect_int(c, "cycles_planned", 5);
	expect_null(c, "rebind_ns");
	expect_null(c, "restart_ns");
	cr_assert_eq(json_array_size(at(c, "records")), 0, "case 2: records should be empty");
	json_decref(root);
}

/* ---- junit.xml ---- */

static bool have_xmllint(void)
{
	return system("command -v xmllint >/dev/null 2>&1") == 0;
}

/* Output of xmllint --xpath EXPR on junit.xml. */
static void xpath(const char *expr, char *out, size_t len)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "xmllint --xpath '%s' '%s' 2>/dev/null", expr,
		 path_in(dir, "junit.xml"));
	p = popen(cmd, "r");
	cr_assert(p != NULL, "cannot run xmllint: %s", strerror(errno));
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	cr_assert_eq(pclose(p), 0, "xmllint --xpath '%s' failed", expr);
}

static void expect_xpath(const char *expr, const char *want)
{
	char got[512];

	xpath(expr, got, sizeof(got));
	cr_assert_str_eq(got, want, "junit.xml: %s is \"%s\", want \"%s\"", expr, got, want);
}

Test(report_files, junit_structure)
{
	char *xml = slurp(path_in(dir, "junit.xml"));

	cr_assert_eq(strncmp(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39), 0,
		     "junit.xml: missing XML declaration");
	cr_assert_eq(count_of(xml, "<testcase "), 4, "junit.xml: want 4 testcases (3 ran + 1 "
		     "not run), got %d", count_of(xml, "<testcase "));
	cr_assert_eq(count_of(xml, "<failure "), 1, "junit.xml: want exactly one <failure>");
	cr_assert_eq(count_of(xml, "<error "), 1, "junit.xml: want exactly one <error>");
	cr_assert_eq(count_of(xml, "<skipped "), 1, "junit.xml: want exactly one <skipped>");
	cr_assert_eq(strchr(xml, '\x01'), NULL, "junit.xml: control character \\x01 not stripped");
	cr_assert_eq(strchr(xml, '\xff'), NULL, "junit.xml: invalid UTF-8 byte not replaced");
	cr_assert_neq(strstr(xml, "tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\" "
			     "time=\"2.500\""), NULL, "junit.xml: wrong counts on <testsuites>");
	free(xml);
}

Test(report_files, junit_wellformed)
{
	char cmd[512];

	if (!have_xmllint())
		cr_skip_test("xmllint is not installed");
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path_in(dir, "junit.xml"));
	cr_assert_eq(system(cmd), 0, "junit.xml is not well-formed XML (xmllint --noout)");
	expect_xpath("count(//testsuite/testcase)", "4");
	expect_xpath("count(//testcase/failure)", "1");
	expect_xpath("string(//testsuite/@name)", "churn & <burn>");
	expect_xpath("string(//testcase[1]/@name)", NAME_PASS);
	expect_xpath("string(//testcase[1]/@classname)", "churn & <burn>");
	expect_xpath("string(//testcase[1]/@time)", "1.235");
	expect_xpath("string(//testcase[1]/properties/property[@name=\"rebind_p50_ms\"]/@value)",
		     "0.710");
	expect_xpath("string(//testcase[1]/properties/property[@name=\"rebind_p99_ms\"]/@value)",
		     "0.808");
	expect_xpath("string(//testcase[2]/@name)", NAME_FAIL);
	expect_xpath("string(//testcase[2]/failure/@message)",
		     "bind == ok: measured EADDRINUSE 1/2 (and 1 more)");
	expect_xpath("string(//testcase[3]/@name)", NAME_ERR_XML);
	expect_xpath("string(//testcase[3]/error/@message)",
		     "cannot create netns: Operation not permitted ?!");
	expect_xpath("string(//testcase[4]/@name)", NAME_SKIP);
	expect_xpath("count(//testcase[4]/skipped)", "1");
	expect_xpath("string(//property[@name=\"interrupted\"]/@value)", "true");
	expect_xpath("string(//property[@name=\"netns\"]/@value)", "private");
}

/* ---- cycles.csv ---- */

/* Fields of one CSV line (RFC 4180), decoded into out[]. */
static int csv_split(const char *line, char out[][192], int max)
{
	int n = 0;

	for (;;) {
		size_t k = 0;
		bool quoted = *line == '"';

		cr_assert(n < max, "cycles.csv: more than %d fields in a row", max);
		if (quoted)
			line++;
		while (*line && (quoted || *line != ',')) {
			if (quoted && *line == '"') {
				if (line[1] != '"') {
					line++;
					break;
				}
				line++;
			}
			if (k + 1 < 192)
				out[n][k++] = *line;
			line++;
		}
		out[n++][k] = '\0';
		if (*line != ',')
			return n;
		line++;
	}
}

Test(report_files, csv_rows)
{
	static const char header[] =
		"case,cycle,port,old_pid,new_pid,kill_ns,reaped_ns,spawn_ns,bind_ns,listen_ns,"
		"first_ok_ns,bind_errno,bind_attempts,blocked_ns,rebind_ns,restart_ns,escalated,"
		"old_exit,leaked,requests_ok,requests_failed,served_new,served_orphan,tw_at_kill,fw2_at_kill,"
		"listen_at_kill,tw_at_bind,fw2_at_bind,listen_at_bind,load_ok,load_refused,"
		"load_reset,load_timeout,load_other,downtime_ns,diagnosis,error";
	char *csv = slurp(path_in(dir, "cycles.csv")), *save = NULL, *line;
	char f[40][192];
	int row = 0;

	line = strtok_r(csv, "\n", &save);
	cr_assert(line != NULL, "cycles.csv is empty");
	cr_assert_str_eq(line, header, "cycles.csv: header is\n%s\nwant\n%s", line, header);
	while ((line = strtok_r(NULL, "\n", &save))) {
		int n = csv_split(line, f, 40);

		cr_assert_eq(n, 37, "cycles.csv row %d: %d fields, want 37: %s", row + 1, n, line);
		row++;
		if (row == 1) {
			cr_assert_str_eq(f[0], NAME_PASS, "cycles.csv row 1: case is \"%s\"", f[0]);
			cr_assert_str_eq(f[14], "610000", "cycles.csv row 1: rebind_ns \"%s\"",
					 f[14]);
			cr_assert_str_eq(f[23], "3", "cycles.csv row 1: tw_at_kill \"%s\"", f[23]);
			cr_assert_str_eq(f[26], "", "cycles.csv row 1: tw_at_bind should be empty");
		}
		if (row == 5) {
			cr_assert_str_eq(f[0], NAME_FAIL, "cycles.csv row 5: case is \"%s\"", f[0]);
			cr_assert_str_eq(f[11], "EADDRINUSE", "cycles.csv row 5: bind_errno \"%s\"",
					 f[11]);
			cr_assert_str_eq(f[14], "", "cycles.csv row 5: rebind_ns should be empty");
			cr_assert_str_eq(f[16], "1", "cycles.csv row 5: escalated \"%s\"", f[16]);
			cr_assert_str_eq(f[26], "2", "cycles.csv row 5: tw_at_bind \"%s\"", f[26]);
			cr_assert_str_eq(f[35], "", "cycles.csv row 5: no diagnosis \"%s\"", f[35]);
			cr_assert_str_eq(f[36], "bind: in use, retried 3\" times, gave up next",
					 "cycles.csv row 5: error \"%s\"", f[36]);
		}
	}
	cr_assert_eq(row, 5, "cycles.csv: %d rows, want one per cycle (3 + 2 + 0)", row);
	free(csv);
}

/* ---- summary.md ---- */

/* '|' not preceded by a backslash. */
static int md_pipes(const char *line)
{
	int n = 0;

	for (const char *p = line; *p; p++)
		n += *p == '|' && (p == line || p[-1] != '\\');
	return n;
}

Test(report_files, md_table)
{
	char *md = slurp(path_in(dir, "summary.md")), *save = NULL, *line;
	int rows = 0, lineno = 0;

	for (line = strtok_r(md, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (lineno == 1)
			cr_assert_str_eq(line, "## portchurn: churn \\& \\<burn\\>",
					 "summary.md: heading is \"%s\"", line);
		if (lineno == 2)
			cr_assert_str_eq(line, "**FAIL** — 2 of 4 cases failed (1 environment "
					 "error); 1 not run (interrupted)",
					 "summary.md: verdict line is \"%s\"", line);
		if (line[0] != '|')
			continue;
		cr_assert_eq(md_pipes(line), 10,
			     "summary.md: row with %d cell separators, want 10: %s",
			     md_pipes(line), line);
		if (!strncmp(line, "| case ", 7) || !strncmp(line, "|---", 4))
			continue;
		rows++;
	}
	cr_assert_eq(rows, 4, "summary.md: %d case rows, want 4 (one per scenario case)", rows);
	free(md);
	md = slurp(path_in(dir, "summary.md"));
	cr_assert_neq(strstr(md, "| old=none new=none 'a\\|b' | 1 | 1 | 0.610 | 0.610 | 5.610 | – | "
			     "FAIL | bind == ok (EADDRINUSE 1/2); "
			     "time\\_wait\\_at\\_bind == 0 (2) |"), NULL,
		      "summary.md: failing row wrong:\n%s", md);
	cr_assert_neq(strstr(md, "| 3 | 0 | 0.710 | 0.808 | 5.710 | 3/5/1 | PASS |"), NULL,
		      "summary.md: passing row wrong:\n%s", md);
	cr_assert_neq(strstr(md, "| ERROR | environment: cannot create netns: Operation not "
			     "permitted ?! |"), NULL,
		      "summary.md: error row wrong (control character or bad UTF-8 kept?):\n%s",
		      md);
	cr_assert_neq(strstr(md, "NOT RUN"), NULL, "summary.md: not-run case missing");
	cr_assert_neq(strstr(md, "netns: private · platform: Linux 6.1.0-test"), NULL,
		      "summary.md: netns/platform line missing:\n%s", md);
	free(md);
}

/* ---- the directory itself ---- */

Test(report_files, no_temp_left)
{
	char names[512];

	list_dir(dir, names, sizeof(names));
	cr_assert_str_eq(names, "cycles.csv,junit.xml,results.json,results.tap,summary.md",
			 "results dir holds \"%s\", want exactly the 5 reports", names);
	for (size_t i = 0; i < NFILES; i++) {
		struct stat st;

		cr_assert_eq(stat(path_in(dir, report_files[i]), &st), 0, "%s missing",
			     report_files[i]);
		cr_assert_eq(st.st_mode & 0777, 0644, "%s has mode %o, want 644", report_files[i],
			     (unsigned)(st.st_mode & 0777));
	}
}

Test(report_files, rewrite_replaces_files)
{
	char err[512] = "", names[512];
	char *md;

	run->interrupted = false;
	cr_assert_eq(pc_report_write_all(run, dir, err, sizeof(err)), 0,
		     "second write into %s failed: %s", dir, err);
	list_dir(dir, names, sizeof(names));
	cr_assert_str_eq(names, "cycles.csv,junit.xml,results.json,results.tap,summary.md",
			 "after a rewrite the dir holds \"%s\"", names);
	md = slurp(path_in(dir, "summary.md"));
	cr_assert_eq(strstr(md, "(interrupted)"), NULL, "summary.md was not replaced");
	free(md);
}

Test(report_files, missing_dir_fails_cleanly)
{
	char err[512] = "", sub[128], names[512];
	int rc;

	snprintf(sub, sizeof(sub), "%s/missing/deeper", dir);
	rc = pc_report_write_all(run, sub, err, sizeof(err));
	cr_assert_eq(rc, -ENOENT, "write into a missing dir returned %d, want -ENOENT", rc);
	cr_assert_neq(strstr(err, "results.json"), NULL, "error message names no file: %s", err);
	cr_assert_neq(strstr(err, "(and 4 more report files)"), NULL,
		      "error message does not count the other failures: %s", err);

	snprintf(sub, sizeof(sub), "%s/summary.md", dir);   /* a file, not a dir */
	rc = pc_report_write_all(run, sub, err, sizeof(err));
	cr_assert_eq(rc, -ENOTDIR, "write into a regular file returned %d, want -ENOTDIR", rc);
	list_dir(dir, names, sizeof(names));
	cr_assert_str_eq(names, "cycles.csv,junit.xml,results.json,results.tap,summary.md",
			 "failed writes left files behind: \"%s\"", names);
}

/* results.json is a directory: its temp file is written, the rename fails,
 * the temp must go, and the other reports must still be written. */
Test(report_files, failed_rename_removes_temp)
{
	char err[512] = "", sub[128], blocker[192], names[512];
	int rc;

	snprintf(sub, sizeof(sub), "%s/blocked", dir);
	snprintf(blocker, sizeof(blocker), "%s/results.json", sub);
	cr_assert(mkdir(sub, 0700) == 0 && mkdir(blocker, 0700) == 0, "mkdir %s: %s", blocker,
		  strerror(errno));
	rc = pc_report_write_all(run, sub, err, sizeof(err));
	cr_assert_eq(rc, -EISDIR, "rename over a directory returned %d, want -EISDIR", rc);
	cr_assert_neq(strstr(err, "results.json: cannot rename"), NULL,
		      "message does not name results.json and the rename: %s", err);
	list_dir(sub, names, sizeof(names));
	cr_assert_str_eq(names, "cycles.csv,junit.xml,results.json,results.tap,summary.md",
			 "after a failed rename the dir holds \"%s\" (temp left, or the other "
			 "reports not written)", names);
}

Test(report_files, incomplete_run_refused)
{
	char err[512] = "", sub[128], names[512];
	const struct pc_case *spec = run->cases[1].spec;
	int rc;

	snprintf(sub, sizeof(sub), "%s/again", dir);
	cr_assert_eq(mkdir(sub, 0700), 0, "mkdir %s: %s", sub, strerror(errno));
	run->cases[1].spec = NULL;
	rc = pc_report_write_all(run, sub, err, sizeof(err));
	run->cases[1].spec = spec;
	cr_assert_eq(rc, -EINVAL, "a case without spec returned %d, want -EINVAL", rc);
	cr_assert_neq(strstr(err, "case 1"), NULL, "message does not name the case: %s", err);
	list_dir(sub, names, sizeof(names));
	cr_assert_str_eq(names, "", "a refused run wrote \"%s\"", names);
}

Test(report_files, console_table)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f != NULL, "open_memstream: %s", strerror(errno));
	pc_report_console(run, f);
	fclose(f);
	cr_assert_neq(strstr(buf, "portchurn: churn & <burn>\n"), NULL, "console: no title:\n%s",
		      buf);
	cr_assert_neq(strstr(buf, "0.710          0.808  PASS"), NULL,
		      "console: passing row lacks p50/p99/PASS:\n%s", buf);
	cr_assert_neq(strstr(buf, "FAIL   bind == ok: measured EADDRINUSE 1/2\n"), NULL,
		      "console: failing row lacks its first failed expectation:\n%s", buf);
	cr_assert_neq(strstr(buf, "ERROR  cannot create netns"), NULL,
		      "console: error row lacks the environment error:\n%s", buf);
	cr_assert_neq(strstr(buf, "3 of 4 cases ran: 1 passed, 1 failed, 1 error, 1 not run; "
			     "interrupted: yes; netns: private\n"), NULL,
		      "console: totals line wrong:\n%s", buf);
	cr_assert_eq(strchr(buf, '\x01'), NULL, "console: control character printed");
	free(buf);
}

/* ---- a passing run ---- */

static void setup_passing(void)
{
	make_dir();
	write_reports(passing_run());
}

TestSuite(report_pass, .init = setup_passing, .fini = teardown, .timeout = 10);

Test(report_pass, verdicts_say_pass)
{
	json_t *root = load_json();
	char *md = slurp(path_in(dir, "summary.md"));
	char *xml = slurp(path_in(dir, "junit.xml"));

	expect_str(root, "verdict", "pass");
	cr_assert(json_is_false(at(root, "interrupted")),
		  "results.json: interrupted should be false");
	cr_assert_neq(strstr(md, "\n**PASS** — 2/2 cases held their expectations\n"), NULL,
		      "summary.md: no PASS line:\n%s", md);
	cr_assert_neq(strstr(xml, "tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\""), NULL,
		      "junit.xml: counts of a passing run wrong:\n%s", xml);
	json_decref(root);
	free(md);
	free(xml);
}

/* Every case that ran passed, but the run was cut short: the run fails. */
Test(report_pass, interrupted_run_fails)
{
	char err[512] = "", *md;
	json_t *root;

	run->interrupted = true;
	run->ncases = 1;   /* the second case never started */
	cr_assert_eq(pc_report_write_all(run, dir, err, sizeof(err)), 0, "rewrite failed: %s",
		     err);
	run->ncases = 2;   /* so .fini frees both cases */
	root = load_json();
	expect_str(root, "verdict", "fail");
	md = slurp(path_in(dir, "summary.md"));
	cr_assert_neq(strstr(md, "\n**FAIL** — 0 of 2 cases failed; 1 not run (interrupted)\n"),
		      NULL, "summary.md: an interrupted run must say FAIL:\n%s", md);
	json_decref(root);
	free(md);
}

/* ---- results directories ---- */

static void setup_dir(void)
{
	make_dir();
}

TestSuite(report_dirs, .init = setup_dir, .fini = teardown, .timeout = 10);

Test(report_dirs, prepare_and_link_latest)
{
	char root[128], out1[256], out2[256], want[256], link[256], err[512] = "", names[512];
	struct stat st;
	ssize_t n;
	int rc;

	snprintf(root, sizeof(root), "%s/a/b/results", dir);
	rc = pc_report_prepare_dir(root, "my scen/../x", "20250102T030405Z", out1, sizeof(out1),
				   err, sizeof(err));
	cr_assert_eq(rc, 0, "prepare_dir under %s failed: %d (%s)", root, rc, err);
	snprintf(want, sizeof(want), "%s/20250102T030405Z-my_scen_.._x", root);
	cr_assert_str_eq(out1, want, "prepare_dir made \"%s\", want \"%s\"", out1, want);
	cr_assert(stat(out1, &st) == 0 && S_ISDIR(st.st_mode), "%s is not a directory", out1);

	rc = pc_report_prepare_dir(root, "my scen/../x", "20250102T030405Z", out2, sizeof(out2),
				   err, sizeof(err));
	cr_assert_eq(rc, 0, "second prepare_dir failed: %d (%s)", rc, err);
	snprintf(want, sizeof(want), "%s/20250102T030405Z-my_scen_.._x.2", root);
	cr_assert_str_eq(out2, want, "second prepare_dir made \"%s\", want \"%s\"", out2, want);

	cr_assert_eq(pc_report_link_latest(root, out1), 0, "link_latest to %s failed", out1);
	snprintf(want, sizeof(want), "%s/latest", root);
	n = readlink(want, link, sizeof(link) - 1);
	cr_assert(n > 0, "%s is not a symlink: %s", want, strerror(errno));
	link[n] = '\0';
	cr_assert_str_eq(link, "20250102T030405Z-my_scen_.._x", "latest -> \"%s\"", link);

	cr_assert_eq(pc_report_link_latest(root, "20250102T030405Z-my_scen_.._x.2/"), 0,
		     "repointing latest failed");
	n = readlink(want, link, sizeof(link) - 1);
	cr_assert(n > 0, "latest vanished: %s", strerror(errno));
	link[n] = '\0';
	cr_assert_str_eq(link, "20250102T030405Z-my_scen_.._x.2", "latest -> \"%s\" after repoint",
			 link);
	cr_assert(stat(want, &st) == 0 && S_ISDIR(st.st_mode), "latest does not resolve to a dir");
	list_dir(root, names, sizeof(names));
	cr_assert_str_eq(names, "20250102T030405Z-my_scen_.._x,20250102T030405Z-my_scen_.._x.2,"
			 "latest", "results root holds \"%s\" (temp symlink left?)", names);
	cr_assert_eq(pc_report_link_latest(root, ".."), -EINVAL, "link_latest accepted \"..\"");
}

Test(report_dirs, prepare_dir_errors)
{
	char root[256], file[128], out[256], err[512] = "";
	FILE *f;
	int rc;

	snprintf(file, sizeof(file), "%s/plain", dir);
	f = fopen(file, "w");
	cr_assert(f != NULL, "cannot create %s", file);
	fclose(f);
	snprintf(root, sizeof(root), "%s/results", file);
	rc = pc_report_prepare_dir(root, "x", "20250102T030405Z", out, sizeof(out), err,
				   sizeof(err));
	cr_assert(rc == -ENOTDIR || rc == -EEXIST, "results root under a file gave %d (%s)", rc,
		  err);
	cr_assert_neq(strstr(err, "plain"), NULL, "message does not name the path: %s", err);
	rc = pc_report_prepare_dir(dir, "x", "", out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "an empty stamp gave %d, want -EINVAL", rc);
	rc = pc_report_prepare_dir(dir, "x", "20250102T030405Z", out, 8, err, sizeof(err));
	cr_assert_eq(rc, -ENAMETOOLONG, "a too small out_dir gave %d, want -ENAMETOOLONG", rc);
}

Test(report_dirs, unwritable_dir)
{
	char err[512] = "", names[512];
	struct pc_run *r;
	int rc;

	if (geteuid() == 0) {
		rm_rf(dir);   /* .fini does not run after a skip */
		cr_skip_test("running as root: directory permissions are not enforced");
	}
	r = failing_run();
	run = r;
	cr_assert_eq(chmod(dir, 0500), 0, "chmod %s: %s", dir, strerror(errno));
	rc = pc_report_write_all(r, dir, err, sizeof(err));
	chmod(dir, 0700);
	cr_assert_eq(rc, -EACCES, "write into a read-only dir returned %d, want -EACCES", rc);
	cr_assert_neq(strstr(err, "results.json"), NULL, "error message names no file: %s", err);
	list_dir(dir, names, sizeof(names));
	cr_assert_str_eq(names, "", "read-only dir got \"%s\"", names);
}

Test(report_dirs, writer_table)
{
	static const char *const names[] = { "json", "junit", "csv", "md", "tap" };

	for (size_t i = 0; i < NFILES; i++) {
		const struct pc_report_writer *w = pc_report_writer_find(names[i]);

		cr_assert(w != NULL, "writer '%s' not registered", names[i]);
		cr_assert_str_eq(w->file, report_files[i], "writer '%s' writes %s, want %s",
				 names[i], w->file, report_files[i]);
	}
	cr_assert_eq(pc_report_writer_find("yaml"), NULL, "unknown writer 'yaml' was found");
}

/* ---- helpers ---- */

/* Inline text, not pointers: Criterion may run each test in a fresh exec of
 * this binary, where a pointer from the parameter array means nothing. */
struct fmt_case {
	int64_t value_ns, unit_ns;
	char want[24];
};

ParameterizedTestParameters(report_fmt, fixed3)
{
	static struct fmt_case cases[] = {
		{ 0, 1000000, "0.000" },
		{ 1234567, 1000000, "1.235" },
		{ 1234499, 1000000, "1.234" },
		{ 999999999, 1000000, "1000.000" },
		{ -1500, 1000000, "-0.002" },
		{ -400, 1000000, "0.000" },
		{ 1500000000, 1000000000, "1.500" },
		{ 1234567890, 1000000000, "1.235" },
		{ INT64_MIN, 1000000, "-9223372036854.776" },
		{ INT64_MAX, 1000000, "9223372036854.776" },
	};

	return cr_make_param_array(struct fmt_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct fmt_case *c, report_fmt, fixed3, .timeout = 10)
{
	char buf[40];

	pc_report_fmt_fixed3(c->value_ns, c->unit_ns, buf, sizeof(buf));
	cr_assert_str_eq(buf, c->want, "fmt_fixed3(%lld, %lld) = \"%s\", want \"%s\"",
			 (long long)c->value_ns, (long long)c->unit_ns, buf, c->want);
}

Test(report_fmt, utf8_len, .timeout = 10)
{
	static const struct { const char *s; size_t want; } t[] = {
		{ "a", 1 }, { "\xc3\xa9", 2 }, { "\xe2\x80\x94", 3 }, { "\xf0\x9f\x98\x80", 4 },
		{ "\xff", 0 }, { "\x80", 0 }, { "\xc0\x80", 0 }, { "\xe0\x80\x80", 0 },
		{ "\xed\xa0\x80", 0 }, { "\xef\xbf\xbe", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xe2\x82", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_eq(pc_report_utf8_len(t[i].s), t[i].want,
			     "utf8_len of case %zu is %zu, want %zu", i,
			     pc_report_utf8_len(t[i].s), t[i].want);
}

/* ---- results.c ---- */

TestSuite(results, .timeout = 10);

Test(results, derived_figures)
{
	struct pc_cycle c = { 0 };

	bound_cycle(&c, 0);
	cr_assert_eq(pc_cycle_rebind_ns(&c), 610000, "rebind of a bound cycle: %lld",
		     (long long)pc_cycle_rebind_ns(&c));
	cr_assert_eq(pc_cycle_restart_ns(&c), 5610000, "restart of a bound cycle: %lld",
		     (long long)pc_cycle_restart_ns(&c));
	c.listen_ns = c.reaped_ns - 5;   /* overlap: listening before the old one was reaped */
	cr_assert_eq(pc_cycle_rebind_ns(&c), 0, "rebind before reap should be 0, not negative");
	c.bind_errno = EADDRINUSE;
	cr_assert_eq(pc_cycle_rebind_ns(&c), -1, "a failed bind has no rebind figure");
	c.first_ok_ns = 0;
	cr_assert_eq(pc_cycle_restart_ns(&c), -1, "no 200 means no restart figure");
}

Test(results, summarize_counts)
{
	struct pc_cycle cycles[5] = { 0 };
	struct pc_case_result r = { .cycles = cycles, .ncycles = 5 };

	for (int i = 0; i < 5; i++)
		bound_cycle(&cycles[i], i);
	cycles[1].bind_errno = EADDRINUSE;
	cycles[2].bind_errno = EACCES;
	cycles[3].bind_errno = EADDRINUSE;
	cycles[4] = (struct pc_cycle){ .index = 4, .error = "spawn failed" };  /* never bound */
	r.nerrors = 7;   /* stale values must be reset */
	pc_case_result_summarize(&r);
	cr_assert_eq(r.bind_ok, 1, "bind_ok = %d, want 1", r.bind_ok);
	cr_assert_eq(r.bind_failed, 3, "bind_failed = %d, want 3", r.bind_failed);
	cr_assert_eq(r.nerrors, 2, "nerrors = %d, want 2 kinds", r.nerrors);
	cr_assert(r.errors[0].err == EADDRINUSE && r.errors[0].count == 2,
		  "errors[0] = %s x%d, want EADDRINUSE x2", pc_errno_name(r.errors[0].err),
		  r.errors[0].count);
	cr_assert(r.errors[1].err == EACCES && r.errors[1].count == 1,
		  "errors[1] = %s x%d, want EACCES x1", pc_errno_name(r.errors[1].err),
		  r.errors[1].count);
	cr_assert_eq(r.rebind.n, 1, "rebind over %zu cycles, want 1", r.rebind.n);
	cr_assert_eq(r.rebind.p50, 610000, "rebind p50 %lld", (long long)r.rebind.p50);
	cr_assert_eq(r.restart.n, 4, "restart over %zu cycles, want the 4 with a 200",
		     r.restart.n);
}

Test(results, summarize_empty_and_free)
{
	struct pc_case_result r = { 0 };
	struct pc_run *empty = calloc(1, sizeof(*empty));

	pc_case_result_summarize(&r);
	cr_assert_eq(r.rebind.n + r.restart.n + (size_t)r.bind_ok + (size_t)r.bind_failed, 0,
		     "a case with no cycles should summarize to zeros");
	pc_run_free(NULL);
	pc_run_free(empty);   /* no scenario, no cases: must not crash */
}
