/* supervisor.c -- see supervisor.h. Portable POSIX; what only some
 * platforms have (pidfd, subreaper, parent death signal, the guardian)
 * comes from sys.h and each has a fallback: waitpid with back-off, the
 * lifeline pipe. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errname.h"
#include "sys.h"

#define MAX_GROUPS 64
#define LISTEN_FD 3     /* a handed-over listener (systemd's SD_LISTEN_FDS_START) */
#define READY_FD 4      /* where a fixture finds the ready pipe */
#define LIFELINE_FD 5   /* EOF here: the harness is gone, exit */
#define PROBE_FD 6      /* the preload probe writes its events here */
#define PID_DIGITS 12
#define REAP_BOUND_MS 5000
#define GUARDIAN_EXIT_MS 2000   /* its last sweep finds nothing: quick */

struct pc_sup {
	char fixture[PATH_MAX];
	int log_fd;
	int lifeline_r, lifeline_w;   /* kept above fd 9, see spawn_child() */
	pid_t self;
	bool subreaper;
	bool pidfd;
	char mech[128];
	pid_t groups[MAX_GROUPS];     /* groups that may still have members */
	int ngroups;
	/* in every generation's environment: how the guardian knows what we
	 * spawned (and what that spawned) once we are gone */
	char run_env[64];
	pid_t guardian;               /* 0 = none */
	int guardian_fd;              /* a byte, then close: a normal end */
};

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	nanosleep(&ts, NULL);
}

static int cloexec(int fd)
{
	return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -errno : 0;
}

static int pipe_cloexec(int fds[2])
{
	if (pipe(fds) < 0)
		return -errno;
	if (cloexec(fds[0]) < 0 || cloexec(fds[1]) < 0) {
		int rc = -errno;

		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	return 0;
}

/* Move fd to >= 10 so the dup2() calls to 3 and 4 in a child cannot clobber it. */
static int move_high(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);

	if (high < 0)
		return -errno;
	close(fd);
	return high;
}

int pc_sup_listen(const struct sockaddr *addr, socklen_t len, const struct pc_optset *o)
{
	int fd = socket(addr->sa_family, SOCK_STREAM, 0);
	int rc;

	if (fd < 0)
		return -errno;
	rc = pc_optset_apply(o, fd);
	if (!rc && bind(fd, addr, len) < 0)
		rc = -errno;
	if (!rc && listen(fd, o->backlog ? o->backlog : 128) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	return move_high(fd);   /* above 9, and close-on-exec */
}

int pc_sup_new(const char *fixture, int log_fd, struct pc_sup **out)
{
	struct pc_sup *s = calloc(1, sizeof(*s));
	int fds[2], rc;

	if (!s)
		return -ENOMEM;
	if (access(fixture, X_OK) < 0) {
		rc = -errno;
		goto error;
	}
	snprintf(s->fixture, sizeof(s->fixture), "%s", fixture);
	rc = pipe_cloexec(fds);
	if (rc)
		goto error;
	s->lifeline_r = move_high(fds[0]);
	s->lifeline_w = move_high(fds[1]);
	s->log_fd = log_fd;
	s->self = getpid();
	s->subreaper = pc_sys_become_subreaper() == 0;
	rc = pc_sys_pidfd_open(s->self);
	s->pidfd = rc >= 0;
	if (rc >= 0)
		close(rc);
	snprintf(s->run_env, sizeof(s->run_env), "PORTCHURN_RUN_%ld_%lld=1", (long)s->self,
		 (long long)pc_now_ns());
	rc = pc_sys_guardian_start(s->run_env, &s->guardian_fd);
	s->guardian = rc > 0 ? (pid_t)rc : 0;
	snprintf(s->mech, sizeof(s->mech), "process groups, lifeline pipe%s%s%s",
		 s->subreaper ? ", subreaper" : "", s->pidfd ? ", pidfd" : ", waitpid",
		 s->guardian ? ", guardian" : "");
	*out = s;
	return 0;
error:
	free(s);
	return rc;
}

const char *pc_sup_mechanisms(const struct pc_sup *s)
{
	return s->mech;
}

static void track_group(struct pc_sup *s, pid_t pgid)
{
	if (s->ngroups < MAX_GROUPS)
		s->groups[s->ngroups++] = pgid;
}

static void untrack_group(struct pc_sup *s, pid_t pgid)
{
	for (int i = 0; i < s->ngroups; i++) {
		if (s->groups[i] == pgid) {
			s->groups[i] = s->groups[--s->ngroups];
			return;
		}
	}
}

/* argv for one generation; strings live in bufs. */
static void build_argv(const struct pc_sup *s, const struct pc_gen_spec *sp, char *argv[32],
		       char bufs[4][24])
{
	int n = 0;

	snprintf(bufs[0], 24, "%d", sp->port);
	snprintf(bufs[1], 24, "%d", sp->bind_retry_ms);
	snprintf(bufs[2], 24, "%d", sp->bind_retry_interval_ms);
	argv[n++] = (char *)s->fixture;
	argv[n++] = "--addr";        argv[n++] = (char *)sp->addr;
	argv[n++] = "--port";        argv[n++] = bufs[0];
	argv[n++] = "--opts";        argv[n++] = (char *)sp->opts_text;
	argv[n++] = "--opts-at";     argv[n++] = (char *)pc_opts_at_name(sp->opts_at);
	argv[n++] = "--close-first";
	argv[n++] = sp->close_first == PC_CLOSE_SERVER ? "server" : "client";
	argv[n++] = "--ready-fd";    argv[n++] = "4";
	argv[n++] = "--lifeline-fd"; argv[n++] = "5";
	if (sp->bind_retry_ms) {
		argv[n++] = "--bind-retry-ms";          argv[n++] = bufs[1];
		argv[n++] = "--bind-retry-interval-ms"; argv[n++] = bufs[2];
	}
	if (sp->startup_delay_ms) {
		snprintf(bufs[3], 24, "%d", sp->startup_delay_ms);
		argv[n++] = "--startup-delay-ms";       argv[n++] = bufs[3];
	}
	if (sp->leak_child)
		argv[n++] = "--leak-child";
	argv[n] = NULL;
}

extern char **environ;

/* The environment for a generation: the harness's, plus our run_env entry,
 * LISTEN_FDS and a LISTEN_PID whose digits the child fills in (it learns
 * its pid only once it runs). Built before the spawn, freed after. */
static char **build_env(const struct pc_sup *s, const struct pc_gen_spec *spec,
			char *pid_entry, size_t len,
			char probe_env[3][PATH_MAX + 32])
{
	bool handoff = spec->listen_fd > 0;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + (size_t)spec->nenv + 7, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LISTEN_PID=", 11) && strncmp(environ[i], "LISTEN_FDS=", 11))
			env[k++] = environ[i];
	for (int i = 0; i < spec->nenv; i++)
		env[k++] = (char *)spec->env[i];
	env[k++] = (char *)s->run_env;
	if (spec->preload) {
		env[k++] = probe_env[0];
		env[k++] = probe_env[1];
		if (spec->inject)
			env[k++] = probe_env[2];
	}
	if (handoff) {
		snprintf(pid_entry, len, "LISTEN_PID=%0*d", PID_DIGITS, 0);
		env[k++] = pid_entry;
		env[k++] = "LISTEN_FDS=1";
	}
	return env;
}

/* Digits of our pid into the LISTEN_PID=000... entry; async-signal-safe. */
static void put_pid(char *pid_entry)
{
	long pid = (long)getpid();
	char *d = pid_entry + strlen("LISTEN_PID=") + PID_DIGITS;

	for (int i = 0; i < PID_DIGITS; i++, pid /= 10)
		*--d = (char)('0' + pid % 10);
}

/* fd onto target, clearing close-on-exec even when fd == target. */
static void dup_to(int fd, int target)
{
	if (fd == target ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, target) < 0)
		_exit(127);
}

/* sh -c "exec COMMAND": the command itself becomes the generation's main
 * process, so the signal reaches it and not a shell. */
static void build_command_argv(const struct pc_gen_spec *spec, char *argv[32], char *buf,
			       size_t len)
{
	snprintf(buf, len, "exec %s", spec->command);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = buf;
	argv[3] = NULL;
}

void pc_sup_read_output(struct pc_gen *g)
{
	char scratch[1024];

	while (g->out_fd >= 0) {
		size_t room = sizeof(g->output) - 1 - g->output_len;
		/* cppcheck-suppress legacyUninitvar ; scratch is where the rest is dropped */
		char *dst = room ? g->output + g->output_len : scratch;
		ssize_t n = read(g->out_fd, dst, room ? room : sizeof(scratch));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;   /* EAGAIN: nothing more for now */
		if (n == 0) {
			close(g->out_fd);
			g->out_fd = -1;
			return;
		}
		if (room)
			g->output_len += (size_t)n;
		else
			g->output_cut = true;
		g->output[g->output_len] = '\0';
	}
}

struct spawn_args {
	const struct pc_sup *s;
	const struct pc_gen_spec *spec;
	int ready_w, probe_w, devnull;
	char **argv, **env, *pid_entry;
};

/* In the child (pc_sys_spawn): only async-signal-safe calls, nothing
 * written outside its own stack but the LISTEN_PID digits (the harness may
 * have threads, and on Linux the child shares its memory). Standard fds
 * first: log_fd may sit on 3, 4 or 5. SIGPIPE, which portchurn ignores for
 * its own writes, goes back to the default a server started from a shell
 * has. */
static void spawn_child(void *p)
{
	const struct spawn_args *a = p;
	const struct pc_sup *s = a->s;
	const struct pc_gen_spec *spec = a->spec;
	int ready_w = a->ready_w, probe_w = a->probe_w, devnull = a->devnull;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigaction(SIGPIPE, &dfl, NULL);
	setpgid(0, 0);
	if (pc_sys_child_die_with_parent(s->self) == -ESRCH)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(devnull, 0);
	if (spec->command) {   /* ready_w is its output pipe */
		dup2(ready_w, 1);
		dup2(ready_w, 2);
		if (spec->cwd && chdir(spec->cwd) < 0)
			_exit(127);
	} else {
		dup2(devnull, 1);
		dup2(s->log_fd >= 0 ? s->log_fd : devnull, 2);
		dup_to(ready_w, READY_FD);
	}
	dup_to(s->lifeline_r, LIFELINE_FD);   /* above 9: nothing to clobber */
	if (spec->listen_fd > 0) {
		dup_to(spec->listen_fd, LISTEN_FD);
		put_pid(a->pid_entry);
	}
	if (probe_w >= 0)
		dup_to(probe_w, PROBE_FD);
	execve(a->argv[0], a->argv, a->env);
	_exit(127);
}

int pc_sup_spawn(struct pc_sup *s, const struct pc_gen_spec *spec, struct pc_gen *g)
{
	char *argv[32], bufs[4][24], pid_entry[32], cmdline[PC_COMMAND_MAX + 8];
	int probe_fds[2];
	char probe_env[3][PATH_MAX + 32];
	char **env;
	int fds[2] = { -1, -1 }, devnull = -1, rc;
	pid_t pid;

	memset(g, 0, sizeof(*g));
	g->pidfd = g->ready_fd = g->out_fd = g->probe_fd = -1;
	probe_fds[0] = probe_fds[1] = -1;
	if (spec->preload) {
		snprintf(probe_env[0], sizeof(probe_env[0]), "LD_PRELOAD=%s", spec->preload);
		snprintf(probe_env[1], sizeof(probe_env[1]), "PORTCHURN_PRELOAD_FD=%d", PROBE_FD);
		snprintf(probe_env[2], sizeof(probe_env[2]), "PORTCHURN_PRELOAD_INJECT=%s",
			 spec->inject ? spec->inject : "");
		rc = pipe_cloexec(probe_fds);
		if (rc < 0)
			return rc;
		/* above 9, like the lifeline: the child's dup2() onto 4, 5 and 6
		 * must not overwrite the very fd it is about to copy */
		probe_fds[0] = move_high(probe_fds[0]);
		probe_fds[1] = move_high(probe_fds[1]);
		/* never let a full pipe stall the server: the probe counts drops */
		fcntl(probe_fds[1], F_SETFL, O_NONBLOCK);
		fcntl(probe_fds[0], F_SETFL, O_NONBLOCK);
	}
	env = build_env(s, spec, pid_entry, sizeof(pid_entry), probe_env);
	if (!env) {
		rc = -ENOMEM;
		goto out;
	}
	if (spec->command)
		build_command_argv(spec, argv, cmdline, sizeof(cmdline));
	else
		build_argv(s, spec, argv, bufs);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	rc = devnull < 0 ? -errno : pipe_cloexec(fds);
	if (rc)
		goto out;
	g->spawn_ns = pc_now_ns();
	pid = pc_sys_spawn(spawn_child, &(struct spawn_args){ s, spec, fds[1], probe_fds[1], devnull,
							      argv, env, pid_entry });
	rc = pid < 0 ? (int)pid : 0;
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		goto out;
	}
	setpgid(pid, pid);   /* also in the child: whichever runs first */
	g->pid = pid;
	if (spec->command) {
		g->out_fd = fds[0];
		fcntl(g->out_fd, F_SETFL, O_NONBLOCK);
	} else {
		g->ready_fd = fds[0];
	}
	g->probe_fd = probe_fds[0];
	probe_fds[0] = -1;
	g->pidfd = s->pidfd ? pc_sys_pidfd_open(pid) : -1;
	if (g->pidfd < 0)
		g->pidfd = -1;
	track_group(s, pid);
out:
	if (devnull >= 0)
		close(devnull);
	for (int i = 0; i < 2; i++)
		if (probe_fds[i] >= 0)
			close(probe_fds[i]);
	free(env);
	return rc;
}

static int64_t field_i64(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* errno name, "0", or "-" (not reached, returned as -1). */
static int field_err(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	char name[32];
	size_t n;

	if (!p)
		return -1;
	p += strlen(key);
	n = strcspn(p, " \n");
	if (n >= sizeof(name) || (n == 1 && *p == '-'))
		return -1;
	memcpy(name, p, n);
	name[n] = '\0';
	return pc_errno_parse(name);
}

static int parse_ready(const char *line, struct pc_gen *g)
{
	if (strncmp(line, "pc-fixture ", 11) || !strstr(line, " bind="))
		return -EPROTO;
	g->port = (int)field_i64(line, " port=");
	g->bind_errno = field_err(line, " bind=");
	g->listen_errno = field_err(line, " listen=");
	g->opts_errno = field_err(line, " opts=");
	g->attempts = (int)field_i64(line, " attempts=");
	g->blocked_ns = field_i64(line, " blocked_ns=");
	g->start_ns = field_i64(line, " start_ns=");
	g->bind_ns = field_i64(line, " bind_ns=");
	g->listen_ns = field_i64(line, " listen_ns=");
	g->leak_pid = (pid_t)field_i64(line, " leak_pid=");
	g->ready = true;
	return 0;
}

int pc_sup_wait_ready(struct pc_sup *s, struct pc_gen *g, int timeout_ms,
		      const volatile sig_atomic_t *stop)
{
	int64_t deadline = pc_now_ns() + (int64_t)timeout_ms * PC_NS_PER_MS;
	char line[512];
	size_t len = 0;
	int rc = -ETIMEDOUT;

	(void)s;
	while (len < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = g->ready_fd, .events = POLLIN };
		int64_t left_ms = (deadline - pc_now_ns()) / PC_NS_PER_MS;
		ssize_t n;

		if (stop && *stop) {
			rc = -EINTR;
			break;
		}
		if (left_ms <= 0)
			break;
		if (poll(&pfd, 1, left_ms > 100 ? 100 : (int)left_ms) <= 0)
			continue;
		n = read(g->ready_fd, line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -EPIPE;
			break;
		}
		len += (size_t)n;
		line[len] = '\0';
		if (strchr(line, '\n')) {
			rc = parse_ready(line, g);
			break;
		}
	}
	if (len == sizeof(line) - 1)
		rc = -EPROTO;
	close(g->ready_fd);
	g->ready_fd = -1;
	return rc;
}

int pc_sup_signal(struct pc_gen *g, int sig)
{
	if (!g->pid || g->reaped)
		return -ESRCH;
	return kill(g->pid, sig) < 0 ? -errno : 0;
}

static void set_exit(struct pc_gen *g, int status)
{
	g->reaped = true;
	g->reaped_ns = pc_now_ns();
	g->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
	if (g->pidfd >= 0)
		close(g->pidfd);
	g->pidfd = -1;
}

static int try_reap(struct pc_gen *g)
{
	int status;
	pid_t r = waitpid(g->pid, &status, WNOHANG);

	if (r == g->pid) {
		set_exit(g, status);
		return 0;
	}
	return r < 0 && errno != EINTR ? -errno : -EAGAIN;
}

int pc_sup_wait_exit(struct pc_gen *g, int timeout_ms)
{
	int64_t deadline = pc_now_ns() + (int64_t)timeout_ms * PC_NS_PER_MS;
	long backoff_ns = 20000;

	if (!g->pid || g->reaped)
		return 0;
	for (;;) {
		int rc = try_reap(g);
		int64_t left_ms = (deadline - pc_now_ns()) / PC_NS_PER_MS;

		if (rc != -EAGAIN)
			return rc;
		if (left_ms <= 0)
			return -ETIMEDOUT;
		if (g->pidfd >= 0) {
			struct pollfd pfd = { .fd = g->pidfd, .events = POLLIN };

			poll(&pfd, 1, left_ms > 100 ? 100 : (int)left_ms);
		} else {
			sleep_ns(backoff_ns);
			backoff_ns = backoff_ns < 1000000 ? backoff_ns * 2 : backoff_ns;
		}
	}
}

bool pc_sup_leak_alive(const struct pc_gen *g)
{
	siginfo_t si = { 0 };

	/* A command's leaked workers are unknown by pid: any child of ours
	 * still running in the generation's group counts. */
	if (!g->leak_pid)
		return g->pid && waitid(P_PGID, (id_t)g->pid, &si,
					WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
	if (waitid(P_PID, (id_t)g->leak_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		return si.si_pid == 0;     /* our child (subreaper), not exited yet */
	return kill(g->leak_pid, 0) == 0;
}

/* True while a child of ours (alive or zombie) is in the group: only then
 * is the group id certainly still the one we created. */
static bool group_is_ours(pid_t pgid)
{
	siginfo_t si;

	return waitid(P_PGID, (id_t)pgid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

int pc_sup_kill_group(struct pc_sup *s, struct pc_gen *g, int *reaped)
{
	int64_t deadline = pc_now_ns() + REAP_BOUND_MS * PC_NS_PER_MS;
	pid_t pgid = g->pid;
	int n = 0, status;

	if (!pgid)
		return 0;
	if (g->ready_fd >= 0)
		close(g->ready_fd);
	if (g->out_fd >= 0)
		close(g->out_fd);
	if (g->probe_fd >= 0)
		close(g->probe_fd);
	g->ready_fd = g->out_fd = g->probe_fd = -1;
	while (group_is_ours(pgid) && pc_now_ns() < deadline) {
		pid_t r;

		kill(-pgid, SIGKILL);
		r = waitpid(-pgid, &status, WNOHANG);
		if (r == g->pid)
			set_exit(g, status);
		else if (r > 0)
			n++;
		else if (r == 0)
			sleep_ns(50000);
	}
	/* Without a subreaper a leaked child belongs to init, not to us. */
	if (!s->subreaper && pc_sup_leak_alive(g) && getpgid(g->leak_pid) == pgid &&
	    kill(g->leak_pid, SIGKILL) == 0)
		n++;
	untrack_group(s, pgid);
	if (reaped)
		*reaped = n;
	return group_is_ours(pgid) ? -ETIMEDOUT : 0;
}

bool pc_sup_kill_escapee(pid_t pid)
{
	siginfo_t si = { 0 };
	int status;

	if (pid <= 0 || waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;   /* not our child: never touched */
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid;
}

int pc_sup_stop(struct pc_sup *s, struct pc_gen *g, int sig, int timeout_ms, bool *escalated)
{
	bool esc = false;

	if (g->pid && !g->reaped && pc_sup_signal(g, sig) == 0 &&
	    pc_sup_wait_exit(g, timeout_ms) == -ETIMEDOUT)
		esc = true;
	if (escalated)
		*escalated = esc;
	return pc_sup_kill_group(s, g, NULL);
}

/* A normal end: the guardian sweeps once (an escapee that left its group)
 * and exits; reaped within a bound, else left to finish alone. */
static void stop_guardian(struct pc_sup *s)
{
	int64_t deadline = pc_now_ns() + GUARDIAN_EXIT_MS * PC_NS_PER_MS;
	int status;

	if (!s->guardian)
		return;
	/* a word, then the end: a normal stop (one that someone killed
	 * refuses the word, and is reaped all the same) */
	send(s->guardian_fd, "q", 1, MSG_NOSIGNAL);
	close(s->guardian_fd);
	while (waitpid(s->guardian, &status, WNOHANG) == 0 && pc_now_ns() < deadline)
		sleep_ns(200000);
}

void pc_sup_free(struct pc_sup *s)
{
	if (!s)
		return;
	while (s->ngroups) {
		struct pc_gen g = { .pid = s->groups[0], .pidfd = -1, .ready_fd = -1 };

		pc_sup_kill_group(s, &g, NULL);
	}
	close(s->lifeline_r);
	close(s->lifeline_w);
	stop_guardian(s);
	free(s);
}
