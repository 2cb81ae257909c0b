/* Scenario files: every error path names file and line; matrix expansion,
 * case names and expectation selection. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "scenario.h"

struct bad_case {
	char text[300];
	char where[24];     /* "t.ini:3:" */
	char message[80];   /* a substring of the message */
};

ParameterizedTestParameters(scenario, errors)
{
	static struct bad_case cases[] = {
		{ "[scenario]\nbogus = 1\n", "t.ini:2:", "unknown key 'bogus'" },
		{ "[scenario]\ncycles = 0\n", "t.ini:2:", "bad cycles '0'" },
		{ "[scenario]\ncycles = ten\n", "t.ini:2:", "bad cycles" },
		{ "[scenario]\nsignal = STOP\n", "t.ini:2:", "bad signal 'STOP'" },
		{ "[scenario]\nclose_first = both\n", "t.ini:2:", "bad close_first" },
		{ "[scenario]\nopts_at = sometimes\n", "t.ini:2:", "bad opts_at" },
		{ "[scenario]\nport = 70000\n", "t.ini:2:", "bad port" },
		{ "[scenario]\naddr = localhost\n", "t.ini:2:", "bad addr 'localhost'" },
		{ "[scenario]\nname = a b\n", "t.ini:2:", "bad name" },
		{ "[scenario]\ncycles = 3\ncycles = 4\n", "t.ini:3:", "given twice" },
		{ "[scenario]\nold = reuseaddr+bogus\n", "t.ini:2:", "unknown socket option 'bogus'" },
		{ "[scenario]\n\n[matrix]\nold = none, , reuseaddr\n", "t.ini:4:", "empty value" },
		{ "[matrix]\nold = none, none\n", "t.ini:2:", "listed twice" },
		{ "[matrix]\nold = none, reuseport+reuseaddr, reuseaddr+reuseport\n", "t.ini:2:",
		  "listed twice" },
		{ "[matrix]\naddr = 127.0.0.1, ::1\n", "t.ini:2:", "cannot vary" },
		{ "[matrix]\nsignal = KILL, FOO\n", "t.ini:2:", "bad signal 'FOO'" },
		{ "[scenario]\ncycles = 1\n[matrix]\n; nothing here\n", "t.ini:3:", "empty [matrix]" },
		{ "[expect]\nbind = maybe\n", "t.ini:2:", "bad bind expectation" },
		{ "[expect]\nbind < 3\n", "t.ini:2:", "'bind' takes '='" },
		{ "[expect]\nrebind_p99_ms < fast\n", "t.ini:2:", "needs a number" },
		{ "[expect]\nlatency < 3\n", "t.ini:2:", "unknown expectation 'latency'" },
		{ "[expect]\nrebind_p99_ms < 3\nrebind_p99_ms < 4\n", "t.ini:3:", "given twice" },
		{ "[scenario]\ncycles = 2\n[expect old=bogus]\nbind = ok\n", "t.ini:3:",
		  "unknown socket option" },
		{ "[expect colour=red]\nbind = ok\n", "t.ini:1:", "unknown key 'colour'" },
		{ "[expect windows]\nbind = ok\n", "t.ini:1:", "bad condition 'windows'" },
		{ "[matrix]\nold = none, reuseaddr\nnew = none, reuseaddr\n[expect old=none]\n"
		  "bind = ok\n[expect new=none]\nbind = eaddrinuse\n", "t.ini:7:", "contradicting" },
		{ "[server]\nport = 1\n", "t.ini:1:", "unknown section [server]" },
		{ "cycles = 3\n", "t.ini:1:", "outside a section" },
		{ "[scenario\ncycles = 3\n", "t.ini:1:", "missing ']'" },
		{ "[scenario]\njust some words\n", "t.ini:2:", "syntax error" },
		{ "; only a comment\n", "t.ini:1:", "no [scenario]" },
		{ "[scenario]\ndescription = "
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "t.ini:2:",
		  "line too long" },
		{ "[matrix]\nrequests = 1,2,3,4,5,6,7,8,9,10\ncycles = 1,2,3,4,5,6,7,8,9,10\n"
		  "bind_retry_ms = 1,2,3,4,5,6,7,8,9,10\nterm_timeout_ms = 1,2,3,4,5\n", "t.ini:5:",
		  "more than 4096 cases" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, scenario, errors, .timeout = 5)
{
	char err[512] = "";
	struct pc_scenario *s = pc_scenario_parse(c->text, "t.ini", err, sizeof(err));

	cr_assert(s == NULL, "should fail: %s", c->text);
	cr_assert(strncmp(err, c->where, strlen(c->where)) == 0, "message '%s' should start with '%s'",
		  err, c->where);
	cr_assert(strstr(err, c->message) != NULL, "message '%s' should mention '%s'", err,
		  c->message);
	cr_assert(strchr(err, '\n') == NULL, "message must be one line: '%s'", err);
}

static struct pc_scenario *parse_ok(const char *text)
{
	char err[512] = "";
	struct pc_scenario *s = pc_scenario_parse(text, "t.ini", err, sizeof(err));

	cr_assert(s != NULL, "should parse, got: %s", err);
	return s;
}

static const struct pc_expect *find_exp(const struct pc_case *c, const char *key)
{
	for (int i = 0; i < c->nexps; i++)
		if (!strcmp(c->exps[i].key, key))
			return &c->exps[i];
	return NULL;
}

Test(scenario, matrix_cross_product_in_order, .timeout = 5)
{
	struct pc_scenario *s = parse_ok("[scenario]\nname = m\ncycles = 3\n[matrix]\n"
					 "old = none, reuseport+reuseaddr\nnew = none, linger=0\n"
					 "signal = TERM, KILL\n");

	cr_assert(s->ncases == 8, "2x2x2 = 8 cases, got %d", s->ncases);
	cr_assert_str_eq(s->cases[0].name, "old=none new=none signal=TERM");
	cr_assert_str_eq(s->cases[1].name, "old=none new=none signal=KILL");
	cr_assert_str_eq(s->cases[7].name, "old=reuseaddr+reuseport new=linger=0 signal=KILL");
	cr_assert(s->cases[7].signal == SIGKILL && s->cases[7].cycles == 3);
	cr_assert(s->cases[7].old_opts.reuseaddr && s->cases[7].old_opts.reuseport);
	cr_assert(s->cases[7].new_opts.linger_s == 0);
	pc_scenario_free(s);
}

Test(scenario, names_are_unique, .timeout = 5)
{
	struct pc_scenario *s = parse_ok("[matrix]\nold = none, reuseaddr\nnew = none\n"
					 "close_first = server, client\nrequests = 0, 4\n");

	for (int i = 0; i < s->ncases; i++)
		for (int j = i + 1; j < s->ncases; j++)
			cr_assert(strcmp(s->cases[i].name, s->cases[j].name),
				  "duplicate case name '%s'", s->cases[i].name);
	pc_scenario_free(s);
}

Test(scenario, defaults_without_matrix, .timeout = 5)
{
	struct pc_scenario *s = parse_ok("[scenario]\nname = d\n");

	cr_assert(s->ncases == 1);
	cr_assert_str_eq(s->cases[0].name, "old=none new=none");
	cr_assert_str_eq(s->addr, "127.0.0.1");
	cr_assert(s->port == 0 && s->cases[0].cycles == 10 && s->cases[0].requests == 4);
	cr_assert(s->cases[0].signal == SIGKILL && s->cases[0].close_first == PC_CLOSE_SERVER);
	pc_scenario_free(s);
}

Test(scenario, most_specific_expectation_wins, .timeout = 5)
{
	struct pc_scenario *s = parse_ok(
		"[matrix]\nold = none, reuseaddr\nnew = none, reuseaddr\n"
		"[expect]\nbind = ok\nrebind_p99_ms < 20\n"
		"[expect old=none]\nbind = eaddrinuse\n"
		"[expect old=none new=none]\nrebind_p99_ms <= 50\n"
		"[expect linux old=reuseaddr new=reuseaddr]\nbind = any\n"
		"[expect darwin old=reuseaddr new=reuseaddr]\nbind = eaddrinuse\n");
	const struct pc_case *nn = &s->cases[0], *rr = &s->cases[3], *rn = &s->cases[2];

	cr_assert_str_eq(find_exp(nn, "bind")->value, "eaddrinuse");
	cr_assert(find_exp(nn, "rebind_p99_ms") != NULL);
	cr_assert(nn->nexps == 3, "old=none new=none: bind, < 20 and <= 50, got %d", nn->nexps);
	cr_assert_str_eq(find_exp(rn, "bind")->value, "ok");
	cr_assert_str_eq(find_exp(rr, "bind")->value, "any", "the linux section applies here");
	cr_assert(find_exp(rr, "bind")->line == 12, "line of the chosen expectation");
	pc_scenario_free(s);
}

Test(scenario, operators_without_equals, .timeout = 5)
{
	struct pc_scenario *s = parse_ok("[expect]\nrebind_p99_ms<20\nrestart_p50_ms >= 1.5\n"
					 "bind_failed == 0\nleaked != 1\n");
	const struct pc_case *c = &s->cases[0];

	cr_assert(find_exp(c, "rebind_p99_ms")->op == PC_OP_LT);
	cr_assert(find_exp(c, "restart_p50_ms")->op == PC_OP_GE);
	cr_assert(find_exp(c, "restart_p50_ms")->number == 1.5);
	cr_assert(find_exp(c, "bind_failed")->op == PC_OP_EQ);
	cr_assert(find_exp(c, "leaked")->op == PC_OP_NE);
	pc_scenario_free(s);
}

Test(scenario, matrix_key_repeated_appends, .timeout = 5)
{
	struct pc_scenario *s = parse_ok("[matrix]\nold = none, reuseaddr\nold = reuseport ; more\n");

	cr_assert(s->ncases == 3, "3 old values, got %d cases", s->ncases);
	cr_assert_str_eq(s->cases[2].old_text, "reuseport");
	pc_scenario_free(s);
}

Test(scenario, builtin_default_parses, .timeout = 5)
{
	char err[512] = "";
	struct pc_scenario *s = pc_scenario_default(err, sizeof(err));

	cr_assert(s != NULL, "built-in default: %s", err);
	cr_assert(s->ncases > 0);
	cr_assert_str_eq(s->name, "default");
	pc_scenario_free(s);
}

Test(scenario, shipped_scenarios_parse, .timeout = 5)
{
	const char *files[] = { "default.ini", "seed-claims.ini", "client-closes.ini", "fin-wait.ini",
				"opts-timing.ini", "reload-child.ini", "zero-downtime.ini" };
	char path[512], err[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pc_scenario *s;

		snprintf(path, sizeof(path), "%s/scenarios/%s", PC_SOURCE_DIR, files[i]);
		s = pc_scenario_load(path, err, sizeof(err));
		cr_assert(s != NULL, "%s: %s", files[i], err);
		pc_scenario_free(s);
	}
}

Test(scenario, missing_file_names_it, .timeout = 5)
{
	char err[512] = "";

	cr_assert(pc_scenario_load("/nonexistent/x.ini", err, sizeof(err)) == NULL);
	cr_assert(strstr(err, "/nonexistent/x.ini") != NULL, "got '%s'", err);
}

Test(scenario, opts_sets_both_generations, .timeout = 5)
{
	struct pc_scenario *s = parse_ok("[matrix]\nopts = none, reuseaddr\nopts_at = before-bind, after-bind\n"
					 "[expect]\nbind = eaddrinuse\n"
					 "[expect opts=reuseaddr opts_at=before-bind]\nbind = ok\n");

	cr_assert(s->ncases == 4);
	cr_assert_str_eq(s->cases[2].name, "old=reuseaddr new=reuseaddr opts_at=before-bind");
	cr_assert_str_eq(find_exp(&s->cases[2], "bind")->value, "ok");
	cr_assert_str_eq(find_exp(&s->cases[3], "bind")->value, "eaddrinuse");
	pc_scenario_free(s);
}

Test(scenario, opts_and_old_cannot_both_vary, .timeout = 5)
{
	char err[512] = "";

	cr_assert(pc_scenario_parse("[matrix]\nopts = none\nold = reuseaddr\n", "t.ini", err,
				    sizeof(err)) == NULL);
	cr_assert(strstr(err, "t.ini:3:") && strstr(err, "cannot both vary"), "got '%s'", err);
}

Test(scenario, long_section_headers_are_kept_whole, .timeout = 5)
{
	/* inih itself cuts section names at 50 characters */
	struct pc_scenario *s = parse_ok(
		"[matrix]\nold = reuseaddr+reuseport+linger=0\nnew = reuseaddr+reuseport+linger=0\n"
		"[expect linux old=reuseaddr+reuseport+linger=0 new=reuseaddr+reuseport+linger=0]\n"
		"bind = ok\n");

	cr_assert_str_eq(find_exp(&s->cases[0], "bind")->value, "ok");
	pc_scenario_free(s);
}
