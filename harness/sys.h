/* sys.h -- the few platform-specific calls the harness needs, behind one
 * small interface: sys_linux.c (prctl, pidfd, namespaces) and sys_posix.c
 * (what any POSIX system can do, used on other platforms and by the
 * PORTCHURN_POSIX_ONLY build). Functions return 0 or -errno. */
#ifndef PC_SYS_H
#define PC_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The platform word of [expect PLATFORM] sections: "linux", "darwin", ... */
const char *pc_sys_os_word(void);

/* In a freshly forked child, before exec: die with the harness (parent
 * death signal). parent is the harness's pid, to close the race where it
 * died before the call. -ENOSYS where there is no such mechanism. */
int pc_sys_child_die_with_parent(pid_t parent);

/* Start a child that runs fn(arg), which must end in execve() or _exit()
 * and call only async-signal-safe functions. The child starts with every
 * signal blocked and sets the mask it wants itself; the caller's mask is
 * back as it was when this returns. On Linux the child shares the caller's
 * memory and the calling thread waits until the child has exec'd or exited
 * (clone with CLONE_VM | CLONE_VFORK, as posix_spawn does), so no page
 * tables are copied inside the restart window that fork() would pay for;
 * there, fn must not write to memory another thread uses, and the child's
 * caught signals are back at their defaults before fn runs. Elsewhere,
 * and in ASan/TSan builds (their runtimes are not safe in such a child),
 * fork(). Returns the child's pid or -errno. */
pid_t pc_sys_spawn(void (*fn)(void *arg), void *arg);

/* Make orphaned descendants (a fixture's leaked child) children of the
 * harness, so it can reap them and knows they are its own. */
int pc_sys_become_subreaper(void);

/* Start the guardian: a process that outlives the harness. When *quit_fd
 * (close-on-exec, the harness keeps it) reports end of file without a
 * word first, the harness is gone however it died, SIGKILL included: the
 * guardian waits until the kernel has finished that exit, then SIGKILLs
 * every process whose environment holds the entry env ("NAME=value", put
 * only into what the harness spawned) until none is left, and exits. A
 * byte sent on *quit_fd first (a normal end; a socket: send it with
 * MSG_NOSIGNAL) asks for one sweep and exit. It reaches what the other
 * layers cannot: what command fixtures forked, which has no lifeline and
 * no parent-death signal. Each process is pinned (pidfd) before it is
 * checked again and signalled, so a reused pid is never hit. Returns the
 * guardian's pid, or -errno (-ENOSYS where processes cannot be found by
 * their environment). */
int pc_sys_guardian_start(const char *env, int *quit_fd);

/* A file descriptor that polls readable when pid exits (pidfd), or -ENOSYS. */
int pc_sys_pidfd_open(pid_t pid);

/* Move the calling process (before it starts any thread or child) into a
 * private network namespace with loopback up. On failure returns -errno and
 * says why in 'why'. */
int pc_sys_enter_private_netns(char *why, size_t len);

/* net.ipv4.tcp_migrate_req of the calling process's network namespace:
 * set it to 'on' (0 or 1) when set is true, then return its value (0, 1)
 * or -errno. Callers set it only in a namespace they created. */
int pc_sys_tcp_migrate_req(bool set, int on);

#endif
