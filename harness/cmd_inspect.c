/* cmd_inspect.c -- `portchurn inspect PORT`: for a person whose restart just
 * failed with "Address already in use". Gathers three kinds of evidence
 * about the port, in the caller's own network namespace:
 *
 *   - the socket census (counts by TCP state, TIME_WAIT expiry),
 *   - the processes holding its listeners (pid, command, parent, orphan),
 *   - a try-bind with each of four option sets: what a new server's bind()
 *     gets right now. This is the truth; the census only explains it.
 *
 * and prints them with a one-line verdict and remedy, as text or as one
 * JSON object (--json, documented in pc_cmd_inspect_usage). It reads and
 * binds; it never kills or signals anything, never listens, and sends no
 * packet. Exit 0 when a plain bind would succeed, 1 when it would not, 2 on
 * a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "errname.h"
#include "optset.h"
#include "sockstate.h"
#include "trybind.h"

#define MAX_HOLDERS 32
#define SHOWN_HOLDERS 3      /* named in one line of explanation */

const char pc_cmd_inspect_usage[] =
"usage: portchurn inspect PORT [--addr A] [--json]\n"
"\n"
"Why would a server's bind() on PORT fail right now? Counts the TCP sockets\n"
"on the port by state (any local address, IPv4 and IPv6), with the TIME_WAIT\n"
"expiry, lists the processes holding its listeners (pid, command, parent,\n"
"orphan), and tries bind() (then close, never listen) with none, reuseaddr,\n"
"reuseport and reuseaddr+reuseport set before it. Ends with a verdict and\n"
"the remedy the evidence supports. Signals nothing; runs in the caller's\n"
"network namespace. Run as root to see other users' processes.\n"
"\n"
"options:\n"
"      --addr A             the address to try-bind (default 127.0.0.1; an\n"
"                           IPv4 or IPv6 literal, 0.0.0.0 and :: included)\n"
"      --json               one JSON object on stdout instead of text:\n"
"                           {schema \"portchurn-inspect/1\", port, addr,\n"
"                           census {listen, established, time_wait, fin_wait1,\n"
"                           fin_wait2, close_wait, other, tw_expires_ms [min,\n"
"                           max] or null} or null, census_error,\n"
"                           holders [{pid, ppid, comm, orphan}],\n"
"                           holders_complete, try_bind [{opts, ok, errno\n"
"                           (\"EADDRINUSE\" or null), reason}], plain_bind_ok,\n"
"                           diagnosis, backend}\n"
"  -h, --help               this text\n"
"\n"
"exit status: 0 a plain bind would succeed; 1 it would not; 2 usage error.\n";

/* The option sets tried, plain first: the exit status is the plain one's. */
static const char *const trial_opts[] = { "none", "reuseaddr", "reuseport",
					  "reuseaddr+reuseport" };
#define NTRIALS (int)(sizeof(trial_opts) / sizeof(trial_opts[0]))

struct trial {
	const char *opts;
	struct pc_optset set;
	int err;              /* 0 = bound, else errno */
	char reason[256];     /* why not, from the evidence; "" when bound */
};

struct inspect {
	int port;
	const char *addr;
	bool json;
	struct pc_census census;
	int census_err;       /* -errno; census valid when 0 */
	struct pc_holder holders[MAX_HOLDERS];
	int nholders;         /* found; the first min(n, MAX_HOLDERS) stored */
	bool holders_complete;
	struct trial trials[NTRIALS];
	char diagnosis[512];
};

/* ---- arguments ---- */

static int parse_port(const char *text, int *port)
{
	char *end;
	long v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	v = strtol(text, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct inspect *in)
{
	static const struct option longs[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'a': in->addr = optarg; break;
		case 'j': in->json = true; break;
		case 'h': fputs(pc_cmd_inspect_usage, stdout); return -1;
		default:
			return pc_cli_usage_error("inspect: unknown or incomplete option '%s'",
						  argv[optind - 1]);
		}
	}
	if (!pc_trybind_addr_valid(in->addr))
		return pc_cli_usage_error("inspect: --addr needs an IPv4 or IPv6 address "
					  "literal, not '%s'", in->addr);
	if (optind >= argc)
		return pc_cli_usage_error("inspect: which port?%s", "");
	if (argc - optind > 1)
		return pc_cli_usage_error("inspect: one port only, not also '%s'",
					  argv[optind + 1]);
	if (parse_port(argv[optind], &in->port) < 0)
		return pc_cli_usage_error("inspect: PORT must be a number from 1 to 65535, "
					  "not '%s'", argv[optind]);
	return 0;
}

/* ---- evidence ---- */

/* The lookup gives one entry per (process, socket), sorted by pid: a server
 * listening on IPv4 and IPv6 shows up twice. A person wants processes. */
static void one_per_process(struct inspect *in)
{
	int stored = in->nholders < MAX_HOLDERS ? in->nholders : MAX_HOLDERS, kept = 0;

	for (int i = 0; i < stored; i++)
		if (kept == 0 || in->holders[kept - 1].pid != in->holders[i].pid)
			in->holders[kept++] = in->holders[i];
	in->nholders -= stored - kept;
}

static void gather(struct inspect *in)
{
	bool incomplete = true;
	char err[128];

	in->census_err = pc_sockstate_census(in->port, &in->census);
	if (pc_sockstate_listeners(in->port, in->holders, MAX_HOLDERS, &in->nholders,
				   &incomplete) < 0)
		in->nholders = 0;
	/* A lookup that failed or stored only some holders is not complete. */
	in->holders_complete = !incomplete && in->nholders <= MAX_HOLDERS;
	one_per_process(in);
	for (int i = 0; i < NTRIALS; i++) {
		struct trial *t = &in->trials[i];

		t->opts = trial_opts[i];
		pc_optset_parse(t->opts, &t->set, err, sizeof(err));
		t->err = -pc_trybind(in->addr, in->port, &t->set);
	}
}

static int stored_holders(const struct inspect *in)
{
	return in->nholders < MAX_HOLDERS ? in->nholders : MAX_HOLDERS;
}

/* "pid 4242 (python3, orphan), pid 4250 (python3) and 2 more" */
static void holders_text(const struct inspect *in, char *buf, size_t len)
{
	int shown = stored_holders(in) < SHOWN_HOLDERS ? stored_holders(in) : SHOWN_HOLDERS;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < shown && used < len; i++) {
		const struct pc_holder *h = &in->holders[i];

		used += (size_t)snprintf(buf + used, len - used, "%spid %d (%s%s)",
					 i ? ", " : "", h->pid, h->comm,
					 h->orphan ? ", orphan" : "");
	}
	if (in->nholders > shown && used < len)
		snprintf(buf + used, len - used, " and %d more", in->nholders - shown);
}

/* Connected or closing sockets on the port other than TIME_WAIT, as
 * "2 ESTABLISHED, 1 FIN_WAIT2"; "" when none. */
static void other_states_text(const struct pc_census *c, char *buf, size_t len)
{
	const struct { const char *name; int n; } s[] = {
		{ "ESTABLISHED", c->established }, { "FIN_WAIT1", c->fin_wait1 },
		{ "FIN_WAIT2", c->fin_wait2 }, { "CLOSE_WAIT", c->close_wait },
		{ "other", c->other },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]) && used < len; i++)
		if (s[i].n)
			used += (size_t)snprintf(buf + used, len - used, "%s%d %s",
						 used ? ", " : "", s[i].n, s[i].name);
}

/* What the old server lacked, given the option set that failed over its
 * sockets. */
static const char *lacked(const struct pc_optset *o)
{
	if (o->reuseaddr && o->reuseport)
		return "with neither SO_REUSEADDR nor SO_REUSEPORT";
	return o->reuseaddr ? "without SO_REUSEADDR" : "without SO_REUSEPORT";
}

/* A live listener blocks: name its holders, or say they are unseen. With
 * SO_REUSEPORT on both sides (and one user) Linux lets a second listener
 * bind, so a failed reuseport bind says the listener lacks it. */
static void explain_listener(const struct inspect *in, const struct trial *t, char *buf,
			     size_t len)
{
	char who[200];

	holders_text(in, who, sizeof(who));
	snprintf(buf, len, "%s%s, %s", in->census.listen > 1 ? "live listeners" : "a live listener",
		 t->set.reuseport ? " without SO_REUSEPORT (or another user's)" : "",
		 in->nholders ? who : "held by a process that could not be seen");
}

/* Sockets left by a server that closed (TIME_WAIT) or connections still
 * open. On Linux they inherit the listener's SO_REUSEADDR/SO_REUSEPORT,
 * and a bind passes over them only when they and the new socket share one. */
static void explain_leftovers(const struct inspect *in, const struct trial *t, char *buf,
			      size_t len)
{
	const struct pc_census *c = &in->census;
	char tw[48] = "", others[160];

	other_states_text(c, others, sizeof(others));
	if (c->time_wait)
		snprintf(tw, sizeof(tw), "%d TIME_WAIT socket%s", c->time_wait,
			 c->time_wait > 1 ? "s" : "");
	if (!t->set.reuseaddr && !t->set.reuseport)
		snprintf(buf, len, "%s%s%s; SO_REUSEADDR would bind only if the old server's "
			 "sockets had it too", tw, *tw && *others ? ", " : "", others);
	else
		snprintf(buf, len, "%s%s%s, from a server %s", tw, *tw && *others ? ", " : "",
			 others, lacked(&t->set));
}

static void explain_in_use(const struct inspect *in, const struct trial *t, char *buf,
			   size_t len)
{
	const struct pc_census *c = &in->census;

	if (in->census_err)
		snprintf(buf, len, "no socket census here to say what holds the port");
	else if (c->listen)
		explain_listener(in, t, buf, len);
	else if (c->time_wait || c->established || c->fin_wait1 || c->fin_wait2 ||
		 c->close_wait || c->other)
		explain_leftovers(in, t, buf, len);
	else
		snprintf(buf, len, "no socket on the port in the census: a socket bound "
			 "without listening holds it (the census cannot see those)");
}

static void explain(const struct inspect *in, struct trial *t)
{
	switch (t->err) {
	case 0:
		t->reason[0] = '\0';
		break;
	case EADDRINUSE:
		explain_in_use(in, t, t->reason, sizeof(t->reason));
		break;
	case EADDRNOTAVAIL:
		snprintf(t->reason, sizeof(t->reason), "%s is not an address of this machine",
			 in->addr);
		break;
	case EACCES:
		snprintf(t->reason, sizeof(t->reason), "a privileged port (below "
			 "net.ipv4.ip_unprivileged_port_start, 1024 by default) needs "
			 "CAP_NET_BIND_SERVICE");
		break;
	default:
		snprintf(t->reason, sizeof(t->reason), "%s", strerror(t->err));
		break;
	}
}

/* ---- verdict ---- */

/* The smallest option sets that bound, in words: "SO_REUSEADDR or
 * SO_REUSEPORT", or "SO_REUSEADDR and SO_REUSEPORT" when only both did. */
static const char *working_options(const struct inspect *in)
{
	bool addr = !in->trials[1].err, port = !in->trials[2].err;

	if (addr && port)
		return "SO_REUSEADDR or SO_REUSEPORT";
	if (addr || port)
		return addr ? "SO_REUSEADDR" : "SO_REUSEPORT";
	return in->trials[3].err ? NULL : "SO_REUSEADDR and SO_REUSEPORT";
}

static void verdict_options_bind(const struct inspect *in, const char *opts, char *buf,
				 size_t len)
{
	const struct pc_census *c = &in->census;
	int n;

	n = snprintf(buf, len, "a plain bind would fail; a server setting %s before bind() "
		     "would bind", opts);
	if (n < 0 || (size_t)n >= len || in->census_err)
		return;
	if (c->listen && in->nholders)
		snprintf(buf + n, len - (size_t)n, ", and share the port with the live listener "
			 "(pid %d), which keeps taking connections: stop it first",
			 in->holders[0].pid);
	else if (c->listen)
		snprintf(buf + n, len - (size_t)n, ", and share the port with a live listener, "
			 "which keeps taking connections: stop it first");
	else if (c->time_wait && c->tw_expires_max_ms >= 0)
		snprintf(buf + n, len - (size_t)n, "; or wait up to %d s for the TIME_WAIT "
			 "sockets to expire", (c->tw_expires_max_ms + 999) / 1000);
}

static void verdict_listener(const struct inspect *in, char *buf, size_t len)
{
	const struct pc_holder *h = &in->holders[0];

	if (!in->nholders)
		snprintf(buf, len, "held by a live listener whose process could not be seen "
			 "(another user's: run as root; or another pid namespace): stop it or pick "
			 "another port");
	else if (in->nholders == 1 && h->orphan)
		snprintf(buf, len, "held by a live listener: pid %d (%s) is orphaned, its parent "
			 "is gone; stop pid %d or pick another port", h->pid, h->comm, h->pid);
	else if (in->nholders == 1)
		snprintf(buf, len, "held by a live listener: stop pid %d (%s) or pick another port",
			 h->pid, h->comm);
	else
		snprintf(buf, len, "held by live listeners in %d processes (first: pid %d, %s): "
			 "stop them or pick another port", in->nholders, h->pid, h->comm);
}

/* Nothing binds and no listener: what the server left behind on the port. */
static void verdict_leftovers(const struct inspect *in, char *buf, size_t len)
{
	const struct pc_census *c = &in->census;
	char others[160], tw[32] = "";

	other_states_text(c, others, sizeof(others));
	if (c->time_wait)
		snprintf(tw, sizeof(tw), "%d TIME_WAIT, ", c->time_wait);
	if (!*others)
		snprintf(buf, len, "blocked by %d TIME_WAIT socket%s from a server that set neither "
			 "SO_REUSEADDR nor SO_REUSEPORT: wait up to %d s or pick another port (on "
			 "Linux, old and new server must both set SO_REUSEADDR)", c->time_wait,
			 c->time_wait > 1 ? "s" : "", (c->tw_expires_max_ms + 999) / 1000);
	else
		snprintf(buf, len, "blocked by sockets of a server that set neither SO_REUSEADDR "
			 "nor SO_REUSEPORT (%s%s): they go when their connections close; pick "
			 "another port meanwhile", tw, others);
}

static void verdict_blocked(const struct inspect *in, char *buf, size_t len)
{
	const struct pc_census *c = &in->census;
	const struct trial *plain = &in->trials[0];

	if (plain->err != EADDRINUSE)
		snprintf(buf, len, "bind() fails with %s: %s", pc_errno_name(plain->err),
			 plain->reason);
	else if (in->census_err)
		snprintf(buf, len, "no option set binds now (EADDRINUSE); this platform has no "
			 "socket census to say why");
	else if (c->listen)
		verdict_listener(in, buf, len);
	else if (c->time_wait || c->established || c->fin_wait1 || c->fin_wait2 ||
		 c->close_wait || c->other)
		verdict_leftovers(in, buf, len);
	else
		snprintf(buf, len, "blocked, yet the census shows no socket on the port: a socket "
			 "bound without listening holds it (the census cannot see those); pick "
			 "another port");
}

static void diagnose(struct inspect *in)
{
	const char *opts = working_options(in);

	if (!in->trials[0].err)
		snprintf(in->diagnosis, sizeof(in->diagnosis), "a plain bind would succeed: "
			 "nothing blocks %s port %d now", in->addr, in->port);
	else if (opts)
		verdict_options_bind(in, opts, in->diagnosis, sizeof(in->diagnosis));
	else
		verdict_blocked(in, in->diagnosis, sizeof(in->diagnosis));
}

/* ---- text ---- */

static void print_census(const struct inspect *in)
{
	const struct pc_census *c = &in->census;
	/* Nearest seconds for reading; the verdict rounds its wait up. */
	int lo = (c->tw_expires_min_ms + 500) / 1000, hi = (c->tw_expires_max_ms + 500) / 1000;

	printf("sockets on port %d (any local address, IPv4 and IPv6; %s):\n", in->port,
	       pc_sockstate_backend());
	if (in->census_err == -ENOSYS || in->census_err == -EPROTONOSUPPORT) {
		printf("  socket census not available here (%s: not on this platform, or its "
		       "tools are not installed)\n", pc_sockstate_backend());
		return;
	}
	if (in->census_err) {
		printf("  socket census failed: %s\n", strerror(-in->census_err));
		return;
	}
	printf("  LISTEN %d  ESTABLISHED %d  TIME_WAIT %d  FIN_WAIT1 %d  FIN_WAIT2 %d  "
	       "CLOSE_WAIT %d  other %d\n", c->listen, c->established, c->time_wait,
	       c->fin_wait1, c->fin_wait2, c->close_wait, c->other);
	if (c->time_wait && c->tw_expires_min_ms >= 0 && lo == hi)
		printf("  %d TIME_WAIT, expiring in %d s\n", c->time_wait, hi);
	else if (c->time_wait && c->tw_expires_min_ms >= 0)
		printf("  %d TIME_WAIT, expiring in %d-%d s\n", c->time_wait, lo, hi);
	else if (c->time_wait)
		printf("  %d TIME_WAIT, expiry not known (%s does not tell it)\n", c->time_wait,
		       pc_sockstate_backend());
}

static void print_holders(const struct inspect *in)
{
	puts("\nlisteners on the port:");
	if (in->census_err == -ENOSYS || in->census_err == -EPROTONOSUPPORT) {
		puts("  not available here (no socket census)");
		return;
	}
	for (int i = 0; i < stored_holders(in); i++) {
		const struct pc_holder *h = &in->holders[i];

		printf("  pid %-7d %-16s parent %d%s\n", h->pid, h->comm, h->ppid,
		       h->orphan ? "  orphan (its parent is gone)" : "");
	}
	if (!in->nholders && in->census.listen == 0)
		puts("  none");
	if (!in->holders_complete)
		puts("  not every holder could be seen (some processes' descriptors are unreadable: "
		     "another user's without root, or protected; or another pid namespace): "
		     "there may be more");
}

static void print_trials(const struct inspect *in)
{
	printf("\nbind() on %s port %d now (socket, options, bind, close; never listen):\n",
	       in->addr, in->port);
	for (int i = 0; i < NTRIALS; i++) {
		const struct trial *t = &in->trials[i];

		if (!t->err)
			printf("  %-20s ok\n", t->opts);
		else
			printf("  %-20s %s: %s\n", t->opts, pc_errno_name(t->err), t->reason);
	}
}

static void print_text(const struct inspect *in)
{
	print_census(in);
	print_holders(in);
	print_trials(in);
	printf("\nverdict: %s\n", in->diagnosis);
}

/* ---- JSON ---- */

/* jansson refuses text that is not UTF-8; a command name may be anything. */
static json_t *jstr(const char *s)
{
	char copy[256];
	json_t *j = json_string(s);
	size_t i;

	if (j)
		return j;
	for (i = 0; i < sizeof(copy) - 1 && s[i]; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	copy[i] = '\0';
	return json_string(copy);
}

static json_t *census_json(const struct inspect *in)
{
	const struct pc_census *c = &in->census;
	json_t *tw;

	if (in->census_err)
		return json_null();
	tw = c->tw_expires_min_ms < 0 ? json_null()
		: json_pack("[ii]", c->tw_expires_min_ms, c->tw_expires_max_ms);
	return json_pack("{si si si si si si si so}", "listen", c->listen, "established",
			 c->established, "time_wait", c->time_wait, "fin_wait1", c->fin_wait1,
			 "fin_wait2", c->fin_wait2, "close_wait", c->close_wait, "other", c->other,
			 "tw_expires_ms", tw);
}

static json_t *holders_json(const struct inspect *in)
{
	json_t *a = json_array();

	for (int i = 0; a && i < stored_holders(in); i++) {
		const struct pc_holder *h = &in->holders[i];

		json_array_append_new(a, json_pack("{si si so sb}", "pid", h->pid, "ppid", h->ppid,
						   "comm", jstr(h->comm), "orphan", h->orphan));
	}
	return a;
}

static json_t *trials_json(const struct inspect *in)
{
	json_t *a = json_array();

	for (int i = 0; a && i < NTRIALS; i++) {
		const struct trial *t = &in->trials[i];

		json_array_append_new(a, json_pack("{ss sb so so}", "opts", t->opts, "ok", !t->err,
			"errno", t->err ? json_string(pc_errno_name(t->err)) : json_null(),
			"reason", t->err ? jstr(t->reason) : json_null()));
	}
	return a;
}

static int print_json(const struct inspect *in)
{
	json_t *root = json_pack("{ss si ss so so so sb so sb so ss}",
		"schema", "portchurn-inspect/1", "port", in->port, "addr", in->addr,
		"census", census_json(in),
		"census_error", in->census_err ? json_string(strerror(-in->census_err)) : json_null(),
		"holders", holders_json(in), "holders_complete", in->holders_complete,
		"try_bind", trials_json(in), "plain_bind_ok", !in->trials[0].err,
		"diagnosis", jstr(in->diagnosis), "backend", pc_sockstate_backend());
	int rc;

	if (!root) {
		fputs("portchurn: inspect: out of memory\n", stderr);
		return -1;
	}
	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return rc < 0 ? -1 : (putchar('\n'), 0);
}

int pc_cmd_inspect_main(int argc, char **argv)
{
	struct inspect in = { .addr = "127.0.0.1" };
	int rc = parse_args(argc, argv, &in);

	if (rc)
		return rc < 0 ? PC_EXIT_PASS : rc;
	gather(&in);
	for (int i = 0; i < NTRIALS; i++)
		explain(&in, &in.trials[i]);
	diagnose(&in);
	if (in.json)
		rc = print_json(&in);
	else
		print_text(&in);
	if (rc < 0 || fflush(stdout) == EOF)
		return PC_EXIT_ENV;
	return in.trials[0].err ? PC_EXIT_FAILED : PC_EXIT_PASS;
}
