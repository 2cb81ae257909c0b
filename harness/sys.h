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

/* Make orphaned descendants (a fixture's leaked child) children of the
 * harness, so it can reap them and knows they are its own. */
int pc_sys_become_subreaper(void);

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
