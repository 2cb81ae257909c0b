/* Option sets: parsing, canonical formatting, applying to a real socket. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <criterion/parameterized.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "optset.h"
#include "stats.h"

struct parse_case {
	char text[48];
	char canon[48];   /* "" = must be rejected */
};

ParameterizedTestParameters(optset, parse)
{
	static struct parse_case cases[] = {
		{ "none", "none" },
		{ "reuseaddr", "reuseaddr" },
		{ "reuseport+reuseaddr", "reuseaddr+reuseport" },
		{ "linger=0", "linger=0" },
		{ "linger=off", "linger=off" },
		{ "linger=5+nodelay", "linger=5+nodelay" },
		{ "backlog=16+reuseaddr", "reuseaddr+backlog=16" },
		{ "reuseaddr+reuseport+linger=0", "reuseaddr+reuseport+linger=0" },
		{ "", "" },
		{ "bogus", "" },
		{ "reuseaddr+", "" },
		{ "+reuseaddr", "" },
		{ "reuseaddr++nodelay", "" },
		{ "reuseaddr+reuseaddr", "" },
		{ "linger=", "" },
		{ "linger=-1", "" },
		{ "linger=x", "" },
		{ "linger=1+linger=2", "" },
		{ "backlog=0", "" },
		{ "backlog=99999999999", "" },
		{ "none+reuseaddr", "" },
	};
	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, optset, parse, .timeout = 5)
{
	struct pc_optset o;
	char buf[PC_OPTSET_TEXT_MAX], err[200] = "";
	int rc = pc_optset_parse(c->text, &o, err, sizeof(err));

	if (!c->canon[0]) {
		cr_assert(rc < 0, "'%s' should be rejected", c->text);
		cr_assert(err[0] != '\0', "'%s': rejected without a reason", c->text);
		return;
	}
	cr_assert(rc == 0, "'%s' should parse, got: %s", c->text, err);
	pc_optset_format(&o, buf, sizeof(buf));
	cr_assert_str_eq(buf, c->canon, "'%s' formats as '%s', want '%s'", c->text, buf, c->canon);
}

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, level, name, &v, &len);
	return v;
}

Test(optset, apply_sets_every_option, .timeout = 5)
{
	struct pc_optset o;
	struct linger l;
	socklen_t len = sizeof(l);
	char err[200];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0, "socket()");
	cr_assert(pc_optset_parse("reuseaddr+reuseport+linger=3+nodelay", &o, err, sizeof(err)) == 0);
	cr_assert(pc_optset_apply(&o, fd) == 0, "apply failed");
	cr_assert(get_int(fd, SOL_SOCKET, SO_REUSEADDR) != 0, "SO_REUSEADDR not set");
	cr_assert(get_int(fd, SOL_SOCKET, SO_REUSEPORT) != 0, "SO_REUSEPORT not set");
	cr_assert(get_int(fd, IPPROTO_TCP, TCP_NODELAY) != 0, "TCP_NODELAY not set");
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len);
	cr_assert(l.l_onoff == 1 && l.l_linger == 3, "SO_LINGER is (%d,%d), want (1,3)", l.l_onoff,
		  l.l_linger);
	close(fd);
}

Test(optset, linger_off_is_onoff_zero, .timeout = 5)
{
	struct pc_optset o;
	struct linger l = { 1, 1 };
	socklen_t len = sizeof(l);
	char err[200];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(pc_optset_parse("linger=off", &o, err, sizeof(err)) == 0);
	cr_assert(pc_optset_apply(&o, fd) == 0);
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len);
	cr_assert(l.l_onoff == 0, "linger=off must set l_onoff=0");
	close(fd);
}

Test(optset, apply_on_closed_fd_returns_errno, .timeout = 5)
{
	struct pc_optset o;
	char err[200];

	cr_assert(pc_optset_parse("reuseaddr", &o, err, sizeof(err)) == 0);
	cr_assert(pc_optset_apply(&o, -1) == -EBADF, "want -EBADF on a bad fd");
}

Test(optset, opts_at_names_round_trip, .timeout = 5)
{
	const char *names[] = { "before-bind", "after-bind", "after-listen", "accepted",
				"after-accept" };
	enum pc_opts_at at;

	for (size_t i = 0; i < 5; i++) {
		cr_assert(pc_opts_at_parse(names[i], &at) == 0, "%s", names[i]);
		cr_assert_str_eq(pc_opts_at_name(at), names[i]);
	}
	cr_assert(pc_opts_at_parse("before", &at) < 0, "'before' must be rejected");
}

Test(stats, percentiles_interpolate, .timeout = 5)
{
	int64_t v[] = { 50, 10, 40, 20, 30 };
	struct pc_stats s;

	pc_stats_compute(v, 5, &s);
	cr_assert(s.n == 5 && s.min == 10 && s.max == 50, "min/max/n");
	cr_assert(s.p50 == 30, "p50 = %lld, want 30", (long long)s.p50);
	cr_assert(s.p90 == 46, "p90 = %lld, want 46", (long long)s.p90);
	cr_assert(s.mean == 30.0, "mean = %f", s.mean);
	cr_assert(s.stddev > 15.81 && s.stddev < 15.82, "sample stddev = %f", s.stddev);
}

Test(stats, empty_and_single, .timeout = 5)
{
	int64_t one = 7;
	struct pc_stats s;

	pc_stats_compute(NULL, 0, &s);
	cr_assert(s.n == 0 && s.p99 == 0, "empty input gives n = 0");
	pc_stats_compute(&one, 1, &s);
	cr_assert(s.p50 == 7 && s.p99 == 7 && s.stddev == 0, "single sample");
}
