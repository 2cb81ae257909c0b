/* The load generator against real listeners: a connection the kernel
 * accepted (connect() succeeded) and that then died in its listener's
 * queue is a reset, not a success; with tcp_migrate_req the kernel moves
 * it to another listener of the same SO_REUSEPORT group, which serves it.
 * Each test runs in a private network namespace of its own (root or user
 * namespaces), so its sysctl and ports are its own. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "load.h"
#include "sockstate.h"
#include "supervisor.h"
#include "sys.h"

#define QUEUED 4

static void private_netns(int migrate)
{
	char why[200];

	if (pc_sys_enter_private_netns(why, sizeof(why)) < 0)
		cr_skip_test("no private network namespace here: %s", why);
	if (pc_sys_tcp_migrate_req(true, migrate) != migrate)
		cr_skip_test("net.ipv4.tcp_migrate_req cannot be set here");
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A SO_REUSEPORT listener that never accepts: connections queue on it. */
static int queue_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	cr_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
	cr_assert(listen(fd, 64) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Bounded wait for the census of port to satisfy want(). */
static bool wait_census(int port, bool (*want)(const struct pc_census *))
{
	struct pc_census c;

	for (int64_t end = pc_now_ns() + 5000 * PC_NS_PER_MS; pc_now_ns() < end;) {
		if (pc_sockstate_census(port, &c) == 0 && want(&c))
			return true;
		poll(NULL, 0, 2);   /* back off between censuses */
	}
	return false;
}

static bool all_queued(const struct pc_census *c) { return c->established >= QUEUED; }

/* Bounded wait until the queued requests have completed, one way or another. */
static void wait_completed(struct pc_load *l)
{
	for (int64_t end = pc_now_ns() + 5000 * PC_NS_PER_MS;
	     pc_load_completed(l) < QUEUED && pc_now_ns() < end;)
		poll(NULL, 0, 1);
	cr_assert(pc_load_completed(l) >= QUEUED, "only %zu of %d requests completed",
		  pc_load_completed(l), QUEUED);
}

static void count(struct pc_load *l, size_t *ok, size_t *reset)
{
	size_t n, dropped;
	const struct pc_load_req *r = pc_load_requests(l, &n, &dropped);

	*ok = *reset = 0;
	for (size_t i = 0; i < n; i++) {
		*ok += r[i].outcome == PC_OUT_OK;
		*reset += r[i].outcome == PC_OUT_RESET;
	}
}

/* QUEUED clients connect and wait in the listener's queue; new requests
 * are paused so that only those are in flight when it closes. */
static struct pc_load *fill_queue(int port)
{
	struct pc_load_opts o = {
		.addr = "127.0.0.1", .clients = QUEUED, .keepalive = false, .timeout_ms = 8000,
	};
	struct pc_load *l;

	cr_assert(pc_load_start(&o, port, &l) == 0);
	cr_assert(wait_census(port, all_queued), "%d connections never queued", QUEUED);
	pc_load_set_port(l, 0);
	return l;
}

Test(load, queued_connections_die_with_their_listener, .timeout = 30)
{
	size_t ok, reset;
	int port, fd;
	struct pc_load *l;

	private_netns(0);
	fd = queue_listener(&port);
	l = fill_queue(port);
	close(fd);   /* no other listener, no migration: the queue is reset */
	wait_completed(l);
	pc_load_stop(l);
	count(l, &ok, &reset);
	cr_assert(reset == QUEUED, "%zu resets for %d queued connections (ok: %zu)", reset,
		  QUEUED, ok);
	cr_assert(ok == 0, "a request on a dead queue was counted ok");
	pc_load_free(l);
}

Test(load, migration_hands_the_queue_to_the_new_listener, .timeout = 30)
{
	const char *fixture = getenv("PC_FIXTURE");
	struct pc_gen_spec spec = { .addr = "127.0.0.1", .opts_text = "reuseport",
				    .close_first = PC_CLOSE_SERVER };
	struct pc_sup *sup;
	struct pc_gen g;
	struct pc_load *l;
	size_t ok, reset;
	int fd;

	if (!fixture)
		cr_skip_test("PC_FIXTURE is not set (run through ctest)");
	private_netns(1);
	fd = queue_listener(&spec.port);
	l = fill_queue(spec.port);
	cr_assert(pc_sup_new(fixture, -1, &sup) == 0);
	cr_assert(pc_sup_spawn(sup, &spec, &g) == 0 && pc_sup_wait_ready(sup, &g, 10000, NULL) == 0);
	cr_assert(g.bind_errno == 0, "the fixture joins the SO_REUSEPORT group");
	close(fd);   /* the queue migrates to the fixture's listener */
	wait_completed(l);
	pc_load_stop(l);
	count(l, &ok, &reset);
	pc_sup_free(sup);
	cr_assert(ok == QUEUED && reset == 0, "%zu ok, %zu reset; want all %d served", ok, reset,
		  QUEUED);
	pc_load_free(l);
}
