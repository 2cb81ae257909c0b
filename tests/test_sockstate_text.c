/* test_sockstate_text.c -- netstat and lsof output read into a census and
 * holders (sockstate_text.c, the POSIX backend's text side): lines as
 * net-tools on Linux and netstat on macOS print them, and lsof -F. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "sockstate_text.h"

struct netstat_case {
	char name[48];
	char line[160];
	bool counted;
	int listen, established, time_wait, fin_wait1, fin_wait2, close_wait, other;
};

#define N(nm, ln, cnt, ...) { .name = nm, .line = ln, .counted = cnt, __VA_ARGS__ }

ParameterizedTestParameters(sockstate_text, netstat_lines)
{
	static struct netstat_case cases[] = {
		N("linux listen v4", "tcp        0      0 127.0.0.1:8000          0.0.0.0:*"
		  "               LISTEN", true, .listen = 1),
		N("linux time_wait v6", "tcp6       0      0 ::1:8000                ::1:41234"
		  "               TIME_WAIT", true, .time_wait = 1),
		N("linux fin_wait2", "tcp   0 0 127.0.0.1:8000 127.0.0.1:5 FIN_WAIT2", true,
		  .fin_wait2 = 1),
		N("linux syn_recv is other", "tcp 0 0 127.0.0.1:8000 127.0.0.1:5 SYN_RECV", true,
		  .other = 1),
		N("macos listen tcp46", "tcp46      0      0  *.8000                 *.*"
		  "                    LISTEN", true, .listen = 1),
		N("macos established v4", "tcp4       0      0  127.0.0.1.8000         127.0.0.1.52344"
		  "        ESTABLISHED", true, .established = 1),
		N("macos fin_wait_1", "tcp4 0 0 127.0.0.1.8000 127.0.0.1.5 FIN_WAIT_1", true,
		  .fin_wait1 = 1),
		N("macos close_wait v6 scoped", "tcp6 0 0 fe80::1%lo0.8000 fe80::1%lo0.5 CLOSE_WAIT",
		  true, .close_wait = 1),
		N("the remote port is not ours", "tcp 0 0 127.0.0.1:41234 127.0.0.1:8000 ESTABLISHED",
		  false),
		N("another port with our digits", "tcp 0 0 127.0.0.1:18000 0.0.0.0:* LISTEN", false),
		N("bound only (CLOSE)", "tcp 0 0 127.0.0.1:8000 0.0.0.0:* CLOSE", false),
		N("udp", "udp        0      0 127.0.0.1:8000          0.0.0.0:*", false),
		N("header", "Proto Recv-Q Send-Q Local Address           Foreign Address         State",
		  false),
		N("unix", "unix  2      [ ACC ]     STREAM     LISTENING     12345    /run/x", false),
		N("empty", "", false),
	};
	return cr_make_param_array(struct netstat_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct netstat_case *t, sockstate_text, netstat_lines)
{
	struct pc_census c;

	memset(&c, 0, sizeof(c));
	cr_assert_eq(pc_netstat_count_line(t->line, 8000, &c), t->counted, "%s: counted", t->name);
	cr_assert(c.listen == t->listen && c.established == t->established &&
		  c.time_wait == t->time_wait && c.fin_wait1 == t->fin_wait1 &&
		  c.fin_wait2 == t->fin_wait2 && c.close_wait == t->close_wait &&
		  c.other == t->other, "%s: counted in the wrong state", t->name);
}

/* lsof -nP -iTCP:PORT -sTCP:LISTEN -FpcRf: a parent and its forked child
 * share one listener; each process is one holder per descriptor. */
Test(sockstate_text, lsof_output)
{
	static const char *const lines[] = {
		"p4940", "R1", "cpython3", "f3", "p4950", "R4940", "cuvicorn", "f3", "f7",
	};
	struct pc_lsof_state st;
	struct pc_holder h[2];
	int n = 0;

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		pc_lsof_line(&st, lines[i], h, 2, &n);
	cr_assert_eq(n, 3, "three (process, descriptor) pairs, like snprintf: found %d", n);
	cr_assert(h[0].pid == 4940 && h[0].ppid == 1 && h[0].orphan, "the first is an orphan");
	cr_assert_str_eq(h[0].comm, "python3");
	cr_assert(h[1].pid == 4950 && h[1].ppid == 4940 && !h[1].orphan);
	cr_assert_str_eq(h[1].comm, "uvicorn");
}
