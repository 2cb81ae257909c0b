/* clock.h -- the one clock: CLOCK_MONOTONIC in integer nanoseconds.
 * It is system-wide on Linux and macOS, so timestamps taken by the harness
 * and by a fixture process can be subtracted directly. */
#ifndef PC_CLOCK_H
#define PC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t pc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define PC_NS_PER_MS 1000000LL

#endif
