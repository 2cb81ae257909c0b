/* caps.h -- what this build and machine can do, asked of the library
 * itself, so that a test needing a capability skips, and says which,
 * where it is missing: the POSIX-only build has no subreaper, no guardian
 * and no network namespace, and its socket census comes from netstat and
 * lsof. The questions run in a child process: the answers have effects
 * (a subreaper, a namespace) that must not reach the test. */
#ifndef PC_CAPS_H
#define PC_CAPS_H

#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockstate.h"
#include "supervisor.h"
#include "sys.h"

/* Does the supervisor get this mechanism here ("subreaper", "guardian",
 * "pidfd")? */
static inline bool caps_supervisor_has(const char *mechanism)
{
	char buf[256] = "";
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		struct pc_sup *s;

		close(fds[0]);
		if (pc_sup_new("/bin/sh", -1, &s) == 0) {
			if (write(fds[1], pc_sup_mechanisms(s), strlen(pc_sup_mechanisms(s))) < 0)
				_exit(1);
			pc_sup_free(s);
		}
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return strstr(buf, mechanism) != NULL;
}

/* Can a private network namespace be made here (what --netns on needs)? */
static inline bool caps_netns(void)
{
	pid_t pid = fork();
	int status = 1;

	if (pid == 0) {
		char why[200];

		_exit(pc_sys_enter_private_netns(why, sizeof(why)) == 0 ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Is the socket census the kernel's own (netlink), with TIME_WAIT expiry
 * and socket inodes, or another backend's? */
static inline bool caps_netlink_census(void)
{
	return !strcmp(pc_sockstate_backend(), "netlink");
}

#endif
