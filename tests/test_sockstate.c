/* test_sockstate.c -- sockstate against real sockets on loopback.
 * Every port comes from bind(port 0) + getsockname(); state changes are
 * awaited by polling the census with a deadline, never by sleeping. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "sockstate.h"

#define WAIT_MS 5000
#define MAX_HOLDERS 16

/* ---- helpers ---- */

static int loopback(int family, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
	return 0;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A loopback socket bound to 'port' (0 = any); listening when backlog > 0.
 * Returns the fd or -errno; *port gets the bound port. */
static int tcp_bound(int family, int *port, bool reuseaddr, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	loopback(family, *port, &ss, &len);
	if (reuseaddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (backlog > 0 && listen(fd, backlog) < 0)
		goto fail;
	err = local_port(fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	*port = err;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int tcp_connect(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	loopback(family, port, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll the census until done(c, want) or WAIT_MS pass; returns the last
 * census call's result, and the last census in *c. */
static int census_until(int port, bool (*done)(const struct pc_census *, int), int want,
			struct pc_census *c)
{
	const struct timespec pause = { 0, 1000000 };
	long long deadline = now_ms() + WAIT_MS;
	int rc;

	for (;;) {
		rc = pc_sockstate_census(port, c);
		if (rc || done(c, want) || now_ms() > deadline)
			return rc;
		nanosleep(&pause, NULL);
	}
}

static bool time_wait_is(const struct pc_census *c, int want)
{
	return c->time_wait == want;
}

static bool established_is(const struct pc_census *c, int want)
{
	return c->established == want;
}

static void own_comm(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void assert_empty(const struct pc_census *c, const char *what)
{
	cr_assert(c->known, "%s: census not marked known", what);
	cr_assert(c->listen == 0 && c->established == 0 && c->time_wait == 0 &&
		  c->fin_wait1 == 0 && c->fin_wait2 == 0 && c->close_wait == 0 &&
		  c->other == 0,
		  "%s: expected all zero, got listen=%d est=%d tw=%d fw1=%d fw2=%d cw=%d other=%d",
		  what, c->listen, c->established, c->time_wait, c->fin_wait1,
		  c->fin_wait2, c->close_wait, c->other);
	cr_assert(c->tw_expires_min_ms == -1 && c->tw_expires_max_ms == -1,
		  "%s: no TIME_WAIT, yet an expiry range %d-%d ms", what, c->tw_expires_min_ms,
		  c->tw_expires_max_ms);
}

/* ---- fixture for the inherited-listener test: whatever happens, the
 * child is killed and reaped ---- */

static pid_t child = -1;

static void reap_child(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
}

TestSuite(sockstate, .timeout = 15);

Test(sockstate, backend_named)
{
	if (!caps_netlink_census())   /* the POSIX-only build: test_sockstate_text.c */
		cr_skip_test("the backend here is %s, not the kernel's", pc_sockstate_backend());
	cr_assert_str_eq(pc_sockstate_backend(), "netlink", "backend should be netlink on Linux");
}

Test(sockstate, bad_port_rejected)
{
	struct pc_census c = { 0 };
	struct pc_holder h[1];
	bool inc;
	int n;

	cr_assert_eq(pc_sockstate_census(0, &c), -EINVAL, "census(port 0) should be -EINVAL");
	cr_assert_eq(pc_sockstate_census(65536, &c), -EINVAL, "census(port 65536) should be -EINVAL");
	cr_assert(!c.known, "a failed census must leave the output untouched");
	cr_assert_eq(pc_sockstate_listeners(-1, h, 1, &n, &inc), -EINVAL,
		     "listeners(port -1) should be -EINVAL");
}

Test(sockstate, listener_counted_and_held_by_us)
{
	struct pc_census c = { 0 };
	struct pc_holder h[MAX_HOLDERS];
	char comm[64];
	bool inc = true;
	int port = 0, n = -1, fd, rc;

	fd = tcp_bound(AF_INET, &port, false, 8);
	cr_assert(fd >= 0, "listener on 127.0.0.1: %s", strerror(-fd));

	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert(c.known, "census not marked known");
	cr_assert_eq(c.listen, 1, "port %d: expected 1 LISTEN, got %d", port, c.listen);
	cr_assert_eq(c.established + c.time_wait + c.other, 0,
		     "port %d: only a listener expected (est=%d tw=%d other=%d)",
		     port, c.established, c.time_wait, c.other);

	rc = pc_sockstate_listeners(port, h, MAX_HOLDERS, &n, &inc);
	cr_assert_eq(rc, 0, "listeners failed: %s", strerror(-rc));
	cr_assert_eq(n, 1, "port %d: expected 1 holder, got %d", port, n);
	cr_assert_eq(h[0].pid, getpid(), "holder is pid %d, expected us (%d)", h[0].pid, getpid());
	cr_assert_eq(h[0].ppid, getppid(), "holder ppid %d, expected %d", h[0].ppid, getppid());
	own_comm(comm, sizeof(comm));
	cr_assert_str_eq(h[0].comm, comm, "holder comm '%s', expected '%s'", h[0].comm, comm);
	cr_assert(!h[0].orphan, "our own process reported as orphan (ppid %d)", h[0].ppid);
	if (caps_netlink_census())   /* lsof does not say */
		cr_assert_neq(h[0].inode, 0, "holder without a socket inode");
	close(fd);
}

Test(sockstate, established_counts_the_local_side_only)
{
	struct pc_census c = { 0 };
	int port = 0, lfd, cfd, sfd, rc;

	lfd = tcp_bound(AF_INET, &port, false, 8);
	cr_assert(lfd >= 0, "listener: %s", strerror(-lfd));
	cfd = tcp_connect(AF_INET, port);
	cr_assert(cfd >= 0, "connect to port %d: %s", port, strerror(-cfd));
	sfd = accept(lfd, NULL, NULL);
	cr_assert(sfd >= 0, "accept: %s", strerror(errno));

	/* The client's end has the ephemeral port locally: not counted. */
	rc = census_until(port, established_is, 1, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.established, 1, "port %d: expected 1 ESTABLISHED (server side), got %d",
		     port, c.established);
	cr_assert_eq(c.listen, 1, "port %d: expected 1 LISTEN, got %d", port, c.listen);
	close(cfd);
	close(sfd);
	close(lfd);
}

/* n connections that the server closes first, so the server side (local
 * port = the listener's) ends in TIME_WAIT. The client waits for the FIN
 * (EOF) before closing, so every pair completes the four-way close. */
static void server_closes_first(int family, int lfd, int port, int n)
{
	struct pollfd pfd;
	char byte;
	int cfd, sfd;

	for (int i = 0; i < n; i++) {
		cfd = tcp_connect(family, port);
		cr_assert(cfd >= 0, "connection %d: connect: %s", i, strerror(-cfd));
		sfd = accept(lfd, NULL, NULL);
		cr_assert(sfd >= 0, "connection %d: accept: %s", i, strerror(errno));
		close(sfd);
		pfd = (struct pollfd){ .fd = cfd, .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "connection %d: no FIN from the server", i);
		cr_assert_eq(read(cfd, &byte, 1), 0, "connection %d: expected EOF", i);
		close(cfd);
	}
}

/* TIME_WAIT lasts 60 s on Linux (TCP_TIMEWAIT_LEN); the kernel reports
 * what is left of it. */
static void assert_tw_expiry(const struct pc_census *c, int port)
{
	if (!caps_netlink_census()) {   /* netstat does not say: -1, never guessed */
		cr_assert(c->tw_expires_min_ms == -1 && c->tw_expires_max_ms == -1,
			  "port %d: a TIME_WAIT expiry from %s", port, pc_sockstate_backend());
		return;
	}
	cr_assert(c->tw_expires_min_ms >= 0 && c->tw_expires_min_ms <= c->tw_expires_max_ms &&
		  c->tw_expires_max_ms <= 60000,
		  "port %d: TIME_WAIT expiry range %d-%d ms, expected 0 <= min <= max <= 60000",
		  port, c->tw_expires_min_ms, c->tw_expires_max_ms);
	cr_assert(c->tw_expires_max_ms > 30000,
		  "port %d: the newest TIME_WAIT socket expires in %d ms; it was made just now",
		  port, c->tw_expires_max_ms);
}

Test(sockstate, server_side_time_wait_counted)
{
	enum { N = 5 };
	struct pc_census c = { 0 };
	int port = 0, lfd, rc;

	lfd = tcp_bound(AF_INET, &port, true, 8);
	cr_assert(lfd >= 0, "listener: %s", strerror(-lfd));
	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert(c.tw_expires_min_ms == -1 && c.tw_expires_max_ms == -1,
		  "port %d: no TIME_WAIT yet, expiry should be -1/-1, got %d/%d", port,
		  c.tw_expires_min_ms, c.tw_expires_max_ms);
	server_closes_first(AF_INET, lfd, port, N);

	rc = census_until(port, time_wait_is, N, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.time_wait, N, "port %d: expected %d TIME_WAIT, got %d (fw2=%d other=%d)",
		     port, N, c.time_wait, c.fin_wait2, c.other);
	cr_assert_eq(c.listen, 1, "port %d: expected the listener still counted, got %d",
		     port, c.listen);
	cr_assert_eq(c.established, 0, "port %d: expected no ESTABLISHED, got %d",
		     port, c.established);
	assert_tw_expiry(&c, port);
	close(lfd);
}

/* One dump covers both families: IPv6 TIME_WAIT sockets count too. */
Test(sockstate, ipv6_time_wait_counted)
{
	enum { N = 3 };
	struct pc_census c = { 0 };
	int port = 0, lfd, rc;

	lfd = tcp_bound(AF_INET6, &port, true, 8);
	if (lfd == -EAFNOSUPPORT || lfd == -EADDRNOTAVAIL || lfd == -EPROTONOSUPPORT)
		cr_skip_test("::1 unavailable here: %s", strerror(-lfd));
	cr_assert(lfd >= 0, "listener on ::1: %s", strerror(-lfd));
	server_closes_first(AF_INET6, lfd, port, N);
	close(lfd);

	rc = census_until(port, time_wait_is, N, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.time_wait, N, "[::1]:%d: expected %d TIME_WAIT, got %d (fw2=%d other=%d)",
		     port, N, c.time_wait, c.fin_wait2, c.other);
	cr_assert_eq(c.listen, 0, "[::1]:%d: the listener was closed, got %d LISTEN", port,
		     c.listen);
	assert_tw_expiry(&c, port);
}

/* The reloader-child case: the parent closes its listener, a forked child
 * that inherited it keeps the port. The child also takes a name with
 * spaces and parentheses, which /proc/PID/stat does not escape. */
#define ODD_COMM "pc (tw) child)"

Test(sockstate, inherited_listener_held_by_child, .fini = reap_child)
{
	struct pc_census c = { 0 };
	struct pc_holder h[MAX_HOLDERS];
	int port = 0, lfd, pipefd[2], ready[2], n = -1, rc, status;
	struct pollfd pfd;
	bool inc;
	char byte;

	if (!caps_netlink_census())   /* lsof 4.95 reads its parent as 0 */
		cr_skip_test("a process named like this one needs the kernel's census, not %s",
			     pc_sockstate_backend());

	lfd = tcp_bound(AF_INET, &port, false, 8);
	cr_assert(lfd >= 0, "listener: %s", strerror(-lfd));
	cr_assert_eq(pipe(pipefd), 0, "pipe: %s", strerror(errno));
	cr_assert_eq(pipe(ready), 0, "pipe: %s", strerror(errno));
	child = fork();
	cr_assert(child >= 0, "fork: %s", strerror(errno));
	if (child == 0) {
		/* Rename, say so, then hold the listener until the parent
		 * writes or goes away. */
		close(pipefd[1]);
		close(ready[0]);
		prctl(PR_SET_NAME, ODD_COMM, 0, 0, 0);
		close(ready[1]);
		while (read(pipefd[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(pipefd[0]);
	close(ready[1]);
	close(lfd);
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "the child did not get ready");
	close(ready[0]);

	rc = pc_sockstate_listeners(port, h, MAX_HOLDERS, &n, &inc);
	cr_assert_eq(rc, 0, "listeners failed: %s", strerror(-rc));
	cr_assert_eq(n, 1, "port %d: expected 1 holder (the child), got %d", port, n);
	cr_assert_eq(h[0].pid, child, "holder is pid %d, expected the child %d (we are %d)",
		     h[0].pid, (int)child, getpid());
	cr_assert_eq(h[0].ppid, getpid(), "child's ppid %d, expected us (%d)", h[0].ppid, getpid());
	cr_assert(!h[0].orphan, "a child whose parent lives reported as orphan");
	cr_assert_str_eq(h[0].comm, ODD_COMM, "child's comm parsed as '%s', expected '%s'",
			 h[0].comm, ODD_COMM);
	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.listen, 1, "port %d: the child's listener should still count, got %d",
		     port, c.listen);

	/* Let the child go; once reaped, its descriptors are closed. */
	cr_assert_eq(write(pipefd[1], "x", 1), 1, "waking the child: %s", strerror(errno));
	close(pipefd[1]);
	cr_assert_eq(waitpid(child, &status, 0), child, "waitpid: %s", strerror(errno));
	child = -1;
	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.listen, 0, "port %d: listener outlived the reaped child (%d)", port, c.listen);
	rc = pc_sockstate_listeners(port, h, MAX_HOLDERS, &n, &inc);
	cr_assert_eq(rc, 0, "listeners failed: %s", strerror(-rc));
	cr_assert_eq(n, 0, "port %d: expected no holder after the child exited, got %d", port, n);
}

Test(sockstate, unused_port_all_zero)
{
	struct pc_census c = { 0 };
	struct pc_holder h[MAX_HOLDERS];
	int port = 0, fd, n = -1, rc;
	bool inc = true;

	/* A port the kernel just handed out, then released: nothing is on it. */
	fd = tcp_bound(AF_INET, &port, false, 0);
	cr_assert(fd >= 0, "bind: %s", strerror(-fd));
	close(fd);

	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	assert_empty(&c, "unused port");
	rc = pc_sockstate_listeners(port, h, MAX_HOLDERS, &n, &inc);
	cr_assert_eq(rc, 0, "listeners failed: %s", strerror(-rc));
	cr_assert_eq(n, 0, "unused port %d: expected no holder, got %d", port, n);
	cr_assert(!inc, "unused port: nothing to look for, yet marked incomplete");
}

/* Documented limit: bound-only sockets are not part of the census (asking
 * the kernel for them costs a walk of its whole bind table). */
Test(sockstate, bound_only_socket_not_counted)
{
	struct pc_census c = { 0 };
	int port = 0, fd, rc;

	fd = tcp_bound(AF_INET, &port, false, 0);
	cr_assert(fd >= 0, "bind: %s", strerror(-fd));
	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	assert_empty(&c, "bound, not listening");
	close(fd);
}

Test(sockstate, ipv6_listener_counted)
{
	struct pc_census c = { 0 };
	struct pc_holder h[MAX_HOLDERS];
	int port = 0, fd6, fd4, n = -1, rc;
	bool inc;

	fd6 = tcp_bound(AF_INET6, &port, false, 8);
	if (fd6 == -EAFNOSUPPORT || fd6 == -EADDRNOTAVAIL || fd6 == -EPROTONOSUPPORT)
		cr_skip_test("::1 unavailable here: %s", strerror(-fd6));
	cr_assert(fd6 >= 0, "listener on ::1: %s", strerror(-fd6));

	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.listen, 1, "[::1]:%d: expected 1 LISTEN, got %d", port, c.listen);
	rc = pc_sockstate_listeners(port, h, MAX_HOLDERS, &n, &inc);
	cr_assert_eq(rc, 0, "listeners failed: %s", strerror(-rc));
	cr_assert_eq(n, 1, "[::1]:%d: expected 1 holder, got %d", port, n);
	cr_assert_eq(h[0].pid, getpid(), "holder is pid %d, expected us (%d)", h[0].pid, getpid());

	/* Both families on one port: the two dumps add up. The kernel's free
	 * ::1 port may be in use on 127.0.0.1 (parallel tests connect), so
	 * look for a port free in both. */
	fd4 = tcp_bound(AF_INET, &port, false, 8);
	for (int tries = 0; fd4 == -EADDRINUSE && tries < 50; tries++) {
		close(fd6);
		port = 0;
		fd6 = tcp_bound(AF_INET6, &port, false, 8);
		cr_assert(fd6 >= 0, "listener on ::1: %s", strerror(-fd6));
		fd4 = tcp_bound(AF_INET, &port, false, 8);
	}
	cr_assert(fd4 >= 0, "listener on 127.0.0.1:%d beside [::1]: %s", port, strerror(-fd4));
	rc = pc_sockstate_census(port, &c);
	cr_assert_eq(rc, 0, "census failed: %s", strerror(-rc));
	cr_assert_eq(c.listen, 2, "port %d: expected IPv4 + IPv6 listeners = 2, got %d",
		     port, c.listen);
	rc = pc_sockstate_listeners(port, h, 1, &n, &inc);
	cr_assert_eq(rc, 0, "listeners failed: %s", strerror(-rc));
	cr_assert_eq(n, 2, "port %d: expected 2 (pid, socket) holders with max=1, got %d", port, n);
	close(fd4);
	close(fd6);
}
