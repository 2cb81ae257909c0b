/* test_inspect.c -- pc_trybind() on real loopback sockets in the host's
 * network namespace. Every port comes from bind(port 0) + getsockname();
 * state changes are awaited by polling the socket census with a deadline. */
#include "e2e.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "clock.h"
#include "optset.h"
#include "sockstate.h"
#include "trybind.h"

#define WAIT_MS 5000

/* ---- sockets ---- */

static struct sockaddr_in loop4(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* A socket on 127.0.0.1:0 with an option set ("none", "reuseaddr", ...)
 * applied before bind, listening when backlog > 0; *port gets the port. */
static int bound(int *port, const char *opts, int backlog)
{
	struct sockaddr_in sin = loop4(0);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pc_optset o;
	char err[128];

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	cr_assert_eq(pc_optset_parse(opts, &o, err, sizeof(err)), 0, "%s: %s", opts, err);
	cr_assert_eq(pc_optset_apply(&o, fd), 0, "%s: setsockopt", opts);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, len), 0, "bind: %s", strerror(errno));
	if (backlog > 0)
		cr_assert_eq(listen(fd, backlog), 0, "listen: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* n connections the server closes first: its side (local port = port)
 * ends in TIME_WAIT once the client, having read the FIN, closes too. */
static void server_closes_first(int lfd, int port, int n)
{
	struct sockaddr_in sin = loop4(port);
	struct pollfd pfd;
	int cfd, sfd;
	char byte;

	for (int i = 0; i < n; i++) {
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(cfd >= 0);
		cr_assert_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), 0,
			     "connection %d: connect: %s", i, strerror(errno));
		sfd = accept(lfd, NULL, NULL);
		cr_assert(sfd >= 0, "connection %d: accept: %s", i, strerror(errno));
		close(sfd);
		pfd = (struct pollfd){ .fd = cfd, .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "connection %d: no FIN from the server", i);
		cr_assert_eq(read(cfd, &byte, 1), 0, "connection %d: expected EOF", i);
		close(cfd);
	}
}

/* Poll the census until the port holds 'want' TIME_WAIT sockets. */
static void await_time_wait(int port, int want)
{
	struct pc_census c = { 0 };
	int64_t deadline = pc_now_ns() / PC_NS_PER_MS + WAIT_MS;

	for (;;) {
		cr_assert_eq(pc_sockstate_census(port, &c), 0, "census of port %d failed", port);
		if (c.time_wait == want)
			return;
		cr_assert(pc_now_ns() / PC_NS_PER_MS < deadline, "port %d: %d TIME_WAIT after %d ms, want %d",
			  port, c.time_wait, WAIT_MS, want);
		e2e_sleep_ms(1);
	}
}

static void need_census(void)
{
	if (strcmp(pc_sockstate_backend(), "netlink") != 0)
		cr_skip_test("no socket census on this platform (backend %s)",
			     pc_sockstate_backend());
}

static int trybind_opts(int port, const char *opts)
{
	struct pc_optset o;
	char err[128];

	cr_assert_eq(pc_optset_parse(opts, &o, err, sizeof(err)), 0, "%s: %s", opts, err);
	return pc_trybind("127.0.0.1", port, &o);
}

/* ---- pc_trybind ---- */

TestSuite(trybind, .timeout = 15);

Test(trybind, free_port_binds_with_every_set)
{
	static const char *const sets[] = { "none", "reuseaddr", "reuseport",
					     "reuseaddr+reuseport" };
	int port, fd = bound(&port, "none", 0);

	close(fd);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		cr_assert_eq(trybind_opts(port, sets[i]), 0, "%s on free port %d", sets[i], port);
	cr_assert_eq(pc_trybind("127.0.0.1", port, NULL), 0, "NULL option set = none");
}

/* bind, close, never listen: nobody can connect, and nothing stays. */
Test(trybind, never_listens)
{
	struct sockaddr_in sin;
	struct pc_census c;
	int port, fd = bound(&port, "none", 0), cfd;

	close(fd);
	sin = loop4(port);
	cr_assert_eq(pc_trybind("127.0.0.1", port, NULL), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), -1,
		     "connected to a port pc_trybind() only bound");
	cr_assert_eq(errno, ECONNREFUSED, "connect: %s, want ECONNREFUSED", strerror(errno));
	close(cfd);
	if (strcmp(pc_sockstate_backend(), "netlink") == 0) {
		cr_assert_eq(pc_sockstate_census(port, &c), 0);
		cr_assert_eq(c.listen, 0, "port %d: a listener after pc_trybind()", port);
	}
	cr_assert_eq(pc_trybind("127.0.0.1", port, NULL), 0, "the first try left the port taken");
}

Test(trybind, live_listener_refuses_every_set)
{
	int port, lfd = bound(&port, "none", 8);

	cr_assert_eq(trybind_opts(port, "none"), -EADDRINUSE);
	cr_assert_eq(trybind_opts(port, "reuseaddr"), -EADDRINUSE,
		     "SO_REUSEADDR never binds beside a live listener");
	cr_assert_eq(trybind_opts(port, "reuseport"), -EADDRINUSE,
		     "the listener lacks SO_REUSEPORT: no sharing");
	close(lfd);
}

/* Both with SO_REUSEPORT, one user: Linux lets the new socket share. */
Test(trybind, reuseport_listener_shares_with_reuseport)
{
	int port, lfd = bound(&port, "reuseport", 8);

	cr_assert_eq(trybind_opts(port, "none"), -EADDRINUSE);
	cr_assert_eq(trybind_opts(port, "reuseport"), 0, "reuseport beside a reuseport listener");
	close(lfd);
}

/* Linux: a bind passes over TIME_WAIT only when the old sockets and the
 * new one share SO_REUSEADDR (or SO_REUSEPORT); the sockets inherit it from
 * their listener. */
struct tw_case {
	bool old_reuseaddr;
	int none, reuseaddr, reuseport, both;   /* expected results */
};

ParameterizedTestParameters(trybind, over_time_wait)
{
	static struct tw_case cases[] = {
		{ true, -EADDRINUSE, 0, -EADDRINUSE, 0 },
		{ false, -EADDRINUSE, -EADDRINUSE, -EADDRINUSE, -EADDRINUSE },
	};
	return cr_make_param_array(struct tw_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct tw_case *k, trybind, over_time_wait)
{
	const char *old = k->old_reuseaddr ? "old=reuseaddr" : "old=none";
	int port, lfd;

	need_census();
	lfd = bound(&port, k->old_reuseaddr ? "reuseaddr" : "none", 8);
	server_closes_first(lfd, port, 2);
	close(lfd);
	await_time_wait(port, 2);
	cr_assert_eq(trybind_opts(port, "none"), k->none, "%s: none", old);
	cr_assert_eq(trybind_opts(port, "reuseaddr"), k->reuseaddr, "%s: reuseaddr", old);
	cr_assert_eq(trybind_opts(port, "reuseport"), k->reuseport, "%s: reuseport", old);
	cr_assert_eq(trybind_opts(port, "reuseaddr+reuseport"), k->both, "%s: both", old);
}

Test(trybind, bad_arguments)
{
	cr_assert_eq(pc_trybind("bogus", 80, NULL), -EINVAL);
	cr_assert_eq(pc_trybind("localhost", 80, NULL), -EINVAL, "names are not literals");
	cr_assert_eq(pc_trybind(NULL, 80, NULL), -EINVAL);
	cr_assert_eq(pc_trybind("127.0.0.1", 0, NULL), -EINVAL);
	cr_assert_eq(pc_trybind("127.0.0.1", 65536, NULL), -EINVAL);
	cr_assert(pc_trybind_addr_valid("127.0.0.1") && pc_trybind_addr_valid("::1") &&
		  pc_trybind_addr_valid("0.0.0.0") && pc_trybind_addr_valid("::"));
	cr_assert(!pc_trybind_addr_valid("") && !pc_trybind_addr_valid("bogus") &&
		  !pc_trybind_addr_valid("127.0.0.1:80"));
}

Test(trybind, ipv6_literal)
{
	int port, fd = bound(&port, "none", 0), rc;

	close(fd);
	rc = pc_trybind("::1", port, NULL);
	if (rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL)
		cr_skip_test("::1 unavailable here: %s", strerror(-rc));
	cr_assert(rc == 0 || rc == -EADDRINUSE, "[::1]:%d: %s", port, strerror(-rc));
}
