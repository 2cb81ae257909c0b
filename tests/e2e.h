/* e2e.h -- helpers for end-to-end tests that run the real portchurn binary
 * (path in $PORTCHURN) on real sockets. Every process a test starts carries
 * a unique PC_TEST_TAG in its environment, which its fixtures inherit, so
 * a test can prove that nothing it started is still alive. */
#ifndef PC_E2E_H
#define PC_E2E_H

#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct e2e {
	char dir[128];     /* temp dir: scenario files, out/, stdout, stderr */
	char tag[64];
	pid_t pid;
	int status;        /* exit code, or 128 + signal */
};

static inline void e2e_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline const char *e2e_bin(void)
{
	const char *p = getenv("PORTCHURN");

	if (!p)
		cr_skip_test("PORTCHURN is not set (run through ctest)");
	return p;
}

static inline void e2e_init(struct e2e *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/pc-e2e-XXXXXX");
	cr_assert(mkdtemp(t->dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(t->tag, sizeof(t->tag), "pc-e2e-%d-%ld", (int)getpid(), (long)time(NULL));
}

static inline void e2e_write(const struct e2e *t, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	f = fopen(path, "w");
	cr_assert(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* Starts portchurn with argv (NULL-terminated, without the program name);
 * "@" in an argument is replaced by the temp dir. */
static inline void e2e_start(struct e2e *t, const char *const args[])
{
	char *argv[32], bufs[32][256], path[256];
	int n = 0;

	argv[n++] = (char *)e2e_bin();
	for (; args[n - 1] && n < 31; n++) {
		const char *at = strchr(args[n - 1], '@');

		if (at)
			snprintf(bufs[n], sizeof(bufs[n]), "%.*s%s%s", (int)(at - args[n - 1]),
				 args[n - 1], t->dir, at + 1);
		else
			snprintf(bufs[n], sizeof(bufs[n]), "%s", args[n - 1]);
		argv[n] = bufs[n];
	}
	argv[n] = NULL;
	t->pid = fork();
	cr_assert(t->pid >= 0, "fork");
	if (t->pid == 0) {
		setenv("PC_TEST_TAG", t->tag, 1);
		snprintf(path, sizeof(path), "%s/stdout", t->dir);
		dup2(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
		snprintf(path, sizeof(path), "%s/stderr", t->dir);
		dup2(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
		execv(argv[0], argv);
		_exit(127);
	}
}

/* Waits up to timeout_ms; on timeout kills portchurn and fails. */
static inline int e2e_wait(struct e2e *t, int timeout_ms)
{
	int status;

	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return t->status;
		}
		e2e_sleep_ms(5);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	cr_assert_fail("portchurn did not finish within %d ms", timeout_ms);
	return -1;
}

static inline int e2e_run(struct e2e *t, const char *const args[], int timeout_ms)
{
	e2e_start(t, args);
	return e2e_wait(t, timeout_ms);
}

/* The contents of a file in the temp dir (static buffer). */
static inline const char *e2e_read(const struct e2e *t, const char *name)
{
	static char buf[1 << 16];
	char path[256];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static inline json_t *e2e_json(const struct e2e *t, const char *name)
{
	char path[256];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	j = json_load_file(path, 0, &err);
	cr_assert(j != NULL, "%s: %s (line %d)", path, err.text, err.line);
	return j;
}

/* How many live processes carry this test's tag (zombies do not count). */
static inline int e2e_tagged_alive(const struct e2e *t)
{
	char path[300], env[1 << 14], stat[256];
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		FILE *f;
		size_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[len] = '\0';
		if (strrchr(stat, ')') && strrchr(stat, ')')[2] == 'Z')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(env, 1, sizeof(env) - 1, f);
		fclose(f);
		for (size_t i = 0; i + strlen(t->tag) < len; i++)
			if (!memcmp(env + i, t->tag, strlen(t->tag))) {
				n++;
				break;
			}
	}
	if (d)
		closedir(d);
	return n;
}

/* Nothing tagged survives: waits a bounded time for exits in flight. */
static inline void e2e_assert_no_leftovers(const struct e2e *t)
{
	int n = 0;

	for (int i = 0; i < 200 && (n = e2e_tagged_alive(t)) > 0; i++)
		e2e_sleep_ms(10);
	cr_assert(n == 0, "%d process(es) started by the test are still alive", n);
}

static inline json_t *e2e_case(json_t *results, int i)
{
	json_t *c = json_array_get(json_object_get(results, "cases"), (size_t)i);

	cr_assert(c != NULL, "results.json has no case %d", i);
	return c;
}

static inline long long e2e_int(json_t *obj, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	cr_assert(json_is_integer(json_object_get(obj, path)), "no integer at '%s'", path);
	return json_integer_value(json_object_get(obj, path));
}

#endif
