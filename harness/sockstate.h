/* sockstate.h -- what the operating system says about a TCP port: how many
 * sockets sit on it in each state, and which processes hold its listeners.
 * A platform interface: the engine and the reporters call these functions
 * and never learn how the answer was obtained (sockstate_linux.c asks the
 * kernel over NETLINK_SOCK_DIAG and maps sockets to processes through /proc).
 *
 * Only the LOCAL port counts: sockets whose local port is the given one,
 * IPv4 and IPv6, any local address. Results are plain data owned by the
 * caller. No global state: the functions are thread-safe. */
#ifndef PC_SOCKSTATE_H
#define PC_SOCKSTATE_H

#include <stdbool.h>

/* Socket-state counts on one port; valid only when 'known'.
 * fin_wait2 includes the kernel's FIN_WAIT2 timewait sockets (a closed
 * socket waiting for the peer's FIN). 'other' is every state not named
 * here (SYN_SENT, SYN_RECV, CLOSING, LAST_ACK). A socket that is bound but
 * neither listening nor connected is not counted at all (as with ss), even
 * though it blocks a plain bind(): try a bind() to learn that.
 * tw_expires_*: how long the TIME_WAIT sockets still have to live, the
 * soonest and the latest, as the kernel reports it; -1 when there is no
 * TIME_WAIT socket or the platform does not say. */
struct pc_census {
	bool known;
	int listen, established, time_wait, fin_wait1, fin_wait2, close_wait, other;
	int tw_expires_min_ms, tw_expires_max_ms;
};

/* Count the TCP sockets whose local port is 'port' (1-65535), by state.
 * On success fills *out (known = true) and returns 0; otherwise returns
 * -errno and leaves *out untouched (-EINVAL for a bad port,
 * -EPROTONOSUPPORT or -ENOSYS where the platform cannot tell). */
int pc_sockstate_census(int port, struct pc_census *out);

/* One process holding one listening socket. */
struct pc_holder {
	int pid;
	int ppid;
	bool orphan;          /* reparented: ppid == 1, or the parent is gone. An
			       * orphan adopted by a child subreaper (systemd
			       * --user, a container's init) has a live parent
			       * that looks like any other: not flagged. */
	char comm[64];        /* the kernel's short command name */
	unsigned long inode;  /* the listening socket's inode */
};

/* The processes holding LISTEN sockets on 'port': one entry per (process,
 * socket) pair, so a listener shared by a parent and a forked child shows
 * up twice, once per pid; ordered by pid, then inode.
 * Like snprintf(), *n is the number of holders found; only the first
 * min(*n, max) are stored in out (out may be NULL when max is 0).
 * *incomplete is set when the answer may miss holders: some process's
 * descriptors could not be read (permissions), or a listener was found
 * that no visible process holds (another pid namespace, or a race with
 * its closing). Returns 0 or -errno (as pc_sockstate_census); on failure
 * *n and *incomplete are left untouched. */
int pc_sockstate_listeners(int port, struct pc_holder *out, int max, int *n,
			   bool *incomplete);

/* Name of the mechanism behind the answers, for reports: "netlink". */
const char *pc_sockstate_backend(void);

#endif
