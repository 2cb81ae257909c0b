/* Records beyond the kept ones: statistics and totals still cover every
 * cycle run, so a 100 000-cycle case is summarised exactly while only
 * PC_RECORDS_MAX of its cycles are kept in full. */
#include <criterion/criterion.h>
#include <errno.h>

#include "results.h"

static struct pc_cycle cycle(int i, int err, int64_t rebind_ns)
{
	return (struct pc_cycle){
		.index = i, .bind_errno = err, .kill_ns = 1000, .reaped_ns = 2000,
		.bind_ns = err ? 2500 : 2500, .listen_ns = err ? 0 : 2000 + rebind_ns,
		.first_ok_ns = err ? 0 : 9000, .leaked = 1, .requests_failed = 2,
		.at_kill = { .known = true, .time_wait = i },
	};
}

Test(records, totals_cover_cycles_that_were_not_kept, .timeout = 5)
{
	struct pc_cycle kept[2];
	struct pc_case spec = { .components = 1 };
	struct pc_case_result r = { .spec = &spec, .cycles = kept };

	/* five cycles run, two kept in full (as the engine does past the cap) */
	for (int i = 0; i < 5; i++) {
		struct pc_cycle c = cycle(i, i == 3 ? EADDRINUSE : 0, (i + 1) * 100);

		if (i < 2)
			kept[r.ncycles++] = c;
		cr_assert(pc_case_result_add(&r, &c) == 0);
	}
	pc_case_result_summarize(&r);
	cr_assert(r.cycles_run == 5 && r.ncycles == 2, "5 run, 2 kept");
	cr_assert(r.bind_ok == 4 && r.bind_failed == 1, "ok %d failed %d", r.bind_ok, r.bind_failed);
	cr_assert(r.rebind.n == 4 && r.rebind.max == 500, "rebind over all 4 bound cycles: n %zu "
		  "max %lld", r.rebind.n, (long long)r.rebind.max);
	cr_assert(r.leaked == 5 && r.requests_failed == 10, "totals over all cycles");
	cr_assert(r.peak_at_kill.time_wait == 4, "the census peak of a cycle not kept");
	free(r.rebind_samples);
	free(r.restart_samples);
}

Test(records, records_alone_are_summarised_again_after_an_edit, .timeout = 5)
{
	struct pc_cycle kept[3] = { cycle(0, 0, 100), cycle(1, 0, 200), cycle(2, 0, 300) };
	struct pc_case spec = { .components = 1 };
	struct pc_case_result r = { .spec = &spec, .cycles = kept, .ncycles = 3 };

	pc_case_result_summarize(&r);
	cr_assert(r.bind_ok == 3);
	kept[1].bind_errno = EADDRINUSE;   /* e.g. a record edited after a read-back */
	kept[1].listen_ns = 0;
	pc_case_result_summarize(&r);
	cr_assert(r.bind_ok == 2 && r.bind_failed == 1, "derived again from the records");
	free(r.rebind_samples);
	free(r.restart_samples);
}
