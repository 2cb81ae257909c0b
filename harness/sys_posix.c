/* sys_posix.c -- sys.h on platforms without the Linux extras: no parent
 * death signal, no subreaper, no pidfd, no network namespaces, no guardian
 * (it finds processes through /proc). Callers fall back (lifeline pipe,
 * waitpid) and reports say what was missing. */
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

const char *pc_sys_os_word(void)
{
#if defined(__APPLE__)
	return "darwin";
#elif defined(__FreeBSD__)
	return "freebsd";
#elif defined(__linux__)
	return "linux";
#else
	return "posix";
#endif
}

pid_t pc_sys_spawn(void (*fn)(void *arg), void *arg)
{
	sigset_t all, old;
	pid_t pid;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);   /* the harness has threads */
	pid = fork();
	if (pid == 0) {
		fn(arg);
		_exit(127);
	}
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid < 0 ? -err : pid;
}

int pc_sys_child_die_with_parent(pid_t parent)
{
	(void)parent;
	return -ENOSYS;
}

int pc_sys_become_subreaper(void)
{
	return -ENOSYS;
}

int pc_sys_pidfd_open(pid_t pid)
{
	(void)pid;
	return -ENOSYS;
}

int pc_sys_guardian_start(const char *env, int *quit_fd)
{
	(void)env, (void)quit_fd;
	return -ENOSYS;
}

int pc_sys_tcp_migrate_req(bool set, int on)
{
	(void)set, (void)on;
	return -ENOSYS;
}

int pc_sys_enter_private_netns(char *why, size_t len)
{
	snprintf(why, len, "network namespaces are not supported on this platform");
	return -ENOSYS;
}
