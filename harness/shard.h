/* shard.h -- splitting a scenario's cases across CI jobs: `--shard K/N`, or
 * the TEST_SHARD_INDEX / TEST_TOTAL_SHARDS convention of Bazel and others
 * (a 0-based index there). Every job computes the same assignment from the
 * same case list, so the N shards together run each case exactly once.
 *
 * Balanced by expected cost, not by count: each case weighs its cycles
 * times (a typical cycle plus the fixture's startup delay), and the cases
 * are dealt heaviest first, each to the shard with the least weight so far
 * (ties: the earlier case, the lower shard). No two shards then differ by
 * more than the heaviest case. With equal weights this is round robin.
 *
 * Pure functions on caller-owned data; thread-safe. */
#ifndef PC_SHARD_H
#define PC_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

#define PC_SHARD_MAX 10000

struct pc_shard {
	int index;   /* 1-based: 1..total */
	int total;
};

/* "K/N" with 1 <= K <= N <= PC_SHARD_MAX. Returns 0, or -EINVAL with a
 * message. */
int pc_shard_parse(const char *text, struct pc_shard *out, char *err, size_t errlen);

/* From TEST_SHARD_INDEX (0-based) and TEST_TOTAL_SHARDS values. Returns 1
 * when both are set and valid, 0 when neither is set, -EINVAL with a
 * message otherwise (one without the other, or not numbers in range). */
int pc_shard_from_env(const char *index, const char *total, struct pc_shard *out, char *err,
		      size_t errlen);

/* A case's expected cost in milliseconds (> 0). */
int64_t pc_shard_weight(const struct pc_case *c);

/* shard_of[i] (1..total) for each of n weights, as described above.
 * Returns 0, or -ENOMEM. */
int pc_shard_assign(const int64_t *weights, int n, int total, int *shard_of);

/* Keep only the cases of shard sh, in their order. Returns how many were
 * kept (0 is possible when there are more shards than cases), or -ENOMEM. */
int pc_shard_select(struct pc_scenario *s, const struct pc_shard *sh);

#endif
