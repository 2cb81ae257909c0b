/* optset.h -- a socket option set, parsed from text such as
 * "reuseaddr+reuseport+linger=0" and applied to an fd. Shared by the
 * harness and the fixture (which links nothing beyond libc), so this module
 * uses POSIX and libc only. Plain data; no ownership; thread-safe. */
#ifndef PC_OPTSET_H
#define PC_OPTSET_H

#include <stdbool.h>
#include <stddef.h>

enum { PC_LINGER_UNSET = -2, PC_LINGER_OFF = -1 };

struct pc_optset {
	bool reuseaddr;
	bool reuseport;
	bool nodelay;
	int linger_s;  /* PC_LINGER_UNSET, PC_LINGER_OFF (l_onoff=0) or seconds */
	int backlog;   /* 0 = unset (the user of the set picks its default) */
};

/* Where a fixture applies its option set. */
enum pc_opts_at {
	PC_AT_BEFORE_BIND,
	PC_AT_AFTER_BIND,
	PC_AT_AFTER_LISTEN,
	PC_AT_ACCEPTED,
	PC_AT_AFTER_ACCEPT,   /* on the listener, once a first connection was accepted */
};

#define PC_OPTSET_TEXT_MAX 96

/* "none" or tokens joined by '+': reuseaddr, reuseport, nodelay,
 * linger=N (N seconds, l_onoff=1), linger=off (l_onoff=0), backlog=N.
 * Returns 0, or -1 with a one-line reason in err. */
int pc_optset_parse(const char *text, struct pc_optset *out, char *err, size_t errlen);
/* Canonical text: fixed token order, "none" when empty. */
void pc_optset_format(const struct pc_optset *o, char *buf, size_t len);
/* setsockopt() for every option that is set (backlog is listen()'s, not
 * applied here). Returns 0 or -errno of the first failure. */
int pc_optset_apply(const struct pc_optset *o, int fd);

int pc_opts_at_parse(const char *text, enum pc_opts_at *out);
const char *pc_opts_at_name(enum pc_opts_at at);

#endif
