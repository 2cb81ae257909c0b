/* results.c -- see results.h. Derived figures and summaries of cycle records;
 * the records themselves are filled in by the churn engine. */
#include "results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A strategy that starts the new generation before the old one is gone
 * (overlap, handoff) can listen before the reap: the port was never blocked,
 * so the figure is 0, not negative (negative values would also collide with
 * the -1 "no figure" mark). */
int64_t pc_cycle_rebind_ns(const struct pc_cycle *c)
{
	if (c->listen_ns <= 0 || c->reaped_ns <= 0 || c->bind_errno)
		return -1;
	return c->listen_ns > c->reaped_ns ? c->listen_ns - c->reaped_ns : 0;
}

int64_t pc_cycle_restart_ns(const struct pc_cycle *c)
{
	if (c->first_ok_ns <= 0 || c->kill_ns <= 0)
		return -1;
	return c->first_ok_ns > c->kill_ns ? c->first_ok_ns - c->kill_ns : 0;
}

/* Count one failed bind by errno; kinds beyond the table are still counted
 * in bind_failed, only not itemised. */
static void count_errno(struct pc_case_result *r, int err)
{
	int max = (int)(sizeof(r->errors) / sizeof(r->errors[0]));

	for (int i = 0; i < r->nerrors; i++) {
		if (r->errors[i].err == err) {
			r->errors[i].count++;
			return;
		}
	}
	if (r->nerrors < max)
		r->errors[r->nerrors++] = (struct pc_errno_count){ .err = err, .count = 1 };
}

/* Statistics of fig(cycle) over the cycles that have the figure. Without
 * memory the stats stay empty (n = 0) rather than half-computed. */
/* A cycle counts as bound when bind() reported no error and the new
 * generation got as far as bind or listen; a cycle that never reached bind()
 * (spawn failed, harness error) is neither ok nor failed. */
#define PC_MAX(a, b) ((a) > (b) ? (a) : (b))

static void census_peak(struct pc_census *peak, const struct pc_census *c)
{
	if (!c->known)
		return;
	peak->known = true;
	peak->listen = PC_MAX(peak->listen, c->listen);
	peak->established = PC_MAX(peak->established, c->established);
	peak->time_wait = PC_MAX(peak->time_wait, c->time_wait);
	peak->fin_wait1 = PC_MAX(peak->fin_wait1, c->fin_wait1);
	peak->fin_wait2 = PC_MAX(peak->fin_wait2, c->fin_wait2);
	peak->close_wait = PC_MAX(peak->close_wait, c->close_wait);
	peak->other = PC_MAX(peak->other, c->other);
}

static int push_sample(struct pc_case_result *r, int64_t v, bool rebind)
{
	if (r->samples_cap == (rebind ? r->nrebind : r->nrestart)) {
		size_t cap = r->samples_cap ? r->samples_cap * 2 : 1024;
		int64_t *a = realloc(r->rebind_samples, cap * sizeof(*a));
		int64_t *b = a ? realloc(r->restart_samples, cap * sizeof(*b)) : NULL;

		if (a)
			r->rebind_samples = a;
		if (!b)
			return -ENOMEM;
		r->restart_samples = b;
		r->samples_cap = cap;
	}
	if (rebind)
		r->rebind_samples[r->nrebind++] = v;
	else
		r->restart_samples[r->nrestart++] = v;
	return 0;
}

int pc_case_result_add(struct pc_case_result *r, const struct pc_cycle *c)
{
	int64_t rebind = pc_cycle_rebind_ns(c), restart = pc_cycle_restart_ns(c);

	census_peak(&r->peak_at_kill, &c->at_kill);
	census_peak(&r->peak_at_bind, &c->at_bind);
	if (!r->diagnosis && c->diagnosis[0]) {
		snprintf(r->diagnosis_buf, sizeof(r->diagnosis_buf), "%s", c->diagnosis);
		r->diagnosis = r->diagnosis_buf;
	}
	if (c->bind_errno) {
		r->bind_failed++;
		count_errno(r, c->bind_errno);
	} else if (c->bind_ns > 0 || c->listen_ns > 0) {
		r->bind_ok++;
	}
	r->leaked += c->leaked;
	r->escalated += c->escalated;
	r->requests_failed += c->requests_failed;
	r->served_new += c->served_new;
	r->served_orphan += c->served_orphan;
	r->stack_ok_min = !r->cycles_run || c->stack_ok < r->stack_ok_min ? c->stack_ok :
			  r->stack_ok_min;
	r->cycles_run++;
	if ((rebind >= 0 && push_sample(r, rebind, true) < 0) ||
	    (restart >= 0 && push_sample(r, restart, false) < 0))
		return -ENOMEM;
	return 0;
}

/* Back to nothing counted; the sample arrays are kept for reuse. */
static void reset_totals(struct pc_case_result *r)
{
	r->bind_ok = r->bind_failed = r->nerrors = 0;
	memset(r->errors, 0, sizeof(r->errors));
	memset(&r->peak_at_kill, 0, sizeof(r->peak_at_kill));
	memset(&r->peak_at_bind, 0, sizeof(r->peak_at_bind));
	r->diagnosis = NULL;
	r->leaked = r->escalated = r->requests_failed = r->served_new = r->served_orphan = 0;
	r->stack_ok_min = 0;
	r->nrebind = r->nrestart = 0;
	r->cycles_run = 0;
}

void pc_case_result_summarize(struct pc_case_result *r)
{
	/* While every cycle is a record, the records are the truth: derive it
	 * all from them again (a result read back and edited stays right).
	 * Past PC_RECORDS_MAX only the running totals know every cycle. */
	if (r->cycles_run <= r->ncycles) {
		reset_totals(r);
		for (int i = 0; i < r->ncycles; i++)
			pc_case_result_add(r, &r->cycles[i]);
	}
	pc_stats_compute(r->rebind_samples, r->nrebind, &r->rebind);
	pc_stats_compute(r->restart_samples, r->nrestart, &r->restart);
}

void pc_run_free(struct pc_run *run)
{
	if (!run)
		return;
	if (run->cases) {
		for (int i = 0; i < run->ncases; i++) {
			free(run->cases[i].cycles);
			free(run->cases[i].exps);
			free(run->cases[i].rebind_samples);
			free(run->cases[i].restart_samples);
			if (run->cases[i].load)
				free(run->cases[i].load->series);
			free(run->cases[i].load);
		}
		free(run->cases);
	}
	if (run->scenario)
		pc_scenario_free(run->scenario);
	free(run);
}
