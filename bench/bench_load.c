/* bench_load -- the load generator's request rate against wrk's on the
 * same pc-fixture, same number of keep-alive connections, same duration,
 * alternating runs in one process (ratios hold where absolute rates drift
 * with the machine's load). Needs wrk (Debian package wrk); says so and
 * skips without it. Traffic on 127.0.0.1 only. */
#define _DEFAULT_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "load.h"
#include "stats.h"
#include "supervisor.h"

#define CLIENTS 4
#define SECONDS 3
#define ROUNDS 3

static double rate_portchurn(int port)
{
	struct pc_load_opts o = { .addr = "127.0.0.1", .clients = CLIENTS, .keepalive = true,
				  .timeout_ms = 2000 };
	int64_t t0 = pc_now_ns();
	size_t n, dropped, ok = 0;
	const struct pc_load_req *r;
	struct pc_load *l;

	if (pc_load_start(&o, port, &l) < 0)
		return -1;
	while (pc_now_ns() - t0 < SECONDS * 1000000000LL)
		usleep(10000);
	pc_load_stop(l);
	r = pc_load_requests(l, &n, &dropped);
	for (size_t i = 0; i < n; i++)
		ok += r[i].outcome == PC_OUT_OK;
	pc_load_free(l);
	return (double)ok / ((double)(pc_now_ns() - t0) / 1e9);
}

static double rate_wrk(int port)
{
	char cmd[200], line[256];
	double rps = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "wrk -t1 -c%d -d%ds http://127.0.0.1:%d/ 2>/dev/null",
		 CLIENTS, SECONDS, port);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, "Requests/sec:", 13))
			rps = strtod(line + 13, NULL);
	pclose(p);
	return rps;
}

static void fixture_path(const char *argv0, char *buf, size_t len)
{
	const char *slash = strrchr(argv0, '/');

	snprintf(buf, len, "%.*s/pc-fixture", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
}

/* Prints the runs' median and spread; returns the median. */
static int64_t report(const char *what, double *v, size_t n)
{
	int64_t s[ROUNDS];
	struct pc_stats st;

	for (size_t i = 0; i < n; i++)
		s[i] = (int64_t)v[i];
	pc_stats_compute(s, n, &st);
	printf("%-22s median %8lld req/s   (min %lld, max %lld, %zu runs of %d s)\n", what,
	       (long long)st.p50, (long long)st.min, (long long)st.max, n, SECONDS);
	return st.p50;
}

int main(int argc, char **argv)
{
	struct pc_gen_spec spec = { .addr = "127.0.0.1", .opts_text = "reuseaddr",
				    .close_first = PC_CLOSE_CLIENT };
	double ours[ROUNDS], theirs[ROUNDS];
	int64_t a, b;
	char fixture[PATH_MAX];
	struct pc_sup *sup;
	struct pc_gen g;

	(void)argc;
	if (system("command -v wrk >/dev/null 2>&1") != 0) {
		puts("bench_load: skipped: wrk is not installed (apt-get install wrk)");
		return 0;
	}
	fixture_path(argv[0], fixture, sizeof(fixture));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pc_sup_new(fixture, -1, &sup) < 0 || pc_sup_spawn(sup, &spec, &g) < 0 ||
	    pc_sup_wait_ready(sup, &g, 10000, NULL) < 0 || g.bind_errno) {
		fprintf(stderr, "bench_load: cannot start %s\n", fixture);
		return 1;
	}
	for (int i = 0; i < ROUNDS; i++) {
		ours[i] = rate_portchurn(g.port);
		theirs[i] = rate_wrk(g.port);
	}
	pc_sup_free(sup);
	printf("load generator vs wrk: %d keep-alive connections to one pc-fixture, GET /\n",
	       CLIENTS);
	a = report("portchurn (libcurl)", ours, ROUNDS);
	b = report("wrk -t1", theirs, ROUNDS);
	if (b > 0)
		printf("ratio portchurn/wrk (medians): %.2f\n", (double)a / (double)b);
	curl_global_cleanup();
	return 0;
}
