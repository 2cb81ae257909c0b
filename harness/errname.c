/* errname.c -- see errname.h. Only errors a socket set-up can return. */
#include "errname.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define E(x) { x, #x }
static const struct { int err; const char *name; } names[] = {
	E(EADDRINUSE), E(EADDRNOTAVAIL), E(EACCES), E(EPERM), E(EINVAL),
	E(EAFNOSUPPORT), E(EPROTONOSUPPORT), E(ENOPROTOOPT), E(EOPNOTSUPP),
	E(EMFILE), E(ENFILE), E(ENOBUFS), E(ENOMEM), E(EBADF), E(ENOTSOCK),
	E(EISCONN), E(ECONNREFUSED), E(ECONNRESET), E(ETIMEDOUT), E(EINTR),
	E(EAGAIN), E(EPIPE), E(ENOENT), E(ESRCH), E(ECHILD), E(ENOSYS),
};
#undef E

const char *pc_errno_known(int err)
{
	if (!err)
		return "0";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	return NULL;
}

const char *pc_errno_name(int err)
{
	static _Thread_local char buf[16];
	const char *name = pc_errno_known(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

int pc_errno_parse(const char *name)
{
	char *end;
	long v;

	if (name[0] == '0' && !name[1])
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(names[i].name, name))
			return names[i].err;
	if ((name[0] == 'E' || name[0] == 'e') && name[1] >= '0' && name[1] <= '9') {
		v = strtol(name + 1, &end, 10);
		if (!*end && v > 0 && v < 4096)
			return (int)v;
	}
	return -1;
}
