/* sockstate_text.h -- what netstat and lsof print, read into the plain
 * data of sockstate.h: the text side of the backend for platforms without
 * the Linux one (sockstate_posix.c runs the tools). Pure functions on the
 * caller's buffers, for the output of net-tools (Linux) and of macOS / BSD
 * netstat and of lsof; nothing here runs a program. Thread-safe. */
#ifndef PC_SOCKSTATE_TEXT_H
#define PC_SOCKSTATE_TEXT_H

#include <stdbool.h>

#include "sockstate.h"

/* One line of `netstat -an`: when it is a TCP socket whose local port is
 * port, count it in *c by state and return true. Headers, UDP and UNIX
 * lines, other ports, and sockets with no state worth a census (CLOSE,
 * CLOSED: bound only) return false. */
bool pc_netstat_count_line(const char *line, int port, struct pc_census *c);

/* Accumulates `lsof -F pcR` output, one line at a time ("p123", "cpython3",
 * "R1", "f3" ...): each file line (f) under a process adds one holder for
 * that process. Like pc_sockstate_listeners, *n counts every holder found
 * and only the first max are stored. lsof does not tell socket inodes:
 * inode is 0. Start with the state zeroed. */
struct pc_lsof_state {
	int pid, ppid;
	char comm[64];
};

void pc_lsof_line(struct pc_lsof_state *st, const char *line, struct pc_holder *out, int max,
		  int *n);

#endif
