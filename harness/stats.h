/* stats.h -- summary statistics of integer samples (nanoseconds).
 * Percentiles by linear interpolation between closest ranks. Pure. */
#ifndef PC_STATS_H
#define PC_STATS_H

#include <stddef.h>
#include <stdint.h>

struct pc_stats {
	size_t n;
	int64_t min, max, p50, p90, p99;
	double mean, stddev;
};

/* Sorts samples in place. n == 0 gives a zeroed struct with n = 0. */
void pc_stats_compute(int64_t *samples, size_t n, struct pc_stats *out);
/* p in [0,100] over sorted samples. */
int64_t pc_stats_percentile(const int64_t *sorted, size_t n, double p);

#endif
