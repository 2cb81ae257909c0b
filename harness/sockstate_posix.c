/* sockstate_posix.c -- sockstate.h without the Linux backend: the census
 * from `netstat -an` and the holders from `lsof`, where those are
 * installed (macOS has both). Where one is missing its answer is
 * unavailable (-ENOSYS), never guessed. Each call runs the tool once with
 * posix_spawnp (thread-safe) in the C locale, and reads its output line by
 * line (sockstate_text.c makes sense of the lines). */
#include "sockstate.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockstate_text.h"

#define LINE_MAX_BYTES 1024

extern char **environ;

typedef void (*line_fn)(const char *line, void *user);

/* The environment of the tool: ours, with LC_ALL=C first (getenv finds
 * the first), so state names and headers are never translated. */
static char **c_locale_env(void)
{
	size_t n = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	env[0] = "LC_ALL=C";
	memcpy(env + 1, environ, n * sizeof(*env));
	return env;
}

/* stdout to the pipe, stdin and stderr to /dev/null. */
static int spawn_tool(char *const argv[], int out_w, int out_r, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	char **env = c_locale_env();
	int rc = env ? posix_spawn_file_actions_init(&fa) : ENOMEM;

	if (rc) {
		free(env);
		return -rc;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_addclose(&fa, out_r);
	rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	return -rc;
}

/* Hands every line of fd (cut at LINE_MAX_BYTES) to fn, until EOF. */
static void read_lines(int fd, line_fn fn, void *user)
{
	char buf[4096], line[LINE_MAX_BYTES];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			fn(line, user);
			len = 0;
		}
	}
}

/* Runs argv, feeding its output to fn: 0, or -ENOSYS when the tool is
 * not installed (or could not run), -errno on other failures. *status
 * gets its exit status. */
static int run_tool(char *const argv[], line_fn fn, void *user, int *status)
{
	int fds[2], rc, wst = 0;
	pid_t pid = -1;   /* set by posix_spawnp */

	if (pipe(fds) < 0)
		return -errno;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);   /* dup2 onto 1 clears it in the child */
	rc = spawn_tool(argv, fds[1], fds[0], &pid);
	close(fds[1]);
	if (rc == 0)
		read_lines(fds[0], fn, user);
	close(fds[0]);
	if (rc)
		return rc == -ENOENT ? -ENOSYS : rc;
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(wst) || WEXITSTATUS(wst) == 127)
		return -ENOSYS;   /* killed, or exec failed inside the child */
	*status = WEXITSTATUS(wst);
	return 0;
}

struct census_ctx {
	int port;
	struct pc_census c;
};

static void census_line(const char *line, void *user)
{
	struct census_ctx *x = user;

	pc_netstat_count_line(line, x->port, &x->c);
}

int pc_sockstate_census(int port, struct pc_census *out)
{
	char *argv[] = { "netstat", "-an", NULL };
	struct census_ctx x = { .port = port };
	int rc, status = 0;

	if (port < 1 || port > 65535)
		return -EINVAL;
	rc = run_tool(argv, census_line, &x, &status);
	if (rc)
		return rc;
	if (status)
		return -EIO;
	x.c.known = true;
	x.c.tw_expires_min_ms = x.c.tw_expires_max_ms = -1;   /* netstat does not say */
	*out = x.c;
	return 0;
}

struct lsof_ctx {
	struct pc_lsof_state st;
	struct pc_holder *out;
	int max, n;
};

static void lsof_line(const char *line, void *user)
{
	struct lsof_ctx *x = user;

	pc_lsof_line(&x->st, line, x->out, x->max, &x->n);
}

static int by_pid(const void *a, const void *b)
{
	const struct pc_holder *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A parent that is gone makes an orphan too (lsof gave its pid). */
static void mark_orphans(struct pc_holder *h, int n)
{
	for (int i = 0; i < n; i++)
		if (h[i].ppid > 1 && kill(h[i].ppid, 0) < 0 && errno == ESRCH)
			h[i].orphan = true;
}

int pc_sockstate_listeners(int port, struct pc_holder *out, int max, int *n, bool *incomplete)
{
	char sel[32];
	char *argv[] = { "lsof", "-nP", sel, "-sTCP:LISTEN", "-FpcRf", NULL };
	struct lsof_ctx x = { .out = out, .max = max };
	int rc, status = 0;

	if (port < 1 || port > 65535 || max < 0 || (max > 0 && !out) || !n || !incomplete)
		return -EINVAL;
	snprintf(sel, sizeof(sel), "-iTCP:%d", port);
	rc = run_tool(argv, lsof_line, &x, &status);
	if (rc)
		return rc;
	if (status > 1)   /* 1: nothing found */
		return -EIO;
	qsort(out, (size_t)(x.n < max ? x.n : max), sizeof(*out), by_pid);
	mark_orphans(out, x.n < max ? x.n : max);
	*n = x.n;
	/* without root, lsof sees only our own processes' descriptors */
	*incomplete = geteuid() != 0;
	return 0;
}

const char *pc_sockstate_backend(void)
{
	return "netstat+lsof";
}
