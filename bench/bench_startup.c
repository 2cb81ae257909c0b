/* bench_startup.c -- fork -> ready for pc-fixture against a do-nothing C
 * program (pc-noop, which writes its ready line at once), each dynamically
 * and, where built, statically linked. Every start is a vfork+exec from
 * this small process with a pipe on fd 3, timed until the ready line is
 * read, as the harness times a generation. The programs take turns start
 * by start, so load drifts hit them alike; the ratios are per repetition.
 * For pc-fixture its own clock reads split the time into exec -> main()
 * and main() -> listen(). Runs in a private network namespace (root or
 * user namespaces), where the fixture binds port 0; skips otherwise.
 *
 * usage: bench_startup [STARTS [REPS]]   (default 300 starts each, 5 repetitions) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"
#include "clock.h"

#define BENCH "bench_startup"
#define MAX_REPS 20
#define IO_TIMEOUT_MS 5000

enum prog { NOOP, NOOP_STATIC, FIXTURE, FIXTURE_STATIC, NPROGS };

struct prog_info {
	const char *name;         /* binary beside this one */
	bool fixture;             /* is pc-fixture: kill it once ready */
	bool optional;            /* static builds: absent where libc.a is not */
	char path[PATH_MAX];
	bool present;
	struct pc_bench_samples ready;   /* fork -> ready line read */
	struct pc_bench_samples to_main; /* fork -> main() (fixture's start_ns) */
	struct pc_bench_samples to_listen; /* main() -> listen() done */
};

static struct prog_info progs[NPROGS] = {
	[NOOP] = { .name = "pc-noop" },
	[NOOP_STATIC] = { .name = "pc-noop-static", .optional = true },
	[FIXTURE] = { .name = "pc-fixture", .fixture = true },
	[FIXTURE_STATIC] = { .name = "pc-fixture-static", .fixture = true, .optional = true },
};

static double g_fig[NPROGS * 3 + NPROGS][MAX_REPS];

static void exec_prog(int ready_w, char *const argv[])
{
	if (ready_w == 3)
		fcntl(3, F_SETFD, 0);
	else if (dup2(ready_w, 3) < 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

static int read_line(int fd, char *line, size_t cap)
{
	size_t len = 0;

	while (len < cap - 1 && !memchr(line, '\n', len)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, line + len, cap - 1 - len);
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
	}
	line[len] = '\0';
	return 0;
}

static int64_t field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* One start: spawn, read the ready line, then end the process. */
static int start_once(struct prog_info *p)
{
	char *argv[] = { p->path, "--port", "0", "--ready-fd", "3", NULL };
	char line[512];
	int fds[2], rc;
	int64_t t0;
	pid_t pid;

	if (!p->fixture)
		argv[1] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	t0 = pc_now_ns();
	pid = vfork();
	if (pid == 0)
		exec_prog(fds[1], argv);
	close(fds[1]);
	rc = pid < 0 ? -errno : read_line(fds[0], line, sizeof(line));
	if (!rc)
		pc_bench_add(&p->ready, pc_now_ns() - t0);
	close(fds[0]);
	if (!rc && p->fixture) {
		pc_bench_add(&p->to_main, field(line, " start_ns=") - t0);
		pc_bench_add(&p->to_listen, field(line, " listen_ns=") - field(line, " start_ns="));
	}
	if (pid > 0) {
		if (p->fixture)
			kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return rc;
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* Figures of one repetition: per program p50 of ready, to_main,
 * to_listen; then each program's ready p50 over pc-noop's. */
static void record_rep(int rep)
{
	double noop = ms(pc_bench_pct(&progs[NOOP].ready, 50));

	for (int i = 0; i < NPROGS; i++) {
		struct prog_info *p = &progs[i];
		double r = ms(pc_bench_pct(&p->ready, 50));

		g_fig[i * 3][rep] = r;
		g_fig[i * 3 + 1][rep] = ms(pc_bench_pct(&p->to_main, 50));
		g_fig[i * 3 + 2][rep] = ms(pc_bench_pct(&p->to_listen, 50));
		g_fig[NPROGS * 3 + i][rep] = r / noop;
		pc_bench_clear(&p->ready);
		pc_bench_clear(&p->to_main);
		pc_bench_clear(&p->to_listen);
	}
}

static void print_fig(int fig, int reps, const char *label, const char *unit, int prec)
{
	double v[MAX_REPS];
	struct pc_bench_spread s;

	memcpy(v, g_fig[fig], sizeof(v[0]) * (size_t)reps);
	s = pc_bench_spread_of(v, (size_t)reps);
	printf("%s: %-56s %8.*f%-2s [%.*f .. %.*f]\n", BENCH, label, prec, s.med, unit, prec,
	       s.min, prec, s.max);
}

static void print_figs(int reps)
{
	char label[128];

	for (int i = 0; i < NPROGS; i++) {
		if (!progs[i].present)
			continue;
		snprintf(label, sizeof(label), "%-18s fork -> ready line p50", progs[i].name);
		print_fig(i * 3, reps, label, "ms", 3);
		if (!progs[i].fixture)
			continue;
		snprintf(label, sizeof(label), "%-18s   fork -> main()    p50", progs[i].name);
		print_fig(i * 3 + 1, reps, label, "ms", 3);
		snprintf(label, sizeof(label), "%-18s   main() -> listen() p50", progs[i].name);
		print_fig(i * 3 + 2, reps, label, "ms", 3);
	}
	for (int i = 0; i < NPROGS; i++) {
		if (!progs[i].present || i == NOOP)
			continue;
		snprintf(label, sizeof(label), "ratio %s / pc-noop (fork -> ready p50)", progs[i].name);
		print_fig(NPROGS * 3 + i, reps, label, "x", 2);
	}
}

/* The static builds sit beside pc-noop when libc.a allowed them. */
static void find_progs(void)
{
	const char *dir_end;
	char *noop = progs[NOOP].path;

	pc_bench_sibling(BENCH, "pc-noop", noop, sizeof(progs[NOOP].path));
	pc_bench_sibling(BENCH, "pc-fixture", progs[FIXTURE].path, sizeof(progs[FIXTURE].path));
	progs[NOOP].present = progs[FIXTURE].present = true;
	dir_end = strrchr(noop, '/');
	for (int i = 0; i < NPROGS; i++) {
		struct prog_info *p = &progs[i];

		if (!p->optional)
			continue;
		snprintf(p->path, sizeof(p->path), "%.*s%s",
			 dir_end ? (int)(dir_end - noop + 1) : 0, noop, p->name);
		p->present = access(p->path, X_OK) == 0;
		if (!p->present)
			printf("%s: %s not built here (no static libc): left out\n", BENCH, p->name);
	}
}

int main(int argc, char **argv)
{
	int starts = argc > 1 ? atoi(argv[1]) : 300;
	int reps = argc > 2 ? atoi(argv[2]) : 5;

	if (starts < 1 || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "usage: %s [STARTS [REPS <= %d]]\n", BENCH, MAX_REPS);
		return 2;
	}
	find_progs();
	pc_bench_enter_netns(BENCH);
	pc_bench_print_machine(BENCH);
	printf("%s: %d starts of each program x %d repetitions, taking turns; "
	       "median [min .. max] over repetitions\n", BENCH, starts, reps);
	for (int rep = 0; rep < reps; rep++) {
		for (int s = 0; s < starts; s++) {
			for (int i = 0; i < NPROGS; i++) {
				if (progs[i].present && start_once(&progs[i]) < 0) {
					fprintf(stderr, "%s: %s did not get ready\n", BENCH,
						progs[i].name);
					return 1;
				}
			}
		}
		record_rep(rep);
	}
	print_figs(reps);
	pc_bench_print_machine(BENCH);
	return 0;
}
