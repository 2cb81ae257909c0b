/* test_preload.c -- the preload probe: the harness's parser, collector and
 * summary in process (table-driven, plus a deterministic fuzz), and the
 * real libportchurn-preload.so LD_PRELOADed into pc-fixture.
 *
 * The end-to-end tests need PC_FIXTURE (and PC_PRELOAD, or the library
 * next to the fixture) and are skipped without them. Each fixture runs in
 * its own process group with a lifeline pipe, so nothing outlives the test
 * even when Criterion kills it on timeout; .fini kills and reaps every
 * group a test started, failed or not. Tests that need a port after a
 * fixture died run in a private network namespace when they may, else on
 * a kernel-chosen port; never a fixed one.
 *
 * Not tested, because it cannot work: a statically linked program has no
 * dynamic linker to honour LD_PRELOAD, and macOS drops
 * DYLD_INSERT_LIBRARIES for SIP-protected binaries. Such a server sends no
 * event at all, and the summary says "no events arrived"
 * (static_binary_sends_no_events shows it when a static pc-fixture was
 * built). */
#define _GNU_SOURCE   /* F_SETPIPE_SZ, pidfd_getfd through syscall() */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "preload_events.h"
#include "sockstate.h"
#include "sys.h"

#define WAIT_MS 5000          /* bound on any single wait */

/* ==== the parser ========================================================== */

/* Params are copied into Criterion's worker: plain arrays, no pointers. */
struct parse_case {
	char name[48];
	char line[300];
	bool ok;
	enum pc_preload_call call;
	int fd, rc, err, port, bound, backlog, level, opt, val, linger_s, family;
	uint64_t n;
};

#define HEAD "pcev t=123 pid=42 "
#define OK(nm, ln, ...) { .name = nm, .line = ln, .ok = true, __VA_ARGS__ }
#define BAD(nm, ln) { .name = nm, .line = ln, .ok = false }

ParameterizedTestParameters(preload_parse, table)
{
	static struct parse_case cases[] = {
		OK("socket inet", HEAD "call=socket fd=5 rc=5 errno=0 family=inet type=stream",
		   .call = PC_PEV_SOCKET, .fd = 5, .rc = 5, .family = AF_INET),
		OK("socket failed inet6", HEAD "call=socket fd=-1 rc=-1 errno=EMFILE family=inet6 "
		   "type=stream", .call = PC_PEV_SOCKET, .fd = -1, .rc = -1, .err = EMFILE,
		   .family = AF_INET6),
		OK("setsockopt reuseaddr", HEAD "call=setsockopt fd=5 rc=0 errno=0 level=SOL_SOCKET "
		   "opt=SO_REUSEADDR val=1 bound=0", .call = PC_PEV_SETSOCKOPT, .fd = 5,
		   .level = SOL_SOCKET, .opt = SO_REUSEADDR, .val = 1),
		OK("setsockopt linger after bind", HEAD "call=setsockopt fd=5 rc=0 errno=0 "
		   "level=SOL_SOCKET opt=SO_LINGER val=1,0 bound=1\n", .call = PC_PEV_SETSOCKOPT,
		   .fd = 5, .level = SOL_SOCKET, .opt = SO_LINGER, .val = 1, .linger_s = 0,
		   .bound = 1),
		OK("setsockopt numeric", HEAD "call=setsockopt fd=7 rc=-1 errno=ENOPROTOOPT "
		   "level=41 opt=26 val=-3 bound=0", .call = PC_PEV_SETSOCKOPT, .fd = 7, .rc = -1,
		   .err = ENOPROTOOPT, .level = 41, .opt = 26, .val = -3),
		OK("inject nodelay", HEAD "call=inject fd=5 rc=0 errno=0 level=IPPROTO_TCP "
		   "opt=TCP_NODELAY val=1 bound=0", .call = PC_PEV_INJECT, .fd = 5,
		   .level = IPPROTO_TCP, .opt = TCP_NODELAY, .val = 1),
		OK("bind in use", HEAD "call=bind fd=5 rc=-1 errno=EADDRINUSE port=8000 bound=0",
		   .call = PC_PEV_BIND, .fd = 5, .rc = -1, .err = EADDRINUSE, .port = 8000),
		OK("bind unknown errno", HEAD "call=bind fd=5 rc=-1 errno=E200 port=1 bound=0",
		   .call = PC_PEV_BIND, .fd = 5, .rc = -1, .err = 200, .port = 1),
		OK("listen", HEAD "call=listen fd=5 rc=0 errno=0 port=65535 bound=1 backlog=-1",
		   .call = PC_PEV_LISTEN, .fd = 5, .port = 65535, .bound = 1, .backlog = -1),
		OK("accept", HEAD "call=accept fd=5 rc=9 errno=0 port=8000 bound=1",
		   .call = PC_PEV_ACCEPT, .fd = 5, .rc = 9, .port = 8000, .bound = 1),
		OK("close", HEAD "call=close fd=9 rc=0 errno=0", .call = PC_PEV_CLOSE, .fd = 9),
		OK("dropped", HEAD "call=dropped fd=-1 rc=0 errno=0 n=17", .call = PC_PEV_DROPPED,
		   .fd = -1, .n = 17),
		OK("later fields ignored", HEAD "call=close fd=9 rc=0 errno=0 addr=127.0.0.1",
		   .call = PC_PEV_CLOSE, .fd = 9),
		BAD("empty", ""),
		BAD("just the tag", "pcev"),
		BAD("tag and space", "pcev "),
		BAD("other tag", "pceV t=1 pid=1 call=close fd=1 rc=0 errno=0"),
		BAD("leading space", " " HEAD "call=close fd=9 rc=0 errno=0"),
		BAD("trailing space", HEAD "call=close fd=9 rc=0 errno=0 "),
		BAD("double space", "pcev t=123  pid=42 call=close fd=9 rc=0 errno=0"),
		BAD("fields swapped", "pcev pid=42 t=123 call=close fd=9 rc=0 errno=0"),
		BAD("no errno", HEAD "call=close fd=9 rc=0"),
		BAD("unknown call", HEAD "call=connect fd=9 rc=0 errno=0"),
		BAD("unknown errno", HEAD "call=close fd=9 rc=-1 errno=EBOGUS"),
		BAD("errno E0", HEAD "call=close fd=9 rc=-1 errno=E"),
		BAD("pid 0", "pcev t=1 pid=0 call=close fd=9 rc=0 errno=0"),
		BAD("negative time", "pcev t=-1 pid=1 call=close fd=9 rc=0 errno=0"),
		BAD("time overflow", "pcev t=99999999999999999999 pid=1 call=close fd=9 rc=0 errno=0"),
		BAD("pid overflow", "pcev t=1 pid=2147483648 call=close fd=9 rc=0 errno=0"),
		BAD("fd -2", HEAD "call=close fd=-2 rc=0 errno=0"),
		BAD("plus sign", HEAD "call=close fd=+9 rc=0 errno=0"),
		BAD("lone minus", HEAD "call=close fd=- rc=0 errno=0"),
		BAD("hex", HEAD "call=close fd=0x9 rc=0 errno=0"),
		BAD("empty value", HEAD "call=close fd= rc=0 errno=0"),
		BAD("port 65536", HEAD "call=bind fd=5 rc=0 errno=0 port=65536 bound=0"),
		BAD("bound 2", HEAD "call=bind fd=5 rc=0 errno=0 port=1 bound=2"),
		BAD("bind without bound", HEAD "call=bind fd=5 rc=0 errno=0 port=1"),
		BAD("listen without backlog", HEAD "call=listen fd=5 rc=0 errno=0 port=1 bound=1"),
		BAD("family unix", HEAD "call=socket fd=5 rc=5 errno=0 family=unix type=stream"),
		BAD("type dgram", HEAD "call=socket fd=5 rc=5 errno=0 family=inet type=dgram"),
		BAD("opt of another level", HEAD "call=setsockopt fd=5 rc=0 errno=0 "
		    "level=IPPROTO_TCP opt=SO_REUSEADDR val=1 bound=0"),
		BAD("linger without pair", HEAD "call=setsockopt fd=5 rc=0 errno=0 "
		    "level=SOL_SOCKET opt=SO_LINGER val=1 bound=0"),
		BAD("pair where int", HEAD "call=setsockopt fd=5 rc=0 errno=0 "
		    "level=SOL_SOCKET opt=SO_REUSEADDR val=1,0 bound=0"),
		BAD("dropped zero", HEAD "call=dropped fd=-1 rc=0 errno=0 n=0"),
		BAD("carriage return", HEAD "call=close fd=9 rc=0 errno=0\r\n"),
		BAD("two lines", HEAD "call=close fd=9 rc=0 errno=0\n" HEAD "call=close fd=9 rc=0 errno=0"),
		BAD("tab", HEAD "call=close\tfd=9 rc=0 errno=0"),
		BAD("high byte", HEAD "call=close fd=9 rc=0 errno=0 x=\xc3\xa9"),
		BAD("rest without value", HEAD "call=close fd=9 rc=0 errno=0 x="),
		BAD("rest without key", HEAD "call=close fd=9 rc=0 errno=0 =1"),
		BAD("rest word", HEAD "call=close fd=9 rc=0 errno=0 garbage"),
		BAD("double equals", HEAD "call=close fd==9 rc=0 errno=0"),
		BAD("too long", HEAD "call=close fd=9 rc=0 errno=0 pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxx"),
	};

	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, preload_parse, table, .timeout = 5)
{
	struct pc_preload_event ev;
	int rc = pc_preload_parse(c->line, &ev);

	if (!c->ok) {
		cr_assert_eq(rc, -EINVAL, "%s: parsed '%s', want -EINVAL", c->name, c->line);
		return;
	}
	cr_assert_eq(rc, 0, "%s: '%s' did not parse", c->name, c->line);
	cr_assert(ev.t_ns == 123 && ev.pid == 42, "%s: t/pid", c->name);
	cr_assert_eq(ev.call, c->call, "%s: call %d, want %d", c->name, ev.call, c->call);
	cr_assert(ev.fd == c->fd && ev.rc == c->rc && ev.err == c->err,
		  "%s: fd %d rc %d err %d, want %d %d %d", c->name, ev.fd, ev.rc, ev.err,
		  c->fd, c->rc, c->err);
	cr_assert(ev.port == c->port && ev.bound == c->bound && ev.backlog == c->backlog,
		  "%s: port %d bound %d backlog %d", c->name, ev.port, ev.bound, ev.backlog);
	cr_assert(ev.level == c->level && ev.opt == c->opt && ev.val == c->val &&
		  ev.linger_s == c->linger_s, "%s: level %d opt %d val %d,%d", c->name,
		  ev.level, ev.opt, ev.val, ev.linger_s);
	cr_assert(ev.family == c->family && ev.n == c->n, "%s: family %d n %llu", c->name,
		  ev.family, (unsigned long long)ev.n);
}

/* Deterministic mutations of valid lines and random bytes: the parser must
 * neither crash (the ASan build watches) nor accept out-of-range values. */
Test(preload_parse, fuzz, .timeout = 30)
{
	static const char *const seeds[] = {
		HEAD "call=socket fd=5 rc=5 errno=0 family=inet6 type=stream",
		HEAD "call=setsockopt fd=5 rc=0 errno=0 level=SOL_SOCKET opt=SO_LINGER val=1,0 bound=1",
		HEAD "call=listen fd=5 rc=0 errno=0 port=8000 bound=1 backlog=128",
		HEAD "call=dropped fd=-1 rc=0 errno=0 n=3",
	};
	static const char alphabet[] = "pcev=t -0123456789,\n\rSO_LINGERbindx\xff";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct pc_preload_event ev;
	char line[400];
	int accepted = 0;

	for (int i = 0; i < 200000; i++) {
		size_t len;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		snprintf(line, sizeof(line), "%s", seeds[x % 4]);
		len = strlen(line);
		for (int m = 0; m < 1 + (int)(x >> 60); m++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if ((x >> 8) % 3 == 0 && len + 1 < sizeof(line))
				line[len++] = alphabet[(x >> 24) % (sizeof(alphabet) - 1)];
			line[(x >> 16) % len] = alphabet[(x >> 32) % (sizeof(alphabet) - 1)];
			line[len] = '\0';
		}
		if (pc_preload_parse(line, &ev) == 0) {
			accepted++;
			cr_assert(ev.pid > 0 && ev.t_ns >= 0 && ev.fd >= -1 && ev.port >= 0 &&
				  ev.port <= 65535 && (unsigned)ev.call <= PC_PEV_DROPPED,
				  "accepted out of range: '%s'", line);
		}
	}
	cr_assert_gt(accepted, 0, "no mutation survived: the fuzz tests nothing");
}

/* ==== the collector ======================================================= */

static void nonblocking_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
}

static void put(int fd, const char *s)
{
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s), "write to the test pipe");
}

Test(preload_log, joins_split_lines_and_counts_garbage, .timeout = 5)
{
	struct pc_preload_log log;
	char big[600];
	int p[2];

	nonblocking_pipe(p);
	cr_assert_eq(pc_preload_log_init(&log, p[0]), 0);
	put(p[1], HEAD "call=close fd=9 rc=0 ");
	cr_assert_eq(pc_preload_log_drain(&log), 0);
	cr_assert_eq(log.n, 0, "half a line made an event");
	put(p[1], "errno=0\nnot an event\n");
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	put(p[1], big);
	put(p[1], HEAD "call=dropped fd=-1 rc=0 errno=0 n=4\n" HEAD "call=close fd=");
	cr_assert_eq(pc_preload_log_drain(&log), 0);
	close(p[1]);
	cr_assert_eq(pc_preload_log_drain(&log), 1, "EOF once the writer is gone");
	cr_assert_eq(log.n, 2, "%zu events, want 2", log.n);
	cr_assert_eq(log.events[0].call, PC_PEV_CLOSE);
	cr_assert_eq(log.dropped, 4, "dropped %llu, want 4", (unsigned long long)log.dropped);
	cr_assert_eq(log.bad_lines, 3, "%llu bad lines, want 3 (word, over-long, cut off)",
		     (unsigned long long)log.bad_lines);
	cr_assert(log.eof);
	pc_preload_log_free(&log);
	close(p[0]);
}

Test(preload_log, keeps_a_bounded_number, .timeout = 5)
{
	struct pc_preload_log log;
	char line[128];
	int n;

	cr_assert_eq(pc_preload_log_init(&log, -1), 0);
	for (int i = 0; i < PC_PRELOAD_LOG_MAX + 10; i++) {
		n = snprintf(line, sizeof(line), "pcev t=%d pid=7 call=close fd=%d rc=0 errno=0\n",
			     i, i % 100);
		pc_preload_log_add_line(&log, line, (size_t)n);
	}
	cr_assert_eq(log.n, PC_PRELOAD_LOG_MAX);
	cr_assert_eq(log.not_kept, 10, "%llu not kept, want 10", (unsigned long long)log.not_kept);
	cr_assert_eq(log.events[PC_PRELOAD_LOG_MAX - 1].t_ns, PC_PRELOAD_LOG_MAX - 1,
		     "the first ones are kept, in order");
	pc_preload_log_free(&log);
}

/* ==== the summary ========================================================= */

static void add(struct pc_preload_log *log, const char *line)
{
	uint64_t bad = log->bad_lines;

	pc_preload_log_add_line(log, line, strlen(line));
	cr_assert_eq(log->bad_lines, bad, "test line did not parse: '%s'", line);
}

#define AT(ms) "pcev t=" #ms "000000 pid=42 "

Test(preload_summary, a_listener_and_its_connections, .timeout = 5)
{
	struct pc_preload_log log;
	char buf[1024];

	cr_assert_eq(pc_preload_log_init(&log, -1), 0);
	add(&log, AT(10) "call=socket fd=5 rc=5 errno=0 family=inet type=stream");
	add(&log, AT(10) "call=inject fd=5 rc=0 errno=0 level=SOL_SOCKET opt=SO_REUSEADDR "
	    "val=1 bound=0");
	add(&log, AT(11) "call=bind fd=5 rc=-1 errno=EADDRINUSE port=8000 bound=0");
	add(&log, AT(11) "call=close fd=5 rc=0 errno=0");
	add(&log, AT(12) "call=socket fd=5 rc=5 errno=0 family=inet type=stream");
	add(&log, AT(12) "call=setsockopt fd=5 rc=0 errno=0 level=SOL_SOCKET opt=SO_REUSEADDR "
	    "val=1 bound=0");
	add(&log, AT(13) "call=bind fd=5 rc=0 errno=0 port=8000 bound=0");
	add(&log, AT(13) "call=setsockopt fd=5 rc=0 errno=0 level=SOL_SOCKET opt=SO_REUSEPORT "
	    "val=1 bound=1");
	add(&log, AT(14) "call=listen fd=5 rc=0 errno=0 port=8000 bound=1 backlog=2048");
	for (int i = 0; i < 2; i++) {
		add(&log, AT(15) "call=accept fd=5 rc=6 errno=0 port=8000 bound=1");
		add(&log, AT(15) "call=setsockopt fd=6 rc=0 errno=0 level=IPPROTO_TCP "
		    "opt=TCP_NODELAY val=1 bound=1");
		add(&log, AT(15) "call=close fd=6 rc=0 errno=0");
	}
	add(&log, AT(16) "call=dropped fd=-1 rc=0 errno=0 n=3");
	cr_assert_eq(pc_preload_summary(&log, 42, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "socket fd 5 (inet); injected SO_REUSEADDR=1 before bind; "
			 "bind port 8000 failed: EADDRINUSE at +1.0 ms; close fd 5; "
			 "socket fd 5 (inet); setsockopt SO_REUSEADDR=1 before bind; "
			 "bind port 8000 ok at +3.0 ms; setsockopt SO_REUSEPORT=1 after bind; "
			 "listen backlog 2048 at +4.0 ms; accepted 2 connections; "
			 "setsockopt TCP_NODELAY=1 on accepted sockets (2) "
			 "(3 events lost: the event pipe was full)");
	cr_assert_eq(pc_preload_summary(&log, 42, 0, buf, 40), -ENOSPC);
	cr_assert_eq(strlen(buf), 39, "cut text is NUL-terminated within the buffer");
	pc_preload_log_free(&log);
}

Test(preload_summary, inherited_listener_and_two_processes, .timeout = 5)
{
	struct pc_preload_log log;
	char buf[512];

	cr_assert_eq(pc_preload_log_init(&log, -1), 0);
	add(&log, "pcev t=1000000 pid=7 call=listen fd=3 rc=0 errno=0 port=8000 bound=1 backlog=128");
	add(&log, "pcev t=2500000 pid=8 call=accept fd=3 rc=4 errno=0 port=8000 bound=1");
	cr_assert_eq(pc_preload_summary(&log, 0, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "pid 7: listen fd 3 port 8000 backlog 128 at +0.0 ms | "
			 "pid 8: accepted 1 connection");
	cr_assert_eq(pc_preload_summary(&log, 9, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "no events from pid 9");
	pc_preload_log_free(&log);
}

Test(preload_summary, no_events_says_why, .timeout = 5)
{
	struct pc_preload_log log;
	char buf[256];

	cr_assert_eq(pc_preload_log_init(&log, -1), 0);
	pc_preload_summary(&log, 0, 0, buf, sizeof(buf));
	cr_assert(!strncmp(buf, "no events arrived", 17), "'%s'", buf);
	cr_assert(strstr(buf, "static"), "'%s' does not name static binaries", buf);
	pc_preload_log_free(&log);
}

/* ==== the real library in pc-fixture ====================================== */

struct proc {
	pid_t pid;            /* also its process group */
	bool reaped;
	int ready_r, life_w, events_r;
	struct pc_preload_log log;
	char ready[512];
};

struct spawn {
	bool preload;         /* LD_PRELOAD the probe */
	bool events;          /* PORTCHURN_PRELOAD_FD: a pipe we read */
	const char *inject;   /* PORTCHURN_PRELOAD_INJECT */
	const char *fd_env;   /* PORTCHURN_PRELOAD_FD given as is (events false) */
	const char *exe;      /* default: $PC_FIXTURE */
	bool via_sh;          /* sh forks the fixture: a child of the probed process */
	int pipe_size;        /* F_SETPIPE_SZ of the event pipe, 0 = default */
};

#define MAX_PROCS 4
static struct proc procs[MAX_PROCS];
static int nprocs;

static void e2e_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* sh's orphaned fixture comes back to us, to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The group is signalled only while its leader is unreaped, so its id
 * cannot have been reused; its other members are reaped with it. */
static void stop(struct proc *p)
{
	if (!p->reaped && p->pid > 0) {
		kill(-p->pid, SIGKILL);
		while (waitpid(-p->pid, NULL, 0) > 0 || errno == EINTR)
			;
		p->reaped = true;
	}
}

static void e2e_fini(void)
{
	for (int i = 0; i < nprocs; i++) {
		stop(&procs[i]);
		close_fd(&procs[i].ready_r);
		close_fd(&procs[i].life_w);
		close_fd(&procs[i].events_r);
		pc_preload_log_free(&procs[i].log);
	}
	nprocs = 0;
}

TestSuite(preload_e2e, .init = e2e_init, .fini = e2e_fini, .timeout = 30);

static const char *fixture_path(void)
{
	const char *p = getenv("PC_FIXTURE");

	if (!p || !*p)
		cr_skip_test("PC_FIXTURE is not set (path of the pc-fixture binary)");
	return p;
}

/* $PC_PRELOAD, or the library next to the fixture (one build directory). */
static const char *preload_path(void)
{
	static char buf[PATH_MAX];
	const char *p = getenv("PC_PRELOAD"), *fx = fixture_path(), *slash;

	if (p && *p)
		return p;
	slash = strrchr(fx, '/');
	snprintf(buf, sizeof(buf), "%.*slibportchurn-preload.so", slash ? (int)(slash - fx + 1) : 0,
		 fx);
	if (access(buf, R_OK))
		cr_skip_test("no PC_PRELOAD and no %s", buf);
	return buf;
}

static void pipe_cloexec(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
}

/* The child's environment: ours without any probe variable, plus the
 * spawn's. ASan (the sanitized build's fixture) insists on coming first
 * in the library list, which LD_PRELOAD denies it: tell it not to check. */
static char **child_env(const struct spawn *s, int events_w, char store[6][PATH_MAX + 64])
{
	extern char **environ;
	static char *env[512];
	const char *asan = getenv("ASAN_OPTIONS");
	int n = 0, k = 0;

	for (char **e = environ; *e && n < 500; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "PORTCHURN_PRELOAD_", 18) &&
		    strncmp(*e, "ASAN_OPTIONS=", 13))
			env[n++] = *e;
	snprintf(store[k], PATH_MAX + 64, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 asan ? asan : "", asan ? ":" : "");
	env[n++] = store[k++];
	if (s->preload) {
		snprintf(store[k], PATH_MAX + 64, "LD_PRELOAD=%s", preload_path());
		env[n++] = store[k++];
	}
	if (s->events || s->fd_env) {
		snprintf(store[k], PATH_MAX + 64, "%s=%s", PC_PRELOAD_ENV_FD, s->fd_env ? s->fd_env : "");
		if (s->events)
			snprintf(store[k], PATH_MAX + 64, "%s=%d", PC_PRELOAD_ENV_FD, events_w);
		env[n++] = store[k++];
	}
	if (s->inject) {
		snprintf(store[k], PATH_MAX + 64, "%s=%s", PC_PRELOAD_ENV_INJECT, s->inject);
		env[n++] = store[k++];
	}
	env[n] = NULL;
	return env;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_child(const char *path, char *const *argv, char **env, const int *keep)
{
	setpgid(0, 0);
	for (; *keep >= 0; keep++)
		fcntl(*keep, F_SETFD, 0);
	execve(path, argv, env);
	_exit(127);
}

/* Builds "[sh -c '"$@"; exit $?' sh] fixture --addr 127.0.0.1 --ready-fd R
 * --lifeline-fd L args...". */
static int build_argv(const struct spawn *s, const char *const *args, int rfd, int lfd,
		      char *argv[32], char nums[2][16])
{
	int n = 0;

	if (s->via_sh) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = "\"$@\"; exit $?";
		argv[n++] = "sh";
	}
	snprintf(nums[0], 16, "%d", rfd);
	snprintf(nums[1], 16, "%d", lfd);
	argv[n++] = (char *)(s->exe ? s->exe : fixture_path());
	argv[n++] = "--addr";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--ready-fd";
	argv[n++] = nums[0];
	argv[n++] = "--lifeline-fd";
	argv[n++] = nums[1];
	for (; args && *args && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	return n;
}

static struct proc *spawn(const struct spawn *s, const char *const *args)
{
	static char store[6][PATH_MAX + 64];
	struct proc *p;
	int ready[2], life[2], ev[2] = { -1, -1 };
	char *argv[32], nums[2][16], **env;

	cr_assert_lt(nprocs, MAX_PROCS);
	p = &procs[nprocs++];
	*p = (struct proc){ .ready_r = -1, .life_w = -1, .events_r = -1 };
	pipe_cloexec(ready);
	pipe_cloexec(life);
	if (s->events) {
		pipe_cloexec(ev);
		fcntl(ev[0], F_SETFL, fcntl(ev[0], F_GETFL) | O_NONBLOCK);
		if (s->pipe_size)
			cr_assert_geq(fcntl(ev[1], F_SETPIPE_SZ, s->pipe_size), 0, "F_SETPIPE_SZ");
	}
	cr_assert_eq(pc_preload_log_init(&p->log, ev[0]), 0);
	build_argv(s, args, ready[1], life[0], argv, nums);
	env = child_env(s, ev[1], store);
	p->pid = fork();
	cr_assert_geq(p->pid, 0, "fork: %s", strerror(errno));
	if (p->pid == 0)
		exec_child(argv[0], argv, env, (const int[]){ ready[1], life[0], ev[1], -1 });
	setpgid(p->pid, p->pid);  /* also here: no race with the child's own call */
	close(ready[1]);
	close(life[0]);
	if (ev[1] >= 0)
		close(ev[1]);
	p->ready_r = ready[0];
	p->life_w = life[1];
	p->events_r = ev[0];
	return p;
}

static int wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t left = deadline - pc_now_ns();

	if (left <= 0)
		return 0;
	return poll(&pfd, 1, (int)(left / PC_NS_PER_MS) + 1);
}

/* The fixture's one ready line, bounded. */
static void read_ready(struct proc *p)
{
	int64_t deadline = pc_now_ns() + WAIT_MS * PC_NS_PER_MS;
	size_t len = 0;

	while (!memchr(p->ready, '\n', len)) {
		ssize_t n;

		cr_assert_gt(wait_readable(p->ready_r, deadline), 0, "no ready line within %d ms",
			     WAIT_MS);
		n = read(p->ready_r, p->ready + len, sizeof(p->ready) - 1 - len);
		cr_assert_gt(n, 0, "ready fd: %s after '%s'", n ? strerror(errno) : "EOF", p->ready);
		len += (size_t)n;
	}
}

/* A field of the ready line, e.g. ready_field(p, "bind", buf). */
static const char *ready_field(const struct proc *p, const char *key, char out[32])
{
	char pat[32];
	const char *at;

	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(p->ready, pat);
	cr_assert(at != NULL, "no %s= in ready line '%s'", key, p->ready);
	sscanf(at + strlen(pat), "%31[^ \n]", out);
	return out;
}

static int ready_int(const struct proc *p, const char *key)
{
	char v[32];

	return atoi(ready_field(p, key, v));
}

/* Events until want() holds, EOF, or the deadline. */
static bool collect(struct proc *p, bool (*want)(const struct pc_preload_log *), int timeout_ms)
{
	int64_t deadline = pc_now_ns() + timeout_ms * PC_NS_PER_MS;

	for (;;) {
		int rc = pc_preload_log_drain(&p->log);

		cr_assert_geq(rc, 0, "reading events: %s", strerror(-rc));
		if (want && want(&p->log))
			return true;
		if (rc == 1 || wait_readable(p->events_r, deadline) <= 0)
			return want ? want(&p->log) : rc == 1;
	}
}

static bool has_listen(const struct pc_preload_log *log)
{
	for (size_t i = 0; i < log->n; i++)
		if (log->events[i].call == PC_PEV_LISTEN)
			return true;
	return false;
}

/* Kills the group, reaps it, and reads the events to EOF. */
static void finish(struct proc *p)
{
	stop(p);
	close_fd(&p->life_w);
	if (p->events_r >= 0)
		cr_assert(collect(p, NULL, WAIT_MS), "no EOF on the event pipe after the kill");
}

static const char *names(const struct pc_preload_log *log, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < log->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "",
				      pc_preload_call_name(log->events[i].call));
	return buf;
}

static void expect_calls(const struct pc_preload_log *log, const enum pc_preload_call *want,
			 size_t n, const char *what)
{
	char got[512];

	cr_assert_geq(log->n, n, "%s: events '%s'", what, names(log, got, sizeof(got)));
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(log->events[i].call, want[i], "%s: event %zu is %s in '%s'", what, i,
			     pc_preload_call_name(log->events[i].call), names(log, got, sizeof(got)));
}

static const struct pc_preload_event *find(const struct pc_preload_log *log,
					   enum pc_preload_call call, int nth)
{
	for (size_t i = 0; i < log->n; i++)
		if (log->events[i].call == call && nth-- == 0)
			return &log->events[i];
	return NULL;
}

/* ---- a minimal client -------------------------------------------------------- */

static int tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect to port %d: %s",
		     port, strerror(errno));
	return fd;
}

/* GET / and read to EOF (the fixture closes first with --close-first
 * server); then close, so the server's side is left in TIME_WAIT. */
static void request(int port)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: pc\r\n\r\n";
	int64_t deadline = pc_now_ns() + WAIT_MS * PC_NS_PER_MS;
	int fd = tcp_connect(port);
	char buf[1024];
	ssize_t n;

	cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	do {
		cr_assert_gt(wait_readable(fd, deadline), 0, "no response from port %d", port);
		n = read(fd, buf, sizeof(buf));
	} while (n > 0);
	cr_assert_eq(n, 0, "reading the response: %s", strerror(errno));
	close(fd);
}

#define FX_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- events -------------------------------------------------------------- */

Test(preload_e2e, events_in_order_options_before_bind)
{
	struct spawn s = { .preload = true, .events = true };
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", "reuseaddr"));
	static const enum pc_preload_call want[] = { PC_PEV_SOCKET, PC_PEV_SETSOCKOPT,
						     PC_PEV_BIND, PC_PEV_LISTEN };
	const struct pc_preload_event *e = p->log.events;
	char v[32];
	int port;

	read_ready(p);
	cr_assert_str_eq(ready_field(p, "bind", v), "0", "'%s'", p->ready);
	port = ready_int(p, "port");
	cr_assert(collect(p, has_listen, WAIT_MS), "no listen event within %d ms", WAIT_MS);
	expect_calls(&p->log, want, 4, "reuseaddr before bind");
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(e[i].pid, p->pid, "event %d from pid %d, not the fixture", i, e[i].pid);
		cr_assert(e[i].rc >= 0 && e[i].err == 0, "event %d failed", i);
		cr_assert(i == 0 || e[i].t_ns >= e[i - 1].t_ns, "event %d earlier than the last", i);
	}
	cr_assert(e[0].family == AF_INET && e[0].fd == e[0].rc, "socket event");
	cr_assert(e[1].fd == e[0].fd && e[1].level == SOL_SOCKET && e[1].opt == SO_REUSEADDR &&
		  e[1].val == 1 && e[1].bound == 0, "setsockopt event");
	cr_assert(e[2].fd == e[0].fd && e[2].port == port && e[2].bound == 0,
		  "bind event port %d, fixture says %d", e[2].port, port);
	cr_assert_leq(e[2].t_ns, atoll(ready_field(p, "bind_ns", v)),
		      "the probe saw bind() return after the fixture did");
	cr_assert(e[3].port == port && e[3].bound == 1 && e[3].backlog == 128, "listen event");
}

Test(preload_e2e, setsockopt_after_bind_says_bound)
{
	struct spawn s = { .preload = true, .events = true };
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", "reuseaddr",
					   "--opts-at", "after-bind"));
	static const enum pc_preload_call want[] = { PC_PEV_SOCKET, PC_PEV_BIND,
						     PC_PEV_SETSOCKOPT, PC_PEV_LISTEN };
	char summary[512];

	read_ready(p);
	cr_assert(collect(p, has_listen, WAIT_MS), "no listen event within %d ms", WAIT_MS);
	expect_calls(&p->log, want, 4, "reuseaddr after bind");
	cr_assert_eq(p->log.events[2].bound, 1, "setsockopt after bind() says bound=0");
	pc_preload_summary(&p->log, p->pid, 0, summary, sizeof(summary));
	cr_assert(strstr(summary, "setsockopt SO_REUSEADDR=1 after bind"), "summary: '%s'",
		  summary);
}

static bool has_close(const struct pc_preload_log *log)
{
	return find(log, PC_PEV_CLOSE, 0) != NULL;
}

Test(preload_e2e, accept_and_close_of_a_connection)
{
	struct spawn s = { .preload = true, .events = true };
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", "none",
					   "--close-first", "server"));
	const struct pc_preload_event *a, *c;
	int port;

	read_ready(p);
	port = ready_int(p, "port");
	request(port);
	cr_assert(collect(p, has_close, WAIT_MS), "no close event within %d ms", WAIT_MS);
	a = find(&p->log, PC_PEV_ACCEPT, 0);
	c = find(&p->log, PC_PEV_CLOSE, 0);
	cr_assert(a && a->rc >= 0 && a->port == port, "accept event on port %d", port);
	cr_assert_eq(c->fd, a->rc, "closed fd %d, accepted fd %d", c->fd, a->rc);
	cr_assert_null(find(&p->log, PC_PEV_SETSOCKOPT, 0), "--opts none set an option");
}

static bool nothing(const struct pc_preload_log *log)
{
	(void)log;
	return false;
}

static uint64_t received(const struct pc_preload_log *log)
{
	uint64_t n = 0;

	for (size_t i = 0; i < log->n; i++)
		n += log->events[i].call != PC_PEV_DROPPED;
	return n;
}

static uint64_t accounted_want;

/* The client sees EOF before the server's close() hook has written its
 * line: wait for the count, not for the response. */
static bool all_accounted(const struct pc_preload_log *log)
{
	return received(log) + log->dropped >= accounted_want;
}

/* A pipe nobody reads fills up: the server goes on serving, and the events
 * lost are counted and reported once lines fit again. Every event is
 * either received or counted: accept + close per request, and the set-up. */
Test(preload_e2e, full_pipe_never_blocks_and_losses_are_counted)
{
	struct spawn s = { .preload = true, .events = true, .pipe_size = 4096 };
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", "none",
					   "--close-first", "server"));
	const int requests = 80, setup = 3;   /* socket, bind, listen */
	uint64_t got;
	int port;

	read_ready(p);
	port = ready_int(p, "port");
	for (int i = 0; i < requests; i++)
		request(port);   /* bounded: a blocked server fails here */
	collect(p, nothing, 50);   /* room again: the next event writes the count first */
	request(port);
	accounted_want = (uint64_t)setup + 2 * (requests + 1);
	collect(p, all_accounted, WAIT_MS);
	finish(p);
	got = received(&p->log);
	cr_assert_gt(p->log.dropped, 0, "a 4 KiB pipe held %llu events: nothing was lost",
		     (unsigned long long)got);
	cr_assert_eq(got + p->log.dropped, (uint64_t)setup + 2 * (requests + 1),
		     "%llu received + %llu dropped, want %d", (unsigned long long)got,
		     (unsigned long long)p->log.dropped, setup + 2 * (requests + 1));
	cr_assert_eq(p->log.bad_lines, 0);
}

Test(preload_e2e, exec_children_report_with_their_pid)
{
	struct spawn s = { .preload = true, .events = true, .via_sh = true };
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", "reuseaddr"));
	int fixture_pid;

	read_ready(p);
	fixture_pid = ready_int(p, "pid");
	cr_assert_neq(fixture_pid, p->pid, "sh did not fork: nothing to show");
	cr_assert(collect(p, has_listen, WAIT_MS), "no listen event from the exec'd child");
	for (size_t i = 0; i < p->log.n; i++)
		cr_assert_eq(p->log.events[i].pid, fixture_pid, "event from pid %d, fixture is %d",
			     p->log.events[i].pid, fixture_pid);
}

/* The probe writes only into the pipe it was given. */
Test(preload_e2e, fd_that_is_not_a_pipe_is_left_alone)
{
	char path[] = "/tmp/pc-preload-XXXXXX", fdtext[16];
	struct spawn s = { .preload = true, .fd_env = fdtext };
	int fd = mkstemp(path);
	struct proc *p;
	char v[32];

	cr_assert_geq(fd, 0);
	unlink(path);
	snprintf(fdtext, sizeof(fdtext), "%d", fd);   /* inherited: mkstemp has no CLOEXEC */
	p = spawn(&s, FX_ARGS("--port", "0", "--opts", "reuseaddr"));
	read_ready(p);
	cr_assert_str_eq(ready_field(p, "bind", v), "0");
	finish(p);
	cr_assert_eq(lseek(fd, 0, SEEK_END), 0, "the probe wrote into a regular file");
	close(fd);
}

Test(preload_e2e, unreadable_inject_is_reported_and_changes_nothing)
{
	struct spawn s = { .preload = true, .events = true, .inject = "reuseaddr+bogus" };
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", "none"));
	const struct pc_preload_event *e;

	read_ready(p);
	cr_assert(collect(p, has_listen, WAIT_MS));
	e = find(&p->log, PC_PEV_INJECT, 0);
	cr_assert(e && e->fd == -1 && e->err == EINVAL, "no inject line saying EINVAL");
	cr_assert_null(find(&p->log, PC_PEV_INJECT, 1), "something was injected");
	cr_assert_null(find(&p->log, PC_PEV_SETSOCKOPT, 0));
}

/* Shown only where a static fixture was built (the bench_startup build):
 * nothing can interpose on it, so no event arrives. */
Test(preload_e2e, static_binary_sends_no_events)
{
	static char exe[PATH_MAX];
	struct spawn s = { .preload = true, .events = true, .exe = exe };
	struct proc *p;
	char summary[256];

	snprintf(exe, sizeof(exe), "%s-static", fixture_path());
	if (access(exe, X_OK))
		cr_skip_test("no static pc-fixture (%s) in this build", exe);
	p = spawn(&s, FX_ARGS("--port", "0", "--opts", "reuseaddr"));
	read_ready(p);
	finish(p);
	cr_assert_eq(p->log.n, 0, "a static binary sent %zu events", p->log.n);
	pc_preload_summary(&p->log, 0, 0, summary, sizeof(summary));
	cr_assert(!strncmp(summary, "no events arrived", 17), "'%s'", summary);
}

/* python3 -c code under the probe with events on; its stdin is a pipe
 * whose write end goes to *stdin_w when stdin_w is not NULL. */
static struct proc *spawn_python(const char *code, int *stdin_w)
{
	static char store[6][PATH_MAX + 64];
	char *const py[] = { "python3", "-c", (char *)code, NULL };
	struct spawn s = { .preload = true, .events = true };
	int ev[2], in[2] = { -1, -1 };
	struct proc *p;
	char **env;

	if (access("/usr/bin/python3", X_OK))
		cr_skip_test("no /usr/bin/python3 here");
	cr_assert_lt(nprocs, MAX_PROCS);
	p = &procs[nprocs++];
	*p = (struct proc){ .ready_r = -1, .life_w = -1, .events_r = -1 };
	pipe_cloexec(ev);
	if (stdin_w)
		pipe_cloexec(in);
	fcntl(ev[0], F_SETFL, fcntl(ev[0], F_GETFL) | O_NONBLOCK);
	cr_assert_eq(pc_preload_log_init(&p->log, ev[0]), 0);
	p->events_r = ev[0];
	env = child_env(&s, ev[1], store);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		if (in[0] >= 0)
			dup2(in[0], 0);
		exec_child("/usr/bin/python3", py, env, (const int[]){ ev[1], -1 });
	}
	setpgid(p->pid, p->pid);
	close(ev[1]);
	if (stdin_w) {
		close(in[0]);
		*stdin_w = in[1];
	}
	return p;
}

static int reap(struct proc *p, int timeout_ms)
{
	int64_t deadline = pc_now_ns() + timeout_ms * PC_NS_PER_MS;
	int st;

	while (waitpid(p->pid, &st, WNOHANG) == 0) {
		cr_assert_lt(pc_now_ns(), deadline, "pid %d still running after %d ms", p->pid,
			     timeout_ms);
		poll(NULL, 0, 5);
	}
	p->reaped = true;
	return st;
}

/* Many threads, one pipe: every line arrives whole (one write() each). */
Test(preload_e2e, threads_never_interleave_lines)
{
	struct proc *p = spawn_python(
		"import socket, threading\n"
		"def work():\n"
		"    for i in range(300):\n"
		"        s = socket.socket()\n"
		"        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
		"        s.close()\n"
		"ts = [threading.Thread(target=work) for _ in range(4)]\n"
		"[t.start() for t in ts]\n"
		"[t.join() for t in ts]\n", NULL);
	uint64_t got;

	cr_assert(collect(p, NULL, 20000), "python did not finish within 20 s");
	reap(p, WAIT_MS);
	cr_assert_eq(p->log.bad_lines, 0, "%llu lines arrived mangled",
		     (unsigned long long)p->log.bad_lines);
	got = received(&p->log);
	cr_assert_eq(got + p->log.dropped, 4 * 300 * 3, "%llu + %llu dropped events, want 3600",
		     (unsigned long long)got, (unsigned long long)p->log.dropped);
}

/* Events lost after the last line that fitted are still reported, at
 * exit: python stops itself with the pipe full (3600 lines are far more
 * than a pipe holds) and is let go only then, so the last events are
 * surely dropped. Before the exit flush they vanished uncounted. */
Test(preload_e2e, drops_after_the_last_line_are_reported_at_exit)
{
	struct proc *p = spawn_python(
		"import os, signal, socket\n"
		"for i in range(1200):\n"
		"    s = socket.socket()\n"
		"    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
		"    s.close()\n"
		"os.kill(os.getpid(), signal.SIGSTOP)\n", NULL);
	int64_t deadline = pc_now_ns() + 20000 * PC_NS_PER_MS;
	uint64_t got;
	int st;

	while (waitpid(p->pid, &st, WNOHANG | WUNTRACED) == 0) {
		cr_assert_lt(pc_now_ns(), deadline, "python did not stop within 20 s");
		poll(NULL, 0, 5);
	}
	cr_assert(WIFSTOPPED(st), "python ended before it stopped itself");
	kill(p->pid, SIGCONT);
	cr_assert(collect(p, NULL, 20000), "python did not finish within 20 s");
	reap(p, WAIT_MS);
	got = received(&p->log);
	cr_assert_gt(p->log.dropped, 0, "the pipe never filled: the test proves nothing");
	cr_assert_eq(got + p->log.dropped, 1200 * 3, "%llu + %llu dropped events, want 3600",
		     (unsigned long long)got, (unsigned long long)p->log.dropped);
}

/* The harness closing its end must not kill a server that left SIGPIPE at
 * its default (Python ignores it, so this one puts the default back). */
Test(preload_e2e, harness_gone_does_not_kill_the_server)
{
	int in_w;
	struct proc *p = spawn_python(
		"import signal, socket, sys\n"
		"signal.signal(signal.SIGPIPE, signal.SIG_DFL)\n"
		"sys.stdin.readline()\n"
		"for i in range(3):\n"
		"    socket.socket().close()\n", &in_w);
	int st;

	close_fd(&p->events_r);   /* the harness is gone */
	cr_assert_eq(write(in_w, "go\n", 3), 3);
	close(in_w);
	st = reap(p, WAIT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "python ended with %s %d",
		  WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* ---- inject, and nothing changed without it ------------------------------- */

/* A port of our own: a private network namespace where we may (its own
 * TIME_WAIT table), else the host's, on kernel-chosen ports only. */
static void own_ports(void)
{
	char why[200];

	pc_sys_enter_private_netns(why, sizeof(why));
}

static bool census_time_wait(int port)
{
	struct pc_census c;
	int64_t deadline = pc_now_ns() + WAIT_MS * PC_NS_PER_MS;

	while (pc_now_ns() < deadline) {
		if (pc_sockstate_census(port, &c) < 0)
			return true;   /* no census here: the bind result will tell */
		if (c.time_wait > 0)
			return true;
		poll(NULL, 0, 2);
	}
	return false;
}

struct rebind_case {
	char name[48];
	bool preload, events;
	char inject[32];
	char want_bind[16];
};

ParameterizedTestParameters(preload_e2e, rebind_over_time_wait)
{
	static struct rebind_case cases[] = {
		{ "no library", false, false, "", "EADDRINUSE" },
		{ "library, no FD, no INJECT", true, false, "", "EADDRINUSE" },
		{ "library with events", true, true, "", "EADDRINUSE" },
		{ "inject reuseaddr", true, true, "reuseaddr", "0" },
		{ "inject reuseaddr, no events", true, false, "reuseaddr", "0" },
	};

	return cr_make_param_array(struct rebind_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* "A small C server that sets no options" (pc-fixture --opts none) leaves
 * TIME_WAIT on its port when it closes first; a second generation fails
 * with EADDRINUSE, unless the probe injected SO_REUSEADDR into both. */
ParameterizedTest(struct rebind_case *c, preload_e2e, rebind_over_time_wait)
{
	struct spawn s = { .preload = c->preload, .events = c->events,
			   .inject = c->inject[0] ? c->inject : NULL };
	struct proc *old, *new;
	char port[16], v[32];

	own_ports();
	old = spawn(&s, FX_ARGS("--port", "0", "--opts", "none", "--close-first", "server"));
	read_ready(old);
	cr_assert_str_eq(ready_field(old, "bind", v), "0", "%s: '%s'", c->name, old->ready);
	snprintf(port, sizeof(port), "%d", ready_int(old, "port"));
	request(atoi(port));
	cr_assert(census_time_wait(atoi(port)), "%s: no TIME_WAIT on port %s", c->name, port);
	finish(old);
	new = spawn(&s, FX_ARGS("--port", port, "--opts", "none"));
	read_ready(new);
	cr_assert_str_eq(ready_field(new, "bind", v), c->want_bind, "%s: ready line '%s'",
			 c->name, new->ready);
	if (!c->events)
		return;
	finish(new);
	const struct pc_preload_event *inj = find(&new->log, PC_PEV_INJECT, 0);
	const struct pc_preload_event *b = find(&new->log, PC_PEV_BIND, 0);

	cr_assert(b != NULL, "%s: no bind event", c->name);
	cr_assert_eq(b->err, c->inject[0] ? 0 : EADDRINUSE, "%s: bind event errno %d", c->name,
		     b->err);
	if (!c->inject[0]) {
		cr_assert_null(inj, "%s: injected without INJECT", c->name);
		cr_assert_null(find(&new->log, PC_PEV_SETSOCKOPT, 0), "%s: an option was set",
			       c->name);
		return;
	}
	cr_assert(inj && inj->rc == 0 && inj->opt == SO_REUSEADDR && inj->val == 1 &&
		  inj->bound == 0 && inj < b, "%s: no SO_REUSEADDR inject before bind", c->name);
	cr_assert_null(find(&new->log, PC_PEV_INJECT, 1), "%s: injected twice", c->name);
}

#ifdef SYS_pidfd_getfd
/* The listener on port, taken from pid's fd table (pidfd_getfd). */
static int steal_listener(pid_t pid, int port)
{
	char dir[64];
	struct dirent *d;
	DIR *fds;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), found = -1;

	if (pidfd < 0)
		cr_skip_test("pidfd_open: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	fds = opendir(dir);
	cr_assert(fds != NULL, "opendir %s", dir);
	while (found < 0 && (d = readdir(fds))) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(d->d_name), 0), on = 0;
		socklen_t olen = sizeof(on);

		if (fd < 0)
			continue;
		if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sin_family == AF_INET &&
		    ntohs(sa.sin_port) == port &&
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) == 0 && on)
			found = fd;
		else
			close(fd);
	}
	closedir(fds);
	close(pidfd);
	if (found < 0)
		cr_skip_test("cannot take pid %d's fds (pidfd_getfd refused)", (int)pid);
	return found;
}

struct listener_opts {
	int reuseaddr, reuseport, nodelay;
	struct linger linger;
};

static struct listener_opts listener_opts(bool preload, const char *opts)
{
	struct spawn s = { .preload = preload };
	struct listener_opts o;
	struct proc *p = spawn(&s, FX_ARGS("--port", "0", "--opts", opts));
	socklen_t len;
	char v[32];
	int fd;

	read_ready(p);
	cr_assert_str_eq(ready_field(p, "bind", v), "0");
	fd = steal_listener(p->pid, ready_int(p, "port"));
	len = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &o.reuseaddr, &len);
	getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &o.reuseport, &len);
	getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &o.nodelay, &len);
	len = sizeof(o.linger);
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &o.linger, &len);
	close(fd);
	finish(p);
	return o;
}

/* Loaded but not asked for anything, the probe leaves every option of the
 * listener as the server set it. */
Test(preload_e2e, no_fd_no_inject_changes_no_option)
{
	static const char *const sets[] = { "none", "reuseaddr+reuseport+linger=0+nodelay" };

	for (size_t i = 0; i < 2; i++) {
		struct listener_opts plain = listener_opts(false, sets[i]);
		struct listener_opts probed = listener_opts(true, sets[i]);

		cr_assert(plain.reuseaddr == probed.reuseaddr && plain.reuseport == probed.reuseport &&
			  plain.nodelay == probed.nodelay &&
			  plain.linger.l_onoff == probed.linger.l_onoff &&
			  plain.linger.l_linger == probed.linger.l_linger,
			  "--opts %s: options differ under the probe (reuseaddr %d/%d, reuseport "
			  "%d/%d, nodelay %d/%d, linger %d/%d)", sets[i], plain.reuseaddr,
			  probed.reuseaddr, plain.reuseport, probed.reuseport, plain.nodelay,
			  probed.nodelay, plain.linger.l_onoff, probed.linger.l_onoff);
		e2e_fini();   /* room for the next pair */
	}
}
#endif
