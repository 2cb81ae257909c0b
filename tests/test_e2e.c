/* End to end: the real portchurn runs the real pc-fixture on real sockets.
 * Each run gets a private network namespace where the machine allows it, so
 * parallel tests never share ports; the one test that needs the host's
 * network asks the kernel for a free port. */
#include "e2e.h"

#include "caps.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define RUN_TIMEOUT_MS 60000

static const char timewait_ini[] =
	"[scenario]\nname = tw\ncycles = 3\nrequests = 3\nclose_first = server\n"
	"[matrix]\nopts = none, reuseaddr\n"
	"[expect]\nbind = any\n";

Test(e2e, timewait_blocks_plain_bind_not_reuseaddr_on_both, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	struct e2e t;
	json_t *r, *none, *reuse, *rec;

	e2e_init(&t);
	e2e_write(&t, "s.ini", timewait_ini);
	cr_assert(e2e_run(&t, args, RUN_TIMEOUT_MS) == 0, "exit %d: %s", t.status,
		  e2e_read(&t, "stderr"));
	r = e2e_json(&t, "out/results.json");
	cr_assert_str_eq(json_string_value(json_object_get(r, "schema")), "portchurn/1");
	none = e2e_case(r, 0);
	reuse = e2e_case(r, 1);
	cr_assert_str_eq(json_string_value(json_object_get(none, "name")), "old=none new=none");
	cr_assert(e2e_int(none, "bind.failed") == 3, "no SO_REUSEADDR: every rebind must fail");
	cr_assert(e2e_int(none, "bind.errors.EADDRINUSE") == 3, "the failures are EADDRINUSE");
	cr_assert(e2e_int(reuse, "bind.ok") == 3, "SO_REUSEADDR on both: every rebind works");
	if (json_is_object(json_object_get(json_object_get(none, "census_max"), "at_bind")))
		cr_assert(strstr(json_string_value(json_object_get(none, "diagnosis")),
				 "TIME_WAIT sockets left by the old generation"),
			  "diagnosis: %s", json_string_value(json_object_get(none, "diagnosis")));
	cr_assert(json_is_null(json_object_get(reuse, "diagnosis")), "no failed bind, no diagnosis");
	rec = json_array_get(json_object_get(none, "records"), 0);
	if (json_is_object(json_object_get(rec, "at_kill")))
		cr_assert(e2e_int(rec, "at_kill.time_wait") >= 3,
			  "3 requests closed by the server leave >= 3 TIME_WAIT sockets");
	rec = json_array_get(json_object_get(reuse, "records"), 2);
	cr_assert(e2e_int(rec, "listen_ns") > e2e_int(rec, "reaped_ns"),
		  "the new generation listens after the old one was reaped");
	cr_assert(e2e_int(rec, "first_ok_ns") >= e2e_int(rec, "listen_ns"),
		  "the first HTTP 200 comes after listen()");
	json_decref(r);
	cr_assert(strstr(e2e_read(&t, "out/junit.xml"), "<testcase") != NULL, "junit.xml written");
	cr_assert(strstr(e2e_read(&t, "out/cycles.csv"), "old=reuseaddr new=reuseaddr") != NULL);
	cr_assert(strstr(e2e_read(&t, "out/summary.md"), "| old=none new=none |") != NULL,
		  "summary.md has a row per case");
	e2e_assert_no_leftovers(&t);
}

Test(e2e, failed_expectation_exits_1_and_says_what, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	struct e2e t;
	json_t *r, *exp;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = f\ncycles = 2\n[expect]\nbind = ok\n");
	cr_assert(e2e_run(&t, args, RUN_TIMEOUT_MS) == 1, "exit %d, want 1", t.status);
	r = e2e_json(&t, "out/results.json");
	cr_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "fail");
	exp = json_array_get(json_object_get(e2e_case(r, 0), "expectations"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(exp, "status")), "failed");
	cr_assert(strstr(json_string_value(json_object_get(exp, "measured")), "EADDRINUSE 2/2"),
		  "measured: %s", json_string_value(json_object_get(exp, "measured")));
	cr_assert(strstr(e2e_read(&t, "stdout"), "FAIL") != NULL, "the table says FAIL");
	json_decref(r);
	e2e_assert_no_leftovers(&t);
}

Test(e2e, graceful_sigterm_exits_zero, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	struct e2e t;
	json_t *r, *recs;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = term\ncycles = 3\nsignal = TERM\n"
		  "opts = reuseaddr\nclose_first = client\n[expect]\nbind = ok\nescalated = 0\n");
	cr_assert(e2e_run(&t, args, RUN_TIMEOUT_MS) == 0, "exit %d: %s %s", t.status,
		  e2e_read(&t, "stderr"), e2e_read(&t, "stdout"));
	r = e2e_json(&t, "out/results.json");
	recs = json_object_get(e2e_case(r, 0), "records");
	cr_assert(json_array_size(recs) == 3);
	for (size_t i = 0; i < 3; i++)
		cr_assert(e2e_int(json_array_get(recs, i), "old_exit") == 0,
			  "cycle %zu: SIGTERM must end the fixture with status 0", i);
	json_decref(r);
	e2e_assert_no_leftovers(&t);
}

Test(e2e, leaked_child_holds_the_port_and_is_cleaned_up, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	struct e2e t;
	json_t *r, *c, *rec;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = leak\ncycles = 2\nleak_child = yes\n"
		  "opts = reuseaddr\n[expect]\nbind = eaddrinuse\nleaked = 2\n");
	cr_assert(e2e_run(&t, args, RUN_TIMEOUT_MS) == 0, "exit %d: %s", t.status,
		  e2e_read(&t, "stdout"));
	r = e2e_json(&t, "out/results.json");
	c = e2e_case(r, 0);
	cr_assert(e2e_int(c, "bind.errors.EADDRINUSE") == 2,
		  "the orphaned child's listener blocks every new generation");
	rec = json_array_get(json_object_get(c, "records"), 0);
	cr_assert(e2e_int(rec, "leaked") == 1, "one leaked process per killed generation");
	if (json_is_object(json_object_get(rec, "at_bind"))) {
		cr_assert(e2e_int(rec, "at_bind.listen") >= 1, "the census sees the orphan's LISTEN");
		cr_assert(strstr(json_string_value(json_object_get(rec, "diagnosis")),
				 "orphaned child of the killed generation"),
			  "diagnosis: %s", json_string_value(json_object_get(rec, "diagnosis")));
	}
	json_decref(r);
	e2e_assert_no_leftovers(&t);
}

/* SIGINT in the middle of a long run: exit 130, valid partial reports
 * marked interrupted, and no fixture left behind. */
Test(e2e, sigint_leaves_partial_reports_and_no_process, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	struct e2e t;
	json_t *r;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = long\ncycles = 100000\nopts = reuseaddr\n"
		  "leak_child = yes\n[matrix]\nsignal = TERM, KILL\n[expect]\nbind = any\n");
	e2e_start(&t, args);
	/* wait (bounded) until portchurn and a fixture run (both are tagged) */
	int alive = 0;

	for (int i = 0; i < 2000 && (alive = e2e_tagged_alive(&t)) < 2; i++)
		e2e_sleep_ms(5);
	cr_assert(alive >= 2, "no fixture was started");
	kill(t.pid, SIGINT);
	cr_assert(e2e_wait(&t, 20000) == 130, "exit %d, want 130: %s", t.status,
		  e2e_read(&t, "stderr"));
	r = e2e_json(&t, "out/results.json");
	cr_assert(json_is_true(json_object_get(r, "interrupted")), "marked interrupted");
	cr_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "fail");
	json_decref(r);
	cr_assert(strstr(e2e_read(&t, "out/junit.xml"), "</testsuites>") != NULL,
		  "junit.xml is complete");
	e2e_assert_no_leftovers(&t);
}

Test(e2e, scenario_error_exits_2_with_file_and_line, .timeout = 30)
{
	const char *args[] = { "run", "@/bad.ini", "--out", "@/out", "-q", NULL };
	char want[200];
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "bad.ini", "[scenario]\ncycles = 2\n\n[matrix]\nold = none, sometimes\n");
	cr_assert(e2e_run(&t, args, 10000) == 2, "exit %d, want 2", t.status);
	snprintf(want, sizeof(want), "%s/bad.ini:5: unknown socket option 'sometimes'", t.dir);
	cr_assert(strstr(e2e_read(&t, "stderr"), want) != NULL, "stderr: %s",
		  e2e_read(&t, "stderr"));
	cr_assert(access(strcat(strcpy(want, t.dir), "/out/results.json"), F_OK) != 0,
		  "a bad scenario must not start a partial run");
}

struct usage_case {
	char args[4][32];
	char message[64];
};

ParameterizedTestParameters(e2e, usage_errors)
{
	static struct usage_case cases[] = {
		{ { "run", "--cycles", "0" }, "--cycles needs a number" },
		{ { "run", "--netns", "maybe" }, "--netns takes auto, on or off" },
		{ { "run", "--bogus" }, "unknown or incomplete option '--bogus'" },
		{ { "run", "--case", "nothing-matches-this" }, "no case matches" },
		{ { "frobnicate" }, "unknown command 'frobnicate'" },
		{ { "list", "/nonexistent.ini" }, "/nonexistent.ini: No such file" },
	};
	return cr_make_param_array(struct usage_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct usage_case *c, e2e, usage_errors, .timeout = 30)
{
	const char *args[6] = { 0 };
	const char *err;
	struct e2e t;
	int n = 0;

	for (; n < 4 && c->args[n][0]; n++)
		args[n] = c->args[n];
	e2e_init(&t);
	cr_assert(e2e_run(&t, args, 10000) == 2, "%s: exit %d, want 2", c->args[0], t.status);
	err = e2e_read(&t, "stderr");
	cr_assert(strstr(err, c->message) != NULL, "stderr '%s' should say '%s'", err, c->message);
	cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "one line: '%s'", err);
}

Test(e2e, list_prints_the_cases, .timeout = 30)
{
	const char *args[] = { "list", "@/s.ini", NULL };
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "s.ini", timewait_ini);
	cr_assert(e2e_run(&t, args, 10000) == 0);
	cr_assert_str_eq(e2e_read(&t, "stdout"), "old=none new=none\nold=reuseaddr new=reuseaddr\n");
}

/* A port held by a process portchurn did not start: exit 3, the holder
 * named, and the holder left alone. Needs the host's network, so the
 * kernel picks the port. */
Test(e2e, foreign_listener_is_named_and_left_alone, .timeout = 60)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", "--netns", "off", NULL };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char ini[256], pid[32];
	struct e2e t;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	e2e_init(&t);
	snprintf(ini, sizeof(ini), "[scenario]\nname = foreign\ncycles = 1\nport = %d\n",
		 ntohs(a.sin_port));
	e2e_write(&t, "s.ini", ini);
	cr_assert(e2e_run(&t, args, 30000) == 3, "exit %d, want 3: %s", t.status,
		  e2e_read(&t, "stderr"));
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	cr_assert(strstr(e2e_read(&t, "stderr"), pid) != NULL, "stderr should name %s: %s", pid,
		  e2e_read(&t, "stderr"));
	cr_assert(listen(fd, 1) == 0, "our listener is still ours");
	close(fd);
}

Test(e2e, results_name_the_isolation_mode, .timeout = 60)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", "--netns", "on", NULL };
	struct e2e t;
	json_t *r;

	if (geteuid() != 0)
		cr_skip_test("--netns on needs root or user namespaces; not asserted here");
	if (!caps_netns())
		cr_skip_test("--netns on needs network namespaces; this build has none");
	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = ns\ncycles = 1\nopts = reuseaddr\n");
	cr_assert(e2e_run(&t, args, 30000) == 0, "exit %d: %s", t.status, e2e_read(&t, "stderr"));
	r = e2e_json(&t, "out/results.json");
	cr_assert_str_eq(json_string_value(json_object_get(r, "netns")), "private");
	json_decref(r);
}

/* Every --flag in the help texts is in the man page, and the other way round. */
static void flags_of(const char *text, char flags[][32], int *n)
{
	for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
		int len = 2;

		while (p[len] == '-' || (p[len] >= 'a' && p[len] <= 'z'))
			len++;
		if (len > 2 && *n < 64)
			snprintf(flags[(*n)++], 32, "%.*s", len, p);
	}
}

Test(e2e, help_and_man_page_agree, .timeout = 30)
{
	const char *topics[] = { "--help", "run", "list", "inspect" };
	char help[1 << 14] = "", man[1 << 16], flags[64][32], path[512];
	int nhelp = 0, nman = 0;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		const char *args[] = { "help", topics[i], NULL };
		struct e2e t;

		e2e_init(&t);
		cr_assert(e2e_run(&t, args, 10000) == 0);
		strncat(help, e2e_read(&t, "stdout"), sizeof(help) - strlen(help) - 1);
	}
	snprintf(path, sizeof(path), "%s/doc/portchurn.1", PC_SOURCE_DIR);
	f = fopen(path, "r");
	cr_assert(f != NULL, "%s", path);
	for (int c; (c = fgetc(f)) != EOF && len < sizeof(man) - 1;)
		if (c != '\\')
			man[len++] = (char)c;
	man[len] = '\0';
	fclose(f);
	flags_of(help, flags, &nhelp);
	cr_assert(nhelp > 5, "found %d flags in the help texts", nhelp);
	for (int i = 0; i < nhelp; i++)
		cr_assert(strstr(man, flags[i]) != NULL, "%s is in --help but not in portchurn.1",
			  flags[i]);
	flags_of(man, flags, &nman);
	for (int i = 0; i < nman; i++)
		cr_assert(strstr(help, flags[i]) != NULL, "%s is in portchurn.1 but not in --help",
			  flags[i]);
}

/* Every shipped scenario holds the expectations written into it (they were
 * measured on Linux; elsewhere the platform sections do not apply). */
struct shipped {
	char file[32];
};

ParameterizedTestParameters(e2e, shipped_scenarios_hold)
{
	static struct shipped files[] = {
		{ "default.ini" }, { "seed-claims.ini" }, { "client-closes.ini" },
		{ "fin-wait.ini" }, { "opts-timing.ini" }, { "reload-child.ini" },
		{ "zero-downtime.ini" },
	};
	return cr_make_param_array(struct shipped, files, sizeof(files) / sizeof(files[0]));
}

ParameterizedTest(struct shipped *s, e2e, shipped_scenarios_hold, .timeout = 120)
{
	char path[512];
	const char *args[] = { "run", path, "--out", "@/out", "-q", NULL };
	struct e2e t;

	if (!strcmp(s->file, "zero-downtime.ini") && !caps_netns())
		cr_skip_test("zero-downtime.ini sets tcp_migrate_req, which portchurn does only in "
			     "a network namespace of its own; this build has none");
	snprintf(path, sizeof(path), "%s/scenarios/%s", getenv("PC_SOURCE_DIR"), s->file);
	e2e_init(&t);
	cr_assert(e2e_run(&t, args, 100000) == 0, "%s: exit %d\n%s%s", s->file, t.status,
		  e2e_read(&t, "stdout"), e2e_read(&t, "stderr"));
	e2e_assert_no_leftovers(&t);
}

/* Under load: handoff with a graceful drain loses no request; naive
 * refuses some (the port is closed between two generations). */
static json_t *run_loaded(struct e2e *t, const char *strategy)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	char ini[400];

	snprintf(ini, sizeof(ini), "[scenario]\nname = load\ncycles = 5\nopts = reuseaddr\n"
		 "requests = 0\nclients = 4\nkeepalive = no\nrate = 2000\nsteady_ms = 50\n"
		 "signal = TERM\nstrategy = %s\n[expect]\nbind = ok\n", strategy);
	e2e_init(t);
	e2e_write(t, "s.ini", ini);
	cr_assert(e2e_run(t, args, RUN_TIMEOUT_MS) == 0, "%s: exit %d: %s", strategy, t->status,
		  e2e_read(t, "stderr"));
	e2e_assert_no_leftovers(t);
	return e2e_json(t, "out/results.json");
}

Test(e2e, handoff_under_load_loses_no_request, .timeout = 90)
{
	struct e2e t;
	json_t *r = run_loaded(&t, "handoff"), *c = e2e_case(r, 0);

	cr_assert_str_eq(json_string_value(json_object_get(c, "strategy")), "handoff");
	cr_assert(e2e_int(c, "load.outcomes.ok") > 100, "the load ran: %lld ok",
		  e2e_int(c, "load.outcomes.ok"));
	cr_assert(e2e_int(c, "load.outcomes.refused") == 0 && e2e_int(c, "load.outcomes.reset") == 0 &&
		  e2e_int(c, "load.outcomes.timeout") == 0 && e2e_int(c, "load.outcomes.other") == 0,
		  "handoff + SIGTERM lost requests: %lld refused, %lld reset, %lld timeout",
		  e2e_int(c, "load.outcomes.refused"), e2e_int(c, "load.outcomes.reset"),
		  e2e_int(c, "load.outcomes.timeout"));
	json_decref(r);
}

Test(e2e, naive_under_load_refuses, .timeout = 90)
{
	struct e2e t;
	json_t *r = run_loaded(&t, "naive"), *c = e2e_case(r, 0), *rec;
	long long per_cycle = 0;

	cr_assert(e2e_int(c, "load.outcomes.refused") > 0,
		  "5 naive restarts under 2000 requests/s refused nothing");
	for (size_t i = 0; (rec = json_array_get(json_object_get(c, "records"), i)); i++)
		per_cycle += e2e_int(rec, "load.refused");
	cr_assert(per_cycle == e2e_int(c, "load.outcomes.refused"),
		  "per-cycle refused (%lld) add up to the case's", per_cycle);
	json_decref(r);
}

/* More TIME_WAIT sockets than a small namespace allows by default (2048):
 * past that limit the kernel would close without TIME_WAIT and binds that
 * must fail would succeed. 600 failing cycles leave about 2400. */
Test(e2e, time_wait_beyond_the_namespace_default_limit, .timeout = 240)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", "--charts", "off", NULL };
	struct e2e t;
	json_t *r;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = many-tw\ncycles = 600\nrequests = 4\n"
		  "[expect]\nbind = eaddrinuse\n");
	cr_assert(e2e_run(&t, args, 200000) == 0, "exit %d: %s", t.status,
		  e2e_read(&t, "stdout"));
	r = e2e_json(&t, "out/results.json");
	cr_assert(e2e_int(e2e_case(r, 0), "bind.errors.EADDRINUSE") == 600,
		  "every one of 600 rebinds over TIME_WAIT failed");
	json_decref(r);
}
