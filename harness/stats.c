/* stats.c -- see stats.h. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t pc_stats_percentile(const int64_t *sorted, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (!n)
		return 0;
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	if (lo + 1 >= n)
		return sorted[n - 1];
	frac = rank - (double)lo;
	return sorted[lo] + (int64_t)llround(frac * (double)(sorted[lo + 1] - sorted[lo]));
}

void pc_stats_compute(int64_t *samples, size_t n, struct pc_stats *out)
{
	double sum = 0, sq = 0;

	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	qsort(samples, n, sizeof(*samples), cmp_i64);
	for (size_t i = 0; i < n; i++)
		sum += (double)samples[i];
	out->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		sq += ((double)samples[i] - out->mean) * ((double)samples[i] - out->mean);
	out->n = n;
	out->stddev = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
	out->min = samples[0];
	out->max = samples[n - 1];
	out->p50 = pc_stats_percentile(samples, n, 50);
	out->p90 = pc_stats_percentile(samples, n, 90);
	out->p99 = pc_stats_percentile(samples, n, 99);
}
