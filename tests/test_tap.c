/* test_tap.c -- results.tap (TAP version 14) from runs built as
 * results.json documents and read back with results_load: a passing case,
 * a failing one with a diagnosis, an environment error, and names that
 * need escaping; an interrupted run ends in "Bail out!". Then a real run
 * writes results.tap and `--format tap` prints it. */
#include "e2e.h"

#include "report.h"
#include "results_load.h"

#define MS 1000000LL

/* A cycle record: bound (errno "0") with the given rebind and restart, or
 * failed with errno. */
static json_t *record(int i, const char *err, int64_t rebind_ns, int64_t restart_ns)
{
	int64_t kill = 1000 * MS + i * 100 * MS, reaped = kill + 2 * MS;
	bool ok = !strcmp(err, "0");

	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:i}", "index", i,
			 "kill_ns", (json_int_t)kill, "reaped_ns", (json_int_t)reaped,
			 "spawn_ns", (json_int_t)(reaped + MS), "bind_ns", (json_int_t)(reaped + MS),
			 "listen_ns", (json_int_t)(ok ? reaped + rebind_ns : 0),
			 "first_ok_ns", (json_int_t)(ok ? kill + restart_ns : 0), "bind_errno", err,
			 "bind_attempts", 1);
}

static json_t *exp_json(const char *text, const char *status, const char *measured, int line)
{
	return json_pack("{s:s, s:s, s:s, s:i}", "text", text, "status", status, "measured",
			 measured, "line", line);
}

static json_t *case_json(const char *name, const char *verdict, json_t *records, json_t *exps,
			 const char *env_error)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "name", name, "old", "none",
			      "new", "none", "verdict", verdict, "records", records,
			      "expectations", exps ? exps : json_array());

	if (env_error)
		json_object_set_new(c, "env_error", json_string(env_error));
	return c;
}

static json_t *doc_json(json_t *cases, int planned, bool interrupted)
{
	return json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}, s:b, s:i, s:o}",
			 "schema", "portchurn/1", "scenario", "name", "tap # test", "file",
			 "t.ini", "netns", "private", "platform", "os", "Linux", "kernel", "6.1",
			 "interrupted", interrupted, "cases_planned", planned, "cases", cases);
}

static struct pc_run *run_of(json_t *doc)
{
	struct pc_run *run = NULL;
	char err[256];

	cr_assert_eq(pc_results_to_run(doc, &run, err, sizeof(err)), 0, "results: %s", err);
	json_decref(doc);
	return run;
}

/* pass, fail (bind = ok failed, with a diagnosis), error; one more planned. */
static struct pc_run *mixed_run(bool interrupted)
{
	json_t *pass = json_pack("[o, o]", record(0, "0", 610000, 5 * MS), record(1, "0", 710000,
				 6 * MS));
	json_t *fail = json_pack("[o, o]", record(0, "EADDRINUSE", 0, 0), record(1, "0", 900000,
				 7 * MS));
	json_t *fexps = json_pack("[o, o]", exp_json("bind = ok", "failed", "EADDRINUSE 1/2", 12),
				  exp_json("rebind_p99_ms < 20", "held", "0.900", 13));
	json_t *cases = json_array();
	struct pc_run *run;

	json_array_append_new(cases, case_json("old=reuseaddr new=reuseaddr", "pass", pass, NULL,
					       NULL));
	json_array_append_new(cases, case_json("a # hash \\ slash \"quoted\"", "fail", fail, fexps,
					       NULL));
	json_array_append_new(cases, case_json("env", "error", json_array(), NULL,
					       "netns refused\n\"x\"\x01"));
	run = run_of(doc_json(cases, 4, interrupted));
	snprintf(run->cases[1].cycles[0].diagnosis, sizeof(run->cases[1].cycles[0].diagnosis),
		 "blocked by 4 TIME_WAIT sockets");
	pc_case_result_summarize(&run->cases[1]);
	return run;
}

static char *tap_of(const struct pc_run *run)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert(f != NULL);
	cr_assert_eq(pc_report_tap(run, f), 0, "the TAP writer failed");
	fclose(f);
	return text;
}

Test(tap, plan_points_and_yaml, .timeout = 10)
{
	struct pc_run *run = mixed_run(false);
	char *t = tap_of(run);

	cr_assert(!strncmp(t, "TAP version 14\n1..4\n", 20), "header and plan:\n%s", t);
	cr_assert(strstr(t, "\nok 1 - old=reuseaddr new=reuseaddr\n"), "passing point:\n%s", t);
	cr_assert(strstr(t, "\nnot ok 2 - a \\# hash \\\\ slash \"quoted\"\n"),
		  "failing point with # and \\ escaped:\n%s", t);
	cr_assert(strstr(t, "\n  ---\n  message: \"1 of 2 expectations failed\"\n  severity: fail\n"
			 "  failed:\n    - expectation: \"bind = ok\"\n      line: 12\n"
			 "      measured: \"EADDRINUSE 1/2\"\n"), "YAML of the failure:\n%s", t);
	cr_assert(strstr(t, "  diagnosis: \"blocked by 4 TIME_WAIT sockets\"\n"), "diagnosis:\n%s",
		  t);
	cr_assert(strstr(t, "  bind: {ok: 1, failed: 1}\n  bind_errors: {EADDRINUSE: 1}\n"),
		  "bind counts:\n%s", t);
	cr_assert(strstr(t, "  rebind_ms: {p50: 0.900, p99: 0.900}\n"), "rebind figures:\n%s", t);
	cr_assert(strstr(t, "\nnot ok 3 - env\n  ---\n  message: \"environment error\"\n"
			 "  severity: error\n"), "error point:\n%s", t);
	cr_assert(strstr(t, "  env_error: \"netns refused\\n\\\"x\\\"\\x01\"\n"),
		  "YAML string escapes:\n%s", t);
	cr_assert_eq(strstr(t, "\nok 4"), NULL, "the case that did not run has no point:\n%s", t);
	cr_assert(strstr(t, "\n# 3 of 4 cases ran: 1 passed, 1 failed, 1 error; netns: private\n"
			 "Bail out! stopped early: 3 of 4 cases ran\n"),
		  "a case missing: the plan cannot be met, so bail out:\n%s", t);
	free(t);
	pc_run_free(run);
}

Test(tap, interrupted_run_bails_out, .timeout = 10)
{
	struct pc_run *run = mixed_run(true);
	char *t = tap_of(run);
	size_t n = strlen(t);

	cr_assert(strstr(t, "\nBail out! interrupted: 3 of 4 cases ran\n"), "bail out:\n%s", t);
	cr_assert(!strcmp(t + n - strlen("Bail out! interrupted: 3 of 4 cases ran\n"),
			  "Bail out! interrupted: 3 of 4 cases ran\n"), "bail out is last:\n%s", t);
	free(t);
	pc_run_free(run);
}

/* Bytes that are not UTF-8 must not reach a TAP consumer. */
Test(tap, invalid_utf8_becomes_question_mark, .timeout = 10)
{
	struct pc_run *run = mixed_run(false);
	char *t;

	snprintf(run->scenario->cases[0].name, PC_CASE_NAME_MAX, "bad \xff\xfe name");
	t = tap_of(run);
	cr_assert(strstr(t, "\nok 1 - bad ?? name\n"), "invalid bytes kept:\n%s", t);
	free(t);
	pc_run_free(run);
}

/* Each YAML block is indented two spaces, opens with --- and closes with
 * ..., right after its test point: what TAP 14 consumers look for. */
Test(tap, yaml_blocks_are_well_placed, .timeout = 10)
{
	struct pc_run *run = mixed_run(false);
	char *t = tap_of(run), *line, *save = NULL;
	bool in_yaml = false, after_point = false;
	int blocks = 0;

	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "  ---")) {
			cr_assert(after_point && !in_yaml, "--- not right after a test point");
			in_yaml = true;
			blocks++;
		} else if (!strcmp(line, "  ...")) {
			cr_assert(in_yaml, "... without ---");
			in_yaml = false;
		} else if (in_yaml) {
			cr_assert(!strncmp(line, "  ", 2), "YAML line not indented: '%s'", line);
		}
		after_point = !strncmp(line, "not ok ", 7);
	}
	cr_assert(!in_yaml, "an open YAML block");
	cr_assert_eq(blocks, 2, "one block per case that did not pass, not %d", blocks);
	free(t);
	pc_run_free(run);
}

Test(tap, real_run_writes_tap_and_prints_it, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", "--format", "tap",
			       "--charts", "off", NULL };
	struct e2e t;
	char want[64];

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = tap\ncycles = 2\n[matrix]\nopts = none, "
		  "reuseaddr\n[expect]\nbind = ok\n");
	cr_assert_eq(e2e_run(&t, args, 60000), 1, "exit %d, want 1 (one case fails)", t.status);
	cr_assert(!strncmp(e2e_read(&t, "stdout"), "TAP version 14\n1..2\n", 20),
		  "stdout is TAP and only TAP:\n%s", e2e_read(&t, "stdout"));
	cr_assert(strstr(e2e_read(&t, "stdout"), "not ok 1 - old=none new=none\n"),
		  "%s", e2e_read(&t, "stdout"));
	cr_assert(strstr(e2e_read(&t, "stdout"), "ok 2 - old=reuseaddr new=reuseaddr\n"),
		  "%s", e2e_read(&t, "stdout"));
	cr_assert(strstr(e2e_read(&t, "stderr"), "FAIL"), "the table went to stderr");
	snprintf(want, sizeof(want), "measured: \"EADDRINUSE 2/2\"");
	cr_assert(strstr(e2e_read(&t, "out/results.tap"), want), "results.tap: %s",
		  e2e_read(&t, "out/results.tap"));
	e2e_assert_no_leftovers(&t);
}
