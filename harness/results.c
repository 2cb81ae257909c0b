/* results.c -- see results.h. Derived figures and summaries of cycle records;
 * the records themselves are filled in by the churn engine. */
#include "results.h"

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
static void stats_of(const struct pc_case_result *r, int64_t (*fig)(const struct pc_cycle *),
		     int64_t *buf, struct pc_stats *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return;
	for (int i = 0; i < r->ncycles; i++) {
		int64_t v = fig(&r->cycles[i]);

		if (v >= 0)
			buf[n++] = v;
	}
	pc_stats_compute(buf, n, out);
}

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

void pc_case_result_summarize(struct pc_case_result *r)
{
	int64_t *buf = NULL;

	r->bind_ok = r->bind_failed = r->nerrors = 0;
	memset(r->errors, 0, sizeof(r->errors));
	memset(&r->peak_at_kill, 0, sizeof(r->peak_at_kill));
	memset(&r->peak_at_bind, 0, sizeof(r->peak_at_bind));
	r->diagnosis = NULL;
	for (int i = 0; i < r->ncycles; i++) {
		const struct pc_cycle *c = &r->cycles[i];

		census_peak(&r->peak_at_kill, &c->at_kill);
		census_peak(&r->peak_at_bind, &c->at_bind);
		if (!r->diagnosis && c->diagnosis[0])
			r->diagnosis = c->diagnosis;
		if (c->bind_errno) {
			r->bind_failed++;
			count_errno(r, c->bind_errno);
		} else if (c->bind_ns > 0 || c->listen_ns > 0) {
			r->bind_ok++;
		}
	}
	if (r->ncycles > 0)
		buf = malloc((size_t)r->ncycles * sizeof(*buf));
	stats_of(r, pc_cycle_rebind_ns, buf, &r->rebind);
	stats_of(r, pc_cycle_restart_ns, buf, &r->restart);
	free(buf);
}

void pc_run_free(struct pc_run *run)
{
	if (!run)
		return;
	if (run->cases) {
		for (int i = 0; i < run->ncases; i++) {
			free(run->cases[i].cycles);
			free(run->cases[i].exps);
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
