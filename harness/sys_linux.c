/* sys_linux.c -- Linux backend of sys.h: prctl, pidfd_open, unshare, and
 * the guardian (/proc, pidfd_send_signal). */
#define _GNU_SOURCE
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define GUARD_ROUNDS 100           /* sweeps, until one finds nothing */
#define GUARD_PAUSE_NS 10000000L   /* between sweeps: let the killed die */
#define GUARD_PARENT_MS 5000       /* bound on waiting for a dying harness */

const char *pc_sys_os_word(void)
{
	return "linux";
}

#define SPAWN_STACK (64 * 1024)   /* the child's, until it execs */

/* Sanitizer runtimes are not safe in a child that shares their memory (one
 * took its thread-registry lock there and LSan hung at exit): fork() in
 * those builds. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPAWN_SHARED_VM 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPAWN_SHARED_VM 0
#endif
#endif
#ifndef SPAWN_SHARED_VM
#define SPAWN_SHARED_VM 1
#endif

struct spawn_call {
	void (*fn)(void *arg);
	void *arg;
};

/* The child, in the caller's memory: a handler of the caller's must not run
 * here (it would write the caller's state), so every caught signal goes
 * back to its default while all are still blocked. */
static int spawn_trampoline(void *p)
{
	const struct spawn_call *call = p;
	struct sigaction sa, dfl = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
		    sa.sa_handler != SIG_IGN)
			sigaction(sig, &dfl, NULL);
	call->fn(call->arg);
	_exit(127);
}

pid_t pc_sys_spawn(void (*fn)(void *arg), void *arg)
{
	/* The calling thread sleeps until the child execs, so its stack can
	 * lend the child one (16-byte aligned top, growing down). */
	_Alignas(16) char stack[SPAWN_STACK];
	struct spawn_call call = { fn, arg };
	sigset_t all, old;
	pid_t pid;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (SPAWN_SHARED_VM) {
		pid = clone(spawn_trampoline, stack + sizeof(stack),
			    CLONE_VM | CLONE_VFORK | SIGCHLD, &call);
	} else if ((pid = fork()) == 0) {
		fn(arg);
		_exit(127);
	}
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid < 0 ? -err : pid;
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

/* ---- the guardian ------------------------------------------------------
 * It is forked from a process that may have threads, so it uses only
 * async-signal-safe calls: raw syscalls, no stdio, no malloc. */

/* Matches one NUL-terminated entry of an environment read in pieces. */
struct env_match {
	const char *want;    /* the entry and its NUL */
	size_t len, at;
	bool skip;           /* inside an entry that already differs */
};

static bool env_feed(struct env_match *m, const char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		if (m->skip) {
			m->skip = buf[i] != '\0';
			continue;
		}
		if (buf[i] == m->want[m->at]) {
			if (++m->at == m->len)
				return true;
			continue;
		}
		m->at = 0;
		m->skip = buf[i] != '\0';
	}
	return false;
}

/* Does /proc/<pid>/environ hold env? Zombies and other users' processes
 * read as empty or not at all: no. */
static bool env_holds(const char *pid, const char *env)
{
	char path[64] = "/proc/", buf[4096];
	struct env_match m = { .want = env, .len = strlen(env) + 1 };
	size_t n = strlen(path);
	bool found = false;
	ssize_t got;
	int fd;

	for (const char *p = pid; *p && n < sizeof(path) - 9; p++)
		path[n++] = *p;
	memcpy(path + n, "/environ", 9);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (!found && (got = read(fd, buf, sizeof(buf))) > 0)
		found = env_feed(&m, buf, got);
	close(fd);
	return found;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* SIGKILL pid if it holds env: pinned by a pidfd first, then checked
 * again, so the signal reaches the process that was checked. */
static int kill_if_holds(const char *pid, const char *env)
{
	long n = 0;
	int fd, killed = 0;

	for (const char *p = pid; *p; p++)
		n = n * 10 + (*p - '0');
	if (!env_holds(pid, env))
		return 0;
	fd = (int)syscall(SYS_pidfd_open, (pid_t)n, 0);
	if (fd < 0)
		return 0;
	if (env_holds(pid, env) && syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
		killed = 1;
	close(fd);
	return killed;
}

struct dirent64_raw {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* One pass over /proc; returns how many processes were signalled. */
static int sweep(const char *env)
{
	char buf[8192];
	int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), killed = 0;
	long n;

	if (fd < 0)
		return 0;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);

			if (all_digits(d->name))
				killed += kill_if_holds(d->name, env);
			off += d->reclen;
		}
	}
	close(fd);
	return killed;
}

/* Every fd but a and b (b may be -1): a guardian keeps nothing open that
 * someone waits on (a pipe to a CI log, a listener). */
static void close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo < 0)
		lo = hi, hi = -1;
	if (lo > 0)
		syscall(SYS_close_range, 0U, (unsigned)lo - 1, 0U);
	if (hi < 0) {
		syscall(SYS_close_range, (unsigned)lo + 1, ~0U, 0U);
		return;
	}
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0U);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0U);
}

/* Until the harness has finished dying: its pidfd polls readable only
 * after the kernel sent every child its parent-death signal, so no child
 * of ours can exec or fork any more, and a sweep then misses nothing.
 * Without a pidfd: until we are reparented, and a little longer. */
static void await_parent_exit(int parent_fd, pid_t parent)
{
	struct timespec tick = { 0, 1000000L };
	struct pollfd p = { .fd = parent_fd, .events = POLLIN };

	if (parent_fd >= 0) {
		poll(&p, 1, GUARD_PARENT_MS);
		return;
	}
	for (int i = 0; i < GUARD_PARENT_MS && getppid() == parent; i++)
		nanosleep(&tick, NULL);
	tick.tv_nsec = GUARD_PAUSE_NS;
	nanosleep(&tick, NULL);
}

static void guardian_main(int quit_r, pid_t parent, const char *env)
{
	struct timespec pause = { 0, GUARD_PAUSE_NS };
	int parent_fd = (int)syscall(SYS_pidfd_open, parent, 0);
	char byte = 0;
	ssize_t n;

	/* its own group: the terminal's ^C and group kills aimed at the
	 * harness leave it alone; it holds nothing of the harness open */
	setpgid(0, 0);
	close_all_but(quit_r, parent_fd);
	while ((n = read(quit_r, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n <= 0)   /* end of file without a word: the harness died */
		await_parent_exit(parent_fd, parent);
	for (int i = 0; i < GUARD_ROUNDS && sweep(env) > 0; i++)
		nanosleep(&pause, NULL);
	_exit(0);
}

int pc_sys_guardian_start(const char *env, int *quit_fd)
{
	pid_t parent = getpid(), pid;
	int fds[2];

	if (access("/proc/self/environ", R_OK) < 0)
		return -ENOSYS;
	/* a socket, not a pipe: the harness's word is sent with MSG_NOSIGNAL */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		guardian_main(fds[0], parent, env);
	}
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		return -errno;
	}
	*quit_fd = fds[1];
	return (int)pid;
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
	if (write_file("/proc/sys/net/ipv4/tcp_child_ehash_entries", "4096") != 0 ||
	    unshare(CLONE_NEWNET) < 0)
		return;
	/* A namespace's TIME_WAIT limit is half its table: 2048 here. Past
	 * it the kernel closes without TIME_WAIT, and a long run would see
	 * binds succeed that must fail. The limit is ours, not the host's. */
	write_file("/proc/sys/net/ipv4/tcp_max_tw_buckets", "1048576");
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
