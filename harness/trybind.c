/* trybind.c -- see trybind.h. Addresses go through getaddrinfo() with
 * AI_NUMERICHOST, which takes both families and IPv6 scope ids
 * ("fe80::1%eth0") and never asks a resolver. */
#include "trybind.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "optset.h"

static int resolve(const char *addr, int port, struct addrinfo **out)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	char service[8];
	int rc;

	if (!addr || port < 0 || port > 65535)
		return -EINVAL;
	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(addr, service, &hints, out);
	if (rc == EAI_MEMORY)
		return -ENOMEM;
	return rc ? -EINVAL : 0;
}

bool pc_trybind_addr_valid(const char *addr)
{
	struct addrinfo *ai;

	if (resolve(addr, 0, &ai) < 0)
		return false;
	freeaddrinfo(ai);
	return true;
}

/* A TCP socket that no exec'd child can inherit. */
static int cloexec_socket(int family)
{
	int fd;

#ifdef SOCK_CLOEXEC
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
	fd = socket(family, SOCK_STREAM, 0);
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
#endif
	return fd < 0 ? -errno : fd;
}

int pc_trybind(const char *addr, int port, const struct pc_optset *o)
{
	struct addrinfo *ai = NULL;
	int fd, rc;

	if (port < 1)
		return -EINVAL;
	rc = resolve(addr, port, &ai);
	if (rc < 0)
		return rc;
	fd = cloexec_socket(ai->ai_family);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = o ? pc_optset_apply(o, fd) : 0;
	if (rc == 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		rc = -errno;
	close(fd);
out:
	freeaddrinfo(ai);
	return rc;
}
