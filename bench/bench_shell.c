/* bench_shell.c -- what users write instead of portchurn: a bash loop that
 * kills the server, starts it again and polls it with curl until it
 * answers, as the launcher scripts that started this project did (poll
 * every 0.1 s). Same fixture, same option set, same number of cycles as a
 * `portchurn run` (naive, SIGKILL, no requests), each in a private network
 * namespace. bash has no monotonic clock, so the loop does not time
 * itself: it says "k" (about to kill) and "u" (curl got a 200) on a pipe,
 * and this program stamps each line with CLOCK_MONOTONIC as it arrives.
 * Each fixture writes its ready line (with its own listen() time) to a
 * second pipe. So the loop's view of a restart (k -> u) can be set beside
 * the truth (k -> listen()), and the difference, u - listen(), is how late
 * the loop learns that the server is up: its timing resolution.
 * Needs bash, curl and a private network namespace; skips without them.
 *
 * usage: bench_shell [CYCLES [REPS]]   (default 200 cycles, 3 repetitions) */
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
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "clock.h"

#define BENCH "bench_shell"
#define MAX_REPS 20
#define EVENT_FD 5
#define READY_FD 6
#define SKIP_STATUS 3
#define STALL_MS 30000

/* The loop, as a user would write it; $1 fixture, $2 port, $3 cycles. */
static const char loop_sh[] =
	"command -v curl >/dev/null || exit 3\n"
	"fixture=$1 port=$2 cycles=$3\n"
	"url=http://127.0.0.1:$port/health\n"
	"start() {\n"
	"	\"$fixture\" --port \"$port\" --opts reuseaddr --ready-fd 3 3>&6 5>&- 6>&- &\n"
	"	pid=$!\n"
	"	for ((n = 0; n < 100; n++)); do\n"
	"		curl -fs -o /dev/null --noproxy '*' \"$url\" && return\n"
	"		echo p >&5; sleep 0.1\n"
	"	done\n"
	"	exit 4\n"
	"}\n"
	"start\n"
	"for ((i = 0; i < cycles; i++)); do\n"
	"	echo k >&5\n"
	"	kill -9 \"$pid\"; wait \"$pid\" 2>/dev/null\n"
	"	start\n"
	"	echo u >&5\n"
	"done\n"
	"kill -9 \"$pid\"; wait \"$pid\" 2>/dev/null\n"
	"exit 0\n";

static const char scenario_fmt[] =
	"[scenario]\n"
	"name = bench-shell\n"
	"cycles = %d\n"
	"signal = KILL\n"
	"requests = 0\n"
	"close_first = client\n"
	"opts = reuseaddr\n";

/* What the loop said, in order. */
struct loop_log {
	struct pc_bench_samples k, u, listen;   /* CLOCK_MONOTONIC ns */
	int polls_failed;
	int exit_code;
};

enum fig {
	F_SH_SEEN_P50, F_SH_TRUE_P50, F_SH_LAG_P50, F_SH_LAG_P99, F_SH_CPS, F_SH_POLLS,
	F_PC_RESTART_P50, F_PC_LAG_P50, F_PC_LAG_P99, F_PC_CPS,
	R_CPS, R_LAG_P50, R_LAG_P99, NFIGS
};

static const struct {
	const char *label, *unit;
	int prec;
} figs[NFIGS] = {
	[F_SH_SEEN_P50]    = { "bash loop  kill -> curl 200, as the loop sees it p50", "ms", 2 },
	[F_SH_TRUE_P50]    = { "bash loop  kill -> listen() done (truth)         p50", "ms", 2 },
	[F_SH_LAG_P50]     = { "bash loop  listen() -> loop knows (resolution)   p50", "ms", 2 },
	[F_SH_LAG_P99]     = { "bash loop  listen() -> loop knows (resolution)   p99", "ms", 2 },
	[F_SH_CPS]         = { "bash loop  cycles/s", "/s", 0 },
	[F_SH_POLLS]       = { "bash loop  failed curl polls per cycle", "", 3 },
	[F_PC_RESTART_P50] = { "portchurn  restart_ns (kill -> 200)           p50", "ms", 2 },
	[F_PC_LAG_P50]     = { "portchurn  listen() -> first 200 (probe lag)     p50", "ms", 2 },
	[F_PC_LAG_P99]     = { "portchurn  listen() -> first 200 (probe lag)     p99", "ms", 2 },
	[F_PC_CPS]         = { "portchurn  cycles/s (engine duration_ns)", "/s", 0 },
	[R_CPS]            = { "ratio  cycles/s  portchurn / bash loop", "x", 2 },
	[R_LAG_P50]        = { "ratio  resolution p50  bash loop / portchurn probe", "x", 2 },
	[R_LAG_P99]        = { "ratio  resolution p99  bash loop / portchurn probe", "x", 2 },
};

static double g_fig[NFIGS][MAX_REPS];
static const char *g_fixture, *g_portchurn;

/* A port nobody holds in our namespace: the kernel's pick for port 0. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* In the forked child: the pipes onto fds 5 and 6 by way of high fds, so
 * that neither dup2 clobbers the other's source. */
static void exec_loop(int ev_w, int ready_w, int port, int cycles)
{
	char portbuf[16], cyclesbuf[16];
	int ev = fcntl(ev_w, F_DUPFD, 10), ready = fcntl(ready_w, F_DUPFD, 10);

	setpgid(0, 0);   /* a group of its own, killed as one on a stall */
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	snprintf(cyclesbuf, sizeof(cyclesbuf), "%d", cycles);
	if (ev < 0 || ready < 0 || dup2(ev, EVENT_FD) < 0 || dup2(ready, READY_FD) < 0)
		_exit(127);
	close(ev);
	close(ready);
	execl("/bin/bash", "bash", "-c", loop_sh, "bash", g_fixture, portbuf, cyclesbuf,
	      (char *)NULL);
	_exit(127);
}

/* Each line of the event pipe gets the time it was read. */
static void on_events(const char *buf, size_t n, int64_t now, struct loop_log *log)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == 'k')
			pc_bench_add(&log->k, now);
		else if (buf[i] == 'u')
			pc_bench_add(&log->u, now);
		else if (buf[i] == 'p')
			log->polls_failed++;
	}
}

/* Ready lines may arrive split or several at once: keep the partial tail. */
static void on_ready(char *acc, size_t *len, struct loop_log *log)
{
	char *nl;

	while ((nl = memchr(acc, '\n', *len))) {
		const char *p;

		*nl = '\0';
		p = strstr(acc, " listen_ns=");
		pc_bench_add(&log->listen, p ? strtoll(p + 11, NULL, 10) : 0);
		*len -= (size_t)(nl + 1 - acc);
		memmove(acc, nl + 1, *len);
	}
}

/* Until both pipes are at EOF, or STALL_MS without a word (then the
 * caller kills the loop); events first, since their time matters. */
static int read_pipes(int ev_r, int ready_r, struct loop_log *log)
{
	char acc[4096], buf[512];
	size_t len = 0;
	struct pollfd pfd[2] = { { .fd = ev_r, .events = POLLIN }, { .fd = ready_r, .events = POLLIN } };

	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		ssize_t n;

		int ready = poll(pfd, 2, STALL_MS);

		if (ready == 0)
			return -ETIMEDOUT;
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents) {
			n = read(ev_r, buf, sizeof(buf));
			if (n > 0)
				on_events(buf, (size_t)n, pc_now_ns(), log);
			else
				pfd[0].fd = -1;
		}
		if (pfd[1].revents) {
			n = read(ready_r, acc + len, sizeof(acc) - 1 - len);
			if (n > 0)
				len += (size_t)n;
			else
				pfd[1].fd = -1;
			on_ready(acc, &len, log);
		}
	}
	return 0;
}

static int run_loop(int cycles, struct loop_log *log)
{
	int ev[2], ready[2], port = free_port(), status, rc = 0;
	pid_t pid;

	if (port < 0 || pipe2(ev, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0)
		exec_loop(ev[1], ready[1], port, cycles);
	close(ev[1]);
	close(ready[1]);
	if (pid > 0)
		rc = read_pipes(ev[0], ready[0], log);
	if (pid > 0 && rc < 0)
		kill(-pid, SIGKILL);   /* its own group: bash, curl and fixtures */
	close(ev[0]);
	close(ready[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -ECHILD;
	log->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return rc;
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* Cycle i: k[i], the fixture's ready line i + 1 (line 0 is the first
 * start's), u[i]. */
static void loop_figs(int rep, int cycles, struct loop_log *log)
{
	struct pc_bench_samples seen = { 0 }, truth = { 0 }, lag = { 0 };

	for (int i = 0; i < cycles; i++) {
		pc_bench_add(&seen, log->u.v[i] - log->k.v[i]);
		pc_bench_add(&truth, log->listen.v[i + 1] - log->k.v[i]);
		pc_bench_add(&lag, log->u.v[i] - log->listen.v[i + 1]);
	}
	g_fig[F_SH_SEEN_P50][rep] = ms(pc_bench_pct(&seen, 50));
	g_fig[F_SH_TRUE_P50][rep] = ms(pc_bench_pct(&truth, 50));
	g_fig[F_SH_LAG_P50][rep] = ms(pc_bench_pct(&lag, 50));
	g_fig[F_SH_LAG_P99][rep] = ms(pc_bench_pct(&lag, 99));
	g_fig[F_SH_CPS][rep] = cycles / ((double)(log->u.v[cycles - 1] - log->k.v[0]) / 1e9);
	g_fig[F_SH_POLLS][rep] = (double)log->polls_failed / (cycles + 1);
	pc_bench_free(&seen);
	pc_bench_free(&truth);
	pc_bench_free(&lag);
}

static int shell_rep(int rep, int cycles)
{
	struct loop_log log = { 0 };
	int rc = run_loop(cycles, &log);

	if (!rc && log.exit_code == SKIP_STATUS)
		pc_bench_skip(BENCH, "no curl command (ci/setup installs it)");
	if (!rc && (log.exit_code != 0 || log.k.n != (size_t)cycles ||
		    log.u.n != (size_t)cycles || log.listen.n != (size_t)cycles + 1)) {
		fprintf(stderr, "%s: the loop exited %d after %zu of %d cycles\n", BENCH,
			log.exit_code, log.u.n, cycles);
		rc = -EPROTO;
	}
	if (!rc)
		loop_figs(rep, cycles, &log);
	pc_bench_free(&log.k);
	pc_bench_free(&log.u);
	pc_bench_free(&log.listen);
	return rc;
}

static int harness_rep(int rep, int cycles)
{
	struct pc_bench_run run = { 0 };
	char ini[512], err[512];

	snprintf(ini, sizeof(ini), scenario_fmt, cycles);
	if (pc_bench_portchurn(g_portchurn, ini, true, &run, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", BENCH, err);
		return -1;
	}
	g_fig[F_PC_RESTART_P50][rep] = ms(pc_bench_pct(&run.restart, 50));
	g_fig[F_PC_LAG_P50][rep] = ms(pc_bench_pct(&run.probe, 50));
	g_fig[F_PC_LAG_P99][rep] = ms(pc_bench_pct(&run.probe, 99));
	g_fig[F_PC_CPS][rep] = run.cycles / ((double)run.duration_ns / 1e9);
	pc_bench_run_free(&run);
	return 0;
}

static void print_figs(int reps)
{
	for (int i = 0; i < NFIGS; i++) {
		double v[MAX_REPS];
		struct pc_bench_spread s;

		memcpy(v, g_fig[i], sizeof(v[0]) * (size_t)reps);
		s = pc_bench_spread_of(v, (size_t)reps);
		printf("%s: %-56s %9.*f%-2s [%.*f .. %.*f]\n", BENCH, figs[i].label, figs[i].prec,
		       s.med, figs[i].unit, figs[i].prec, s.min, figs[i].prec, s.max);
	}
}

static void print_clock(void)
{
	struct timespec res;

	clock_getres(CLOCK_MONOTONIC, &res);
	printf("%s: portchurn stamps kill, reap, spawn, bind and listen with CLOCK_MONOTONIC "
	       "(clock_getres here: %ld ns); the bash loop has no monotonic clock\n", BENCH,
	       res.tv_sec * 1000000000L + res.tv_nsec);
}

int main(int argc, char **argv)
{
	char fixture[PATH_MAX], portchurn[PATH_MAX];
	int cycles = argc > 1 ? atoi(argv[1]) : 200;
	int reps = argc > 2 ? atoi(argv[2]) : 3;

	if (cycles < 1 || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "usage: %s [CYCLES [REPS <= %d]]\n", BENCH, MAX_REPS);
		return 2;
	}
	if (access("/bin/bash", X_OK) < 0)
		pc_bench_skip(BENCH, "no /bin/bash");
	pc_bench_sibling(BENCH, "pc-fixture", fixture, sizeof(fixture));
	pc_bench_sibling(BENCH, "portchurn", portchurn, sizeof(portchurn));
	g_fixture = fixture;
	g_portchurn = portchurn;
	pc_bench_enter_netns(BENCH);
	pc_bench_print_machine(BENCH);
	printf("%s: %d cycles x %d repetitions; median [min .. max] over repetitions\n", BENCH,
	       cycles, reps);
	fflush(stdout);
	for (int rep = 0; rep < reps; rep++) {
		if (shell_rep(rep, cycles) < 0 || harness_rep(rep, cycles) < 0)
			return 1;
		g_fig[R_CPS][rep] = g_fig[F_PC_CPS][rep] / g_fig[F_SH_CPS][rep];
		g_fig[R_LAG_P50][rep] = g_fig[F_SH_LAG_P50][rep] / g_fig[F_PC_LAG_P50][rep];
		g_fig[R_LAG_P99][rep] = g_fig[F_SH_LAG_P99][rep] / g_fig[F_PC_LAG_P99][rep];
	}
	print_figs(reps);
	print_clock();
	pc_bench_print_machine(BENCH);
	return 0;
}
