/* results.h -- the plain data that flows from the churn engine to the
 * reporters: one pc_run per scenario, one pc_case_result per case, one
 * pc_cycle per restart. Owned by the run (pc_run_free); reporters only read.
 * All times are CLOCK_MONOTONIC nanoseconds (0 = did not happen). */
#ifndef PC_RESULTS_H
#define PC_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "scenario.h"
#include "sockstate.h"
#include "stats.h"

struct pc_cycle {
	int index;            /* 0-based within the case */
	int port;
	int old_pid, new_pid;
	int64_t old_ready_ns; /* old generation's listen() done */
	int64_t kill_ns;      /* signal sent to the old generation */
	int64_t reaped_ns;    /* old generation reaped */
	int64_t spawn_ns;     /* fork() of the new generation */
	int64_t bind_ns;      /* new generation's bind() returned (last attempt) */
	int64_t listen_ns;    /* new generation's listen() done; 0 if bind failed */
	int64_t first_ok_ns;  /* first HTTP 200 from the new generation */
	int bind_errno;       /* 0 = bound */
	int bind_attempts;
	int64_t blocked_ns;   /* time the port stayed blocked across retries */
	bool escalated;       /* the signal did not end it; SIGKILL was needed */
	int old_exit;         /* exit status (>= 0) or -signal number */
	int leaked;           /* processes of the old group still alive after reap */
	int requests_ok, requests_failed;  /* traffic to the old generation */
	/* With a leaked child alive next to a new generation that bound (both
	 * with SO_REUSEPORT): who served 'requests' requests sent then. */
	int served_new, served_orphan;
	int escaped;          /* processes that left the old group, still holding the port, ended */
	int stack_ok;         /* components > 1: how many answered again */
	/* Load requests started in this cycle's window (from the start of
	 * the transition to the next one's), by outcome, and the downtime
	 * they saw: first failed request's start to last failed one's end. */
	int load[PC_OUT_COUNT];
	int64_t downtime_ns;
	/* just before the kill; at a failed bind, or after the first 200 */
	struct pc_census at_kill, at_bind;
	char diagnosis[320];  /* why the bind failed, from evidence; "" if it did not */
	char error[160];      /* harness-side problem in this cycle, if any */
};

/* Derived per cycle; -1 when the cycle has no such figure. */
int64_t pc_cycle_rebind_ns(const struct pc_cycle *c);   /* listen - reaped */
int64_t pc_cycle_restart_ns(const struct pc_cycle *c);  /* first 200 - kill */

enum pc_exp_status { PC_EXP_HELD, PC_EXP_FAILED, PC_EXP_NA };

struct pc_exp_result {
	char text[96];        /* "rebind_p99_ms < 20" */
	enum pc_exp_status status;
	char measured[96];    /* "3.2", "EADDRINUSE 10/10", "n/a (no bind succeeded)" */
	int line;             /* scenario line it came from */
};

struct pc_load_bucket {
	int64_t t_ns;           /* bucket start, CLOCK_MONOTONIC */
	int n[PC_OUT_COUNT];    /* requests started in it, by outcome */
};

/* What the case's load clients saw. */
struct pc_load_result {
	int clients, rate;
	bool keepalive;
	long total[PC_OUT_COUNT];
	size_t requests, dropped;        /* recorded; completed but not kept */
	int64_t bucket_ns;
	struct pc_load_bucket *series;   /* fixed buckets over the case */
	size_t nseries;
	struct pc_stats downtime;        /* per cycle */
	struct pc_stats latency_steady, latency_restart;  /* ok requests */
};

struct pc_errno_count {
	int err;
	int count;
};

/* Full records kept per case: beyond this, cycles count only in the
 * running totals below (and their latencies in the samples), so memory
 * stays flat however long a run is. */
#define PC_RECORDS_MAX 10000

struct pc_case_result {
	const struct pc_case *spec;  /* points into the run's scenario */
	struct pc_cycle *cycles;     /* the first PC_RECORDS_MAX cycles, in full */
	int ncycles;                 /* records kept */
	long cycles_run;             /* cycles run in all (pc_case_result_add) */
	/* totals over every cycle run, kept or not */
	long leaked, escalated, requests_failed, served_new, served_orphan;
	int stack_ok_min;
	int64_t *rebind_samples, *restart_samples;
	size_t nrebind, nrestart, samples_cap;
	char diagnosis_buf[320];
	int bind_ok, bind_failed;
	struct pc_errno_count errors[8];
	int nerrors;
	struct pc_stats rebind, restart;  /* over cycles that have the figure */
	struct pc_census peak_at_kill, peak_at_bind;  /* per-state maxima over cycles */
	const char *diagnosis;       /* the first failed bind's, or NULL */
	struct pc_load_result *load;  /* NULL without load clients */
	char migrate_req[48];        /* tcp_migrate_req as used: "on", "off", "off (host)" */
	char start_output[2048];     /* a command's output at its first failed start */
	char socket_setup[768];      /* a command: its socket calls, from the preload probe */
	struct pc_exp_result *exps;
	int nexps;
	bool pass;                   /* every expectation held or n/a, no env error */
	char env_error[200];         /* set when the case could not run */
	int64_t started_ns, finished_ns;
};

struct pc_run {
	struct pc_scenario *scenario;  /* owned */
	struct pc_case_result *cases;  /* one per scenario case, in order */
	int ncases;                    /* cases started (<= scenario->ncases) */
	char netns[64];                /* "private" or "host (reason)" */
	char cleanup[128];             /* how fixtures are kept from outliving the run */
	char os[80], kernel[128];
	char started_utc[32];          /* ISO 8601 */
	bool interrupted;
	int64_t started_ns, finished_ns;
};

void pc_run_free(struct pc_run *run);
/* Folds one finished cycle into the totals (kept as a record or not). */
int pc_case_result_add(struct pc_case_result *r, const struct pc_cycle *c);
/* Statistics from the totals. A result filled with records only (a test,
 * a results.json read back) is folded from its records first. */
void pc_case_result_summarize(struct pc_case_result *r);

#endif
