/* diagnose.h -- why a bind failed, from evidence: the socket census of the
 * port at the failed bind, the processes holding its listeners, and what
 * the harness knows of the generations it started. Gives one sentence with
 * the cause and the remedy the evidence supports. Pure; thread-safe. */
#ifndef PC_DIAGNOSE_H
#define PC_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "scenario.h"
#include "sockstate.h"

struct pc_bind_evidence {
	int bind_errno;
	struct pc_census census;            /* at the failed bind; !known = no census */
	const struct pc_holder *holders;    /* LISTEN holders on the port */
	int nholders;
	bool holders_known;                 /* false: the lookup failed */
	pid_t old_pid, old_leak_pid;        /* the killed generation and its leaked child */
	const struct pc_case *spec;
};

void pc_diagnose_bind(const struct pc_bind_evidence *ev, char *buf, size_t len);

#endif
