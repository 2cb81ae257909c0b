/* churn.c -- see churn.h. A case uses one port for all its cycles when the
 * old and new option sets are the same (a real restart loop: each new
 * generation is the next cycle's old one); otherwise every cycle starts a
 * fresh old generation on a fresh port, so each cycle is exactly one
 * old -> new transition. A cycle whose new generation did not come up also
 * starts the next one fresh. */
#include "churn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "diagnose.h"
#include "errname.h"
#include "expect.h"
#include "load.h"
#include "preload_events.h"
#include "probe.h"
#include "sockstate.h"
#include "supervisor.h"
#include "sys.h"
#include "trybind.h"

#define READY_TIMEOUT_MS 10000   /* fork -> ready line, beyond bind retries */
#define REQUEST_TIMEOUT_MS 2000
#define FIRST_OK_TIMEOUT_MS 5000
#define REAP_TIMEOUT_MS 5000     /* after SIGKILL */
#define FIXED_PORT_RETRY_MS 70000 /* TIME_WAIT lasts 60 s on Linux */
#define FIRST_AUTO_PORT 20000     /* below the kernel's ephemeral range */

struct engine {
	const struct pc_churn_opts *o;
	const struct pc_scenario *sc;
	struct pc_run *run;
	struct pc_sup *sup;
	struct pc_http *http;
	struct pc_load *load;   /* the case's load clients, when it has some */
	int handoff_fd;         /* the listener kept for strategy handoff, 0 = none */
	int next_port;
	char probe_text[768];   /* the case's first command's socket set-up */
	struct pc_gen *stack;   /* components > 1: the live generation of each */
	int *stack_ports;
};

static bool stopped(const struct engine *e)
{
	return e->o->stop && *e->o->stop;
}

static int sockaddr_of(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* Would a plain bind (no options) succeed? Then nothing, not even a
 * TIME_WAIT socket, is on the port. */
static bool port_free(const char *addr, int port)
{
	static const struct pc_optset none = { .linger_s = PC_LINGER_UNSET };

	return pc_trybind(addr, port, &none) == 0;
}

/* Names the LISTEN holder of a fixed port, or says it is free of them. */
static int check_fixed_port(struct engine *e, char *msg, size_t len)
{
	struct pc_census c = { 0 };
	struct pc_holder h[4];
	bool incomplete = false;
	int n = 0, port = e->sc->port;

	if (pc_sockstate_census(port, &c) < 0 || !c.listen)
		return 0;   /* unknown here: the fixture's bind will tell */
	if (pc_sockstate_listeners(port, h, 4, &n, &incomplete) == 0 && n > 0)
		snprintf(msg, len, "port %d is held by another process: pid %d (%s)", port,
			 h[0].pid, h[0].comm);
	else
		snprintf(msg, len, "port %d has a listener that no visible process holds "
			 "(another pid namespace, or no permission to look)", port);
	return -EADDRINUSE;
}

static int pick_port(struct engine *e, int *port, char *msg, size_t len)
{
	if (e->sc->port) {
		*port = e->sc->port;
		return check_fixed_port(e, msg, len);
	}
	for (int tries = 0; tries < 4000; tries++) {
		int p = e->next_port++;

		if (e->next_port > 60999)
			e->next_port = 1024;
		if (port_free(e->sc->addr, p)) {
			*port = p;
			return 0;
		}
	}
	snprintf(msg, len, "no free port on %s after 4000 tries", e->sc->addr);
	return -EADDRINUSE;
}

/* {port} and {addr} in a command line. */
static void expand_command(const char *in, const char *addr, int port, char *out, size_t len)
{
	size_t n = 0;

	while (*in && n + 1 < len) {
		if (!strncmp(in, "{port}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "%d", port);
			in += 6;
		} else if (!strncmp(in, "{addr}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "%s", addr);
			in += 6;
		} else {
			out[n++] = *in++;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

static bool tcp_answers(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	if (sockaddr_of(addr, port, &ss, &len) < 0)
		return false;
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	rc = connect(fd, (struct sockaddr *)&ss, len);   /* loopback: answers at once */
	close(fd);
	return rc == 0;
}

/* Someone answered on the port; is it this generation? An orphan of the
 * last one (uvicorn --reload's worker) may still be serving the port. A
 * holder is this generation's when it is in its process group, or a
 * direct child of its main process that left the group (setsid); the last
 * generation's orphan is neither (the subreaper adopted it). */
static bool gen_holds_port(const struct pc_gen *g, int port)
{
	struct pc_holder h[8];
	bool incomplete;
	int n = 0;

	if (pc_sockstate_listeners(port, h, 8, &n, &incomplete) < 0)
		return true;   /* no census here: the answer has to do */
	for (int i = 0; i < n && i < 8; i++)
		if (getpgid(h[i].pid) == g->pid || h[i].ppid == g->pid)
			return true;
	return false;
}

static bool command_ready(struct engine *e, const struct pc_case *c, const struct pc_gen *g,
			  int port)
{
	bool ok;

	if (c->ready_tcp) {
		ok = tcp_answers(e->sc->addr, port);
	} else {
		ok = pc_http_get(e->http, e->sc->addr, port, c->ready_path, REQUEST_TIMEOUT_MS) ==
		     PC_OUT_OK;
		pc_http_close(e->http);
	}
	return ok && gen_holds_port(g, port);
}

/* What the preload probe saw of a command's start: its own bind() result
 * and time replace what probing could only bound, and the first
 * generation's socket set-up is kept for the report. */
static void read_probe(struct engine *e, struct pc_gen *g)
{
	struct pc_preload_log log;
	const struct pc_preload_event *bind = NULL, *listen = NULL;

	if (g->probe_fd < 0 || pc_preload_log_init(&log, g->probe_fd) < 0)
		return;
	pc_preload_log_drain(&log);
	for (size_t i = 0; i < log.n; i++) {
		const struct pc_preload_event *ev = &log.events[i];

		if (ev->call == PC_PEV_BIND && ev->port == g->port)
			bind = ev;   /* the last attempt counts */
		else if (ev->call == PC_PEV_LISTEN && ev->port == g->port && !ev->err && !listen)
			listen = ev;
	}
	if (bind) {
		g->bind_ns = bind->t_ns;
		g->bind_errno = bind->err ? bind->err : g->bind_errno;
	}
	if (listen)
		g->listen_ns = listen->t_ns;
	if (!e->probe_text[0])
		pc_preload_summary(&log, 0, g->spawn_ns, e->probe_text, sizeof(e->probe_text));
	pc_preload_log_free(&log);
}

/* A command fixture has no ready fd: probe with back-off (a busy probe
 * slows the very start-up it waits for) until it answers, exits, or the
 * deadline passes. The verdict goes into g as a ready line would. */
static int wait_command(struct engine *e, const struct pc_case *c, int port, struct pc_gen *g)
{
	int64_t deadline = pc_now_ns() + (int64_t)c->ready_timeout_ms * PC_NS_PER_MS;
	long backoff_ns = PC_NS_PER_MS;

	g->port = port;
	for (;;) {
		pc_sup_read_output(g);
		if (command_ready(e, c, g, port)) {
			g->ready = true;
			g->attempts = 1;
			g->bind_ns = g->listen_ns = pc_now_ns();
			read_probe(e, g);
			return 0;
		}
		if (stopped(e))
			return -EINTR;
		if (pc_sup_wait_exit(g, 0) == 0 || pc_now_ns() > deadline)
			break;
		nanosleep(&(struct timespec){ 0, backoff_ns }, NULL);
		backoff_ns = backoff_ns < 50 * PC_NS_PER_MS ? backoff_ns * 2 : backoff_ns;
	}
	pc_sup_read_output(g);
	g->ready = true;
	g->bind_errno = strstr(g->output, "Address already in use") ||
			strstr(g->output, "EADDRINUSE") ? EADDRINUSE : g->reaped ? ESRCH : ETIMEDOUT;
	read_probe(e, g);   /* a failed bind() it saw beats the output's words */
	return 0;
}

static int gen_spawn(struct engine *e, const struct pc_case *c, bool old, int port, int retry_ms,
		     struct pc_gen *g)
{
	const char *env[PC_MAX_ENV];
	char cmd[PC_COMMAND_MAX];
	struct pc_gen_spec spec = {
		.addr = e->sc->addr, .port = port,
		.opts_text = old ? c->old_text : c->new_text,
		.opts_at = c->opts_at, .close_first = c->close_first,
		.bind_retry_ms = retry_ms, .bind_retry_interval_ms = c->bind_retry_interval_ms,
		.startup_delay_ms = c->startup_delay_ms, .leak_child = c->leak_child,
		.listen_fd = e->handoff_fd,
	};

	if (c->fixture_command) {
		spec.preload = c->preload ? e->o->preload : NULL;
		spec.inject = c->inject[0] ? c->inject : NULL;
		expand_command(c->command, e->sc->addr, port, cmd, sizeof(cmd));
		for (int i = 0; i < e->sc->nenv; i++)
			env[i] = e->sc->env[i];
		spec.command = cmd;
		spec.cwd = e->sc->cwd;
		spec.env = env;
		spec.nenv = e->sc->nenv;
	}
	return pc_sup_spawn(e->sup, &spec, g);
}

/* Until the generation says (ready line) or shows (probe) how it started. */
static int gen_wait(struct engine *e, const struct pc_case *c, int port, int retry_ms,
		    struct pc_gen *g)
{
	if (c->fixture_command)
		return wait_command(e, c, port, g);
	return pc_sup_wait_ready(e->sup, g, READY_TIMEOUT_MS + retry_ms, e->o->stop);
}

static int gen_start(struct engine *e, const struct pc_case *c, bool old, int port, int retry_ms,
		     struct pc_gen *g)
{
	int rc = gen_spawn(e, c, old, port, retry_ms, g);

	return rc < 0 ? rc : gen_wait(e, c, port, retry_ms, g);
}

static bool gen_up(const struct pc_gen *g)
{
	return g->ready && !g->bind_errno && !g->listen_errno && !g->opts_errno;
}

/* What kept a generation from listening: its bind() result first. */
static int gen_errno(const struct pc_gen *g)
{
	if (g->bind_errno > 0)
		return g->bind_errno;
	if (g->bind_errno < 0)
		return g->opts_errno > 0 ? g->opts_errno : EPROTO;
	if (g->listen_errno)
		return g->listen_errno > 0 ? g->listen_errno : EPROTO;
	return g->opts_errno > 0 ? g->opts_errno : 0;
}

/* A failed command start: the line of its output that says why. */
static void output_excerpt(const struct pc_gen *g, char *buf, size_t len)
{
	const char *hit = strstr(g->output, "in use");

	if (!hit)
		hit = strstr(g->output, "EADDRINUSE");
	const char *from, *to;

	if (!hit)
		hit = g->output + (g->output_len ? g->output_len - 1 : 0);
	for (from = hit; from > g->output && from[-1] != '\n'; from--)
		;
	to = strchr(hit, '\n');
	snprintf(buf, len, "%.*s", (int)(to ? to - from : (long)strlen(from)), from);
}

/* A command has no ready line: what it did instead, in its own words. */
static void describe_command_failure(const struct pc_case *c, const struct pc_gen *g,
				     char *msg, size_t len)
{
	char said[200];

	output_excerpt(g, said, sizeof(said));
	if (g->bind_errno == ETIMEDOUT)
		snprintf(msg, len, "no answer on %s within %d ms%s%.80s", c->ready_tcp ? "TCP" :
			 c->ready_path, c->ready_timeout_ms, said[0] ? "; it said: " : "", said);
	else if (g->exit_code >= 0)
		snprintf(msg, len, "exited with status %d before answering%s%.100s", g->exit_code,
			 said[0] ? ": " : "", said);
	else
		snprintf(msg, len, "killed by signal %d before answering%s%.100s", -g->exit_code,
			 said[0] ? ": " : "", said);
}

static void describe_start_failure(const struct pc_case *c, const struct pc_gen *g, int rc,
				   char *msg, size_t len)
{
	if (c->fixture_command && rc == 0)
		describe_command_failure(c, g, msg, len);
	else if (rc == -EPIPE || rc == -ETIMEDOUT || rc == -EPROTO)
		snprintf(msg, len, "fixture pid %d gave no ready line (%s)", (int)g->pid,
			 rc == -ETIMEDOUT ? "timed out" : rc == -EPIPE ? "exited" : "unreadable");
	else if (rc < 0)
		snprintf(msg, len, "could not start the fixture: %s", strerror(-rc));
	else if (g->opts_errno > 0)
		snprintf(msg, len, "setting options failed: %s", pc_errno_name(g->opts_errno));
	else
		snprintf(msg, len, "%s() failed: %s", g->bind_errno ? "bind" : "listen",
			 pc_errno_name(gen_errno(g)));
}

/* Strategy handoff: the harness binds the port once, with the old option
 * set, and every generation serves that same listener. */
static int open_handoff(struct engine *e, const struct pc_case *c, int port, char *msg,
			size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;

	sockaddr_of(e->sc->addr, port, &ss, &sslen);
	fd = pc_sup_listen((struct sockaddr *)&ss, sslen, &c->old_opts);
	if (fd < 0) {
		snprintf(msg, len, "handoff: cannot listen on port %d: %s", port, strerror(-fd));
		return fd;
	}
	e->handoff_fd = fd;
	return 0;
}

static int reap_escapees(int port, const struct pc_gen *new);

/* A command's generation stopped outside a cycle (a failed start, the end
 * of a case): its children that left the group (setsid) are not in what
 * was killed. Those still holding the port are ours to end too. */
static void end_escapees(const struct pc_case *c, int port)
{
	static const struct pc_gen none;

	if (c->fixture_command && port)
		reap_escapees(port, &none);
}

/* A live old generation for the cycle: kept from the last one, or fresh. */
static int ensure_old(struct engine *e, const struct pc_case *c, struct pc_gen *old,
		      char *msg, size_t len)
{
	int port, rc;

	if (old->pid)
		return 0;
	rc = pick_port(e, &port, msg, len);
	if (rc == 0 && c->strategy == PC_STRATEGY_HANDOFF && !e->handoff_fd)
		rc = open_handoff(e, c, port, msg, len);
	if (rc < 0)
		return rc;
	rc = gen_start(e, c, true, port, e->sc->port ? FIXED_PORT_RETRY_MS : 0, old);
	if (rc == 0 && gen_up(old))
		return 0;
	if (rc != -EINTR)
		describe_start_failure(c, old, rc, msg, len);
	pc_sup_stop(e->sup, old, SIGKILL, 0, NULL);
	end_escapees(c, port);
	memset(old, 0, sizeof(*old));
	return rc ? rc : -EADDRINUSE;
}

static void traffic(struct engine *e, const struct pc_case *c, int port, struct pc_cycle *cy)
{
	for (int i = 0; i < c->requests && !stopped(e); i++) {
		if (pc_http_get(e->http, e->sc->addr, port, "/", REQUEST_TIMEOUT_MS) == PC_OUT_OK)
			cy->requests_ok++;
		else
			cy->requests_failed++;
	}
	/* With close_first = client this is the client closing first;
	 * keep_open holds the connection through the kill instead. */
	if (!c->keep_open)
		pc_http_close(e->http);
}

/* A new generation bound beside the old one's leaked child: the kernel
 * spreads connections over both listeners. Count who answers. */
static void served_by(struct engine *e, const struct pc_case *c, const struct pc_gen *old,
		      const struct pc_gen *new, struct pc_cycle *cy)
{
	for (int i = 0; i < c->requests && !stopped(e); i++) {
		if (pc_http_get(e->http, e->sc->addr, cy->port, "/", REQUEST_TIMEOUT_MS) != PC_OUT_OK)
			continue;
		cy->served_new += pc_http_last_pid(e->http) == new->pid;
		cy->served_orphan += pc_http_last_pid(e->http) == old->leak_pid;
		pc_http_close(e->http);   /* a new connection each: the kernel picks again */
	}
}

/* First HTTP 200 from the new generation; back off between tries so a
 * probe never competes with the server it waits for. */
static int64_t first_ok(struct engine *e, const char *path, int port)
{
	int64_t deadline = pc_now_ns() + FIRST_OK_TIMEOUT_MS * PC_NS_PER_MS;
	long backoff_ns = 100000;

	while (!stopped(e) && pc_now_ns() < deadline) {
		if (pc_http_get(e->http, e->sc->addr, port, path, REQUEST_TIMEOUT_MS) == PC_OUT_OK)
			return pc_now_ns();
		nanosleep(&(struct timespec){ 0, backoff_ns }, NULL);
		backoff_ns = backoff_ns < 10000000 ? backoff_ns * 2 : backoff_ns;
	}
	return 0;
}

static void census(int port, struct pc_census *out)
{
	if (pc_sockstate_census(port, out) < 0)
		out->known = false;
}

#define MAX_HOLDERS 8

static bool is_our_child(pid_t pid)
{
	siginfo_t si = { 0 };

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void diagnose(const struct pc_case *c, const struct pc_gen *old, int port,
		     struct pc_cycle *cy)
{
	struct pc_holder h[MAX_HOLDERS];
	struct pc_bind_evidence ev = {
		.bind_errno = cy->bind_errno, .census = cy->at_bind, .holders = h,
		.old_pid = old->pid, .old_leak_pid = old->leak_pid, .spec = c,
	};
	bool incomplete;
	int n = 0;

	if (cy->at_bind.listen)
		ev.holders_known = pc_sockstate_listeners(port, h, MAX_HOLDERS, &n,
							   &incomplete) == 0;
	ev.nholders = n < MAX_HOLDERS ? n : MAX_HOLDERS;
	/* A command's leaked worker is unknown by pid, but it is in the killed
	 * generation's process group, or (escaped by setsid) still our child
	 * through the subreaper: name it first. */
	for (int i = 0; i < ev.nholders && !ev.old_leak_pid; i++) {
		if (getpgid(h[i].pid) == old->pid || is_our_child(h[i].pid)) {
			struct pc_holder t = h[0];

			h[0] = h[i];
			h[i] = t;
			ev.old_leak_pid = h[0].pid;
		}
	}
	pc_diagnose_bind(&ev, cy->diagnosis, sizeof(cy->diagnosis));
}

/* Processes that left the killed generation's group (setsid, a double
 * fork) but still hold the port: the subreaper made them our children, so
 * they are ours to end. The new generation's group is not touched, and a
 * holder that is not our child is only reported. */
static int reap_escapees(int port, const struct pc_gen *new)
{
	struct pc_holder h[MAX_HOLDERS];
	bool incomplete;
	int n = 0, reaped = 0;

	if (pc_sockstate_listeners(port, h, MAX_HOLDERS, &n, &incomplete) < 0)
		return 0;
	for (int i = 0; i < n && i < MAX_HOLDERS; i++)
		if (!new->pid || getpgid(h[i].pid) != new->pid)
			reaped += pc_sup_kill_escapee(h[i].pid);
	return reaped;
}


static void signal_old(const struct pc_case *c, struct pc_gen *old, struct pc_cycle *cy)
{
	cy->kill_ns = pc_now_ns();
	pc_sup_signal(old, c->signal);
}

static void reap_old(const struct pc_case *c, struct pc_gen *old, struct pc_cycle *cy)
{
	if (pc_sup_wait_exit(old, c->term_timeout_ms) == -ETIMEDOUT) {
		cy->escalated = true;
		pc_sup_signal(old, SIGKILL);
		pc_sup_wait_exit(old, REAP_TIMEOUT_MS);
	}
	cy->reaped_ns = old->reaped_ns;
	cy->old_exit = old->exit_code;
	cy->leaked = pc_sup_leak_alive(old);
}

static void record_new(struct pc_case_result *r, const struct pc_gen *g, int rc,
		       struct pc_cycle *cy)
{
	cy->new_pid = g->pid;
	cy->spawn_ns = g->spawn_ns;
	cy->bind_ns = g->bind_ns;
	cy->listen_ns = g->listen_errno ? 0 : g->listen_ns;
	cy->bind_attempts = g->attempts;
	cy->blocked_ns = g->blocked_ns;
	cy->bind_errno = rc < 0 ? -rc : gen_errno(g);
	if (rc < 0 || g->opts_errno || (!g->bind_errno && g->listen_errno) ||
	    (r->spec->fixture_command && !gen_up(g)))
		describe_start_failure(r->spec, g, rc, cy->error, sizeof(cy->error));
	if (!g->output_len || gen_up(g))
		return;
	if (!r->start_output[0])   /* the first failed start's output, for the report */
		snprintf(r->start_output, sizeof(r->start_output), "%.2000s%s", g->output,
			 g->output_cut || g->output_len > 2000 ? "\n[...]" : "");
}

static int start_new(struct engine *e, const struct pc_case *c, int port, struct pc_gen *new)
{
	return gen_start(e, c, false, port, c->bind_retry_ms, new);
}

/* The strategies: how a new generation replaces the old one. Each returns
 * gen_start()'s result for the new generation. Handoff replaces like
 * naive; what differs is the listener gen_start() hands over. */
static int replace_naive(struct engine *e, const struct pc_case *c, struct pc_gen *old,
			 struct pc_gen *new, struct pc_cycle *cy)
{
	signal_old(c, old, cy);
	reap_old(c, old, cy);
	return start_new(e, c, cy->port, new);
}

/* kill && launch: the new generation races the old one's exit. */
static int replace_eager(struct engine *e, const struct pc_case *c, struct pc_gen *old,
			 struct pc_gen *new, struct pc_cycle *cy)
{
	int rc;

	signal_old(c, old, cy);
	rc = start_new(e, c, cy->port, new);
	reap_old(c, old, cy);
	return rc;
}

/* Start the new generation beside the old one (SO_REUSEPORT), then stop
 * the old: connections queued on its listener are reset unless the kernel
 * migrates them (tcp_migrate_req). */
static int replace_overlap(struct engine *e, const struct pc_case *c, struct pc_gen *old,
			   struct pc_gen *new, struct pc_cycle *cy)
{
	int rc = start_new(e, c, cy->port, new);

	signal_old(c, old, cy);
	reap_old(c, old, cy);
	return rc;
}

typedef int (*replace_fn)(struct engine *e, const struct pc_case *c, struct pc_gen *old,
			  struct pc_gen *new, struct pc_cycle *cy);

static const replace_fn strategies[] = {
	[PC_STRATEGY_NAIVE] = replace_naive,
	[PC_STRATEGY_EAGER] = replace_eager,
	[PC_STRATEGY_OVERLAP] = replace_overlap,
	[PC_STRATEGY_HANDOFF] = replace_naive,
};

/* Load clients follow the case's live port; they start with its first
 * generation and pause while a case without one port sets up the next. */
static void load_follow(struct engine *e, const struct pc_case_result *r, int port)
{
	struct pc_load_opts o = {
		.addr = e->sc->addr, .clients = r->spec->clients, .keepalive = r->spec->keepalive,
		.rate = r->spec->rate, .timeout_ms = REQUEST_TIMEOUT_MS,
	};

	if (e->load)
		pc_load_set_port(e->load, port);
	else if (o.clients && pc_load_start(&o, port, &e->load) < 0)
		e->load = NULL;   /* reported as no load; the case still runs */
}

/* The generation serves (under load) for a while: workload, not a wait
 * for an event, so a plain sleep, cut short by an interruption. */
static void hold(struct engine *e, int ms)
{
	int64_t end = pc_now_ns() + (int64_t)ms * PC_NS_PER_MS;

	while (ms && !stopped(e) && pc_now_ns() < end)
		nanosleep(&(struct timespec){ 0, 10 * PC_NS_PER_MS }, NULL);
}

/* One old -> new transition. Returns -1 when the case cannot go on. */
static int run_cycle(struct engine *e, struct pc_case_result *r, struct pc_gen *old,
		     struct pc_gen *new, struct pc_cycle *cy)
{
	const struct pc_case *c = r->spec;
	bool keep;
	int rc;

	rc = ensure_old(e, c, old, r->env_error, sizeof(r->env_error));
	if (rc < 0)
		return -1;
	load_follow(e, r, old->port);
	hold(e, c->steady_ms);
	cy->port = old->port;
	cy->old_pid = old->pid;
	cy->old_ready_ns = old->listen_ns;
	traffic(e, c, cy->port, cy);
	census(cy->port, &cy->at_kill);
	rc = strategies[c->strategy](e, c, old, new, cy);
	if (rc == -EINTR) {   /* not a measurement: drop the cycle */
		pc_sup_stop(e->sup, new, SIGKILL, REAP_TIMEOUT_MS, NULL);
		pc_sup_kill_group(e->sup, old, NULL);
		memset(new, 0, sizeof(*new));
		return -1;
	}
	record_new(r, new, rc, cy);
	pc_http_close(e->http);   /* ends a keep_open connection */
	if (cy->bind_errno) {
		census(cy->port, &cy->at_bind);
		diagnose(c, old, cy->port, cy);
	}
	if (rc == 0 && gen_up(new)) {
		cy->first_ok_ns = first_ok(e, c->ready_path, cy->port);
		/* taken after the first response, to stay out of the restart window */
		census(cy->port, &cy->at_bind);
		pc_http_close(e->http);
		if (cy->leaked)
			served_by(e, c, old, new, cy);
	}
	pc_sup_kill_group(e->sup, old, NULL);
	if (c->fixture_command)
		cy->escaped = reap_escapees(cy->port, new);
	keep = rc == 0 && gen_up(new) &&
	       (!strcmp(c->old_text, c->new_text) || c->strategy == PC_STRATEGY_HANDOFF);
	if (!keep) {
		if (e->load)
			pc_load_set_port(e->load, 0);
		pc_sup_wait_exit(new, gen_up(new) ? 0 : REAP_TIMEOUT_MS);
		pc_sup_stop(e->sup, new, SIGKILL, REAP_TIMEOUT_MS, NULL);
		end_escapees(c, cy->port);
		memset(new, 0, sizeof(*new));
	}
	*old = *new;
	memset(new, 0, sizeof(*new));
	return 0;
}

static void judge(struct pc_case_result *r)
{
	const struct pc_case *c = r->spec;

	pc_case_result_summarize(r);
	r->exps = calloc((size_t)c->nexps + 1, sizeof(*r->exps));
	r->nexps = r->exps ? c->nexps : 0;
	r->pass = !r->env_error[0] && r->exps;
	for (int i = 0; i < r->nexps; i++) {
		pc_expect_evaluate(&c->exps[i], r, &r->exps[i]);
		if (r->exps[i].status == PC_EXP_FAILED)
			r->pass = false;
	}
}

static void end_load(struct engine *e, struct pc_case_result *r)
{
	if (!e->load)
		return;
	pc_load_stop(e->load);
	r->load = calloc(1, sizeof(*r->load));
	if (r->load && pc_load_summarize(e->load, r->cycles, r->ncycles, r->started_ns,
					 r->finished_ns, r->load) < 0) {
		free(r->load->series);
		free(r->load);
		r->load = NULL;
	}
	pc_load_free(e->load);
	e->load = NULL;
}

/* tcp_migrate_req is set only in our own namespace, never the host's. */
static void set_migrate_req(struct engine *e, struct pc_case_result *r)
{
	bool private_ns = e->o->netns && !strcmp(e->o->netns, "private");
	int v = pc_sys_tcp_migrate_req(private_ns, r->spec->migrate_req);

	if (v < 0)
		snprintf(r->migrate_req, sizeof(r->migrate_req), "unavailable");
	else
		snprintf(r->migrate_req, sizeof(r->migrate_req), "%s%s", v ? "on" : "off",
			 private_ns ? "" : " (host, not changed)");
	if (r->spec->migrate_req && v != 1)
		snprintf(r->env_error, sizeof(r->env_error), "migrate_req = yes needs a private "
			 "network namespace (the host's tcp_migrate_req is never changed)");
}

/* ---- stacks: components > 1 servers on as many ports, restarted together,
 * as a launcher restarts a whole dev stack. A cycle's restart time is kill
 * to the moment the last component answers; stack_ok counts those back. */

static void stack_open(struct engine *e, struct pc_case_result *r)
{
	int n = r->spec->components;

	e->stack = calloc((size_t)n, sizeof(*e->stack));
	e->stack_ports = calloc((size_t)n, sizeof(*e->stack_ports));
	if (!e->stack || !e->stack_ports) {
		snprintf(r->env_error, sizeof(r->env_error), "out of memory for %d components", n);
		return;
	}
	for (int i = 0; i < n && !r->env_error[0]; i++) {
		if (e->sc->port)
			e->stack_ports[i] = e->sc->port + i;
		else
			pick_port(e, &e->stack_ports[i], r->env_error, sizeof(r->env_error));
	}
}

static void stack_close(struct engine *e, const struct pc_case *c)
{
	for (int i = 0; e->stack && i < c->components; i++) {
		pc_sup_stop(e->sup, &e->stack[i], SIGKILL, 0, NULL);
		end_escapees(c, e->stack_ports[i]);
	}
	free(e->stack);
	free(e->stack_ports);
	e->stack = NULL;
	e->stack_ports = NULL;
}

/* Every component that is not running is started (in parallel) and
 * waited for; one that cannot come up ends the case. */
static int stack_ensure(struct engine *e, struct pc_case_result *r)
{
	const struct pc_case *c = r->spec;
	bool fresh[PC_MAX_COMPONENTS] = { false };

	for (int i = 0; i < c->components; i++)
		if (!e->stack[i].pid && gen_spawn(e, c, true, e->stack_ports[i], 0, &e->stack[i]) == 0)
			fresh[i] = true;
	for (int i = 0; i < c->components; i++) {
		if (fresh[i] && gen_wait(e, c, e->stack_ports[i], 0, &e->stack[i]) == 0 &&
		    gen_up(&e->stack[i]))
			continue;
		if (!fresh[i] && e->stack[i].pid)
			continue;
		snprintf(r->env_error, sizeof(r->env_error), "component %d (port %d) did not start",
			 i + 1, e->stack_ports[i]);
		return -1;
	}
	return 0;
}

/* One component's new generation: wait, first 200, and what it left. */
static void stack_component(struct engine *e, const struct pc_case *c, struct pc_gen *old,
			    struct pc_gen *new, int port, struct pc_cycle *cy)
{
	int rc = new->pid ? gen_wait(e, c, port, c->bind_retry_ms, new) : -ECHILD;
	int64_t ok_ns = 0;

	if (rc == 0 && gen_up(new))
		ok_ns = first_ok(e, c->ready_path, port);
	pc_http_close(e->http);
	if (ok_ns) {
		cy->stack_ok++;
		cy->first_ok_ns = ok_ns > cy->first_ok_ns ? ok_ns : cy->first_ok_ns;
		cy->listen_ns = new->listen_ns > cy->listen_ns ? new->listen_ns : cy->listen_ns;
	} else if (!cy->bind_errno) {   /* the first component that failed speaks for the cycle */
		cy->bind_errno = rc < 0 ? -rc : gen_errno(new) ? gen_errno(new) : ETIMEDOUT;
		snprintf(cy->error, sizeof(cy->error), "component on port %d did not come back", port);
		census(port, &cy->at_bind);
		diagnose(c, old, port, cy);
	}
	pc_sup_kill_group(e->sup, old, NULL);
	if (!ok_ns) {
		pc_sup_stop(e->sup, new, SIGKILL, REAP_TIMEOUT_MS, NULL);
		memset(new, 0, sizeof(*new));
	}
	*old = *new;
}

/* Kill all, reap all, start all, wait for all: one restart of the stack. */
static int stack_cycle(struct engine *e, struct pc_case_result *r, struct pc_cycle *cy)
{
	const struct pc_case *c = r->spec;
	struct pc_gen news[PC_MAX_COMPONENTS];
	int n = c->components, leaked = 0;
	int64_t reaped_ns = 0;

	if (stack_ensure(e, r) < 0)
		return -1;
	cy->port = e->stack_ports[0];
	cy->old_pid = e->stack[0].pid;
	for (int i = 0; i < n; i++)
		traffic(e, c, e->stack_ports[i], cy);
	census(cy->port, &cy->at_kill);
	cy->kill_ns = pc_now_ns();
	for (int i = 0; i < n; i++)
		pc_sup_signal(&e->stack[i], c->signal);
	for (int i = 0; i < n; i++) {
		reap_old(c, &e->stack[i], cy);   /* sets leaked and reaped for one */
		leaked += cy->leaked;
		reaped_ns = cy->reaped_ns > reaped_ns ? cy->reaped_ns : reaped_ns;
	}
	cy->leaked = leaked;
	cy->reaped_ns = reaped_ns;
	cy->spawn_ns = pc_now_ns();
	for (int i = 0; i < n; i++)
		if (gen_spawn(e, c, false, e->stack_ports[i], c->bind_retry_ms, &news[i]) < 0)
			memset(&news[i], 0, sizeof(news[i]));
	for (int i = 0; i < n; i++)
		stack_component(e, c, &e->stack[i], &news[i], e->stack_ports[i], cy);
	cy->first_ok_ns = cy->stack_ok == n ? cy->first_ok_ns : 0;
	return stopped(e) ? -1 : 0;
}

static void run_case(struct engine *e, int idx)
{
	struct pc_case_result *r = &e->run->cases[idx];
	struct pc_gen old = { 0 }, new = { 0 };
	struct pc_cycle scratch;

	r->spec = &e->sc->cases[idx];
	r->started_ns = pc_now_ns();
	pc_http_wait_server_close(e->http, r->spec->close_first == PC_CLOSE_SERVER);
	set_migrate_req(e, r);
	r->cycles = calloc((size_t)(r->spec->cycles < PC_RECORDS_MAX ? r->spec->cycles :
				    PC_RECORDS_MAX), sizeof(*r->cycles));
	if (!r->cycles)
		snprintf(r->env_error, sizeof(r->env_error), "out of memory for %d cycles",
			 r->spec->cycles);
	if (e->o->progress)
		e->o->progress(e->o->progress_user, e->run, idx, -1);
	if (r->spec->components > 1)
		stack_open(e, r);
	for (int i = 0; r->cycles && !r->env_error[0] && i < r->spec->cycles && !stopped(e); i++) {
		/* past PC_RECORDS_MAX a cycle counts in the totals only */
		struct pc_cycle *cy = i < PC_RECORDS_MAX ? &r->cycles[i] : &scratch;

		memset(cy, 0, sizeof(*cy));
		cy->index = i;
		if ((e->stack ? stack_cycle(e, r, cy) : run_cycle(e, r, &old, &new, cy)) < 0)
			break;
		r->ncycles += cy != &scratch;
		if (pc_case_result_add(r, cy) < 0)
			snprintf(r->env_error, sizeof(r->env_error), "out of memory after %d cycles",
				 i + 1);
		if (e->o->progress)
			e->o->progress(e->o->progress_user, e->run, idx, i);
	}
	r->finished_ns = pc_now_ns();
	memcpy(r->socket_setup, e->probe_text, sizeof(r->socket_setup));
	e->probe_text[0] = '\0';
	end_load(e, r);
	pc_sup_stop(e->sup, &old, SIGKILL, 0, NULL);
	end_escapees(r->spec, old.port);
	stack_close(e, r->spec);
	if (e->handoff_fd)
		close(e->handoff_fd);
	e->handoff_fd = 0;
	judge(r);
}

static void describe_platform(struct pc_run *run)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	if (uname(&u) == 0) {
		snprintf(run->os, sizeof(run->os), "%s", u.sysname);
		snprintf(run->kernel, sizeof(run->kernel), "%s", u.release);
	}
	gmtime_r(&now, &tm);
	strftime(run->started_utc, sizeof(run->started_utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int engine_open(struct engine *e, struct pc_scenario *sc, const struct pc_churn_opts *o,
		       char *err, size_t errlen)
{
	int rc;

	e->o = o;
	e->sc = sc;
	e->next_port = FIRST_AUTO_PORT;
	/* On the host's network (--netns off, the POSIX-only build) another
	 * run may pick the port this one found free before either binds it:
	 * start the scans apart. A private namespace keeps 20000. */
	if (!o->netns || !strncmp(o->netns, "host", 4))
		e->next_port += (int)(getpid() % 500) * 20;
	e->run = calloc(1, sizeof(*e->run));
	if (e->run)
		e->run->cases = calloc((size_t)sc->ncases, sizeof(*e->run->cases));
	if (!e->run || !e->run->cases) {
		free(e->run);
		e->run = NULL;   /* the caller frees the scenario, not a freed run */
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->run->scenario = sc;
	rc = pc_sup_new(o->fixture, o->log_fd, &e->sup);
	if (rc < 0) {
		snprintf(err, errlen, "fixture %s: %s", o->fixture, strerror(-rc));
		return rc;
	}
	rc = pc_http_new(o->stop, &e->http);
	if (rc < 0)
		snprintf(err, errlen, "libcurl: cannot create a handle");
	return rc;
}

int pc_churn_run(struct pc_scenario *sc, const struct pc_churn_opts *o, struct pc_run **out,
		 char *err, size_t errlen)
{
	struct engine e = { 0 };
	int rc = engine_open(&e, sc, o, err, errlen);

	if (rc < 0) {
		pc_sup_free(e.sup);
		if (e.run)
			pc_run_free(e.run);
		else
			pc_scenario_free(sc);
		return rc;
	}
	describe_platform(e.run);
	snprintf(e.run->netns, sizeof(e.run->netns), "%s", o->netns ? o->netns : "host");
	snprintf(e.run->cleanup, sizeof(e.run->cleanup), "%s", pc_sup_mechanisms(e.sup));
	e.run->started_ns = pc_now_ns();
	for (int i = 0; i < sc->ncases && !stopped(&e); i++) {
		run_case(&e, i);
		e.run->ncases++;
	}
	e.run->interrupted = stopped(&e);
	e.run->finished_ns = pc_now_ns();
	pc_http_free(e.http);
	pc_sup_free(e.sup);
	*out = e.run;
	return 0;
}
