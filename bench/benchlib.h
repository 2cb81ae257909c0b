/* benchlib.h -- what the benchmarks of the harness share: samples and
 * their percentiles, the machine's description, a private network
 * namespace, the binaries built next to the benchmark, and one run of
 * `portchurn run` read back from its results.json. Benchmark code, not
 * library code: it prints, and pc_bench_skip() exits. Not thread-safe. */
#ifndef PC_BENCHLIB_H
#define PC_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable array of nanosecond samples. */
struct pc_bench_samples {
	int64_t *v;
	size_t n, cap;
};

void pc_bench_add(struct pc_bench_samples *s, int64_t v);
void pc_bench_clear(struct pc_bench_samples *s);
void pc_bench_free(struct pc_bench_samples *s);
/* Nearest-rank percentile, p in [0, 100]; sorts s. 0 when empty. */
int64_t pc_bench_pct(struct pc_bench_samples *s, double p);

/* Median, min and max of n doubles (reordered). */
struct pc_bench_spread {
	double med, min, max;
};
struct pc_bench_spread pc_bench_spread_of(double *v, size_t n);

/* "2 cores, Linux 6.18.44, load 0.83 1.62 1.90": one line, printed by
 * every benchmark so its figures carry the conditions they came from. */
void pc_bench_print_machine(const char *bench);
double pc_bench_load1(void);

/* Prints "BENCH: skipped: why" and exits 0: no figure is made up. */
void pc_bench_skip(const char *bench, const char *why);

/* Move into a private network namespace with loopback up, as portchurn
 * does for its runs (same helper), or skip. */
void pc_bench_enter_netns(const char *bench);

/* Path of a binary built beside this one (PC_FIXTURE / PORTCHURN in the
 * environment win for "pc-fixture" / "portchurn"); skips when missing. */
void pc_bench_sibling(const char *bench, const char *name, char *out, size_t len);

/* A directory of its own under $TMPDIR, removed with everything in it. */
int pc_bench_tmpdir(char *out, size_t len);
void pc_bench_rmtree(const char *dir);

/* One `portchurn run` of a scenario given as INI text. */
struct pc_bench_run {
	int exit_code;                 /* portchurn's, or -1 */
	int64_t wall_ns;               /* fork -> reaped: start-up and reports too */
	int64_t duration_ns;           /* results.json: the engine's run */
	long maxrss_kb;                /* peak RSS of portchurn (wait4) */
	long long json_bytes;          /* size of results.json */
	int64_t cycles;                /* cycles run, over all cases */
	/* only when records were asked for: */
	struct pc_bench_samples restart;   /* restart_ns: kill -> first HTTP 200 */
	struct pc_bench_samples ready;     /* listen_ns - kill_ns */
	struct pc_bench_samples probe;     /* first_ok_ns - listen_ns */
	/* always, from cycles.csv: kill_ns of each cycle to the next one's,
	 * over the rows it holds (portchurn may keep only the first records) */
	struct pc_bench_samples period;
	long long csv_rows;
};

/* Runs `portchurn run FILE --out DIR -q` on ini_text. With records, reads every cycle record back
 * (jansson loads the whole file: keep that to runs of ~10k cycles);
 * without, only the head of results.json. Cycle periods come from
 * cycles.csv, read a line at a time. 0, or -1 with a message. */
int pc_bench_portchurn(const char *portchurn, const char *ini_text, bool records,
		       struct pc_bench_run *out, char *err, size_t errlen);
void pc_bench_run_free(struct pc_bench_run *r);

#endif
