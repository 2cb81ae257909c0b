/* sockstate_text.c -- see sockstate_text.h. */
#include "sockstate_text.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* net-tools and BSD spell some states apart: FIN_WAIT1 / FIN_WAIT_1. */
static const struct {
	const char *name;
	size_t field;   /* offset of the counter in struct pc_census; 0 = other */
} states[] = {
	{ "LISTEN", offsetof(struct pc_census, listen) },
	{ "ESTABLISHED", offsetof(struct pc_census, established) },
	{ "TIME_WAIT", offsetof(struct pc_census, time_wait) },
	{ "FIN_WAIT1", offsetof(struct pc_census, fin_wait1) },
	{ "FIN_WAIT_1", offsetof(struct pc_census, fin_wait1) },
	{ "FIN_WAIT2", offsetof(struct pc_census, fin_wait2) },
	{ "FIN_WAIT_2", offsetof(struct pc_census, fin_wait2) },
	{ "CLOSE_WAIT", offsetof(struct pc_census, close_wait) },
	{ "SYN_SENT", 0 }, { "SYN_RECV", 0 }, { "SYN_RCVD", 0 },
	{ "CLOSING", 0 }, { "LAST_ACK", 0 },
};

/* The port after the last ':' (Linux: 127.0.0.1:8000, ::1:8000) or '.'
 * (BSD: 127.0.0.1.8000, *.8000), or -1. */
static int local_port(const char *addr)
{
	const char *colon = strrchr(addr, ':'), *dot = strrchr(addr, '.');
	const char *sep = colon > dot ? colon : dot;
	char *end;
	long port;

	if (!sep || !sep[1])
		return -1;
	port = strtol(sep + 1, &end, 10);
	return *end || port < 1 || port > 65535 ? -1 : (int)port;
}

bool pc_netstat_count_line(const char *line, int port, struct pc_census *c)
{
	char proto[16], local[128], foreign[128], state[32];
	unsigned long recvq, sendq;

	if (sscanf(line, "%15s %lu %lu %127s %127s %31s", proto, &recvq, &sendq, local, foreign,
		   state) != 6 || strncmp(proto, "tcp", 3) || local_port(local) != port)
		return false;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (strcmp(state, states[i].name))
			continue;
		if (states[i].field)
			++*(int *)((char *)c + states[i].field);
		else
			c->other++;
		return true;
	}
	return false;
}

static void add_holder(const struct pc_lsof_state *st, struct pc_holder *out, int max, int *n)
{
	if (*n < max) {
		struct pc_holder *h = &out[*n];

		memset(h, 0, sizeof(*h));
		h->pid = st->pid;
		h->ppid = st->ppid;
		h->orphan = st->ppid == 1;
		snprintf(h->comm, sizeof(h->comm), "%s", st->comm);
	}
	++*n;
}

void pc_lsof_line(struct pc_lsof_state *st, const char *line, struct pc_holder *out, int max,
		  int *n)
{
	switch (line[0]) {
	case 'p':   /* a new process: its other fields follow */
		st->pid = atoi(line + 1);
		st->ppid = 0;
		st->comm[0] = '\0';
		break;
	case 'R':
		st->ppid = atoi(line + 1);
		break;
	case 'c':
		snprintf(st->comm, sizeof(st->comm), "%s", line + 1);
		st->comm[strcspn(st->comm, "\n")] = '\0';
		break;
	case 'f':   /* one of its sockets */
		if (st->pid > 0)
			add_holder(st, out, max, n);
		break;
	default:
		break;
	}
}
