/* test_fixture.c -- tests for pc-fixture: its request-head parser in
 * process (table-driven), and the real binary end to end. The end-to-end
 * tests need PC_FIXTURE=path/to/pc-fixture and are skipped without it. Each
 * starts one fixture in its own process group on 127.0.0.1 port 0 with a
 * lifeline pipe, so nothing outlives the test even when Criterion kills it
 * on timeout; .fini kills and reaps the group after a failure too. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "clock.h"
#include "http.h"

/* ==== the parser ======================================================== */

/* Params are copied into Criterion's worker: plain arrays, no pointers. */
struct parse_case {
	char name[48];
	char text[200];
	size_t head_size;      /* > 0: a generated head of this size instead of text */
	bool unterminated;     /* generated head without its blank line */
	size_t trailing;       /* bytes of text after the head (body, next request) */
	enum pc_http_status want;
	enum pc_http_method method;
	char target[24];
	int minor;
	bool keep_alive;
	bool te;
	size_t content_length;
};

#define GET11(nm, txt, ka) { .name = nm, .text = txt, .want = PC_HTTP_COMPLETE, \
	.method = PC_HTTP_GET, .target = "/", .minor = 1, .keep_alive = ka }
#define REFUSED(nm, txt, st) { .name = nm, .text = txt, .want = st }

static struct parse_case parse_cases[] = {
	GET11("GET / 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
	{ .name = "HEAD /health", .text = "HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_HEAD, .target = "/health", .minor = 1,
	  .keep_alive = true },
	{ .name = "1.0 closes by default", .text = "GET / HTTP/1.0\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET, .target = "/", .minor = 0 },
	{ .name = "1.0 keep-alive", .text = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET, .target = "/", .minor = 0,
	  .keep_alive = true },
	{ .name = "1.0 keep-alive, close", .text = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	  "Connection: close\r\n\r\n", .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET,
	  .target = "/", .minor = 0 },
	GET11("1.1 Connection: close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
	GET11("1.1 token list with Close", "GET / HTTP/1.1\r\nConnection: foo, Close \r\n\r\n",
	      false),
	GET11("1.1 Connection: keep-alive", "GET / HTTP/1.1\r\nconnection:keep-alive\r\n\r\n",
	      true),
	GET11("bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", true),
	GET11("leading empty lines skipped", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", true),
	{ .name = "higher minor read as 1.1", .text = "GET / HTTP/1.7\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET, .target = "/", .minor = 7,
	  .keep_alive = true },
	{ .name = "query kept in target", .text = "GET /health?x=1 HTTP/1.1\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET, .target = "/health?x=1", .minor = 1,
	  .keep_alive = true },
	{ .name = "POST with a body", .text = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	  .trailing = 5, .want = PC_HTTP_COMPLETE, .method = PC_HTTP_OTHER, .target = "/x",
	  .minor = 1, .keep_alive = true, .content_length = 5 },
	{ .name = "pipelined: first head only",
	  .text = "GET / HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n", .trailing = 24,
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET, .target = "/", .minor = 1,
	  .keep_alive = true },
	{ .name = "repeated equal Content-Length",
	  .text = "PUT / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_OTHER, .target = "/", .minor = 1,
	  .keep_alive = true, .content_length = 7 },
	{ .name = "Content-Length at the 1 MiB limit",
	  .text = "POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n", .want = PC_HTTP_COMPLETE,
	  .method = PC_HTTP_OTHER, .target = "/", .minor = 1, .keep_alive = true,
	  .content_length = 1048576 },
	{ .name = "chunked", .text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_OTHER, .target = "/", .minor = 1,
	  .keep_alive = true, .te = true },
	{ .name = "chunked wins over a big Content-Length",
	  .text = "POST / HTTP/1.1\r\nContent-Length: 9999999\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_OTHER, .target = "/", .minor = 1,
	  .keep_alive = true, .te = true },
	REFUSED("Content-Length 1 MiB + 1", "POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n",
		PC_HTTP_BODY_TOO_LARGE),
	REFUSED("Content-Length of 30 digits",
		"POST / HTTP/1.1\r\nContent-Length: 999999999999999999999999999999\r\n\r\n",
		PC_HTTP_BODY_TOO_LARGE),
	REFUSED("empty buffer", "", PC_HTTP_INCOMPLETE),
	REFUSED("partial request line", "GET / HT", PC_HTTP_INCOMPLETE),
	REFUSED("partial headers", "GET / HTTP/1.1\r\nHost: a\r\n", PC_HTTP_INCOMPLETE),
	REFUSED("partial blank line", "GET / HTTP/1.1\r\nHost: a\r\n\r", PC_HTTP_INCOMPLETE),
	REFUSED("garbage request line", "GARBAGE\r\n\r\n", PC_HTTP_BAD),
	REFUSED("bad line refused before the head ends", "FOO\r\n", PC_HTTP_BAD),
	REFUSED("lower-case version", "GET / http/1.1\r\n\r\n", PC_HTTP_BAD),
	REFUSED("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", PC_HTTP_BAD),
	REFUSED("HTTP/0.9 style", "GET /\r\n\r\n", PC_HTTP_BAD),
	REFUSED("double space", "GET  / HTTP/1.1\r\n\r\n", PC_HTTP_BAD),
	REFUSED("trailing space", "GET / HTTP/1.1 \r\n\r\n", PC_HTTP_BAD),
	REFUSED("control char in target", "GET /\x01 HTTP/1.1\r\n\r\n", PC_HTTP_BAD),
	REFUSED("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", PC_HTTP_BAD),
	REFUSED("obs-fold", "GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", PC_HTTP_BAD),
	REFUSED("field without colon", "GET / HTTP/1.1\r\nHello\r\n\r\n", PC_HTTP_BAD),
	REFUSED("control char in value", "GET / HTTP/1.1\r\nX-A: b\x01\r\n\r\n", PC_HTTP_BAD),
	REFUSED("bare CR in a line", "GET / HTTP/1.1\r\nX-A: b\rc\r\n\r\n", PC_HTTP_BAD),
	REFUSED("Content-Length not a number", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
		PC_HTTP_BAD),
	REFUSED("Content-Length empty", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
		PC_HTTP_BAD),
	REFUSED("Content-Length negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		PC_HTTP_BAD),
	REFUSED("conflicting Content-Length",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", PC_HTTP_BAD),
	{ .name = "head of exactly 16 KiB", .head_size = PC_HTTP_HEAD_MAX,
	  .want = PC_HTTP_COMPLETE, .method = PC_HTTP_GET, .target = "/", .minor = 1,
	  .keep_alive = true },
	{ .name = "head of 16 KiB + 1", .head_size = PC_HTTP_HEAD_MAX + 1,
	  .want = PC_HTTP_HEAD_TOO_LARGE },
	{ .name = "16 KiB - 1 without blank line", .head_size = PC_HTTP_HEAD_MAX - 1,
	  .unterminated = true, .want = PC_HTTP_INCOMPLETE },
	{ .name = "16 KiB without blank line", .head_size = PC_HTTP_HEAD_MAX,
	  .unterminated = true, .want = PC_HTTP_HEAD_TOO_LARGE },
	{ .name = "20000 bytes without blank line", .head_size = 20000, .unterminated = true,
	  .want = PC_HTTP_HEAD_TOO_LARGE },
};

/* A GET head of exactly tc->head_size bytes, padded by one long field. */
static char *sized_head(const struct parse_case *tc, size_t *len)
{
	static const char prefix[] = "GET / HTTP/1.1\r\nX-Pad: ";
	const char *suffix = tc->unterminated ? "\r\n" : "\r\n\r\n";
	size_t fill = tc->head_size - strlen(prefix) - strlen(suffix);
	char *buf = malloc(tc->head_size + 1);

	cr_assert_not_null(buf, "%s: out of memory", tc->name);
	memcpy(buf, prefix, strlen(prefix));
	memset(buf + strlen(prefix), 'a', fill);
	strcpy(buf + strlen(prefix) + fill, suffix);
	*len = tc->head_size;
	return buf;
}

static void check_request(const struct parse_case *tc, const struct pc_http_req *req,
			  size_t len)
{
	cr_expect_eq(req->method, tc->method, "%s: method %d, want %d", tc->name,
		     req->method, tc->method);
	cr_expect(req->target_len == strlen(tc->target) &&
		  !memcmp(req->target, tc->target, req->target_len),
		  "%s: target '%.*s', want '%s'", tc->name, (int)req->target_len, req->target,
		  tc->target);
	cr_expect_eq(req->minor, tc->minor, "%s: minor %d, want %d", tc->name, req->minor,
		     tc->minor);
	cr_expect_eq(req->keep_alive, tc->keep_alive, "%s: keep_alive %d, want %d", tc->name,
		     req->keep_alive, tc->keep_alive);
	cr_expect_eq(req->transfer_encoding, tc->te, "%s: transfer_encoding %d, want %d",
		     tc->name, req->transfer_encoding, tc->te);
	cr_expect_eq(req->content_length, tc->content_length, "%s: content_length %zu, want %zu",
		     tc->name, req->content_length, tc->content_length);
	cr_expect_eq(req->head_len, len - tc->trailing, "%s: head_len %zu, want %zu", tc->name,
		     req->head_len, len - tc->trailing);
}

ParameterizedTestParameters(http_parse, table)
{
	return cr_make_param_array(struct parse_case, parse_cases,
				   sizeof(parse_cases) / sizeof(parse_cases[0]));
}

ParameterizedTest(struct parse_case *tc, http_parse, table, .timeout = 10)
{
	struct pc_http_req req;
	size_t len = strlen(tc->text);
	char *buf = tc->head_size ? sized_head(tc, &len) : tc->text;
	enum pc_http_status st = pc_http_parse(buf, len, &req);

	cr_expect_eq(st, tc->want, "%s: parse says %s, want %s", tc->name,
		     pc_http_status_name(st), pc_http_status_name(tc->want));
	if (st == PC_HTTP_COMPLETE && tc->want == PC_HTTP_COMPLETE)
		check_request(tc, &req, len);
	if (buf != tc->text)
		free(buf);
}

Test(http_parse, byte_by_byte, .timeout = 10)
{
	static const char text[] = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
	size_t head = sizeof(text) - 1 - 3;
	struct pc_http_req req;

	for (size_t n = 0; n < head; n++) {
		enum pc_http_status st = pc_http_parse(text, n, &req);

		cr_assert_eq(st, PC_HTTP_INCOMPLETE, "first %zu of %zu head bytes: %s, want incomplete",
			     n, head, pc_http_status_name(st));
	}
	for (size_t n = head; n < sizeof(text); n++) {
		enum pc_http_status st = pc_http_parse(text, n, &req);

		cr_assert_eq(st, PC_HTTP_COMPLETE, "%zu bytes: %s, want complete", n,
			     pc_http_status_name(st));
		cr_assert_eq(req.head_len, head, "%zu bytes: head_len %zu, want %zu", n,
			     req.head_len, head);
	}
}

/* Random HTTP-flavoured bytes: any status is fine, a bad one or a crash is not. */
Test(http_parse, random_input_stays_in_bounds, .timeout = 10)
{
	static const char alphabet[] = "GETHAD /:\r\n\r\n \t,-ContLgh1.P\x01\x80keep-alivcs0123456789";
	uint32_t seed = 12345;
	char buf[400];

	for (int round = 0; round < 20000; round++) {
		size_t len = (seed = seed * 1103515245u + 12345u) % sizeof(buf);
		struct pc_http_req req;
		enum pc_http_status st;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		st = pc_http_parse(buf, len, &req);
		cr_assert_leq((int)st, (int)PC_HTTP_BODY_TOO_LARGE, "round %d: status %d", round, st);
		if (st == PC_HTTP_COMPLETE)
			cr_assert(req.head_len <= len && req.target >= buf &&
				  req.target + req.target_len <= buf + len,
				  "round %d: head_len %zu or target outside the %zu-byte input",
				  round, req.head_len, len);
	}
}

/* ==== end to end ======================================================== */

#define WAIT_MS 5000       /* bound on any single wait for the fixture */

struct ready {
	char line[512];
	long pid, port, leak_pid;
	int attempts;
	long long blocked_ns, start_ns, bind_ns, listen_ns;
	char bind[24], listen[24], opts[24];
};

/* The fixture this test started. */
static struct {
	pid_t pid;            /* also its process group */
	bool reaped;
	pid_t leak_pid;       /* keeps the group alive after the leader died */
	int ready_r;          /* its --ready-fd */
	int lifeline_w;       /* its --lifeline-fd: closing this ends the fixture */
	int exit_r;           /* EOF once every process of the fixture has exited */
} fx = { .pid = -1, .ready_r = -1, .lifeline_w = -1, .exit_r = -1 };

static bool subreaper;

static void e2e_init(void)
{
	signal(SIGPIPE, SIG_IGN);  /* a closed connection must fail send(), not the test */
#ifdef PR_SET_CHILD_SUBREAPER
	/* Orphans (the leaked child) come back to us, so we can reap them. */
	subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
#endif
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Runs after failures too. The group is signalled only while one of its
 * members is known to be unreaped (a zombie counts), so its id cannot have
 * been reused. (Without a subreaper, init reaps a leaked child: a tiny
 * window remains there.) */
static void e2e_fini(void)
{
	if (fx.pid > 0 && (!fx.reaped || fx.leak_pid > 0)) {
		kill(-fx.pid, SIGKILL);
		while (waitpid(-fx.pid, NULL, 0) > 0 || errno == EINTR)
			;
	}
	close_fd(&fx.ready_r);
	close_fd(&fx.lifeline_w);
	close_fd(&fx.exit_r);
}

TestSuite(fixture_e2e, .init = e2e_init, .fini = e2e_fini, .timeout = 10);

static int64_t deadline_in(int ms)
{
	return pc_now_ns() + (int64_t)ms * PC_NS_PER_MS;
}

/* read() once data or EOF is there, by the deadline. n, 0 at EOF, or -errno
 * (-ETIMEDOUT when the deadline passed). */
static ssize_t read_by(int fd, void *buf, size_t cap, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t left;
	ssize_t n;

	for (;;) {
		left = deadline - pc_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(left / PC_NS_PER_MS) + 1) > 0)
			break;
	}
	n = read(fd, buf, cap);
	return n < 0 ? -errno : n;
}

static const char *read_error(ssize_t n)
{
	return n == 0 ? "EOF" : n == -ETIMEDOUT ? "timed out" : strerror((int)-n);
}

static void pipe_cloexec(int p[2])
{
	cr_assert_eq(pipe(p), 0, "pipe(): %s", strerror(errno));
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_fixture(const char *path, const char *const *argv, const int *keep)
{
	setpgid(0, 0);
	for (; *keep >= 0; keep++)
		fcntl(*keep, F_SETFD, 0);
	execv(path, (char *const *)argv);
	_exit(127);
}

/* Starts $PC_FIXTURE --addr 127.0.0.1 --port 0 ... args (NULL-terminated).
 * The exit pipe's write end is inherited unknowingly by the fixture and
 * any child of it: EOF on it means all of them have exited. */
static void spawn(const char *const *args)
{
	const char *path = getenv("PC_FIXTURE");
	const char *argv[32] = { path, "--addr", "127.0.0.1", "--port", "0",
				 "--ready-fd", NULL, "--lifeline-fd", NULL };
	int ready[2], life[2], ex[2], n = 9;
	char rfd[16], lfd[16];

	if (!path || !*path)
		cr_skip_test("PC_FIXTURE is not set (path of the pc-fixture binary)");
	pipe_cloexec(ready);
	pipe_cloexec(life);
	pipe_cloexec(ex);
	snprintf(rfd, sizeof(rfd), "%d", ready[1]);
	snprintf(lfd, sizeof(lfd), "%d", life[0]);
	argv[6] = rfd;
	argv[8] = lfd;
	for (; args && *args && n < 31; args++)
		argv[n++] = *args;
	fx.pid = fork();
	cr_assert_geq(fx.pid, 0, "fork(): %s", strerror(errno));
	if (fx.pid == 0)
		exec_fixture(path, argv, (const int[]){ ready[1], life[0], ex[1], -1 });
	setpgid(fx.pid, fx.pid);  /* also here: no race with the child's own call */
	close(ready[1]);
	close(life[0]);
	close(ex[1]);
	fx.ready_r = ready[0];
	fx.lifeline_w = life[1];
	fx.exit_r = ex[0];
}

static void parse_ready(struct ready *r)
{
	char again[512];
	int got = sscanf(r->line, "pc-fixture pid=%ld port=%ld bind=%23s listen=%23s opts=%23s "
			 "attempts=%d blocked_ns=%lld start_ns=%lld bind_ns=%lld listen_ns=%lld "
			 "leak_pid=%ld", &r->pid, &r->port, r->bind, r->listen, r->opts,
			 &r->attempts, &r->blocked_ns, &r->start_ns, &r->bind_ns, &r->listen_ns,
			 &r->leak_pid);

	cr_assert_eq(got, 11, "ready line has %d of 11 fields: '%s'", got, r->line);
	/* Printed back, it must be the same bytes: order, spacing, newline. */
	snprintf(again, sizeof(again), "pc-fixture pid=%ld port=%ld bind=%s listen=%s opts=%s "
		 "attempts=%d blocked_ns=%lld start_ns=%lld bind_ns=%lld listen_ns=%lld "
		 "leak_pid=%ld\n", r->pid, r->port, r->bind, r->listen, r->opts, r->attempts,
		 r->blocked_ns, r->start_ns, r->bind_ns, r->listen_ns, r->leak_pid);
	cr_assert_str_eq(r->line, again, "ready line not in the exact format: '%s'", r->line);
}

/* Reads the one ready line, then EOF: the fixture (and any leaked child)
 * must have closed the ready fd. */
static void read_ready(struct ready *r)
{
	int64_t deadline = deadline_in(WAIT_MS);
	size_t len = 0;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	while (!memchr(r->line, '\n', len)) {
		n = read_by(fx.ready_r, r->line + len, sizeof(r->line) - 1 - len, deadline);
		cr_assert_gt(n, 0, "ready line: %s after %zu bytes '%s'", read_error(n), len,
			     r->line);
		len += (size_t)n;
	}
	n = read_by(fx.ready_r, r->line + len, sizeof(r->line) - 1 - len, deadline);
	cr_assert_eq(n, 0, "ready fd after the line: %s, want EOF (closed by every process)",
		     n > 0 ? "more bytes" : read_error(n));
	parse_ready(r);
	cr_assert_eq(r->pid, fx.pid, "ready line pid=%ld, but we started %d", r->pid, fx.pid);
}

/* Starts a fixture and checks its set-up worked. */
static void start_ok(const char *const *args, struct ready *r)
{
	spawn(args);
	read_ready(r);
	cr_assert(!strcmp(r->bind, "0") && !strcmp(r->listen, "0") && !strcmp(r->opts, "0"),
		  "set-up failed: '%s'", r->line);
	cr_assert(r->port > 0 && r->port < 65536, "bad port in '%s'", r->line);
	cr_assert(r->start_ns <= r->bind_ns && r->bind_ns <= r->listen_ns,
		  "timestamps out of order in '%s'", r->line);
}

/* Waits, bounded, until every process holding the exit pipe is gone, then
 * reaps the leader and returns its wait status. */
static int wait_exit(int timeout_ms)
{
	char c;
	ssize_t n = read_by(fx.exit_r, &c, 1, deadline_in(timeout_ms));
	pid_t w;
	int st;

	cr_assert_eq(n, 0, "fixture (pid %d) still running %d ms after it should have exited",
		     fx.pid, timeout_ms);
	do
		w = waitpid(fx.pid, &st, 0);
	while (w < 0 && errno == EINTR);
	cr_assert_eq(w, fx.pid, "waitpid(%d): %s", fx.pid, strerror(errno));
	fx.reaped = true;
	return st;
}

static void expect_exit(int code, int timeout_ms)
{
	int st = wait_exit(timeout_ms);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == code,
		  "fixture ended with %s %d, want exit status %d",
		  WIFEXITED(st) ? "exit status" : "signal",
		  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), code);
}

/* ---- a minimal HTTP client ------------------------------------------------ */

struct client {
	int fd;
	char buf[8192];
	size_t len;
};

struct response {
	int status;
	long pid;             /* X-Pc-Pid */
	long content_length;
	char connection[32];
	char body[256];
};

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* A blocking, CLOEXEC connection to 127.0.0.1:port; fd or -errno. */
static int tcp_connect(int port)
{
	struct sockaddr_in sa = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
	}
	return rc ? rc : fd;
}

static void client_open(struct client *c, int port)
{
	c->len = 0;
	c->fd = tcp_connect(port);
	cr_assert_geq(c->fd, 0, "connect to 127.0.0.1:%d: %s", port, strerror(-c->fd));
}

static void client_send(struct client *c, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, s, len, 0);

		cr_assert_gt(n, 0, "send %zu bytes: %s", len, strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

static void client_fill(struct client *c, int64_t deadline, const char *what)
{
	ssize_t n = read_by(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, deadline);

	cr_assert_gt(n, 0, "reading %s: %s after %zu bytes '%.*s'", what, read_error(n), c->len,
		     (int)c->len, c->buf);
	c->len += (size_t)n;
}

static char *find_crlfcrlf(char *buf, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4))
			return buf + i;
	return NULL;
}

/* The value of a header in head (NUL-terminated), copied to out; "" if absent. */
static void header(const char *head, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, n) || l[2 + n] != ':')
			continue;
		l += 3 + n;
		l += strspn(l, " \t");
		snprintf(out, cap, "%.*s", (int)strcspn(l, "\r"), l);
		return;
	}
}

static void parse_head(char *head, struct response *r)
{
	char v[64];

	cr_assert_eq(sscanf(head, "HTTP/1.1 %d ", &r->status), 1, "bad status line in '%s'", head);
	header(head, "Content-Length", v, sizeof(v));
	cr_assert_neq(v[0], '\0', "no Content-Length in '%s'", head);
	r->content_length = strtol(v, NULL, 10);
	header(head, "Connection", r->connection, sizeof(r->connection));
	cr_assert_neq(r->connection[0], '\0', "no Connection header in '%s'", head);
	header(head, "X-Pc-Pid", v, sizeof(v));
	r->pid = strtol(v, NULL, 10);
	cr_assert_gt(r->pid, 0, "no X-Pc-Pid header in '%s'", head);
}

/* Reads one whole response (head, and body unless it answers a HEAD). */
static void client_response(struct client *c, struct response *r, bool head_only)
{
	int64_t deadline = deadline_in(WAIT_MS);
	size_t head_len, body_len;
	char *end;

	memset(r, 0, sizeof(*r));
	while (!(end = find_crlfcrlf(c->buf, c->len)))
		client_fill(c, deadline, "a response head");
	end[2] = '\0';
	parse_head(c->buf, r);
	head_len = (size_t)(end + 4 - c->buf);
	body_len = head_only ? 0 : (size_t)r->content_length;
	cr_assert_lt(body_len, sizeof(r->body), "body of %zu bytes is too big", body_len);
	while (c->len < head_len + body_len)
		client_fill(c, deadline, "a response body");
	memcpy(r->body, c->buf + head_len, body_len);
	c->len -= head_len + body_len;
	memmove(c->buf, c->buf + head_len + body_len, c->len);
}

static void client_request(struct client *c, const char *req, struct response *r)
{
	client_send(c, req, strlen(req));
	client_response(c, r, !strncmp(req, "HEAD ", 5));
}

/* The server must close: a clean EOF, not a reset and not silence. */
static void client_expect_eof(struct client *c, const char *why)
{
	char tmp[256];
	ssize_t n = c->len ? (ssize_t)c->len : read_by(c->fd, tmp, sizeof(tmp), deadline_in(WAIT_MS));

	cr_assert_eq(n, 0, "%s: want EOF from the server, got %s", why,
		     n > 0 ? "more bytes" : n == -ECONNRESET ? "a reset (RST)" : read_error(n));
}

static void expect_status(const struct response *r, int status, const char *conn,
			  const char *what)
{
	cr_assert_eq(r->status, status, "%s: status %d, want %d", what, r->status, status);
	cr_assert_str_eq(r->connection, conn, "%s: Connection: %s, want %s", what,
			 r->connection, conn);
	cr_assert_eq(r->pid, fx.pid, "%s: served by pid %ld, want %d", what, r->pid, fx.pid);
}

/* Until connect() is refused, i.e. the listener is closed; bounded. The
 * only outside sign that the fixture has begun its graceful shutdown. A
 * handshake that meets the listener as it closes is reset, not refused:
 * probe again (seen once in 20 runs beside a CPU hog). */
static void wait_refused(int port)
{
	int64_t deadline = deadline_in(WAIT_MS);
	int fd;

	while ((fd = tcp_connect(port)) >= 0 || fd == -EINTR || fd == -ECONNRESET) {
		if (fd >= 0)
			close(fd);
		cr_assert_lt(pc_now_ns(), deadline, "port %d still accepts %d ms after SIGTERM",
			     port, WAIT_MS);
		poll(NULL, 0, 2);  /* back off: probes must not starve the fixture */
	}
	cr_assert_eq(fd, -ECONNREFUSED, "connect to port %d: %s, want ECONNREFUSED", port,
		     strerror(-fd));
}

/* A listening socket on 127.0.0.1 and a kernel-chosen port. */
static int hold_port(int *port)
{
	struct sockaddr_in sa = loopback(0);
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0, "socket(): %s", strerror(errno));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(fd, 8), 0, "listen: %s", strerror(errno));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- the tests ------------------------------------------------------------- */

#define GET(path) "GET " path " HTTP/1.1\r\nHost: pc\r\n\r\n"

Test(fixture_e2e, get_root_and_health, .timeout = 10)
{
	struct ready r;
	struct client c;
	struct response resp;
	char want[64];

	start_ok(NULL, &r);
	client_open(&c, (int)r.port);
	client_request(&c, GET("/"), &resp);
	expect_status(&resp, 200, "keep-alive", "GET /");
	snprintf(want, sizeof(want), "pid=%d", fx.pid);
	cr_assert(strstr(resp.body, want), "GET / body '%s' does not name %s", resp.body, want);
	client_request(&c, GET("/health"), &resp);
	expect_status(&resp, 200, "keep-alive", "GET /health");
	cr_assert_str_eq(resp.body, "ok\n", "GET /health body '%s', want 'ok\\n'", resp.body);
	kill(fx.pid, SIGTERM);
	expect_exit(0, WAIT_MS);
}

Test(fixture_e2e, head_and_unknown_path, .timeout = 10)
{
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(NULL, &r);
	client_open(&c, (int)r.port);
	client_request(&c, GET("/nope"), &resp);
	expect_status(&resp, 404, "keep-alive", "GET /nope");
	client_request(&c, "HEAD /health HTTP/1.1\r\nHost: pc\r\n\r\n", &resp);
	expect_status(&resp, 200, "keep-alive", "HEAD /health");
	cr_assert_eq(resp.content_length, 3, "HEAD /health: Content-Length %ld, want 3",
		     resp.content_length);
	/* Had HEAD sent a body, this would read it as the next response. */
	client_request(&c, GET("/health"), &resp);
	expect_status(&resp, 200, "keep-alive", "GET /health after HEAD");
	cr_assert_str_eq(resp.body, "ok\n", "GET after HEAD: body '%s'", resp.body);
}

Test(fixture_e2e, malformed_request_gets_400_then_close, .timeout = 10)
{
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(NULL, &r);
	client_open(&c, (int)r.port);
	client_request(&c, "GARBAGE\r\n\r\n", &resp);
	expect_status(&resp, 400, "close", "malformed request");
	client_expect_eof(&c, "after 400");
}

/* 431, 413 and 501 each answer, then close cleanly though input is left. */
Test(fixture_e2e, refusals_then_close, .timeout = 10)
{
	static const char big_cl[] = "POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\nxyz";
	static const char chunked[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "3\r\nabc\r\n0\r\n\r\n";
	char *big_head = malloc(PC_HTTP_HEAD_MAX + 64);
	const struct { const char *req; int status; } cases[] = {
		{ big_head, 431 }, { big_cl, 413 }, { chunked, 501 },
	};
	struct ready r;

	cr_assert_not_null(big_head, "out of memory");
	strcpy(big_head, "GET / HTTP/1.1\r\nX-Pad: ");
	memset(big_head + strlen(big_head), 'a', PC_HTTP_HEAD_MAX - strlen(big_head));
	strcpy(big_head + PC_HTTP_HEAD_MAX, "\r\n\r\n");  /* 4 bytes over the limit */
	start_ok(NULL, &r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct client c;
		struct response resp;
		char what[32];

		snprintf(what, sizeof(what), "expecting %d", cases[i].status);
		client_open(&c, (int)r.port);
		client_request(&c, cases[i].req, &resp);
		expect_status(&resp, cases[i].status, "close", what);
		client_expect_eof(&c, what);
		close(c.fd);
	}
	free(big_head);
}

Test(fixture_e2e, keep_alive_with_close_first_client, .timeout = 10)
{
	const char *args[] = { "--close-first", "client", NULL };
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(args, &r);
	client_open(&c, (int)r.port);
	client_request(&c, GET("/health"), &resp);
	expect_status(&resp, 200, "keep-alive", "first request");
	client_request(&c, GET("/"), &resp);
	expect_status(&resp, 200, "keep-alive", "second request on the same connection");
	/* Two responses in one send(): pipelining, answered in order. */
	client_send(&c, GET("/nope") GET("/health"), strlen(GET("/nope") GET("/health")));
	client_response(&c, &resp, false);
	expect_status(&resp, 404, "keep-alive", "first pipelined request");
	client_response(&c, &resp, false);
	expect_status(&resp, 200, "keep-alive", "second pipelined request");
}

Test(fixture_e2e, client_connection_close_is_honoured, .timeout = 10)
{
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(NULL, &r);
	client_open(&c, (int)r.port);
	client_request(&c, "GET /health HTTP/1.1\r\nHost: pc\r\nConnection: close\r\n\r\n", &resp);
	expect_status(&resp, 200, "close", "HTTP/1.1 with Connection: close");
	client_expect_eof(&c, "after Connection: close");
	close(c.fd);
	client_open(&c, (int)r.port);
	client_request(&c, "GET /health HTTP/1.0\r\n\r\n", &resp);
	expect_status(&resp, 200, "close", "HTTP/1.0 without keep-alive");
	client_expect_eof(&c, "after an HTTP/1.0 response");
}

/* The server reads the whole request, body included, before it closes:
 * else its close() would send RST and leave no TIME_WAIT. */
Test(fixture_e2e, close_first_server, .timeout = 10)
{
	const char *args[] = { "--close-first", "server", NULL };
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(args, &r);
	client_open(&c, (int)r.port);
	client_request(&c, GET("/health"), &resp);
	expect_status(&resp, 200, "close", "GET with --close-first server");
	client_expect_eof(&c, "after a --close-first server response");
	close(c.fd);
	client_open(&c, (int)r.port);
	client_request(&c, "POST /health HTTP/1.1\r\nHost: pc\r\nContent-Length: 10\r\n\r\n"
		       "0123456789", &resp);
	expect_status(&resp, 405, "close", "POST with a body");
	client_expect_eof(&c, "after a POST with a body (a reset means the body was not read)");
}

Test(fixture_e2e, sigterm_finishes_inflight_request, .timeout = 10)
{
	static const char half[] = "GET /health HTTP/1.1\r\nHost: pc\r\n";
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(NULL, &r);
	client_open(&c, (int)r.port);
	client_send(&c, half, strlen(half));
	cr_assert_eq(kill(fx.pid, SIGTERM), 0, "kill(SIGTERM): %s", strerror(errno));
	wait_refused((int)r.port);
	client_send(&c, "\r\n", 2);
	client_response(&c, &resp, false);
	expect_status(&resp, 200, "close", "request completed after SIGTERM");
	client_expect_eof(&c, "after the drained request");
	expect_exit(0, WAIT_MS);
}

Test(fixture_e2e, bind_failure_on_held_port, .timeout = 10)
{
	struct ready r;
	char port[16];
	int held, holder = hold_port(&held);
	const char *args[] = { "--port", port, NULL };

	snprintf(port, sizeof(port), "%d", held);
	spawn(args);
	read_ready(&r);
	cr_assert_str_eq(r.bind, "EADDRINUSE", "bind=%s, want EADDRINUSE: '%s'", r.bind, r.line);
	cr_assert_str_eq(r.listen, "-", "listen=%s, want - (not reached): '%s'", r.listen, r.line);
	cr_assert(r.port == held && r.attempts == 1 && r.blocked_ns == 0 && r.listen_ns == 0,
		  "want port=%d attempts=1 blocked_ns=0 listen_ns=0: '%s'", held, r.line);
	expect_exit(3, WAIT_MS);
	close(holder);
}

Test(fixture_e2e, bind_retry_gives_up_after_window, .timeout = 10)
{
	struct ready r;
	char port[16];
	int held, holder = hold_port(&held);
	const char *args[] = { "--port", port, "--bind-retry-ms", "100",
			       "--bind-retry-interval-ms", "10", NULL };

	snprintf(port, sizeof(port), "%d", held);
	spawn(args);
	read_ready(&r);
	cr_assert_str_eq(r.bind, "EADDRINUSE", "bind=%s after retries: '%s'", r.bind, r.line);
	cr_assert(r.attempts >= 2 && r.attempts <= 15, "attempts=%d, want 2-15 for 100 ms every "
		  "10 ms: '%s'", r.attempts, r.line);
	cr_assert(r.blocked_ns >= 95 * PC_NS_PER_MS && r.blocked_ns < 1000 * PC_NS_PER_MS,
		  "blocked_ns=%lld, want about 100 ms: '%s'", r.blocked_ns, r.line);
	expect_exit(3, WAIT_MS);
	close(holder);
}

Test(fixture_e2e, leak_child_outlives_parent, .timeout = 10)
{
	const char *args[] = { "--leak-child", NULL };
	struct ready r;
	struct client c;
	struct response resp;
	int st;

	start_ok(args, &r);
	fx.leak_pid = (pid_t)r.leak_pid;
	cr_assert(r.leak_pid > 0 && r.leak_pid != r.pid, "leak_pid=%ld: '%s'", r.leak_pid, r.line);
	kill(fx.pid, SIGKILL);
	cr_assert_eq(waitpid(fx.pid, &st, 0), fx.pid, "waitpid parent: %s", strerror(errno));
	fx.reaped = true;
	cr_assert_eq(kill(fx.leak_pid, 0), 0, "leaked child %d gone with its parent: %s",
		     fx.leak_pid, strerror(errno));
	client_open(&c, (int)r.port);
	client_request(&c, GET("/health"), &resp);
	cr_assert_eq(resp.status, 200, "leaked child answered %d", resp.status);
	cr_assert_eq(resp.pid, r.leak_pid, "served by pid %ld, want the leaked child %ld",
		     resp.pid, r.leak_pid);
	close(c.fd);
	if (!subreaper)
		return;  /* .fini kills the group; init reaps the child */
	kill(fx.leak_pid, SIGKILL);
	cr_assert_eq(waitpid(fx.leak_pid, &st, 0), fx.leak_pid, "reaping the leaked child: %s",
		     strerror(errno));
	fx.leak_pid = 0;
	wait_refused((int)r.port);
}

/* The harness dying (its end of the lifeline closing) ends the parent and
 * the leaked child at once, with status 0. */
Test(fixture_e2e, lifeline_eof_ends_parent_and_leaked_child, .timeout = 10)
{
	const char *args[] = { "--leak-child", NULL };
	struct ready r;
	int st;

	start_ok(args, &r);
	fx.leak_pid = (pid_t)r.leak_pid;
	close_fd(&fx.lifeline_w);
	expect_exit(0, 2000);  /* the exit pipe reports both processes gone */
	if (!subreaper)
		return;
	cr_assert_eq(waitpid(fx.leak_pid, &st, 0), fx.leak_pid, "reaping the leaked child: %s",
		     strerror(errno));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "leaked child ended with status %#x", st);
	fx.leak_pid = 0;
}

Test(fixture_e2e, usage_error_exits_2, .timeout = 10)
{
	const char *args[] = { "--no-such-flag", NULL };
	char c;
	ssize_t n;

	spawn(args);
	n = read_by(fx.ready_r, &c, 1, deadline_in(WAIT_MS));
	cr_assert_eq(n, 0, "ready fd on a usage error: %s, want EOF without a line",
		     n > 0 ? "a line" : read_error(n));
	expect_exit(2, WAIT_MS);
}

Test(fixture_e2e, opts_after_bind_reported, .timeout = 10)
{
	const char *args[] = { "--opts", "reuseaddr+nodelay+backlog=16", "--opts-at",
			       "after-bind", NULL };
	struct ready r;
	struct client c;
	struct response resp;

	start_ok(args, &r);
	cr_assert_eq(r.attempts, 1, "attempts=%d: '%s'", r.attempts, r.line);
	client_open(&c, (int)r.port);
	client_request(&c, GET("/health"), &resp);
	expect_status(&resp, 200, "keep-alive", "with options after bind");
}
