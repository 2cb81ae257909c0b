/* preload_events.c -- see preload_events.h. The lines come from inside
 * someone else's server, so the parser trusts nothing: fixed field order,
 * bounded lengths, printable ASCII only, every number range-checked. */
#define _DEFAULT_SOURCE   /* SO_REUSEPORT on glibc */
#define _DARWIN_C_SOURCE  /* and on macOS */
#include "preload_events.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errname.h"

#define PC_DRAIN_READS 64       /* 4 KiB reads per drain call: a firehose yields */
#define PC_SUMMARY_PIDS 16
#define PC_SUMMARY_FDS 64       /* set-up sockets remembered per process */
#define PC_SUMMARY_CONNS 256    /* accepted sockets remembered per process */
#define PC_SUMMARY_CONN_OPTS 8  /* distinct options set on accepted sockets */

static const char *const call_names[] = {
	[PC_PEV_SOCKET] = "socket", [PC_PEV_SETSOCKOPT] = "setsockopt",
	[PC_PEV_BIND] = "bind", [PC_PEV_LISTEN] = "listen", [PC_PEV_ACCEPT] = "accept",
	[PC_PEV_CLOSE] = "close", [PC_PEV_INJECT] = "inject", [PC_PEV_DROPPED] = "dropped",
};

#define NCALLS (sizeof(call_names) / sizeof(call_names[0]))

static const struct {
	int level, opt;
	const char *name;
} opt_names[] = {
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR" },
#ifdef SO_REUSEPORT
	{ SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT" },
#endif
	{ SOL_SOCKET, SO_LINGER, "SO_LINGER" },
	{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY" },
};

#define NOPTS (sizeof(opt_names) / sizeof(opt_names[0]))

const char *pc_preload_call_name(enum pc_preload_call call)
{
	return (unsigned)call < NCALLS ? call_names[call] : "?";
}

const char *pc_preload_opt_name(int level, int opt)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_names[i].level == level && opt_names[i].opt == opt)
			return opt_names[i].name;
	return NULL;
}

/* ==== the parser ========================================================== */

/* Decimal in [min, max]: optional '-', 1-19 digits, nothing else. */
static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t v = 0;
	int digits = 0;

	s += neg;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 19)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s || !digits || v > (uint64_t)INT64_MAX)
		return -1;
	if ((neg ? -(int64_t)v : (int64_t)v) < min || (neg ? -(int64_t)v : (int64_t)v) > max)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	int64_t v;

	if (parse_i64(s, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* The field "key=value" at *p: copies the value (non-empty, no '=') and
 * moves *p past it and its separating space. One space exactly: the
 * probe never writes two, nor one at the end. */
static int take(const char **p, const char *key, char *val, size_t cap)
{
	size_t klen = strlen(key), n = 0;
	const char *s = *p;

	if (strncmp(s, key, klen) || s[klen] != '=')
		return -1;
	s += klen + 1;
	for (; s[n] && s[n] != ' '; n++) {
		if (n + 1 >= cap || s[n] == '=')
			return -1;
		val[n] = s[n];
	}
	if (!n)
		return -1;
	val[n] = '\0';
	s += n;
	if (*s == ' ' && (!s[1] || s[1] == ' '))
		return -1;
	*p = *s ? s + 1 : s;
	return 0;
}

static int take_int(const char **p, const char *key, int min, int max, int *out)
{
	char v[24];

	return take(p, key, v, sizeof(v)) < 0 ? -1 : parse_int(v, min, max, out);
}

static int take_call(const char **p, enum pc_preload_call *out)
{
	char v[16];

	if (take(p, "call", v, sizeof(v)) < 0)
		return -1;
	for (size_t i = 0; i < NCALLS; i++) {
		if (!strcmp(v, call_names[i])) {
			*out = (enum pc_preload_call)i;
			return 0;
		}
	}
	return -1;
}

static int take_errno(const char **p, int *out)
{
	char v[24];

	if (take(p, "errno", v, sizeof(v)) < 0)
		return -1;
	*out = pc_errno_parse(v);
	return *out < 0 ? -1 : 0;
}

static int parse_head(const char **p, struct pc_preload_event *e)
{
	char v[24];
	int64_t t;

	if (take(p, "t", v, sizeof(v)) < 0 || parse_i64(v, 0, INT64_MAX, &t) < 0)
		return -1;
	e->t_ns = t;
	if (take_int(p, "pid", 1, INT_MAX, &e->pid) < 0 || take_call(p, &e->call) < 0)
		return -1;
	if (take_int(p, "fd", -1, INT_MAX, &e->fd) < 0 ||
	    take_int(p, "rc", -1, INT_MAX, &e->rc) < 0)
		return -1;
	return take_errno(p, &e->err);
}

static int tail_socket(const char **p, struct pc_preload_event *e)
{
	char v[8];

	if (take(p, "family", v, sizeof(v)) < 0)
		return -1;
	if (!strcmp(v, "inet"))
		e->family = AF_INET;
	else if (!strcmp(v, "inet6"))
		e->family = AF_INET6;
	else
		return -1;
	return take(p, "type", v, sizeof(v)) < 0 || strcmp(v, "stream") ? -1 : 0;
}

static int take_level(const char **p, int *out)
{
	char v[16];

	if (take(p, "level", v, sizeof(v)) < 0)
		return -1;
	if (!strcmp(v, "SOL_SOCKET"))
		*out = SOL_SOCKET;
	else if (!strcmp(v, "IPPROTO_TCP"))
		*out = IPPROTO_TCP;
	else
		return parse_int(v, 0, INT_MAX, out);
	return 0;
}

/* A named option must belong to the level the line gave. */
static int take_opt(const char **p, int level, int *out)
{
	char v[24];

	if (take(p, "opt", v, sizeof(v)) < 0)
		return -1;
	if (v[0] >= '0' && v[0] <= '9')
		return parse_int(v, 0, INT_MAX, out);
	for (size_t i = 0; i < NOPTS; i++) {
		if (!strcmp(v, opt_names[i].name) && opt_names[i].level == level) {
			*out = opt_names[i].opt;
			return 0;
		}
	}
	return -1;
}

/* val=N, or val=ONOFF,SECS for SO_LINGER. */
static int take_val(const char **p, struct pc_preload_event *e)
{
	char v[32], *comma;

	if (take(p, "val", v, sizeof(v)) < 0)
		return -1;
	comma = strchr(v, ',');
	if (!(e->level == SOL_SOCKET && e->opt == SO_LINGER))
		return comma ? -1 : parse_int(v, INT_MIN, INT_MAX, &e->val);
	if (!comma)
		return -1;
	*comma = '\0';
	if (parse_int(v, INT_MIN, INT_MAX, &e->val) < 0)
		return -1;
	return parse_int(comma + 1, INT_MIN, INT_MAX, &e->linger_s);
}

static int tail_opt(const char **p, struct pc_preload_event *e)
{
	if (take_level(p, &e->level) < 0 || take_opt(p, e->level, &e->opt) < 0)
		return -1;
	if (take_val(p, e) < 0)
		return -1;
	return take_int(p, "bound", 0, 1, &e->bound);
}

static int tail_port(const char **p, struct pc_preload_event *e)
{
	if (take_int(p, "port", 0, 65535, &e->port) < 0)
		return -1;
	return take_int(p, "bound", 0, 1, &e->bound);
}

static int tail_listen(const char **p, struct pc_preload_event *e)
{
	if (tail_port(p, e) < 0)
		return -1;
	return take_int(p, "backlog", INT_MIN, INT_MAX, &e->backlog);
}

static int tail_close(const char **p, struct pc_preload_event *e)
{
	(void)p, (void)e;
	return 0;
}

static int tail_dropped(const char **p, struct pc_preload_event *e)
{
	char v[24];
	int64_t n;

	if (take(p, "n", v, sizeof(v)) < 0 || parse_i64(v, 1, INT64_MAX, &n) < 0)
		return -1;
	e->n = (uint64_t)n;
	return 0;
}

static int (*const tails[])(const char **, struct pc_preload_event *) = {
	[PC_PEV_SOCKET] = tail_socket, [PC_PEV_SETSOCKOPT] = tail_opt,
	[PC_PEV_BIND] = tail_port, [PC_PEV_LISTEN] = tail_listen, [PC_PEV_ACCEPT] = tail_port,
	[PC_PEV_CLOSE] = tail_close, [PC_PEV_INJECT] = tail_opt, [PC_PEV_DROPPED] = tail_dropped,
};

/* Fields a later probe may add: key=value, key in [a-z0-9_]. */
static int check_rest(const char *p)
{
	char v[PC_PRELOAD_LINE_MAX];

	while (*p) {
		size_t k = 0;
		char key[32];

		while ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '_')
			k++;
		if (!k || k >= sizeof(key) || p[k] != '=')
			return -1;
		memcpy(key, p, k);
		key[k] = '\0';
		if (take(&p, key, v, sizeof(v)) < 0)
			return -1;
	}
	return 0;
}

/* Into buf without its newline; printable ASCII only, within the size. */
static int copy_line(const char *line, char *buf, size_t cap)
{
	size_t n = 0;

	for (; line[n] && line[n] != '\n'; n++) {
		if (n + 1 >= cap || line[n] < 0x20 || line[n] > 0x7e)
			return -1;
		buf[n] = line[n];
	}
	if (line[n] == '\n' && line[n + 1])
		return -1;
	buf[n] = '\0';
	return 0;
}

int pc_preload_parse(const char *line, struct pc_preload_event *ev)
{
	char buf[PC_PRELOAD_LINE_MAX];
	struct pc_preload_event e;
	const char *p;

	memset(&e, 0, sizeof(e));
	if (!line || copy_line(line, buf, sizeof(buf)) < 0 || strncmp(buf, "pcev ", 5))
		return -EINVAL;
	p = buf + 5;
	if (parse_head(&p, &e) < 0 || tails[e.call](&p, &e) < 0 || check_rest(p) < 0)
		return -EINVAL;
	*ev = e;
	return 0;
}

/* ==== the collector ======================================================= */

int pc_preload_log_init(struct pc_preload_log *log, int fd)
{
	memset(log, 0, sizeof(*log));
	log->fd = fd;
	log->events = calloc(PC_PRELOAD_LOG_MAX, sizeof(*log->events));
	return log->events ? 0 : -ENOMEM;
}

void pc_preload_log_free(struct pc_preload_log *log)
{
	free(log->events);
	log->events = NULL;
	log->n = 0;
}

void pc_preload_log_add_line(struct pc_preload_log *log, const char *line, size_t len)
{
	char buf[PC_PRELOAD_LINE_MAX + 1];
	struct pc_preload_event ev;

	if (len && line[len - 1] == '\n')
		len--;
	if (len >= sizeof(buf) - 1 || memchr(line, '\0', len)) {
		log->bad_lines++;
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (pc_preload_parse(buf, &ev) < 0) {
		log->bad_lines++;
		return;
	}
	if (ev.call == PC_PEV_DROPPED)
		log->dropped += ev.n;
	if (log->n < PC_PRELOAD_LOG_MAX)
		log->events[log->n++] = ev;
	else
		log->not_kept++;
}

/* A line is at most PC_PRELOAD_LINE_MAX bytes with its newline: anything
 * longer is counted once and skipped to its end. */
static void log_feed(struct pc_preload_log *log, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t chunk = nl ? (size_t)(nl - p) : n;

		if (!log->skipping && log->part_len + chunk >= PC_PRELOAD_LINE_MAX) {
			log->bad_lines++;
			log->skipping = 1;
		}
		if (!log->skipping) {
			memcpy(log->part + log->part_len, p, chunk);
			log->part_len += chunk;
		}
		if (!nl)
			return;
		if (!log->skipping)
			pc_preload_log_add_line(log, log->part, log->part_len);
		log->part_len = 0;
		log->skipping = 0;
		p = nl + 1;
		n -= chunk + 1;
	}
}

int pc_preload_log_drain(struct pc_preload_log *log)
{
	char buf[4096];

	for (int i = 0; i < PC_DRAIN_READS; i++) {
		ssize_t n = read(log->fd, buf, sizeof(buf));

		if (n > 0) {
			log_feed(log, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			if (log->part_len || log->skipping)
				log->bad_lines += !log->skipping;  /* cut off by the writer's death */
			log->part_len = 0;
			log->skipping = 0;
			log->eof = 1;
			return 1;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	}
	return 0;
}

/* ==== the summary ========================================================= */

struct out {
	char *buf;
	size_t cap, len;
	bool cut;
	const char *sep;     /* written before the next clause */
};

static void out_add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_add(struct out *o, const char *fmt, ...)
{
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		o->cut = true;
		o->len = o->cap ? o->cap - 1 : 0;
		return;
	}
	o->len += (size_t)n;
}

/* A new clause: "; " between clauses. */
static void out_clause(struct out *o)
{
	out_add(o, "%s", o->sep);
	o->sep = "; ";
}

/* "+1.2 ms", locale-free. */
static void out_ms(struct out *o, int64_t ns)
{
	uint64_t a = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	uint64_t tenths = (a + 50000) / 100000;

	out_add(o, " at %c%llu.%llu ms", ns < 0 ? '-' : '+', (unsigned long long)(tenths / 10),
		(unsigned long long)(tenths % 10));
}

static void out_opt(struct out *o, const struct pc_preload_event *e)
{
	const char *name = pc_preload_opt_name(e->level, e->opt);

	if (name)
		out_add(o, "%s", name);
	else
		out_add(o, "level %d opt %d", e->level, e->opt);
	if (e->level == SOL_SOCKET && e->opt == SO_LINGER)
		out_add(o, "=%d,%d", e->val, e->linger_s);
	else
		out_add(o, "=%d", e->val);
}

static void out_failed(struct out *o, const struct pc_preload_event *e)
{
	if (e->rc < 0)
		out_add(o, " failed: %s", pc_errno_name(e->err));
}

/* One process's sockets, as the summary walks its events. */
struct setup_fd {
	int fd;
	bool bound, listening;
};

struct conn_opt {
	int level, opt, val, linger_s;
	int count;
};

struct walk {
	struct out *o;
	int64_t t0_ns;
	struct setup_fd fds[PC_SUMMARY_FDS];
	int nfds;
	struct conn_opt conn_opts[PC_SUMMARY_CONN_OPTS];
	int nconn_opts;
	int conns[PC_SUMMARY_CONNS];   /* open accepted sockets */
	int nconns;
	bool conns_overflowed;
	uint64_t accepted, accept_failed;
	int accept_err;
};

static struct setup_fd *walk_fd(struct walk *w, int fd)
{
	for (int i = 0; i < w->nfds; i++)
		if (w->fds[i].fd == fd)
			return &w->fds[i];
	return NULL;
}

static struct setup_fd *walk_fd_add(struct walk *w, int fd)
{
	struct setup_fd *s = walk_fd(w, fd);

	if (s || fd < 0 || w->nfds >= PC_SUMMARY_FDS)
		return s;
	s = &w->fds[w->nfds++];
	*s = (struct setup_fd){ .fd = fd };
	return s;
}

static void walk_fd_drop(struct walk *w, int fd)
{
	struct setup_fd *s = walk_fd(w, fd);

	if (s)
		*s = w->fds[--w->nfds];
}

static bool walk_conn(struct walk *w, int fd, bool drop)
{
	for (int i = 0; i < w->nconns; i++) {
		if (w->conns[i] == fd) {
			if (drop)
				w->conns[i] = w->conns[--w->nconns];
			return true;
		}
	}
	return false;
}

static void walk_conn_add(struct walk *w, int fd)
{
	if (walk_conn(w, fd, false))
		return;
	if (w->nconns < PC_SUMMARY_CONNS)
		w->conns[w->nconns++] = fd;
	else
		w->conns_overflowed = true;
}

/* An accepted socket: one we saw accepted, or, once there were too many
 * to remember, any bound socket that is not a set-up one. */
static bool walk_is_conn(struct walk *w, const struct pc_preload_event *e)
{
	if (walk_fd(w, e->fd))
		return false;
	return walk_conn(w, e->fd, false) || (w->conns_overflowed && e->bound);
}

static const char *when_set(const struct setup_fd *s, const struct pc_preload_event *e)
{
	if (s && s->listening)
		return "after listen";
	return e->bound ? "after bind" : "before bind";
}

static void sum_socket(struct walk *w, const struct pc_preload_event *e)
{
	out_clause(w->o);
	if (e->rc < 0) {
		out_add(w->o, "socket (%s) failed: %s", e->family == AF_INET6 ? "inet6" : "inet",
			pc_errno_name(e->err));
		return;
	}
	walk_fd_drop(w, e->fd);  /* a number reused */
	walk_conn(w, e->fd, true);
	walk_fd_add(w, e->fd);
	out_add(w->o, "socket fd %d (%s)", e->fd, e->family == AF_INET6 ? "inet6" : "inet");
}

/* Options on accepted sockets are the same on every connection: counted. */
static void sum_conn_opt(struct walk *w, const struct pc_preload_event *e)
{
	for (int i = 0; i < w->nconn_opts; i++) {
		struct conn_opt *c = &w->conn_opts[i];

		if (c->level == e->level && c->opt == e->opt && c->val == e->val &&
		    c->linger_s == e->linger_s) {
			c->count++;
			return;
		}
	}
	if (w->nconn_opts < PC_SUMMARY_CONN_OPTS)
		w->conn_opts[w->nconn_opts++] = (struct conn_opt){ e->level, e->opt, e->val,
								   e->linger_s, 1 };
}

static void sum_setsockopt(struct walk *w, const struct pc_preload_event *e)
{
	struct setup_fd *s;

	if (walk_is_conn(w, e)) {
		sum_conn_opt(w, e);
		return;
	}
	s = walk_fd_add(w, e->fd);   /* known, or inherited */
	out_clause(w->o);
	out_add(w->o, "setsockopt ");
	out_opt(w->o, e);
	out_add(w->o, " %s", when_set(s, e));
	out_failed(w->o, e);
}

static void sum_inject(struct walk *w, const struct pc_preload_event *e)
{
	out_clause(w->o);
	if (e->fd < 0) {
		out_add(w->o, "inject set rejected (%s): nothing injected", pc_errno_name(e->err));
		return;
	}
	walk_fd_add(w, e->fd);
	out_add(w->o, "injected ");
	out_opt(w->o, e);
	out_add(w->o, " before bind");
	out_failed(w->o, e);
}

static void sum_bind(struct walk *w, const struct pc_preload_event *e)
{
	struct setup_fd *s = walk_fd_add(w, e->fd);

	out_clause(w->o);
	out_add(w->o, "bind port %d %s", e->port, e->rc < 0 ? "failed:" : "ok");
	if (e->rc < 0)
		out_add(w->o, " %s", pc_errno_name(e->err));
	out_ms(w->o, e->t_ns - w->t0_ns);
	if (s && e->rc == 0)
		s->bound = true;
}

static void sum_listen(struct walk *w, const struct pc_preload_event *e)
{
	struct setup_fd *s = walk_fd(w, e->fd);

	out_clause(w->o);
	if (!s || !s->bound)   /* inherited, or bound by listen() itself */
		out_add(w->o, "listen fd %d port %d%s ", e->fd, e->port,
			e->bound ? "" : " (not bound before: the kernel chose)");
	else
		out_add(w->o, "listen ");
	out_add(w->o, "backlog %d", e->backlog);
	out_failed(w->o, e);
	out_ms(w->o, e->t_ns - w->t0_ns);
	s = s ? s : walk_fd_add(w, e->fd);
	if (s && e->rc == 0)
		s->listening = s->bound = true;
}

static void sum_accept(struct walk *w, const struct pc_preload_event *e)
{
	if (e->rc < 0) {
		w->accept_failed++;
		w->accept_err = e->err;
		return;
	}
	walk_fd_drop(w, e->rc);
	walk_conn_add(w, e->rc);
	w->accepted++;
}

static void sum_close(struct walk *w, const struct pc_preload_event *e)
{
	if (!walk_fd(w, e->fd)) {
		walk_conn(w, e->fd, true);
		return;
	}
	walk_fd_drop(w, e->fd);
	out_clause(w->o);
	out_add(w->o, "close fd %d", e->fd);
}

static void sum_dropped(struct walk *w, const struct pc_preload_event *e)
{
	(void)w, (void)e;   /* totalled from the log at the end */
}

static void (*const summarisers[])(struct walk *, const struct pc_preload_event *) = {
	[PC_PEV_SOCKET] = sum_socket, [PC_PEV_SETSOCKOPT] = sum_setsockopt,
	[PC_PEV_BIND] = sum_bind, [PC_PEV_LISTEN] = sum_listen, [PC_PEV_ACCEPT] = sum_accept,
	[PC_PEV_CLOSE] = sum_close, [PC_PEV_INJECT] = sum_inject, [PC_PEV_DROPPED] = sum_dropped,
};

static void sum_connections(struct walk *w)
{
	if (w->accepted) {
		out_clause(w->o);
		out_add(w->o, "accepted %llu connection%s", (unsigned long long)w->accepted,
			w->accepted == 1 ? "" : "s");
	}
	if (w->accept_failed) {
		out_clause(w->o);
		out_add(w->o, "accept failed %llu time%s (last: %s)",
			(unsigned long long)w->accept_failed, w->accept_failed == 1 ? "" : "s",
			pc_errno_name(w->accept_err));
	}
	for (int i = 0; i < w->nconn_opts; i++) {
		struct pc_preload_event e = { .level = w->conn_opts[i].level,
					      .opt = w->conn_opts[i].opt,
					      .val = w->conn_opts[i].val,
					      .linger_s = w->conn_opts[i].linger_s };

		out_clause(w->o);
		out_add(w->o, "setsockopt ");
		out_opt(w->o, &e);
		out_add(w->o, " on accepted sockets (%d)", w->conn_opts[i].count);
	}
}

static void summarise_pid(const struct pc_preload_log *log, int pid, int64_t t0_ns,
			  struct out *o)
{
	struct walk *w = calloc(1, sizeof(*w));
	bool first = true;

	if (!w) {
		out_add(o, "(out of memory)");
		return;
	}
	w->o = o;
	w->t0_ns = t0_ns;
	for (size_t i = 0; i < log->n; i++) {
		const struct pc_preload_event *e = &log->events[i];

		if (e->pid != pid)
			continue;
		if (first && !t0_ns)
			w->t0_ns = e->t_ns;
		first = false;
		summarisers[e->call](w, e);
	}
	sum_connections(w);
	if (first) {
		out_clause(o);
		out_add(o, "no events from pid %d", pid);
	}
	free(w);
}

/* Processes in order of their first event. */
static int log_pids(const struct pc_preload_log *log, int *pids, int max)
{
	int n = 0;

	for (size_t i = 0; i < log->n; i++) {
		int j = 0;

		while (j < n && pids[j] != log->events[i].pid)
			j++;
		if (j == n && n < max)
			pids[n++] = log->events[i].pid;
	}
	return n;
}

static void summarise_losses(const struct pc_preload_log *log, struct out *o)
{
	if (log->dropped)
		out_add(o, " (%llu events lost: the event pipe was full)",
			(unsigned long long)log->dropped);
	if (log->not_kept)
		out_add(o, " (%llu events not kept: more than %d)",
			(unsigned long long)log->not_kept, PC_PRELOAD_LOG_MAX);
	if (log->bad_lines)
		out_add(o, " (%llu unreadable lines)", (unsigned long long)log->bad_lines);
}

int pc_preload_summary(const struct pc_preload_log *log, int pid, int64_t t0_ns,
		       char *buf, size_t len)
{
	struct out o = { .buf = buf, .cap = len, .sep = "" };
	int pids[PC_SUMMARY_PIDS], n;

	if (len)
		buf[0] = '\0';
	if (!log->n && !log->not_kept) {
		out_add(&o, "no events arrived (the probe sees only dynamically linked programs: "
			"not static binaries, nor SIP-protected ones on macOS)");
	} else if (pid > 0) {
		summarise_pid(log, pid, t0_ns, &o);
	} else {
		n = log_pids(log, pids, PC_SUMMARY_PIDS);
		for (int i = 0; i < n; i++) {
			out_add(&o, "%spid %d: ", i ? " | " : "", pids[i]);
			o.sep = "";
			summarise_pid(log, pids[i], t0_ns, &o);
		}
	}
	summarise_losses(log, &o);
	return o.cut ? -ENOSPC : 0;
}
