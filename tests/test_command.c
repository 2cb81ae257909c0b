/* Any command as a fixture, end to end: readiness by HTTP probe, failed
 * starts classified from evidence, an orphan that keeps the port diagnosed
 * and cleaned up, and real uvicorn --reload. pc-fixture serves as "any
 * command" where a fast, dependency-free server will do. */
#include "e2e.h"

#include "caps.h"

#define RUN_MS 60000

static json_t *run_ini(struct e2e *t, const char *ini, int want)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };

	e2e_init(t);
	e2e_write(t, "s.ini", ini);
	cr_assert(e2e_run(t, args, RUN_MS) == want, "exit %d, want %d\n%s%s", t->status, want,
		  e2e_read(t, "stdout"), e2e_read(t, "stderr"));
	e2e_assert_no_leftovers(t);
	return e2e_json(t, "out/results.json");
}

/* An orphan or an escaped child is portchurn's to find and end as a child
 * of its subreaper; the POSIX-only build has none. */
static void need_subreaper(void)
{
	if (!caps_supervisor_has("subreaper"))
		cr_skip_test("needs a subreaper (an orphan must become portchurn's child); "
			     "this build has none");
}

static const char *fixture(void)
{
	const char *p = getenv("PC_FIXTURE");

	if (!p)
		cr_skip_test("PC_FIXTURE is not set (run through ctest)");
	return p;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

Test(command, ready_by_http_probe, .timeout = 90)
{
	char ini[600];
	struct e2e t;
	json_t *r, *c;

	snprintf(ini, sizeof(ini), "[scenario]\nname = cmd\ncycles = 3\nrequests = 2\n"
		 "command = %s --opts reuseaddr --addr {addr} --port {port}\n"
		 "[expect]\nbind = ok\n", fixture());
	r = run_ini(&t, ini, 0);
	c = e2e_case(r, 0);
	cr_assert(e2e_int(c, "bind.ok") == 3, "every restart came up, by probe alone");
	cr_assert(strstr(str(c, "name"), "command=pc-fixture --opts reuseaddr") != NULL,
		  "the case is named by its command: %s", str(c, "name"));
	cr_assert(e2e_int(c, "restart_ns.n") == 3);
	json_decref(r);
}

Test(command, orphan_keeps_the_port_and_is_diagnosed, .timeout = 90)
{
	char ini[600];
	struct e2e t;
	json_t *r, *c;

	need_subreaper();

	snprintf(ini, sizeof(ini), "[scenario]\nname = orphan\ncycles = 2\nsignal = KILL\n"
		 "command = %s --leak-child --opts reuseaddr --addr {addr} --port {port}\n"
		 "ready_timeout_ms = 5000\n[expect]\nbind = eaddrinuse\nleaked = 2\n", fixture());
	r = run_ini(&t, ini, 0);
	c = e2e_case(r, 0);
	cr_assert(strstr(str(json_array_get(json_object_get(c, "records"), 0), "error"),
			 "EADDRINUSE") != NULL, "the failed start's own words are kept");
	cr_assert(strstr(str(c, "start_output"), "EADDRINUSE") != NULL, "start_output: %s",
		  str(c, "start_output"));
	if (json_is_object(json_object_get(json_object_get(c, "census_max"), "at_bind")))
		cr_assert(strstr(str(c, "diagnosis"), "orphaned child of the killed generation"),
			  "diagnosis: %s", str(c, "diagnosis"));
	json_decref(r);
}

Test(command, deadline_and_exit_are_told_apart, .timeout = 90)
{
	struct e2e t;
	json_t *r;

	r = run_ini(&t, "[scenario]\nname = slow\ncycles = 1\nready_timeout_ms = 300\n"
		    "[matrix]\ncommand = sleep 30 {port}, sh -c 'echo boom >&2 && exit 7' {port}\n"
		    "[expect]\nbind = any\n", 3);
	/* neither first generation came up: an environment error, told apart */
	cr_assert(strstr(e2e_read(&t, "stderr"), "no answer on /health within 300 ms"),
		  "the deadline is named: %s", e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "stderr"), "exited with status 7 before answering: boom"),
		  "the exit and its words are named: %s", e2e_read(&t, "stderr"));
	json_decref(r);
}

Test(command, uvicorn_reload_orphan_diagnosed_and_cleaned_up, .timeout = 120)
{
	char ini[700];
	struct e2e t;
	json_t *r, *c;

	need_subreaper();

	if (system("/usr/bin/python3 -c 'import uvicorn' 2>/dev/null") != 0)
		cr_skip_test("python3-uvicorn is not installed (ci/setup installs it)");
	snprintf(ini, sizeof(ini), "[scenario]\nname = reload\ncycles = 1\nsignal = KILL\n"
		 "command = /usr/bin/python3 -m uvicorn app:app --reload --host {addr} "
		 "--port {port}\ncwd = %s/fixtures/uvicorn\nclose_first = client\nrequests = 1\n"
		 "ready_timeout_ms = 30000\n[expect]\nbind = eaddrinuse\n", getenv("PC_SOURCE_DIR"));
	r = run_ini(&t, ini, 0);   /* run_ini also checks nothing is left alive */
	c = e2e_case(r, 0);
	cr_assert(strstr(str(c, "start_output"), "Address already in use") != NULL,
		  "uvicorn's own message is kept: %s", str(c, "start_output"));
	if (json_is_object(json_object_get(json_object_get(c, "census_max"), "at_bind")))
		cr_assert(strstr(str(c, "diagnosis"), "python3") &&
			  strstr(str(c, "diagnosis"), "orphaned child of the killed generation"),
			  "diagnosis: %s", str(c, "diagnosis"));
	json_decref(r);
}

/* inject: the probe sets options a server does not set, before its bind().
 * pc-fixture --opts none sets none: over its own TIME_WAIT it cannot
 * rebind, unless both generations get SO_REUSEADDR or SO_LINGER(1,0). */
Test(command, inject_changes_the_outcome_over_time_wait, .timeout = 90)
{
	char ini[700];
	struct e2e t;
	json_t *r;

	if (!getenv("PC_PRELOAD"))
		cr_skip_test("PC_PRELOAD is not set (run through ctest)");
	snprintf(ini, sizeof(ini), "[scenario]\nname = inject\ncycles = 3\nrequests = 3\n"
		 "close_first = server\ncommand = %s --opts none --close-first server "
		 "--addr {addr} --port {port}\n[matrix]\ninject = none, reuseaddr, linger=0\n"
		 "[expect]\nbind = ok\n[expect inject=none]\nbind = eaddrinuse\n", fixture());
	r = run_ini(&t, ini, 0);
	cr_assert(strstr(str(e2e_case(r, 1), "socket_setup"), "inject SO_REUSEADDR=1") ||
		  strstr(str(e2e_case(r, 1), "socket_setup"), "SO_REUSEADDR"),
		  "the probe reports what it injected: %s", str(e2e_case(r, 1), "socket_setup"));
	json_decref(r);
}

Test(command, probe_records_uvicorn_socket_calls, .timeout = 120)
{
	char ini[700];
	struct e2e t;
	json_t *r;
	const char *setup;

	if (system("/usr/bin/python3 -c 'import uvicorn' 2>/dev/null") != 0)
		cr_skip_test("python3-uvicorn is not installed (ci/setup installs it)");
	snprintf(ini, sizeof(ini), "[scenario]\nname = uv\ncycles = 1\nclose_first = client\n"
		 "command = /usr/bin/python3 -m uvicorn app:app --host {addr} --port {port}\n"
		 "cwd = %s/fixtures/uvicorn\nready_timeout_ms = 30000\n[expect]\nbind = ok\n",
		 getenv("PC_SOURCE_DIR"));
	r = run_ini(&t, ini, 0);
	setup = str(e2e_case(r, 0), "socket_setup");
	cr_assert(strstr(setup, "setsockopt SO_REUSEADDR=1 before bind") &&
		  strstr(setup, "bind port") && strstr(setup, "listen backlog"),
		  "uvicorn's own socket calls, in order: %s", setup);
	json_decref(r);
}

/* A command that exits soon after leaving a child holding the port in a
 * session of its own: the child outlives every group portchurn kills and,
 * left alone, init would adopt it when portchurn exits. It is ended too. */
Test(command, escaped_child_of_an_exited_command_is_ended, .timeout = 90)
{
	char ini[900];
	struct e2e t;
	json_t *r;

	need_subreaper();

	snprintf(ini, sizeof(ini), "[scenario]\nname = escape-fail\ncycles = 1\n"
		 "command = sh -c 'setsid %s --opts reuseaddr --addr {addr} --port {port} & "
		 "sleep 0.3 && exit 3' {port}\nready_timeout_ms = 3000\n", fixture());
	r = run_ini(&t, ini, 0);   /* run_ini: nothing tagged is left alive */
	json_decref(r);
}

/* A child that left the generation's process group (setsid) and holds the
 * port: found through the census, diagnosed as ours, and ended because
 * portchurn started its ancestor. */
Test(command, escaped_child_is_found_and_ended, .timeout = 90)
{
	char ini[900];
	struct e2e t;
	json_t *r, *c;

	need_subreaper();

	snprintf(ini, sizeof(ini), "[scenario]\nname = escape\ncycles = 2\nsignal = KILL\n"
		 "command = sh -c 'setsid %s --opts reuseaddr --addr {addr} --port {port} & "
		 "sleep 1000' {port}\nready_timeout_ms = 5000\n[expect]\nbind = any\n", fixture());
	r = run_ini(&t, ini, 0);   /* run_ini: nothing tagged is left */
	c = e2e_case(r, 0);
	cr_assert(e2e_int(json_array_get(json_object_get(c, "records"), 0), "escaped") >= 1 ||
		  e2e_int(c, "bind.failed") == 0,
		  "an escaped listener was ended (escaped) or never blocked anything");
	if (e2e_int(c, "bind.failed") > 0 &&
	    json_is_object(json_object_get(json_object_get(c, "census_max"), "at_bind")))
		cr_assert(strstr(str(c, "diagnosis"), "orphaned child of the killed generation"),
			  "the escapee is ours, not a foreign process: %s", str(c, "diagnosis"));
	json_decref(r);
}
