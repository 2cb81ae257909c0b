/* chart_gnuplot.c -- renders the written charts with gnuplot: one process
 * per chart, all started at once (gnuplot is single-threaded and CI
 * machines have two cores or more), each run from charts/ so the scripts
 * name their files plainly. Outputs go to ".tmp-NAME.svg/png" and are
 * renamed into place only when gnuplot succeeded, so a failed or killed
 * render never leaves a half-written image under the final name. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chart_int.h"
#include "clock.h"

#define RENDER_TIMEOUT_MS 60000     /* for all charts together */
#define MAX_SVG_BYTES (8L << 20)    /* larger ones are linked, not inlined */

extern char **environ;

struct job {
	struct pc_chart *chart;
	pid_t pid;          /* 0: not started */
	int fd;             /* its stderr; -1 when closed */
	char errtext[160];  /* the start of what it said there */
	size_t errlen;
	bool timed_out;
	int status;
};

/* gnuplot on PATH (an empty entry is the current directory). */
static bool find_gnuplot(char *path, size_t len)
{
	const char *p = getenv("PATH");

	if (!p || !*p)
		p = "/usr/bin:/bin";
	for (;;) {
		const char *colon = strchr(p, ':');
		int n = colon ? (int)(colon - p) : (int)strlen(p);
		struct stat st;

		snprintf(path, len, "%.*s/gnuplot", n ? n : 1, n ? p : ".");
		if (access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return true;
		if (!colon)
			return false;
		p = colon + 1;
	}
}

/* gnuplot's -e commands: go to charts/ (a single-quoted gnuplot string
 * doubles its quotes) and write temp names. */
static void gp_commands(const char *dir, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "cd '");

	for (; *dir && n + 4 < len; dir++) {
		if (*dir == '\'')
			buf[n++] = '\'';
		buf[n++] = *dir;
	}
	snprintf(buf + n, len - n, "'; pc_tmp='.tmp-'");
}

static int cloexec_pipe(int p[2])
{
	if (pipe(p) < 0)
		return -errno;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(p[1], F_SETFD, FD_CLOEXEC) < 0) {
		int rc = -errno;

		close(p[0]);
		close(p[1]);
		return rc;
	}
	return 0;
}

/* stdin and stdout /dev/null, stderr into a pipe we read. */
static int spawn_one(const char *gnuplot, const char *commands, struct job *j)
{
	char arg0[] = "gnuplot", arg1[] = "-e", script[96];
	char *argv[] = { arg0, arg1, (char *)commands, script, NULL };
	posix_spawn_file_actions_t fa;
	int p[2], rc = cloexec_pipe(p);

	if (rc < 0)
		return rc;
	snprintf(script, sizeof(script), "%s.gp", j->chart->name);
	rc = posix_spawn_file_actions_init(&fa);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	if (!rc)
		rc = posix_spawn(&j->pid, gnuplot, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		close(p[0]);
		j->pid = 0;
		return -rc;
	}
	j->fd = p[0];
	return 0;
}

/* Read what a job wrote to stderr; close it at EOF. */
static void drain(struct job *j)
{
	char buf[512];
	ssize_t n = read(j->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(j->fd);
		j->fd = -1;
		return;
	}
	if (j->errlen + 1 < sizeof(j->errtext)) {
		size_t k = (size_t)n < sizeof(j->errtext) - 1 - j->errlen ?
			   (size_t)n : sizeof(j->errtext) - 1 - j->errlen;

		memcpy(j->errtext + j->errlen, buf, k);
		j->errlen += k;
		j->errtext[j->errlen] = '\0';
	}
}

/* Until every job closed its stderr (it exited) or the deadline passed. */
static void wait_output(struct job *jobs, int n, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd pfd[PC_CHART_COUNT];
		int idx[PC_CHART_COUNT], m = 0;
		int64_t left_ms = (deadline_ns - pc_now_ns()) / PC_NS_PER_MS;

		for (int i = 0; i < n; i++)
			if (jobs[i].fd >= 0) {
				pfd[m] = (struct pollfd){ .fd = jobs[i].fd, .events = POLLIN };
				idx[m++] = i;
			}
		if (!m || left_ms <= 0)
			return;
		if (poll(pfd, (nfds_t)m, (int)(left_ms > 1000 ? 1000 : left_ms)) < 0)
			continue;   /* EINTR: look at the deadline again */
		for (int k = 0; k < m; k++)
			if (pfd[k].revents)
				drain(&jobs[idx[k]]);
	}
}

/* Kill the ones past the deadline (ours: we spawned them) and reap all. */
static void reap(struct job *jobs, int n)
{
	for (int i = 0; i < n; i++) {
		if (!jobs[i].pid)
			continue;
		if (jobs[i].fd >= 0) {
			jobs[i].timed_out = true;
			kill(jobs[i].pid, SIGKILL);
			close(jobs[i].fd);
			jobs[i].fd = -1;
		}
		while (waitpid(jobs[i].pid, &jobs[i].status, 0) < 0 && errno == EINTR)
			;
	}
}

static char *slurp_svg(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	char *text = NULL;
	long size;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && size <= MAX_SVG_BYTES &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1))) {
		if (fread(text, 1, (size_t)size, f) == (size_t)size) {
			text[size] = '\0';
		} else {
			free(text);
			text = NULL;
		}
	}
	fclose(f);
	return text;
}

/* One line of gnuplot's complaint, for the note. */
static void first_line(const char *text, char *out, size_t len)
{
	while (*text == '\n' || *text == ' ')
		text++;
	snprintf(out, len, "%.*s", (int)strcspn(text, "\n"), text);
}

/* Rename a finished job's outputs into place, or say why it failed. */
static void finish(const char *dir, struct job *j)
{
	static const char *const ext[] = { "svg", "png" };
	struct pc_chart *c = j->chart;
	char tmp[2][1200], path[2][1200], line[120];
	struct stat st;
	bool ok = !j->timed_out && WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0;

	for (int k = 0; k < 2; k++) {
		snprintf(tmp[k], sizeof(tmp[k]), "%s/.tmp-%s.%s", dir, c->name, ext[k]);
		snprintf(path[k], sizeof(path[k]), "%s/%s.%s", dir, c->name, ext[k]);
		ok = ok && stat(tmp[k], &st) == 0 && st.st_size > 0;
	}
	for (int k = 0; k < 2; k++) {
		if (ok && rename(tmp[k], path[k]) < 0)
			ok = false;
		unlink(tmp[k]);   /* a leftover after a failure, or nothing */
	}
	c->rendered = ok;
	if (ok) {
		c->svg = slurp_svg(path[0]);
		return;
	}
	first_line(j->errtext, line, sizeof(line));
	snprintf(c->note, sizeof(c->note), "gnuplot %s%s%s", j->timed_out ? "timed out" :
		 "failed", line[0] ? ": " : "", line);
}

void pc_chart__render(struct pc_chart_set *set)
{
	struct job jobs[PC_CHART_COUNT];
	char gnuplot[1024], commands[1400];
	int64_t t0 = pc_now_ns();
	int n = 0;

	set->gnuplot = find_gnuplot(gnuplot, sizeof(gnuplot));
	if (!set->gnuplot)
		return;
	gp_commands(set->dir, commands, sizeof(commands));
	for (int i = 0; i < PC_CHART_COUNT; i++) {
		struct job *j = &jobs[n];

		if (!set->charts[i].written)
			continue;
		*j = (struct job){ .chart = &set->charts[i], .fd = -1 };
		if (spawn_one(gnuplot, commands, j) < 0)
			snprintf(j->chart->note, sizeof(j->chart->note), "cannot start %.200s", gnuplot);
		n++;
	}
	wait_output(jobs, n, t0 + RENDER_TIMEOUT_MS * PC_NS_PER_MS);
	reap(jobs, n);
	for (int i = 0; i < n; i++)
		if (jobs[i].pid)
			finish(set->dir, &jobs[i]);
	for (int i = 0; i < PC_CHART_COUNT; i++)
		set->nrendered += set->charts[i].rendered;
	set->render_ns = pc_now_ns() - t0;
}
