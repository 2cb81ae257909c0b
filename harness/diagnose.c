/* diagnose.c -- see diagnose.h. Order of evidence: a live listener beats
 * TIME_WAIT (it blocks whatever the options), TIME_WAIT beats the other
 * closing states, and no visible socket at all is said as such. */
#include "diagnose.h"

#include <stdio.h>
#include <string.h>

#include "errname.h"

static void listener(const struct pc_bind_evidence *ev, char *buf, size_t len)
{
	const struct pc_holder *h = &ev->holders[0];
	const char *who;

	if (h->pid == ev->old_leak_pid)
		who = "orphaned child of the killed generation; remedy: stop that process, or "
		      "keep children from inheriting the listener (no reloader, close-on-exec)";
	else if (h->pid == ev->old_pid)
		who = "the killed generation, still alive";
	else
		who = "a process portchurn did not start; remedy: stop it or use another port";
	snprintf(buf, len, "blocked by LISTEN held by pid %d (%s%s, %s)", h->pid, h->comm,
		 h->orphan ? ", orphan" : "", who);
}

/* TIME_WAIT on the port: which option was missing, and where. */
static void time_wait(const struct pc_bind_evidence *ev, char *buf, size_t len)
{
	const struct pc_case *c = ev->spec;
	bool late = c->opts_at != PC_AT_BEFORE_BIND;
	const char *why;

	if (c->opts_at == PC_AT_AFTER_ACCEPT)
		why = "the options were set on the listener only after connections had been "
		      "accepted, and those kept the defaults; remedy: set them before bind()";
	else if (late && (c->new_opts.reuseaddr || c->new_opts.reuseport))
		why = "the reuse options were set after bind(), where they do not help; "
		      "remedy: set them before bind()";
	else if (!c->old_opts.reuseaddr && !c->old_opts.reuseport)
		why = "its connections lacked SO_REUSEADDR; remedy: SO_REUSEADDR before bind() in "
		      "both generations, or SO_LINGER(1,0) in the old one to leave no TIME_WAIT";
	else if (c->old_opts.reuseaddr && !c->new_opts.reuseaddr)
		why = "the new generation did not set SO_REUSEADDR; remedy: set it before bind()";
	else
		why = "the generations did not share a reuse option; remedy: SO_REUSEADDR on both, "
		      "or SO_REUSEPORT on both, set before bind()";
	snprintf(buf, len, "blocked by %d TIME_WAIT socket%s left by the old generation (%s)",
		 ev->census.time_wait, ev->census.time_wait == 1 ? "" : "s", why);
}

static void closing(const struct pc_bind_evidence *ev, char *buf, size_t len)
{
	const struct pc_census *k = &ev->census;

	snprintf(buf, len, "blocked by connections of the old generation still closing "
		 "(%d FIN_WAIT1, %d FIN_WAIT2, %d CLOSE_WAIT, %d ESTABLISHED, %d other): "
		 "clients still hold their end; remedy: SO_REUSEADDR before bind() in both "
		 "generations, or let clients close first", k->fin_wait1, k->fin_wait2,
		 k->close_wait, k->established, k->other);
}

void pc_diagnose_bind(const struct pc_bind_evidence *ev, char *buf, size_t len)
{
	const struct pc_census *k = &ev->census;

	if (!ev->bind_errno) {
		snprintf(buf, len, "bound");
		return;
	}
	if (!k->known) {
		snprintf(buf, len, "%s; no socket census on this platform, so TIME_WAIT and a "
			 "live listener cannot be told apart", pc_errno_name(ev->bind_errno));
		return;
	}
	if (k->listen && ev->nholders > 0)
		listener(ev, buf, len);
	else if (k->listen)
		snprintf(buf, len, "blocked by %d LISTEN socket%s whose process is not visible "
			 "(another pid namespace, or no permission to look)", k->listen,
			 k->listen == 1 ? "" : "s");
	else if (k->time_wait)
		time_wait(ev, buf, len);
	else if (k->fin_wait1 || k->fin_wait2 || k->close_wait || k->established || k->other)
		closing(ev, buf, len);
	else
		snprintf(buf, len, "%s with no socket on the port in the census (a bound, not "
			 "listening socket, or one that closed since)", pc_errno_name(ev->bind_errno));
}
