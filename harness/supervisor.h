/* supervisor.h -- fixture generations: spawn (fork/exec into a process
 * group of its own, dying with the harness), readiness from the ready fd,
 * signal, reap (pidfd where the platform has one), escalate, and clean up a
 * generation's whole group. It signals only processes it spawned: a group is
 * signalled only while one of its members is a child the harness has not
 * reaped, so the group id cannot have been reused.
 * One pc_sup per harness; not thread-safe. */
#ifndef PC_SUPERVISOR_H
#define PC_SUPERVISOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "optset.h"
#include "scenario.h"

struct pc_sup;

struct pc_gen_spec {
	const char *addr;
	int port;
	const char *opts_text;        /* canonical option set */
	enum pc_opts_at opts_at;
	enum pc_close_first close_first;
	int bind_retry_ms, bind_retry_interval_ms;
	int startup_delay_ms;
	bool leak_child;
	int listen_fd;                /* > 0: hand this listener over (LISTEN_FDS) */
	/* Any server instead of pc-fixture: run with /bin/sh -c "exec ...", in
	 * cwd, with env (NAME=value) added; its stdout and stderr are kept. */
	const char *command;
	const char *cwd;
	const char *const *env;
	int nenv;
	/* The preload probe (libportchurn-preload.so) in a command: its path,
	 * and an option set to inject before bind() (NULL: none). The
	 * generation's events arrive on g->probe_fd. */
	const char *preload;
	const char *inject;
};

#define PC_GEN_OUTPUT_MAX 4096

/* One fixture generation. Filled by spawn and wait_ready; plain data. */
struct pc_gen {
	pid_t pid;                    /* 0 = none */
	int pidfd;                    /* -1 without pidfd */
	int ready_fd;                 /* read end until the line is read */
	int64_t spawn_ns;
	/* from the ready line */
	bool ready;                   /* a line was read */
	int port, attempts;
	int bind_errno, listen_errno, opts_errno;   /* 0, errno, or -1: not reached */
	int64_t start_ns, bind_ns, listen_ns, blocked_ns;
	pid_t leak_pid;
	/* a command's stdout+stderr: the first PC_GEN_OUTPUT_MAX - 1 bytes */
	int out_fd;                   /* read end, -1 when none or closed */
	int probe_fd;                 /* the preload probe's event pipe, read end, or -1 */
	char output[PC_GEN_OUTPUT_MAX];
	size_t output_len;
	bool output_cut;              /* there was more */
	/* after exit */
	bool reaped;
	int exit_code;                /* >= 0 exit status, < 0 -signal */
	int64_t reaped_ns;
};

/* fixture: path of pc-fixture; log_fd: where fixtures' stderr goes (-1 =
 * /dev/null). Sets up the lifeline pipe and, where possible, the subreaper
 * and the guardian (sys.h), which SIGKILLs what is left of our generations
 * and their descendants once the harness is gone, however it died. */
int pc_sup_new(const char *fixture, int log_fd, struct pc_sup **out);
/* Kills and reaps every group still alive, lets the guardian sweep once
 * and exit, then frees. */
void pc_sup_free(struct pc_sup *s);
/* "pidfd+subreaper+pdeathsig" or what fell back; for reports. */
const char *pc_sup_mechanisms(const struct pc_sup *s);

int pc_sup_spawn(struct pc_sup *s, const struct pc_gen_spec *spec, struct pc_gen *g);
/* A listening socket the harness keeps and hands to each generation
 * (strategy handoff): bound with o applied first, close-on-exec. fd or -errno. */
int pc_sup_listen(const struct sockaddr *addr, socklen_t len, const struct pc_optset *o);
/* Reads the ready line. 0, -ETIMEDOUT, -EPIPE (exited without a line),
 * -EPROTO (unreadable line), -EINTR (*stop became true). */
int pc_sup_wait_ready(struct pc_sup *s, struct pc_gen *g, int timeout_ms,
		      const volatile sig_atomic_t *stop);
/* Read whatever a command wrote so far (non-blocking); closes at EOF. */
void pc_sup_read_output(struct pc_gen *g);
/* Signal the generation's main process (not its group). */
int pc_sup_signal(struct pc_gen *g, int sig);
/* Wait for the main process to exit and reap it: 0 or -ETIMEDOUT. */
int pc_sup_wait_exit(struct pc_gen *g, int timeout_ms);
/* Is the leaked child of g still alive (pc-fixture --leak-child), or, for
 * a command, any process still running in its group? */
bool pc_sup_leak_alive(const struct pc_gen *g);
/* SIGKILL whatever of g's group is left (main and leaked children), reap
 * it all (bounded); *reaped counts the processes other than the main one. */
int pc_sup_kill_group(struct pc_sup *s, struct pc_gen *g, int *reaped);
/* A process that left its generation's group (setsid, double fork) but is
 * still a child of the harness (it was reparented to us, the subreaper):
 * SIGKILL and reap it. Anything that is not our child is left alone.
 * Returns whether it was ours. */
bool pc_sup_kill_escapee(pid_t pid);
/* signal, wait up to timeout_ms, then the group with SIGKILL; *escalated
 * says whether the signal alone was not enough. */
int pc_sup_stop(struct pc_sup *s, struct pc_gen *g, int sig, int timeout_ms, bool *escalated);

#endif
