/* test_inspect.c -- pc_trybind() and `portchurn inspect`, end to end, on
 * real loopback sockets in the host's network namespace. Every port comes
 * from bind(port 0) + getsockname(); state changes are awaited by polling
 * the socket census with a deadline, processes by pidfd or waitpid. */
#include "e2e.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "clock.h"
#include "optset.h"
#include "sockstate.h"
#include "sys.h"
#include "trybind.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define WAIT_MS 5000
#define INSPECT_MS 10000

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

/* Any census at all: the kernel's (netlink) or netstat+lsof. */
static void need_census(void)
{
	struct pc_census c = { 0 };
	int rc = pc_sockstate_census(1, &c);

	if (rc == -ENOSYS || rc == -EPROTONOSUPPORT)
		cr_skip_test("no socket census in this build/machine (%s)", pc_sockstate_backend());
}

/* Only the kernel's census tells when TIME_WAIT sockets expire. */
static bool census_tells_expiry(void)
{
	return !strcmp(pc_sockstate_backend(), "netlink");
}

static int trybind_opts(int port, const char *opts)
{
	struct pc_optset o;
	char err[128];

	cr_assert_eq(pc_optset_parse(opts, &o, err, sizeof(err)), 0, "%s: %s", opts, err);
	return pc_trybind("127.0.0.1", port, &o);
}

/* ---- running inspect ---- */

/* `portchurn inspect PORT [extra]`; returns the exit status. */
static int inspect(struct e2e *t, int port, const char *extra)
{
	char text[16];
	const char *args[] = { "inspect", text, extra, NULL };

	snprintf(text, sizeof(text), "%d", port);
	e2e_init(t);
	return e2e_run(t, args, INSPECT_MS);
}

static json_t *try_bind_row(json_t *doc, int i, const char *opts)
{
	json_t *row = json_array_get(json_object_get(doc, "try_bind"), (size_t)i);

	cr_assert(row != NULL, "try_bind has no row %d", i);
	cr_assert_str_eq(json_string_value(json_object_get(row, "opts")), opts,
			 "try_bind row %d is not %s", i, opts);
	return row;
}

static bool row_ok(json_t *row)
{
	cr_assert(json_is_boolean(json_object_get(row, "ok")), "try_bind row without a bool ok");
	return json_is_true(json_object_get(row, "ok"));
}

static long long census_int(json_t *doc, const char *key)
{
	json_t *v = json_object_get(json_object_get(doc, "census"), key);

	cr_assert(json_is_integer(v), "census.%s is not an integer", key);
	return json_integer_value(v);
}

/* The documented shape, whatever the port holds. */
static void assert_schema(json_t *doc, int port)
{
	static const char *const counts[] = { "listen", "established", "time_wait", "fin_wait1",
					       "fin_wait2", "close_wait", "other" };
	static const char *const opts[] = { "none", "reuseaddr", "reuseport",
					     "reuseaddr+reuseport" };

	cr_assert_str_eq(json_string_value(json_object_get(doc, "schema")), "portchurn-inspect/1");
	cr_assert_eq(e2e_int(doc, "port"), port, "port");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "addr")), "127.0.0.1");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		census_int(doc, counts[i]);
	cr_assert(json_is_array(json_object_get(doc, "holders")), "holders is not an array");
	cr_assert(json_is_boolean(json_object_get(doc, "holders_complete")));
	cr_assert_eq(json_array_size(json_object_get(doc, "try_bind")), 4, "four try_bind rows");
	for (int i = 0; i < 4; i++) {
		json_t *row = try_bind_row(doc, i, opts[i]);

		cr_assert(row_ok(row) ? json_is_null(json_object_get(row, "errno"))
				      : json_is_string(json_object_get(row, "errno")),
			  "row %s: errno must be null when ok, a name when not", opts[i]);
	}
	cr_assert(json_is_boolean(json_object_get(doc, "plain_bind_ok")));
	cr_assert(json_is_string(json_object_get(doc, "diagnosis")));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "backend")), pc_sockstate_backend());
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

/* ---- portchurn inspect ---- */

TestSuite(inspect, .timeout = 30);

/* (a) TIME_WAIT left by a listener with SO_REUSEADDR, the listener gone. */
Test(inspect, time_wait_port_json)
{
	enum { N = 5 };
	json_t *doc, *tw;
	struct e2e t;
	int port, lfd;

	need_census();
	lfd = bound(&port, "reuseaddr", 8);
	server_closes_first(lfd, port, N);
	close(lfd);
	await_time_wait(port, N);

	cr_assert_eq(inspect(&t, port, "--json"), 1, "exit %d, want 1 (blocked): %s", t.status,
		     e2e_read(&t, "stderr"));
	doc = e2e_json(&t, "stdout");
	assert_schema(doc, port);
	cr_assert_eq(census_int(doc, "time_wait"), N, "time_wait");
	cr_assert_eq(census_int(doc, "listen"), 0, "listen");
	tw = json_object_get(json_object_get(doc, "census"), "tw_expires_ms");
	cr_assert(!census_tells_expiry() ? json_is_null(tw) :
		  json_array_size(tw) == 2 &&
		  json_integer_value(json_array_get(tw, 0)) <=
		  json_integer_value(json_array_get(tw, 1)) &&
		  json_integer_value(json_array_get(tw, 1)) <= 60000,
		  "tw_expires_ms should be [min, max] within 60 s (null where %s cannot tell)",
		  pc_sockstate_backend());
	cr_assert(json_is_false(json_object_get(doc, "plain_bind_ok")), "plain_bind_ok");
	cr_assert(!row_ok(try_bind_row(doc, 0, "none")), "none binds over TIME_WAIT");
	cr_assert_str_eq(json_string_value(json_object_get(try_bind_row(doc, 0, "none"), "errno")),
			 "EADDRINUSE");
	cr_assert(row_ok(try_bind_row(doc, 1, "reuseaddr")),
		  "reuseaddr should bind over TIME_WAIT from a SO_REUSEADDR listener");
	cr_assert(strstr(json_string_value(json_object_get(doc, "diagnosis")), "SO_REUSEADDR"),
		  "diagnosis should name SO_REUSEADDR: %s",
		  json_string_value(json_object_get(doc, "diagnosis")));
	json_decref(doc);
}

/* (b) A reloader-style orphan: A forks B, B listens, A exits; B is
 * reparented and keeps the port. .fini kills B (by pidfd: it is not our
 * child) and waits for its exit; B also exits when its lifeline (the
 * write end of a pipe only this process holds) closes, whatever happens,
 * which is all there is where pidfds are not (the POSIX-only build). */
static struct {
	pid_t a, b;
	int pidfd, lifeline;
} orphan = { -1, -1, -1, -1 };

static void orphan_fini(void)
{
	struct pollfd pfd = { .fd = orphan.pidfd, .events = POLLIN };

	if (orphan.pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, orphan.pidfd, SIGKILL, NULL, 0);
		poll(&pfd, 1, WAIT_MS);
		close(orphan.pidfd);
	}
	if (orphan.lifeline >= 0)
		close(orphan.lifeline);
	if (orphan.a > 0)
		waitpid(orphan.a, NULL, 0);   /* A only forks and exits */
}

/* In B: listen on 127.0.0.1:0, report (pid, port), wait for the lifeline. */
static void orphan_b(int info, int lifeline)
{
	struct sockaddr_in sin = loop4(0);
	socklen_t len = sizeof(sin);
	int msg[2], fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char byte;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, len) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		_exit(1);
	msg[0] = getpid();
	msg[1] = ntohs(sin.sin_port);
	if (write(info, msg, sizeof(msg)) != sizeof(msg))
		_exit(1);
	while (read(lifeline, &byte, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Returns B's pid and port once B is listening and A is reaped. */
static void make_orphan(int *port)
{
	int info[2], life[2], msg[2], status;
	struct pollfd pfd;

	cr_assert_eq(pipe(info), 0);
	cr_assert_eq(pipe(life), 0);
	fcntl(life[1], F_SETFD, FD_CLOEXEC);   /* portchurn must not inherit it */
	orphan.lifeline = life[1];
	orphan.a = fork();
	cr_assert(orphan.a >= 0, "fork: %s", strerror(errno));
	if (orphan.a == 0) {
		close(info[0]);
		close(life[1]);
		if (fork() == 0)
			orphan_b(info[1], life[0]);
		_exit(0);
	}
	close(info[1]);
	close(life[0]);
	pfd = (struct pollfd){ .fd = info[0], .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "B did not report");
	cr_assert_eq(read(info[0], msg, sizeof(msg)), (ssize_t)sizeof(msg), "B's report");
	close(info[0]);
	orphan.b = msg[0];
	*port = msg[1];
	orphan.pidfd = pc_sys_pidfd_open(orphan.b);
	cr_assert(orphan.pidfd >= 0 || orphan.pidfd == -ENOSYS, "pidfd_open(%d): %s",
		  (int)orphan.b, strerror(-orphan.pidfd));
	cr_assert_eq(waitpid(orphan.a, &status, 0), orphan.a);
	orphan.a = -1;
}

static int ppid_of(pid_t pid)
{
	char path[64], buf[512], *close_paren;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')))
		sscanf(close_paren + 1, " %*c %d", &ppid);
	fclose(f);
	return ppid;
}

Test(inspect, orphaned_listener_json, .fini = orphan_fini)
{
	struct pollfd pfd;
	json_t *doc, *holders, *h = NULL;
	struct e2e t;
	int port, ppid;

	need_census();
	make_orphan(&port);
	/* Reparented to init, or to a subreaper above us, which the orphan
	 * flag cannot tell from a parent (documented in sockstate.h). */
	ppid = ppid_of(orphan.b);
	if (ppid != 1)
		cr_skip_test("orphans here are reparented to pid %d, a subreaper, not init", ppid);

	cr_assert_eq(inspect(&t, port, "--json"), 1, "exit %d, want 1: %s", t.status,
		     e2e_read(&t, "stderr"));
	doc = e2e_json(&t, "stdout");
	assert_schema(doc, port);
	cr_assert_eq(census_int(doc, "listen"), 1, "listen");
	holders = json_object_get(doc, "holders");
	for (size_t i = 0; i < json_array_size(holders); i++)
		if (json_integer_value(json_object_get(json_array_get(holders, i), "pid")) == orphan.b)
			h = json_array_get(holders, i);
	cr_assert(h != NULL, "B (pid %d) is not among the holders", (int)orphan.b);
	cr_assert(json_is_true(json_object_get(h, "orphan")), "B not flagged orphan");
	cr_assert_eq(json_integer_value(json_object_get(h, "ppid")), 1, "B's ppid");
	cr_assert(json_is_false(json_object_get(doc, "plain_bind_ok")));
	for (int i = 0; i < 4; i++)
		cr_assert(!row_ok(json_array_get(json_object_get(doc, "try_bind"), (size_t)i)),
			  "row %d binds beside a live listener without SO_REUSEPORT", i);
	json_decref(doc);

	/* inspect signals nothing: B is still there. */
	pfd = (struct pollfd){ .fd = orphan.pidfd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 0), 0, "B exited during inspect");
}

/* (c) Nothing on the port. */
Test(inspect, free_port_exits_0)
{
	struct e2e t;
	json_t *doc;
	int port, fd;

	need_census();
	fd = bound(&port, "none", 0);
	close(fd);
	cr_assert_eq(inspect(&t, port, "--json"), 0, "exit %d, want 0: %s", t.status,
		     e2e_read(&t, "stderr"));
	doc = e2e_json(&t, "stdout");
	assert_schema(doc, port);
	cr_assert(json_is_true(json_object_get(doc, "plain_bind_ok")));
	cr_assert_eq(census_int(doc, "time_wait") + census_int(doc, "listen"), 0);
	cr_assert(json_is_null(json_object_get(json_object_get(doc, "census"), "tw_expires_ms")));
	json_decref(doc);
}

/* (d) Usage errors: exit 2, one line on stderr naming what was wrong. */
struct usage_case {
	char args[4][32];
	char message[48];
};

ParameterizedTestParameters(inspect, usage_errors)
{
	static struct usage_case cases[] = {
		{ { "inspect" }, "which port" },
		{ { "inspect", "0" }, "PORT must be a number from 1 to 65535" },
		{ { "inspect", "65536" }, "PORT must be a number" },
		{ { "inspect", "http" }, "not 'http'" },
		{ { "inspect", "8080", "9090" }, "one port only" },
		{ { "inspect", "8080", "--addr", "bogus" }, "--addr needs an IPv4 or IPv6" },
		{ { "inspect", "8080", "--addr" }, "'--addr'" },
		{ { "inspect", "8080", "--frobnicate" }, "'--frobnicate'" },
	};
	return cr_make_param_array(struct usage_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct usage_case *c, inspect, usage_errors)
{
	const char *args[5] = { 0 };
	const char *err;
	struct e2e t;

	for (int n = 0; n < 4 && c->args[n][0]; n++)
		args[n] = c->args[n];
	e2e_init(&t);
	cr_assert_eq(e2e_run(&t, args, INSPECT_MS), 2, "%s %s: exit %d, want 2", c->args[1],
		     c->args[2], t.status);
	cr_assert_str_empty(e2e_read(&t, "stdout"), "%s: nothing on stdout", c->message);
	err = e2e_read(&t, "stderr");
	cr_assert(strstr(err, c->message) != NULL, "stderr '%s' should say '%s'", err, c->message);
	cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "one line: '%s'", err);
}

/* (e) The text a person reads: counts, expiry, holder, verdict. */
Test(inspect, human_output)
{
	char want[64];
	const char *out;
	struct e2e t;
	int port, lfd;

	need_census();
	lfd = bound(&port, "reuseaddr", 8);
	server_closes_first(lfd, port, 3);
	await_time_wait(port, 3);
	cr_assert_eq(inspect(&t, port, NULL), 1, "exit %d, want 1: %s", t.status,
		     e2e_read(&t, "stderr"));
	out = e2e_read(&t, "stdout");
	cr_assert(strstr(out, "LISTEN 1 ") && strstr(out, "TIME_WAIT 3 "), "counts: %s", out);
	cr_assert(strstr(out, census_tells_expiry() ? "3 TIME_WAIT, expiring in "
						    : "3 TIME_WAIT, expiry not known"), "expiry: %s", out);
	snprintf(want, sizeof(want), "pid %d", (int)getpid());
	cr_assert(strstr(out, want), "holder '%s' missing: %s", want, out);
	cr_assert(strstr(out, "verdict: ") && strstr(out, "stop pid"), "verdict: %s", out);
	close(lfd);
}

/* A live listener with SO_REUSEPORT: a new server with it too would bind,
 * and the verdict must say that it would share the port, not take it. */
Test(inspect, reuseport_listener_would_be_shared)
{
	struct e2e t;
	json_t *doc;
	const char *why;
	int port, lfd;

	need_census();
	lfd = bound(&port, "reuseport", 8);
	cr_assert_eq(inspect(&t, port, "--json"), 1, "exit %d, want 1: %s", t.status,
		     e2e_read(&t, "stderr"));
	doc = e2e_json(&t, "stdout");
	assert_schema(doc, port);
	cr_assert(!row_ok(try_bind_row(doc, 1, "reuseaddr")), "reuseaddr beside a listener");
	cr_assert(row_ok(try_bind_row(doc, 2, "reuseport")), "reuseport beside a reuseport listener");
	why = json_string_value(json_object_get(doc, "diagnosis"));
	cr_assert(strstr(why, "SO_REUSEPORT") && strstr(why, "share the port"), "diagnosis: %s", why);
	json_decref(doc);
	close(lfd);
}

Test(inspect, help_text)
{
	const char *args[] = { "help", "inspect", NULL };
	const char *out;
	struct e2e t;

	e2e_init(&t);
	cr_assert_eq(e2e_run(&t, args, INSPECT_MS), 0);
	out = e2e_read(&t, "stdout");
	cr_assert(strstr(out, "usage: portchurn inspect PORT") && strstr(out, "--addr") &&
		  strstr(out, "--json"), "help inspect: %s", out);
}
