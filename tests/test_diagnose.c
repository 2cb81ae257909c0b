/* Diagnosis of failed binds: each kind of evidence gives its cause and remedy. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "diagnose.h"

struct diag_case {
	char label[40];
	char old_opts[32], new_opts[32];
	enum pc_opts_at at;
	struct pc_census census;
	int holder_pid;            /* 0 = no holder visible */
	bool holder_orphan;
	char want[2][80];          /* substrings the sentence must hold */
};

#define OLD 100
#define LEAK 101

ParameterizedTestParameters(diagnose, cases)
{
	static struct diag_case cases[] = {
		{ "tw, old lacked reuseaddr", "none", "reuseaddr", PC_AT_BEFORE_BIND,
		  { .known = true, .time_wait = 4 }, 0, false,
		  { "blocked by 4 TIME_WAIT sockets", "lacked SO_REUSEADDR" } },
		{ "tw, new lacked reuseaddr", "reuseaddr", "none", PC_AT_BEFORE_BIND,
		  { .known = true, .time_wait = 1 }, 0, false,
		  { "1 TIME_WAIT socket left", "new generation did not set SO_REUSEADDR" } },
		{ "tw, options after bind", "reuseaddr", "reuseaddr", PC_AT_AFTER_BIND,
		  { .known = true, .time_wait = 3 }, 0, false,
		  { "TIME_WAIT", "set after bind()" } },
		{ "linger set after accept", "linger=0", "linger=0", PC_AT_AFTER_ACCEPT,
		  { .known = true, .time_wait = 1 }, 0, false,
		  { "1 TIME_WAIT socket", "only after connections had been accepted" } },
		{ "tw, no shared option", "reuseport", "reuseaddr", PC_AT_BEFORE_BIND,
		  { .known = true, .time_wait = 2 }, 0, false,
		  { "did not share a reuse option", "SO_REUSEPORT on both" } },
		{ "orphaned leaked child", "none", "none", PC_AT_BEFORE_BIND,
		  { .known = true, .listen = 1, .time_wait = 5 }, LEAK, true,
		  { "LISTEN held by pid 101 (pc-fixture, orphan", "orphaned child of the killed" } },
		{ "foreign listener", "none", "none", PC_AT_BEFORE_BIND,
		  { .known = true, .listen = 1 }, 4242, false,
		  { "pid 4242", "did not start" } },
		{ "listener nobody visible holds", "none", "none", PC_AT_BEFORE_BIND,
		  { .known = true, .listen = 2 }, 0, false,
		  { "2 LISTEN sockets whose process is not visible", "" } },
		{ "fin_wait2", "none", "none", PC_AT_BEFORE_BIND,
		  { .known = true, .fin_wait2 = 3 }, 0, false,
		  { "still closing", "3 FIN_WAIT2" } },
		{ "nothing visible", "none", "none", PC_AT_BEFORE_BIND,
		  { .known = true }, 0, false,
		  { "EADDRINUSE with no socket on the port", "" } },
		{ "no census", "none", "none", PC_AT_BEFORE_BIND,
		  { .known = false, .time_wait = 9 }, 0, false,
		  { "no socket census", "cannot be told apart" } },
	};
	return cr_make_param_array(struct diag_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct diag_case *c, diagnose, cases, .timeout = 5)
{
	struct pc_case spec = { .opts_at = c->at };
	struct pc_holder h = { .pid = c->holder_pid, .ppid = 1, .orphan = c->holder_orphan };
	struct pc_bind_evidence ev = {
		.bind_errno = EADDRINUSE, .census = c->census, .holders = &h,
		.nholders = c->holder_pid ? 1 : 0, .holders_known = true,
		.old_pid = OLD, .old_leak_pid = LEAK, .spec = &spec,
	};
	char err[200], buf[400];

	strcpy(h.comm, "pc-fixture");
	cr_assert(pc_optset_parse(c->old_opts, &spec.old_opts, err, sizeof(err)) == 0);
	cr_assert(pc_optset_parse(c->new_opts, &spec.new_opts, err, sizeof(err)) == 0);
	pc_diagnose_bind(&ev, buf, sizeof(buf));
	for (int i = 0; i < 2; i++)
		cr_assert(strstr(buf, c->want[i]) != NULL, "%s: '%s' should contain '%s'", c->label,
			  buf, c->want[i]);
	cr_assert(strstr(buf, "remedy") || !c->census.time_wait || !c->census.known,
		  "%s: a TIME_WAIT diagnosis names a remedy: '%s'", c->label, buf);
}
