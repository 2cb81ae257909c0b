/* churn.h -- the cycle engine: per case, N cycles of "old generation ready
 * -> traffic -> kill -> reaped -> new generation bound and listening ->
 * first HTTP 200", recorded as pc_cycle records, then summarised and judged
 * against the case's expectations. Never prints; reports come later. */
#ifndef PC_CHURN_H
#define PC_CHURN_H

#include <signal.h>
#include <stddef.h>

#include "results.h"
#include "scenario.h"

struct pc_churn_opts {
	const char *fixture;        /* path of pc-fixture */
	const char *preload;        /* libportchurn-preload.so, or NULL when not found */
	int log_fd;                 /* fixtures' stderr, -1 = /dev/null */
	const char *netns;          /* how the run is isolated, for the report */
	const volatile sig_atomic_t *stop;   /* nonzero: finish up, mark interrupted */
	/* Called after every cycle and at each case's start (cycle = -1). */
	void (*progress)(void *user, const struct pc_run *run, int case_idx, int cycle);
	void *progress_user;
};

/* Runs every case of sc (the run takes ownership of sc). Returns 0 with
 * *out set (also when interrupted: (*out)->interrupted), or -errno with a
 * message when the run could not start at all. */
int pc_churn_run(struct pc_scenario *sc, const struct pc_churn_opts *o, struct pc_run **out,
		 char *err, size_t errlen);

#endif
