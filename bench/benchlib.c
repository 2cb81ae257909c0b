/* benchlib.c -- see benchlib.h. */
#define _GNU_SOURCE   /* wait4, nftw */
#include "benchlib.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "sys.h"

/* ---- samples ------------------------------------------------------------ */

void pc_bench_add(struct pc_bench_samples *s, int64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		int64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv) {
			fputs("bench: out of memory\n", stderr);
			exit(1);
		}
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

void pc_bench_clear(struct pc_bench_samples *s)
{
	s->n = 0;
}

void pc_bench_free(struct pc_bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int64_t pc_bench_pct(struct pc_bench_samples *s, double p)
{
	size_t rank;

	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
	rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);   /* nearest rank */
	return s->v[rank ? rank - 1 : 0];
}

struct pc_bench_spread pc_bench_spread_of(double *v, size_t n)
{
	struct pc_bench_spread s = { 0, 0, 0 };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_d);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* ---- machine, skipping, namespace, paths --------------------------------- */

static void read_loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "re");

	snprintf(buf, len, "?");
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

double pc_bench_load1(void)
{
	char buf[128];

	read_loadavg(buf, sizeof(buf));
	return strtod(buf, NULL);
}

void pc_bench_print_machine(const char *bench)
{
	struct utsname u;
	char load[128], *p = load;

	read_loadavg(load, sizeof(load));
	for (int spaces = 0; *p && spaces < 3; p++)   /* keep the three averages */
		spaces += *p == ' ';
	if (p > load && p[-1] == ' ')
		p[-1] = '\0';
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	printf("%s: machine: %ld cores, %s %s, load average %s\n", bench,
	       sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, load);
}

void pc_bench_skip(const char *bench, const char *why)
{
	printf("%s: skipped: %s\n", bench, why);
	exit(0);
}

void pc_bench_enter_netns(const char *bench)
{
	char why[256] = "", msg[300];

	if (pc_sys_enter_private_netns(why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "no private network namespace (%s)", why);
		pc_bench_skip(bench, msg);
	}
}

void pc_bench_sibling(const char *bench, const char *name, char *out, size_t len)
{
	const char *env = !strcmp(name, "pc-fixture") ? getenv("PC_FIXTURE") :
			  !strcmp(name, "portchurn") ? getenv("PORTCHURN") : NULL;
	char self[PATH_MAX], msg[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (env && *env) {
		snprintf(out, len, "%s", env);
	} else {
		self[n > 0 ? n : 0] = '\0';
		slash = strrchr(self, '/');
		snprintf(out, len, "%.*s/%s", slash ? (int)(slash - self) : 1,
			 slash ? self : ".", name);
	}
	if (access(out, X_OK) < 0) {
		snprintf(msg, sizeof(msg), "%s not found at %s (build it first)", name, out);
		pc_bench_skip(bench, msg);
	}
}

int pc_bench_tmpdir(char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, len, "%s/pc-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(out) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void pc_bench_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- one portchurn run ---------------------------------------------------- */

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int rc;

	if (!f)
		return -errno;
	rc = fputs(text, f) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && !rc)
		rc = -EIO;
	return rc;
}

/* fork, exec, wait4: wall time and the child's peak RSS. */
static int spawn_wait(char *const argv[], struct pc_bench_run *r)
{
	struct rusage ru;
	int64_t t0 = pc_now_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	r->wall_ns = pc_now_ns() - t0;
	r->maxrss_kb = ru.ru_maxrss;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return 0;
}

static int64_t rec_i64(json_t *rec, const char *key)
{
	return json_integer_value(json_object_get(rec, key));
}

static void add_records(json_t *kase, struct pc_bench_run *r)
{
	json_t *recs = json_object_get(kase, "records"), *rec;
	size_t i;

	json_array_foreach(recs, i, rec) {
		int64_t kill = rec_i64(rec, "kill_ns"), listen = rec_i64(rec, "listen_ns");
		int64_t ok = rec_i64(rec, "first_ok_ns");

		if (!kill || !listen || !ok)
			continue;   /* a cycle that did not come up: no latency */
		pc_bench_add(&r->restart, ok - kill);
		pc_bench_add(&r->ready, listen - kill);
		pc_bench_add(&r->probe, ok - listen);
	}
}

static int read_records(const char *path, struct pc_bench_run *r, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je), *kase;
	size_t i;

	if (!root) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	r->duration_ns = json_integer_value(json_object_get(root, "duration_ns"));
	json_array_foreach(json_object_get(root, "cases"), i, kase) {
		r->cycles += json_integer_value(json_object_get(kase, "cycles"));
		add_records(kase, r);
	}
	json_decref(root);
	return 0;
}

/* The run's duration and its (first) case's cycle count come before the
 * records: read them without loading a file of 100 MB. */
static int read_head(const char *path, struct pc_bench_run *r, char *err, size_t errlen)
{
	static char head[16384];
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(head, 1, sizeof(head) - 1, f) : 0;
	const char *d, *c;

	if (f)
		fclose(f);
	head[n] = '\0';
	d = strstr(head, "\"duration_ns\": ");
	c = strstr(head, "\"cycles\": ");
	if (!d || !c) {
		snprintf(err, errlen, "%s: no duration_ns or cycles in its head", path);
		return -1;
	}
	r->duration_ns = strtoll(d + 15, NULL, 10);
	r->cycles = strtoll(c + 10, NULL, 10);
	return 0;
}

/* Index of column name in a CSV header line, or -1. */
static int csv_column(const char *header, const char *name)
{
	size_t len = strlen(name);
	int col = 0;

	for (const char *p = header; *p; col++) {
		if (!strncmp(p, name, len) && (p[len] == ',' || p[len] == '\n' || !p[len]))
			return col;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return -1;
}

/* Field col of a CSV line (quotes respected) as an integer. */
static int64_t csv_i64(const char *line, int col)
{
	bool quoted = false;

	for (const char *p = line; *p; p++) {
		if (!col)
			return strtoll(p, NULL, 10);
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			col--;
	}
	return 0;
}

static void read_periods(const char *path, struct pc_bench_run *r)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int col = -1;
	int64_t last = 0;

	if (f && getline(&line, &cap, f) > 0)
		col = csv_column(line, "kill_ns");
	while (col >= 0 && getline(&line, &cap, f) > 0) {
		int64_t kill_ns = csv_i64(line, col);

		r->csv_rows++;
		if (last && kill_ns > last)
			pc_bench_add(&r->period, kill_ns - last);
		last = kill_ns;
	}
	free(line);
	if (f)
		fclose(f);
}

static int run_in(const char *dir, const char *portchurn, const char *ini_text, bool records,
		  struct pc_bench_run *r, char *err, size_t errlen)
{
	char ini[PATH_MAX + 16], out[PATH_MAX + 16], json[PATH_MAX + 32], csv[PATH_MAX + 32];
	char *argv[] = { (char *)portchurn, "run", ini, "--out", out, "-q", NULL };
	struct stat st;
	int rc;

	snprintf(ini, sizeof(ini), "%s/bench.ini", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(json, sizeof(json), "%s/results.json", out);
	rc = write_text(ini, ini_text);
	if (!rc)
		rc = spawn_wait(argv, r);
	if (rc) {
		snprintf(err, errlen, "running %s: %s", portchurn, strerror(-rc));
		return -1;
	}
	if (r->exit_code != 0) {
		snprintf(err, errlen, "portchurn run exited %d", r->exit_code);
		return -1;
	}
	r->json_bytes = stat(json, &st) == 0 ? (long long)st.st_size : -1;
	snprintf(csv, sizeof(csv), "%s/cycles.csv", out);
	read_periods(csv, r);
	return records ? read_records(json, r, err, errlen) : read_head(json, r, err, errlen);
}

int pc_bench_portchurn(const char *portchurn, const char *ini_text, bool records,
		       struct pc_bench_run *out, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int rc;

	pc_bench_run_free(out);
	if (pc_bench_tmpdir(dir, sizeof(dir)) < 0) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	rc = run_in(dir, portchurn, ini_text, records, out, err, errlen);
	pc_bench_rmtree(dir);
	return rc;
}

void pc_bench_run_free(struct pc_bench_run *r)
{
	pc_bench_free(&r->restart);
	pc_bench_free(&r->ready);
	pc_bench_free(&r->probe);
	pc_bench_free(&r->period);
	memset(r, 0, sizeof(*r));
}
