/* bench_floor.c -- the restart floor against the harness. The floor is
 * the least a restart costs on this machine: a minimal C loop that
 * SIGKILLs pc-fixture, reaps it, vfork+execs it again on the same port
 * (SO_REUSEADDR) and waits for its ready line; a second floor adds one
 * raw-socket GET /health per cycle, the least a "first HTTP 200" costs.
 * The same number of cycles then goes through `portchurn run` (naive
 * restarts, SIGKILL, no requests). Floor and harness take turns, REPS
 * times, each in a private network namespace (the floor in ours, made
 * with the helper portchurn uses for its own), and each ratio is taken
 * within one repetition: absolute times drift on a shared machine,
 * ratios hold better. Needs root or user namespaces; skips otherwise.
 *
 * usage: bench_floor [CYCLES [REPS]]   (default 1000 cycles, 5 repetitions) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"
#include "clock.h"

#define BENCH "bench_floor"
#define MAX_REPS 20
#define IO_TIMEOUT_MS 5000

/* The harness's side of the comparison: naive strategy, SIGKILL, no
 * requests, one port for the whole case. The client closes first, as in
 * the floor (the fixture's default): no TIME_WAIT piles up on the port. */
static const char scenario_fmt[] =
	"[scenario]\n"
	"name = bench-floor\n"
	"cycles = %d\n"
	"signal = KILL\n"
	"requests = 0\n"
	"close_first = client\n"
	"opts = reuseaddr\n";

struct floor_gen {
	pid_t pid;
	int port;
	int64_t listen_ns;      /* the fixture's own, from its ready line */
};

/* What one repetition measured, per side. */
struct side {
	struct pc_bench_samples ready;    /* kill -> listen() done (fixture's clock read) */
	struct pc_bench_samples seen;     /* kill -> ready line read / first 200 */
	int64_t loop_ns;                  /* the whole loop of cycles */
	int cycles;
};

static const char *g_fixture;

/* ---- floor: spawn, wait for the ready line, kill, reap ------------------- */

/* In the vfork()ed child: only dup2, fcntl, execv and _exit. */
static void exec_fixture(int ready_w, char *const argv[])
{
	if (ready_w == 3)
		fcntl(3, F_SETFD, 0);   /* dup2 onto itself would keep CLOEXEC */
	else if (dup2(ready_w, 3) < 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

static int64_t field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* Reads the one ready line; 0 once it is in and says listen=0. */
static int read_ready(int fd, struct floor_gen *g)
{
	char line[512];
	size_t len = 0;

	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
	}
	line[len] = '\0';
	if (!strstr(line, " bind=0 ") || !strstr(line, " listen=0 "))
		return -EADDRINUSE;
	g->port = (int)field(line, " port=");
	g->listen_ns = field(line, " listen_ns=");
	return 0;
}

/* vfork: the child borrows our memory until it execs, so no page table
 * is copied; the floor is the cheapest spawn there is. */
static int floor_spawn(struct floor_gen *g, int port)
{
	char portbuf[16];
	char *argv[] = { (char *)g_fixture, "--port", portbuf, "--opts", "reuseaddr",
			 "--ready-fd", "3", NULL };
	int fds[2], rc;
	pid_t pid;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = vfork();
	if (pid == 0)
		exec_fixture(fds[1], argv);
	close(fds[1]);
	rc = pid < 0 ? -errno : read_ready(fds[0], g);
	close(fds[0]);
	g->pid = pid > 0 ? pid : 0;
	return rc;
}

static void floor_kill(struct floor_gen *g)
{
	if (g->pid <= 0)
		return;
	kill(g->pid, SIGKILL);
	waitpid(g->pid, NULL, 0);
	g->pid = 0;
}

/* ---- floor: the least "first HTTP 200" costs ------------------------------ */

static int connect_lo(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Reads the whole response (headers and Content-Length body), so the
 * close that follows sends FIN, not RST. */
static int read_response(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	char *end;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end && len >= (size_t)(end + 4 - buf) + (size_t)field(buf, "Content-Length: "))
			return strncmp(buf, "HTTP/1.1 200 ", 13) ? -EPROTO : 0;
		if (len == cap - 1)
			return -EMSGSIZE;
	}
}

static int get_health(int port)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	char buf[1024];
	int fd = connect_lo(port), rc;

	if (fd < 0)
		return fd;
	rc = write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1) ? 0 : -EIO;
	if (!rc)
		rc = read_response(fd, buf, sizeof(buf));
	close(fd);
	return rc;
}

/* ---- floor loops ----------------------------------------------------------- */

/* cycles restarts of one fixture; with_get adds a GET /health per cycle
 * and then "seen" is kill -> 200 instead of kill -> ready line read. */
static int floor_loop(int cycles, bool with_get, struct side *out)
{
	struct floor_gen g = { 0 };
	int64_t t0, kill_ns;
	int rc = floor_spawn(&g, 0);

	t0 = pc_now_ns();
	for (int i = 0; !rc && i < cycles; i++) {
		kill_ns = pc_now_ns();
		floor_kill(&g);
		rc = floor_spawn(&g, g.port);
		if (!rc && with_get)
			rc = get_health(g.port);
		pc_bench_add(&out->seen, pc_now_ns() - kill_ns);
		pc_bench_add(&out->ready, g.listen_ns - kill_ns);
	}
	out->loop_ns = pc_now_ns() - t0;
	out->cycles = cycles;
	floor_kill(&g);
	return rc;
}

/* ---- the harness ----------------------------------------------------------- */

static const char *g_portchurn;

static int harness_run(int cycles, struct side *out, struct pc_bench_run *run)
{
	char ini[512], err[512];

	snprintf(ini, sizeof(ini), scenario_fmt, cycles);
	if (pc_bench_portchurn(g_portchurn, ini, true, run, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", BENCH, err);
		return -1;
	}
	for (size_t i = 0; i < run->ready.n; i++)
		pc_bench_add(&out->ready, run->ready.v[i]);
	for (size_t i = 0; i < run->restart.n; i++)
		pc_bench_add(&out->seen, run->restart.v[i]);
	out->loop_ns = run->duration_ns;
	out->cycles = (int)run->cycles;
	return 0;
}

/* ---- figures ----------------------------------------------------------------- */

enum fig {
	F_FLOOR_READY_P50, F_FLOOR_READY_P99, F_FLOOR_LINE_P50, F_FLOOR_CPS,
	F_GET_OK_P50, F_GET_OK_P99, F_GET_CPS,
	F_H_READY_P50, F_H_READY_P99, F_H_OK_P50, F_H_OK_P99, F_H_PROBE_P50,
	F_H_CPS, F_H_WALL_CPS,
	R_READY_P50, R_READY_P99, R_OK_P50, R_OK_P99, R_OK_VS_LINE_P50,
	R_CPS, R_CPS_GET, F_LOAD, NFIGS
};

static const struct {
	const char *label, *unit;
} figs[NFIGS] = {
	[F_FLOOR_READY_P50] = { "floor      kill -> listen() done   p50", "ms" },
	[F_FLOOR_READY_P99] = { "floor      kill -> listen() done   p99", "ms" },
	[F_FLOOR_LINE_P50]  = { "floor      kill -> ready line read p50", "ms" },
	[F_FLOOR_CPS]       = { "floor      cycles/s", "/s" },
	[F_GET_OK_P50]      = { "floor+GET  kill -> first 200       p50", "ms" },
	[F_GET_OK_P99]      = { "floor+GET  kill -> first 200       p99", "ms" },
	[F_GET_CPS]         = { "floor+GET  cycles/s", "/s" },
	[F_H_READY_P50]     = { "portchurn  kill -> listen() done   p50", "ms" },
	[F_H_READY_P99]     = { "portchurn  kill -> listen() done   p99", "ms" },
	[F_H_OK_P50]        = { "portchurn  restart_ns (kill -> 200) p50", "ms" },
	[F_H_OK_P99]        = { "portchurn  restart_ns (kill -> 200) p99", "ms" },
	[F_H_PROBE_P50]     = { "portchurn  listen() -> first 200   p50", "ms" },
	[F_H_CPS]           = { "portchurn  cycles/s (engine duration_ns)", "/s" },
	[F_H_WALL_CPS]      = { "portchurn  cycles/s (whole process)", "/s" },
	[R_READY_P50]       = { "ratio  kill->listen p50  portchurn/floor   (target <= 1.15)", "x" },
	[R_READY_P99]       = { "ratio  kill->listen p99  portchurn/floor", "x" },
	[R_OK_P50]          = { "ratio  kill->200    p50  portchurn/floor+GET", "x" },
	[R_OK_P99]          = { "ratio  kill->200    p99  portchurn/floor+GET", "x" },
	[R_OK_VS_LINE_P50]  = { "ratio  restart_ns p50 / floor kill->ready line p50", "x" },
	[R_CPS]             = { "ratio  cycles/s  portchurn/floor         (target >= 0.85)", "x" },
	[R_CPS_GET]         = { "ratio  cycles/s  portchurn/floor+GET", "x" },
	[F_LOAD]            = { "load average (1 min) at the repetition's end", "" },
};

static double g_fig[NFIGS][MAX_REPS];

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static double cps(const struct side *s)
{
	return s->loop_ns > 0 ? s->cycles / ((double)s->loop_ns / 1e9) : 0;
}

static void record_rep(int rep, struct side *fl, struct side *get, struct side *h,
		       struct pc_bench_run *run)
{
	double *f[NFIGS];

	for (int i = 0; i < NFIGS; i++)
		f[i] = &g_fig[i][rep];
	*f[F_FLOOR_READY_P50] = ms(pc_bench_pct(&fl->ready, 50));
	*f[F_FLOOR_READY_P99] = ms(pc_bench_pct(&fl->ready, 99));
	*f[F_FLOOR_LINE_P50] = ms(pc_bench_pct(&fl->seen, 50));
	*f[F_FLOOR_CPS] = cps(fl);
	*f[F_GET_OK_P50] = ms(pc_bench_pct(&get->seen, 50));
	*f[F_GET_OK_P99] = ms(pc_bench_pct(&get->seen, 99));
	*f[F_GET_CPS] = cps(get);
	*f[F_H_READY_P50] = ms(pc_bench_pct(&h->ready, 50));
	*f[F_H_READY_P99] = ms(pc_bench_pct(&h->ready, 99));
	*f[F_H_OK_P50] = ms(pc_bench_pct(&h->seen, 50));
	*f[F_H_OK_P99] = ms(pc_bench_pct(&h->seen, 99));
	*f[F_H_PROBE_P50] = ms(pc_bench_pct(&run->probe, 50));
	*f[F_H_CPS] = cps(h);
	*f[F_H_WALL_CPS] = h->cycles / ((double)run->wall_ns / 1e9);
	*f[R_READY_P50] = *f[F_H_READY_P50] / *f[F_FLOOR_READY_P50];
	*f[R_READY_P99] = *f[F_H_READY_P99] / *f[F_FLOOR_READY_P99];
	*f[R_OK_P50] = *f[F_H_OK_P50] / *f[F_GET_OK_P50];
	*f[R_OK_P99] = *f[F_H_OK_P99] / *f[F_GET_OK_P99];
	*f[R_OK_VS_LINE_P50] = *f[F_H_OK_P50] / *f[F_FLOOR_LINE_P50];
	*f[R_CPS] = *f[F_H_CPS] / *f[F_FLOOR_CPS];
	*f[R_CPS_GET] = *f[F_H_CPS] / *f[F_GET_CPS];
	*f[F_LOAD] = pc_bench_load1();
}

static void print_figs(int reps)
{
	for (int i = 0; i < NFIGS; i++) {
		double v[MAX_REPS];
		struct pc_bench_spread s;
		int prec = figs[i].unit[0] == '/' ? 0 : figs[i].unit[0] == 'x' ? 3 : 2;

		memcpy(v, g_fig[i], sizeof(v[0]) * (size_t)reps);
		s = pc_bench_spread_of(v, (size_t)reps);
		printf("%s: %-62s %9.*f%-2s [%.*f .. %.*f]\n", BENCH, figs[i].label, prec, s.med,
		       figs[i].unit, prec, s.min, prec, s.max);
	}
}

/* ---- main -------------------------------------------------------------------- */

static void side_free(struct side *s)
{
	pc_bench_free(&s->ready);
	pc_bench_free(&s->seen);
	memset(s, 0, sizeof(*s));
}

/* One repetition; the order alternates so that neither side always runs
 * on the heels of the other. */
static int one_rep(int rep, int cycles)
{
	struct side fl = { 0 }, get = { 0 }, h = { 0 };
	struct pc_bench_run run = { 0 };
	int rc;

	if (rep % 2)
		rc = harness_run(cycles, &h, &run) || floor_loop(cycles, false, &fl) ||
		     floor_loop(cycles, true, &get);
	else
		rc = floor_loop(cycles, false, &fl) || floor_loop(cycles, true, &get) ||
		     harness_run(cycles, &h, &run);
	if (!rc)
		record_rep(rep, &fl, &get, &h, &run);
	side_free(&fl);
	side_free(&get);
	side_free(&h);
	pc_bench_run_free(&run);
	return rc;
}

int main(int argc, char **argv)
{
	char fixture[PATH_MAX], portchurn[PATH_MAX];
	int cycles = argc > 1 ? atoi(argv[1]) : 1000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;

	if (cycles < 1 || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "usage: %s [CYCLES [REPS <= %d]]\n", BENCH, MAX_REPS);
		return 2;
	}
	pc_bench_sibling(BENCH, "pc-fixture", fixture, sizeof(fixture));
	pc_bench_sibling(BENCH, "portchurn", portchurn, sizeof(portchurn));
	g_fixture = fixture;
	g_portchurn = portchurn;
	pc_bench_enter_netns(BENCH);
	pc_bench_print_machine(BENCH);
	printf("%s: %d cycles x %d repetitions; median [min .. max] over repetitions\n",
	       BENCH, cycles, reps);
	fflush(stdout);
	for (int rep = 0; rep < reps; rep++) {
		if (one_rep(rep, cycles)) {
			fprintf(stderr, "%s: repetition %d failed\n", BENCH, rep + 1);
			return 1;
		}
	}
	print_figs(reps);
	pc_bench_print_machine(BENCH);
	return 0;
}
