/* sys_linux.c -- Linux backend of sys.h: prctl, pidfd_open, unshare. */
#define _GNU_SOURCE
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

const char *pc_sys_os_word(void)
{
	return "linux";
}

int pc_sys_child_die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	/* The harness may have died between fork() and prctl(). */
	if (getppid() != parent)
		return -ESRCH;
	return 0;
}

int pc_sys_become_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 ? -errno : 0;
}

int pc_sys_pidfd_open(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);

	/* pidfds are close-on-exec by definition. */
	return fd < 0 ? -errno : (int)fd;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Without root: a user namespace in which we are root, then the netns. */
static int unshare_as_user(char *why, size_t len)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int rc;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		rc = -errno;
		snprintf(why, len, "unprivileged user namespaces refused: %s", strerror(errno));
		return rc;
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	rc = write_file("/proc/self/uid_map", map);
	if (!rc)
		rc = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (!rc)
		rc = write_file("/proc/self/gid_map", map);
	if (rc)
		snprintf(why, len, "user namespace id maps refused: %s", strerror(-rc));
	return rc;
}

static int loopback_up(char *why, size_t len)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (!rc && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(fd);
out:
	if (rc)
		snprintf(why, len, "cannot bring loopback up: %s", strerror(-rc));
	return rc;
}

int pc_sys_tcp_migrate_req(bool set, int on)
{
	const char *path = "/proc/sys/net/ipv4/tcp_migrate_req";
	char buf[8] = "";
	ssize_t n;
	int fd, rc;

	if (set && (rc = write_file(path, on ? "1" : "0")) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? buf[0] == '1' : -EIO;
}

/* A new namespace shares the host's TCP hash table (hundreds of thousands
 * of buckets), and every sock_diag census walks all of it: about 3 ms a
 * dump here. A namespace made from inside ours gets a table of its own
 * sized by our (not the host's) tcp_child_ehash_entries, so step into
 * one. Kernels before 6.1 lack the sysctl: stay where we are. */
static void shrink_tcp_table(void)
{
	if (write_file("/proc/sys/net/ipv4/tcp_child_ehash_entries", "4096") == 0)
		unshare(CLONE_NEWNET);
}

int pc_sys_enter_private_netns(char *why, size_t len)
{
	int rc;

	if (unshare(CLONE_NEWNET) < 0) {
		if (errno != EPERM) {
			rc = -errno;
			snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
			return rc;
		}
		rc = unshare_as_user(why, len);
		if (rc)
			return rc;
	}
	shrink_tcp_table();
	return loopback_up(why, len);
}
