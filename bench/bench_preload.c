/* bench_preload.c -- what libportchurn-preload.so costs a server: a tight
 * loop of socket() + setsockopt(SO_REUSEADDR) + close(), and the cheapest
 * hooked call there is (close(-1): EBADF, one syscall), run without the
 * library, with it loaded but not asked for anything (no
 * PORTCHURN_PRELOAD_FD, no PORTCHURN_PRELOAD_INJECT: the promise is "no
 * measurable overhead"), and with events on (a pipe this process drains).
 * Each run is a fresh exec of this program with `--loop N`; the three
 * kinds alternate, and the medians per call are printed with the spread.
 *
 * The library is $PC_PRELOAD or libportchurn-preload.so next to this
 * binary; without it the benchmark says it is skipped and exits 0. */
#define _GNU_SOURCE   /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define LOOPS 20000            /* socket loops: about 10 us each on a small VM */
#define CLOSE_LOOPS 200000
#define RUNS 9

enum kind { PLAIN, LOADED, EVENTS, NKINDS };

static const char *const kind_names[] = {
	[PLAIN] = "without the library",
	[LOADED] = "loaded, no FD, no INJECT",
	[EVENTS] = "loaded, events on",
};

/* The measured loops; prints ns per socket loop (3 calls) and per close(-1). */
static int loop(void)
{
	int64_t start = pc_now_ns(), mid;
	int one = 1;

	for (long i = 0; i < LOOPS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		close(fd);
	}
	mid = pc_now_ns();
	for (long i = 0; i < CLOSE_LOOPS; i++)
		close(-1);
	printf("%.1f %.1f\n", (double)(mid - start) / LOOPS,
	       (double)(pc_now_ns() - mid) / CLOSE_LOOPS);
	return 0;
}

static const char *library(char *buf, size_t len)
{
	const char *env = getenv("PC_PRELOAD");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (env && *env)
		return access(env, R_OK) ? NULL : env;
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	snprintf(buf, len, "%.*s/libportchurn-preload.so", slash ? (int)(slash - self) : 0, self);
	return access(buf, R_OK) ? NULL : buf;
}

/* Reads the child's events (discarded) and its one result line to EOF. */
static int collect(int out_r, int ev_r, double *sock_ns, double *close_ns)
{
	char line[64] = "", junk[65536];
	size_t len = 0;
	struct pollfd p[2] = { { .fd = out_r, .events = POLLIN }, { .fd = ev_r, .events = POLLIN } };

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, 30000) <= 0)
			return -1;
		if (p[1].revents && read(ev_r, junk, sizeof(junk)) <= 0)
			p[1].fd = -1;
		if (p[0].revents) {
			ssize_t n = read(out_r, line + len, sizeof(line) - 1 - len);

			if (n <= 0)
				p[0].fd = -1;
			else
				len += (size_t)n;
		}
	}
	line[len] = '\0';
	return sscanf(line, "%lf %lf", sock_ns, close_ns) == 2 ? 0 : -1;
}

static int run(enum kind k, const char *lib, double *sock_ns, double *close_ns)
{
	int out[2], ev[2] = { -1, -1 }, rc;
	char fdenv[32], preload[PATH_MAX + 16];
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || (k == EVENTS && pipe2(ev, O_CLOEXEC) < 0))
		return -1;
	pid = fork();
	if (pid == 0) {
		unsetenv("PORTCHURN_PRELOAD_FD");
		unsetenv("PORTCHURN_PRELOAD_INJECT");
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
		if (k != PLAIN)
			putenv(preload);
		if (k == EVENTS) {
			fcntl(ev[1], F_SETFD, 0);
			snprintf(fdenv, sizeof(fdenv), "PORTCHURN_PRELOAD_FD=%d", ev[1]);
			putenv(fdenv);
		}
		dup2(out[1], 1);
		execl("/proc/self/exe", "bench_preload", "--loop", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if (ev[1] >= 0)
		close(ev[1]);
	rc = collect(out[0], ev[0], sock_ns, close_ns);
	close(out[0]);
	if (ev[0] >= 0)
		close(ev[0]);
	waitpid(pid, NULL, 0);
	return rc;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts each kind's runs; medians, spread, and the change against PLAIN. */
static void report(const char *what, double ns[NKINDS][RUNS])
{
	printf("%s, %d runs:\n", what, RUNS);
	for (int k = 0; k < NKINDS; k++)
		qsort(ns[k], RUNS, sizeof(double), cmp);
	for (int k = 0; k < NKINDS; k++)
		printf("  %-26s median %8.1f  min %8.1f  max %8.1f  (%+.1f%%)\n", kind_names[k],
		       ns[k][RUNS / 2], ns[k][0], ns[k][RUNS - 1],
		       100.0 * (ns[k][RUNS / 2] - ns[PLAIN][RUNS / 2]) / ns[PLAIN][RUNS / 2]);
}

int main(int argc, char **argv)
{
	double sock[NKINDS][RUNS], cl[NKINDS][RUNS];
	char buf[PATH_MAX];
	const char *lib;

	if (argc == 2 && !strcmp(argv[1], "--loop"))
		return loop();
	lib = library(buf, sizeof(buf));
	if (!lib) {
		puts("bench_preload: skipped: no libportchurn-preload.so (set PC_PRELOAD)");
		return 0;
	}
	/* Kinds alternate within each run, so drift on a busy machine hits all three. */
	for (int r = 0; r < RUNS; r++)
		for (int k = 0; k < NKINDS; k++)
			if (run((enum kind)k, lib, &sock[k][r], &cl[k][r]) < 0) {
				printf("bench_preload: run failed (%s)\n", kind_names[k]);
				return 1;
			}
	report("socket()+setsockopt()+close(), ns per loop of 3 calls", sock);
	report("close(-1), the cheapest hooked call, ns per call", cl);
	return 0;
}
