/* load.c -- see load.h. One thread, one curl multi handle, 'clients' easy
 * handles; the thread only appends to its own record array, which the
 * engine reads after joining it, so nothing but the port and the stop flag
 * is shared. */
#include "load.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define MAX_RECORDS (1 << 21)   /* 2M requests: 48 MiB at most */
#define POLL_MS 5

struct slot {
	CURL *curl;
	bool busy;
	int port;            /* the port url names */
	int64_t start_ns;
	char url[96];
};

struct pc_load {
	struct pc_load_opts o;
	atomic_int port;
	atomic_bool stop;
	atomic_size_t completed;
	pthread_t thread;
	bool running;
	CURLM *multi;
	struct slot *slots;
	struct pc_load_req *reqs;
	size_t nreqs, cap, dropped;
	int64_t next_start_ns;      /* rate limiting */
};

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p, (void)user;
	return size * n;
}

static int slots_init(struct pc_load *l)
{
	l->slots = calloc((size_t)l->o.clients, sizeof(*l->slots));
	if (!l->slots)
		return -ENOMEM;
	for (int i = 0; i < l->o.clients; i++) {
		CURL *c = curl_easy_init();

		if (!c)
			return -ENOMEM;
		l->slots[i].curl = c;
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");   /* loopback only, never a proxy */
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)l->o.timeout_ms);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, l->o.keepalive ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, l->o.keepalive ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_PRIVATE, &l->slots[i]);
	}
	return 0;
}

static void record(struct pc_load *l, const struct slot *s, enum pc_outcome out)
{
	atomic_fetch_add(&l->completed, 1);
	if (l->nreqs == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		struct pc_load_req *r;

		if (cap > MAX_RECORDS || !(r = realloc(l->reqs, cap * sizeof(*r)))) {
			l->dropped++;
			return;
		}
		l->reqs = r;
		l->cap = cap;
	}
	l->reqs[l->nreqs++] = (struct pc_load_req){
		.start_ns = s->start_ns, .latency_ns = pc_now_ns() - s->start_ns, .outcome = out,
	};
}

static bool may_start(struct pc_load *l, int64_t now)
{
	if (!l->o.rate)
		return true;
	if (now < l->next_start_ns)
		return false;
	/* a schedule, not a burst after a stall: never more than one behind */
	l->next_start_ns = (l->next_start_ns + 1000000000LL / l->o.rate > now) ?
			   l->next_start_ns + 1000000000LL / l->o.rate : now;
	return true;
}

static void start_idle(struct pc_load *l)
{
	int port = atomic_load(&l->port);
	bool v6 = strchr(l->o.addr, ':') != NULL;

	for (int i = 0; port && i < l->o.clients; i++) {
		struct slot *s = &l->slots[i];

		if (s->busy || !may_start(l, pc_now_ns()))
			continue;
		if (s->port != port) {   /* parsing a URL per request costs */
			snprintf(s->url, sizeof(s->url), "http://%s%s%s:%d/", v6 ? "[" : "",
				 l->o.addr, v6 ? "]" : "", port);
			curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
			s->port = port;
		}
		s->start_ns = pc_now_ns();
		s->busy = true;
		curl_multi_add_handle(l->multi, s->curl);
	}
}

/* Returns how many transfers finished. */
static int reap_done(struct pc_load *l)
{
	CURLMsg *m;
	int left, n = 0;

	while ((m = curl_multi_info_read(l->multi, &left))) {
		struct slot *s;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		record(l, s, pc_http_classify(m->data.result, m->easy_handle));
		curl_multi_remove_handle(l->multi, m->easy_handle);
		s->busy = false;
		n++;
	}
	return n;
}

/* Until the next scheduled start, at most POLL_MS: a paced client must not
 * oversleep its schedule. */
static int poll_ms(const struct pc_load *l)
{
	int64_t wait_ns = l->next_start_ns - pc_now_ns();

	if (!l->o.rate || wait_ns >= POLL_MS * PC_NS_PER_MS)
		return POLL_MS;
	return wait_ns > 0 ? (int)((wait_ns + PC_NS_PER_MS - 1) / PC_NS_PER_MS) : 0;
}

static void *run(void *arg)
{
	struct pc_load *l = arg;
	int running;

	l->next_start_ns = pc_now_ns();
	while (!atomic_load(&l->stop)) {
		curl_multi_perform(l->multi, &running);
		/* restart finished slots before waiting again: a slot left idle
		 * until after the next poll costs a whole poll timeout */
		if (reap_done(l)) {
			start_idle(l);
			continue;   /* perform the new transfers at once */
		}
		start_idle(l);
		curl_multi_poll(l->multi, NULL, 0, poll_ms(l), NULL);
	}
	return NULL;
}

int pc_load_start(const struct pc_load_opts *o, int port, struct pc_load **out)
{
	struct pc_load *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	l->o = *o;
	atomic_init(&l->port, port);
	atomic_init(&l->stop, false);
	atomic_init(&l->completed, 0);
	l->multi = curl_multi_init();
	rc = l->multi ? slots_init(l) : -ENOMEM;
	if (!rc)
		rc = -pthread_create(&l->thread, NULL, run, l);
	if (rc) {
		pc_load_free(l);
		return rc;
	}
	l->running = true;
	*out = l;
	return 0;
}

size_t pc_load_completed(const struct pc_load *l)
{
	return atomic_load(&((struct pc_load *)l)->completed);
}

void pc_load_set_port(struct pc_load *l, int port)
{
	atomic_store(&l->port, port);
}

static int by_start(const void *a, const void *b)
{
	int64_t x = ((const struct pc_load_req *)a)->start_ns;
	int64_t y = ((const struct pc_load_req *)b)->start_ns;

	return (x > y) - (x < y);
}

void pc_load_stop(struct pc_load *l)
{
	if (!l->running)
		return;
	atomic_store(&l->stop, true);
	curl_multi_wakeup(l->multi);
	pthread_join(l->thread, NULL);
	l->running = false;
	/* recorded as they completed; the analysis wants them as they started */
	qsort(l->reqs, l->nreqs, sizeof(*l->reqs), by_start);
}

const struct pc_load_req *pc_load_requests(const struct pc_load *l, size_t *n, size_t *dropped)
{
	*n = l->nreqs;
	*dropped = l->dropped;
	return l->reqs;
}

void pc_load_free(struct pc_load *l)
{
	if (!l)
		return;
	pc_load_stop(l);
	for (int i = 0; l->slots && i < l->o.clients; i++) {
		if (l->slots[i].busy)
			curl_multi_remove_handle(l->multi, l->slots[i].curl);
		curl_easy_cleanup(l->slots[i].curl);
	}
	if (l->multi)
		curl_multi_cleanup(l->multi);
	free(l->slots);
	free(l->reqs);
	free(l);
}

/* ---- analysis ------------------------------------------------------------ */

static int64_t window_start(const struct pc_cycle *c)
{
	return c->spawn_ns && c->spawn_ns < c->kill_ns ? c->spawn_ns : c->kill_ns;
}

/* The cycle whose window holds t (windows run from one transition's start
 * to the next's), or -1 before the first. */
static int window_of(const struct pc_cycle *cycles, int n, int64_t t)
{
	int lo = 0, hi = n;   /* first window starting after t */

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (window_start(&cycles[mid]) <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* A request belongs to the window in which it completed: one in flight
 * when a generation is killed fails because of that transition, not the
 * one before. Its latency counts as restart latency when it started
 * between a transition's start and the new generation's first 200. */
static void attribute(const struct pc_load *l, struct pc_cycle *cycles, int ncycles,
		      int64_t *from, int64_t *to, int64_t *steady, size_t *nsteady,
		      int64_t *restart, size_t *nrestart)
{
	for (size_t i = 0; i < l->nreqs; i++) {
		const struct pc_load_req *q = &l->reqs[i];
		int64_t end = q->start_ns + q->latency_ns;
		int ke = window_of(cycles, ncycles, end), ks = window_of(cycles, ncycles, q->start_ns);
		bool in_restart = ks >= 0 && (!cycles[ks].first_ok_ns ||
					      q->start_ns <= cycles[ks].first_ok_ns);

		if (q->outcome == PC_OUT_OK && in_restart)
			restart[(*nrestart)++] = q->latency_ns;
		else if (q->outcome == PC_OUT_OK)
			steady[(*nsteady)++] = q->latency_ns;
		if (ke < 0)
			continue;
		cycles[ke].load[q->outcome]++;
		if (q->outcome != PC_OUT_OK) {
			from[ke] = from[ke] && from[ke] < q->start_ns ? from[ke] : q->start_ns;
			to[ke] = to[ke] > end ? to[ke] : end;
		}
	}
	for (int k = 0; k < ncycles; k++)
		cycles[k].downtime_ns = to[k] - from[k];
}

/* At most about a thousand buckets, none shorter than 10 ms. */
static int series(const struct pc_load *l, int64_t t0, int64_t t1, struct pc_load_result *out)
{
	int64_t span = t1 > t0 ? t1 - t0 : 1;

	out->bucket_ns = span / 1000 > 10 * PC_NS_PER_MS ? span / 1000 : 10 * PC_NS_PER_MS;
	out->nseries = (size_t)(span / out->bucket_ns) + 1;
	out->series = calloc(out->nseries, sizeof(*out->series));
	if (!out->series)
		return -ENOMEM;
	for (size_t b = 0; b < out->nseries; b++)
		out->series[b].t_ns = t0 + (int64_t)b * out->bucket_ns;
	for (size_t i = 0; i < l->nreqs; i++) {
		const struct pc_load_req *q = &l->reqs[i];
		int64_t b = (q->start_ns - t0) / out->bucket_ns;

		out->total[q->outcome]++;
		if (b >= 0 && (size_t)b < out->nseries)
			out->series[b].n[q->outcome]++;
	}
	return 0;
}

int pc_load_summarize(const struct pc_load *l, struct pc_cycle *cycles, int ncycles,
		      int64_t t0, int64_t t1, struct pc_load_result *out)
{
	int64_t *steady = malloc((l->nreqs + 1) * sizeof(*steady));
	int64_t *restart = malloc((l->nreqs + 1) * sizeof(*restart));
	int64_t *down = calloc((size_t)ncycles + 1, sizeof(*down));
	int64_t *to = calloc((size_t)ncycles + 1, sizeof(*to));
	size_t nsteady = 0, nrestart = 0;
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->clients = l->o.clients;
	out->rate = l->o.rate;
	out->keepalive = l->o.keepalive;
	out->requests = l->nreqs;
	out->dropped = l->dropped;
	if (steady && restart && down && to) {
		attribute(l, cycles, ncycles, down, to, steady, &nsteady, restart, &nrestart);
		for (int i = 0; i < ncycles; i++)
			down[i] = cycles[i].downtime_ns;
		pc_stats_compute(down, (size_t)ncycles, &out->downtime);
		pc_stats_compute(steady, nsteady, &out->latency_steady);
		pc_stats_compute(restart, nrestart, &out->latency_restart);
		rc = series(l, t0, t1, out);
	}
	free(steady);
	free(restart);
	free(down);
	free(to);
	return rc;
}
