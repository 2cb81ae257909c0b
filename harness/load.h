/* load.h -- client load during a whole case: a libcurl multi loop on a
 * thread of its own, 'clients' concurrent requests (keep-alive or a new
 * connection each), an optional total rate, every request recorded with
 * its start, latency and outcome. A request counts as ok only when its
 * 2xx response arrived: a connection accepted and then reset is a reset.
 * The engine starts it, moves it to another port or pauses it (port 0),
 * and stops it; the records are read only after pc_load_stop(). */
#ifndef PC_LOAD_H
#define PC_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "results.h"

struct pc_load_opts {
	const char *addr;
	int clients;        /* concurrent requests */
	bool keepalive;     /* reuse connections; else a new connection per request */
	int rate;           /* requests per second in all, 0 = as fast as they complete */
	int timeout_ms;     /* per request */
};

struct pc_load_req {
	int64_t start_ns;
	int64_t latency_ns;   /* start to completion, whatever the outcome */
	enum pc_outcome outcome;
};

struct pc_load;

int pc_load_start(const struct pc_load_opts *o, int port, struct pc_load **out);
/* New requests go to this port from now on; 0 pauses. Thread-safe. */
void pc_load_set_port(struct pc_load *l, int port);
/* Requests completed so far (whatever their outcome). Thread-safe. */
size_t pc_load_completed(const struct pc_load *l);
/* Stops and joins the thread; requests still in flight are dropped. */
void pc_load_stop(struct pc_load *l);
/* After stop: the completed requests in start order, and how many more
 * completed than could be kept (memory bound). */
const struct pc_load_req *pc_load_requests(const struct pc_load *l, size_t *n, size_t *dropped);
void pc_load_free(struct pc_load *l);

/* After stop: attribute each request to the window of its cycle (from the
 * start of that transition, min(kill, spawn of the new generation), to the
 * next one's), fill each cycle's load counts and downtime, and summarise
 * the case over [t0, t1] into out (whose series it allocates). */
int pc_load_summarize(const struct pc_load *l, struct pc_cycle *cycles, int ncycles,
		      int64_t t0, int64_t t1, struct pc_load_result *out);

#endif
