/* preload_events.h -- the harness side of the preload probe
 * (fixtures/preload/preload.c, libportchurn-preload.so): the protocol's
 * names, a parser for its event lines, a collector that drains the event
 * pipe, and a one-paragraph account of how a process set up its sockets,
 * for reports.
 *
 * The protocol: the harness puts the write end of a pipe in the server's
 * environment as PORTCHURN_PRELOAD_FD=<n> (inheritable, so exec'd children
 * report too) and, optionally, PORTCHURN_PRELOAD_INJECT=<option set>. Each
 * event is one line of at most PC_PRELOAD_LINE_MAX bytes written with one
 * write(), fields in this order:
 *   pcev t=<CLOCK_MONOTONIC ns> pid=<pid> call=<name> fd=<n> rc=<n> errno=<0|ENAME>
 * then per call:
 *   socket              family=<inet|inet6> type=stream
 *   setsockopt, inject  level=<SOL_SOCKET|IPPROTO_TCP|n>
 *                       opt=<SO_REUSEADDR|SO_REUSEPORT|SO_LINGER|TCP_NODELAY|n>
 *                       val=<int, or "onoff,secs" for SO_LINGER> bound=<0|1>
 *   bind, accept        port=<n> bound=<0|1>
 *   listen              port=<n> bound=<0|1> backlog=<n>
 *   close               (nothing)
 *   dropped             n=<events lost because the pipe was full>
 * Parsing ignores key=value fields after these (room to grow).
 *
 * Plain data. The parser is thread-safe; a pc_preload_log belongs to one
 * thread at a time. */
#ifndef PC_PRELOAD_EVENTS_H
#define PC_PRELOAD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define PC_PRELOAD_ENV_FD "PORTCHURN_PRELOAD_FD"
#define PC_PRELOAD_ENV_INJECT "PORTCHURN_PRELOAD_INJECT"
#define PC_PRELOAD_LINE_MAX 240     /* bytes, newline included: below PIPE_BUF */
#define PC_PRELOAD_LOG_MAX 4096     /* events a pc_preload_log keeps */

enum pc_preload_call {
	PC_PEV_SOCKET,
	PC_PEV_SETSOCKOPT,
	PC_PEV_BIND,
	PC_PEV_LISTEN,
	PC_PEV_ACCEPT,
	PC_PEV_CLOSE,
	PC_PEV_INJECT,     /* an option the probe set before bind(), on request */
	PC_PEV_DROPPED,
};

/* One event. fd is the socket the call was about (for accept: the
 * listener; rc is then the accepted socket). Fields a call does not carry
 * are 0. level and opt hold this host's constants when the line named
 * them, else the number it gave. */
struct pc_preload_event {
	int64_t t_ns;
	int pid;
	enum pc_preload_call call;
	int fd;
	int rc;
	int err;           /* errno value, 0 on success */
	int family;        /* socket: AF_INET or AF_INET6 */
	int level, opt;
	int val;           /* SO_LINGER: l_onoff */
	int linger_s;      /* SO_LINGER: l_linger */
	int port;          /* bind, listen: local port; accept: the listener's */
	int bound;         /* was the fd bound before this call */
	int backlog;
	uint64_t n;        /* dropped */
};

/* Parses one line (a trailing newline is allowed). 0, or -EINVAL for
 * anything that is not an event line exactly as the protocol writes it. */
int pc_preload_parse(const char *line, struct pc_preload_event *ev);
const char *pc_preload_call_name(enum pc_preload_call call);
/* The name the probe writes and the parser reads for a socket option
 * ("SO_REUSEADDR", "TCP_NODELAY" ...), or NULL for one without a name
 * (written as its number). One table, so both sides agree;
 * async-signal-safe (the probe calls it in its hooks). */
const char *pc_preload_opt_name(int level, int opt);

/* The events read from the pipe, in arrival order. A line that does not
 * parse is counted, never stored; so are events beyond PC_PRELOAD_LOG_MAX. */
struct pc_preload_log {
	int fd;                          /* read end, O_NONBLOCK; not owned */
	struct pc_preload_event *events; /* PC_PRELOAD_LOG_MAX slots */
	size_t n;
	uint64_t not_kept;     /* parsed, but the array was full */
	uint64_t bad_lines;    /* did not parse (or were longer than a line can be) */
	uint64_t dropped;      /* the probe's own count: lost on a full pipe */
	int eof;               /* every writer has closed the pipe */
	char part[PC_PRELOAD_LINE_MAX + 1];  /* an incomplete line */
	size_t part_len;
	int skipping;          /* inside an over-long line: drop to its newline */
};

/* fd must be the pipe's non-blocking read end. 0 or -ENOMEM. */
int pc_preload_log_init(struct pc_preload_log *log, int fd);
/* Reads what is there now. 0 when the pipe is empty, 1 at end of file
 * (every process holding the write end has gone), -errno on error. */
int pc_preload_log_drain(struct pc_preload_log *log);
/* Takes one line from elsewhere (a file, a test) as drain would. */
void pc_preload_log_add_line(struct pc_preload_log *log, const char *line, size_t len);
void pc_preload_log_free(struct pc_preload_log *log);

/* How process pid (0: every process, each named) set up its TCP sockets,
 * in one line of clauses: "socket fd 5 (inet); setsockopt SO_REUSEADDR=1
 * before bind; bind port 8000 ok at +1.2 ms; listen backlog 2048 at +1.3 ms".
 * Times count from t0_ns (0: the process's first event). Accepted
 * connections are summed up, not listed. With no event at all it says
 * "no events arrived" and why that happens. Returns 0, or -ENOSPC when
 * the text was cut to fit len (it is still NUL-terminated). */
int pc_preload_summary(const struct pc_preload_log *log, int pid, int64_t t0_ns,
		       char *buf, size_t len);

#endif
