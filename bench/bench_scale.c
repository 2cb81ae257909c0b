/* bench_scale.c -- does portchurn stay flat as a run grows? One naive
 * restart loop (SIGKILL, no requests, one port) of 1 000 and 10 000 cycles
 * by default, or of the counts given (100000 takes about five minutes
 * here); for each: portchurn's peak RSS (wait4), the time per cycle of the
 * engine and of the whole process (start-up and report writing included),
 * the cycle period early in the run against late in it (from cycles.csv;
 * where portchurn keeps only the first records, "late" is the last one
 * kept, and the line says which), and the size of results.json. Ratios are against the smallest run of
 * this invocation. Runs portchurn, which makes its own private network
 * namespace (or says "host" in its reports where it cannot).
 *
 * usage: bench_scale [CYCLES ...]   (default 1000 10000) */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "clock.h"

#define BENCH "bench_scale"
#define MAX_RUNS 8
#define WINDOW 500   /* cycles at each end of a run whose periods are compared */

static const char scenario_fmt[] =
	"[scenario]\n"
	"name = bench-scale\n"
	"cycles = %d\n"
	"signal = KILL\n"
	"requests = 0\n"
	"close_first = client\n"
	"opts = reuseaddr\n";

struct scale_run {
	int cycles;
	long long rows;       /* cycles.csv rows: the records portchurn kept */
	int window;           /* periods compared at each end */
	double rss_mb, engine_ms, wall_ms, early_ms, late_ms, json_mb, json_kb_per_cycle;
	double load;
};

/* Median period over n cycles starting at from (periods in cycle order). */
static double window_p50_ms(const struct pc_bench_run *r, size_t from, size_t n)
{
	struct pc_bench_samples w = { 0 };
	double ms;

	for (size_t i = from; i < from + n && i < r->period.n; i++)
		pc_bench_add(&w, r->period.v[i]);
	ms = (double)pc_bench_pct(&w, 50) / 1e6;
	pc_bench_free(&w);
	return ms;
}

static int one_run(const char *portchurn, int cycles, struct scale_run *s)
{
	struct pc_bench_run r = { 0 };
	char ini[512], err[512];
	size_t win;

	snprintf(ini, sizeof(ini), scenario_fmt, cycles);
	if (pc_bench_portchurn(portchurn, ini, false, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", BENCH, err);
		return -1;
	}
	win = r.period.n < 2 * WINDOW ? r.period.n / 2 : WINDOW;
	s->cycles = (int)r.cycles;
	s->rows = r.csv_rows;
	s->window = (int)win;
	s->rss_mb = (double)r.maxrss_kb / 1024;
	s->engine_ms = (double)r.duration_ns / 1e6 / (double)r.cycles;
	s->wall_ms = (double)r.wall_ns / 1e6 / (double)r.cycles;
	s->early_ms = window_p50_ms(&r, 0, win);
	s->late_ms = window_p50_ms(&r, r.period.n - win, win);
	s->json_mb = (double)r.json_bytes / 1e6;
	s->json_kb_per_cycle = (double)r.json_bytes / 1e3 / (double)r.cycles;
	s->load = pc_bench_load1();
	pc_bench_run_free(&r);
	return 0;
}

static void print_run(const struct scale_run *s, const struct scale_run *base)
{
	printf("%s: %6d cycles: peak RSS %7.1f MB (%5.2fx)  engine %.3f ms/cycle (%4.2fx)  "
	       "process %.3f ms/cycle (%4.2fx)\n", BENCH, s->cycles, s->rss_mb,
	       s->rss_mb / base->rss_mb, s->engine_ms, s->engine_ms / base->engine_ms,
	       s->wall_ms, s->wall_ms / base->wall_ms);
	printf("%s: %6d cycles: period p50 first %d cycles %.3f ms, last %d recorded (to cycle "
	       "%lld) %.3f ms (late/early %4.2fx)  results.json %.1f MB (%.2f kB/cycle)  "
	       "load %.2f\n", BENCH, s->cycles, s->window, s->early_ms, s->window, s->rows, s->late_ms,
	       s->late_ms / s->early_ms, s->json_mb, s->json_kb_per_cycle, s->load);
}

int main(int argc, char **argv)
{
	static const int defaults[] = { 1000, 10000 };
	struct scale_run runs[MAX_RUNS];
	char portchurn[PATH_MAX];
	int n = argc > 1 ? argc - 1 : 2;

	if (n > MAX_RUNS) {
		fprintf(stderr, "usage: %s [CYCLES ...] (at most %d counts)\n", BENCH, MAX_RUNS);
		return 2;
	}
	pc_bench_sibling(BENCH, "portchurn", portchurn, sizeof(portchurn));
	pc_bench_print_machine(BENCH);
	printf("%s: one run per count, ratios against the first (%s cycles)\n", BENCH,
	       argc > 1 ? argv[1] : "1000");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int cycles = argc > 1 ? atoi(argv[i + 1]) : defaults[i];

		if (cycles < 4) {   /* two periods at each end, at least */
			fprintf(stderr, "%s: %d cycles: give 4 or more\n", BENCH, cycles);
			return 2;
		}
		if (one_run(portchurn, cycles, &runs[i]) < 0)
			return 1;
		print_run(&runs[i], &runs[0]);
		fflush(stdout);
	}
	pc_bench_print_machine(BENCH);
	return 0;
}
