/* report.c -- see report.h: the writer table, atomic files, results
 * directories, the console table and the helpers the writers share. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
#ifndef NAME_MAX
#define NAME_MAX 255
#endif

const struct pc_report_writer pc_report_writers[] = {
	{ "json", "results.json", pc_report_json },
	{ "junit", "junit.xml", pc_report_junit },
	{ "csv", "cycles.csv", pc_report_csv },
	{ "md", "summary.md", pc_report_md },
	{ "tap", "results.tap", pc_report_tap },
	{ NULL, NULL, NULL },
};

const struct pc_report_writer *pc_report_writer_find(const char *name)
{
	for (const struct pc_report_writer *w = pc_report_writers; w->name; w++)
		if (!strcmp(w->name, name))
			return w;
	return NULL;
}

/* ---- helpers shared by the writers ---- */

const char *pc_report_case_verdict(const struct pc_case_result *r)
{
	if (r->env_error[0])
		return "error";
	return r->pass ? "pass" : "fail";
}

void pc_report_tally(const struct pc_run *run, struct pc_report_tally *t)
{
	memset(t, 0, sizeof(*t));
	t->ran = run->ncases;
	t->planned = run->scenario ? run->scenario->ncases : run->ncases;
	if (t->planned < t->ran)
		t->planned = t->ran;
	t->not_run = t->planned - t->ran;
	for (int i = 0; i < run->ncases; i++) {
		const char *v = pc_report_case_verdict(&run->cases[i]);

		if (!strcmp(v, "pass"))
			t->passed++;
		else if (!strcmp(v, "fail"))
			t->failed++;
		else
			t->errors++;
	}
}

bool pc_report_run_passed(const struct pc_run *run)
{
	struct pc_report_tally t;

	pc_report_tally(run, &t);
	return !run->interrupted && t.passed == t.planned;
}

const struct pc_exp_result *pc_report_first_failed(const struct pc_case_result *r)
{
	for (int i = 0; i < r->nexps; i++)
		if (r->exps[i].status == PC_EXP_FAILED)
			return &r->exps[i];
	return NULL;
}

int pc_report_nfailed(const struct pc_case_result *r)
{
	int n = 0;

	for (int i = 0; i < r->nexps; i++)
		n += r->exps[i].status == PC_EXP_FAILED;
	return n;
}

int64_t pc_report_span_ns(int64_t started_ns, int64_t finished_ns)
{
	if (started_ns <= 0 || finished_ns <= started_ns)
		return 0;
	return finished_ns - started_ns;
}

void pc_report_fmt_fixed3(int64_t value_ns, int64_t unit_ns, char *buf, size_t len)
{
	uint64_t step = unit_ns >= 1000 ? (uint64_t)(unit_ns / 1000) : 1;  /* ns per last digit */
	uint64_t mag = value_ns < 0 ? 0 - (uint64_t)value_ns : (uint64_t)value_ns;
	uint64_t q = mag / step + (mag % step >= step - step / 2);

	snprintf(buf, len, "%s%llu.%03llu", value_ns < 0 && q ? "-" : "",
		 (unsigned long long)(q / 1000), (unsigned long long)(q % 1000));
}

void pc_report_put_escaped(FILE *out, const char *s, pc_report_esc_fn *esc)
{
	char buf[8];

	while (*s) {
		size_t n = pc_report_utf8_len(s);

		if (n > 1)
			fwrite(s, 1, n, out);
		else if (!n)
			fputc('?', out);
		else
			fputs(esc((unsigned char)*s, buf), out);
		s += n ? n : 1;
	}
}

const char *pc_report_esc_same(unsigned char c, char buf[8])
{
	buf[0] = (char)c;
	buf[1] = '\0';
	return buf;
}

const char *pc_report_esc_backslash(unsigned char c, char buf[8])
{
	buf[0] = '\\';
	buf[1] = (char)c;
	buf[2] = '\0';
	return buf;
}

static const char *xml_esc(unsigned char c, char buf[8], bool keep_newlines)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '\t': case '\n': case '\r':
		return keep_newlines ? pc_report_esc_same(c, buf) : " ";
	default:
		return c >= 0x20 && c != 0x7f ? pc_report_esc_same(c, buf) : "";
	}
}

static const char *xml_text(unsigned char c, char buf[8])
{
	return xml_esc(c, buf, true);
}

static const char *xml_line(unsigned char c, char buf[8])
{
	return xml_esc(c, buf, false);
}

void pc_report_xml_put(FILE *out, const char *s, bool keep_newlines)
{
	pc_report_put_escaped(out, s, keep_newlines ? xml_text : xml_line);
}

size_t pc_report_utf8_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;
	size_t n;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, cp = u[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)  /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;  /* overlong or out of range */
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

/* ---- atomic files ---- */

int pc_report_write_file(const char *dir, const char *file,
			 int (*fn)(const void *ctx, FILE *out), const void *ctx,
			 char *msg, size_t msglen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *what = "create a temp file";
	bool created = false;
	FILE *f = NULL;
	int fd = -1, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, file) >= sizeof(tmp)) {
		snprintf(msg, msglen, "%s/%s: path too long", dir, file);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	created = true;
	/* mkstemp gives 0600 and no CLOEXEC (mkostemp is not POSIX). */
	what = "set up the temp file";
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fchmod(fd, 0644) < 0) {
		rc = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		goto out;
	}
	fd = -1;  /* f owns it now */
	what = "write";
	rc = fn(ctx, f);
	if (!rc && fflush(f) != 0)
		rc = -errno;
	if (!rc && ferror(f))
		rc = -EIO;
	if (rc)
		goto out;
	what = "fsync";
	if (fsync(fileno(f)) < 0) {
		rc = -errno;
		goto out;
	}
	what = "close";
	if (fclose(f) != 0) {
		f = NULL;
		rc = -errno;
		goto out;
	}
	f = NULL;
	what = "rename the temp file over";
	if (rename(tmp, path) < 0)
		rc = -errno;
	else
		created = false;
out:
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	if (rc)
		snprintf(msg, msglen, "%s: cannot %s: %s", path, what, strerror(-rc));
	return rc;
}

struct writer_call {
	const struct pc_run *run;
	const struct pc_report_writer *w;
};

static int call_writer(const void *ctx, FILE *out)
{
	const struct writer_call *c = ctx;

	return c->w->write(c->run, out);
}

/* One writer into dir/file through a temp file. */
static int write_one(const struct pc_run *run, const char *dir,
		     const struct pc_report_writer *w, char *msg, size_t msglen)
{
	struct writer_call c = { run, w };

	return pc_report_write_file(dir, w->file, call_writer, &c, msg, msglen);
}

/* Make the renames durable. Best effort: the files are complete either way,
 * and some file systems refuse fsync on a directory. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int pc_report_check_run(const struct pc_run *run, char *err, size_t errlen)
{
	if (!run || !run->scenario || (run->ncases > 0 && !run->cases) ||
	    (run->scenario->ncases > run->ncases && !run->scenario->cases)) {
		snprintf(err, errlen, "report: run has no scenario or no cases");
		return -EINVAL;
	}
	for (int i = 0; i < run->ncases; i++) {
		if (!run->cases[i].spec || (run->cases[i].ncycles > 0 && !run->cases[i].cycles) ||
		    (run->cases[i].nexps > 0 && !run->cases[i].exps)) {
			snprintf(err, errlen, "report: case %d of the run is incomplete", i);
			return -EINVAL;
		}
	}
	return 0;
}

int pc_report_write_all(const struct pc_run *run, const char *dir, char *err, size_t errlen)
{
	char msg[PATH_MAX + 128];
	int rc, first = 0, nfail = 0;

	rc = pc_report_check_run(run, err, errlen);
	if (rc)
		return rc;
	for (const struct pc_report_writer *w = pc_report_writers; w->name; w++) {
		rc = write_one(run, dir, w, msg, sizeof(msg));
		if (!rc)
			continue;
		if (!nfail++) {
			first = rc;
			snprintf(err, errlen, "%s", msg);
		}
	}
	if (nfail > 1) {
		size_t n = strlen(err);

		if (n < errlen)
			snprintf(err + n, errlen - n, " (and %d more report file%s)", nfail - 1,
				 nfail > 2 ? "s" : "");
	}
	if (nfail < (int)(sizeof(pc_report_writers) / sizeof(pc_report_writers[0])) - 1)
		sync_dir(dir);
	return first;
}

/* ---- results directories ---- */

/* mkdir -p. An existing non-directory is -ENOTDIR. */
static int mkdir_p(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat st;

	if (!*path || (size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: bad results directory name", path);
		return -ENAMETOOLONG;
	}
	for (char *p = buf + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
			int rc = -errno;

			snprintf(err, errlen, "%s: cannot create directory: %s", buf,
				 strerror(-rc));
			return rc;
		}
		if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a directory", buf);
			return -ENOTDIR;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/* Reduce text to a safe file name part: [A-Za-z0-9._-], others become '_'. */
static void clean_name(const char *text, char *out, size_t len)
{
	size_t n = 0;

	for (; *text && n + 1 < len; text++) {
		char c = *text;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

int pc_report_prepare_dir(const char *results_root, const char *scenario_name,
			  const char *utc_stamp, char *out_dir, size_t len,
			  char *err, size_t errlen)
{
	char name[64], stamp[40], path[PATH_MAX];
	int rc;

	clean_name(scenario_name, name, sizeof(name));
	clean_name(utc_stamp, stamp, sizeof(stamp));
	if (!name[0] || !stamp[0]) {
		snprintf(err, errlen, "results directory needs a scenario name and a UTC stamp");
		return -EINVAL;
	}
	rc = mkdir_p(results_root, err, errlen);
	if (rc)
		return rc;
	for (int attempt = 1; attempt < 100; attempt++) {
		size_t n;

		if (attempt == 1)
			n = (size_t)snprintf(path, sizeof(path), "%s/%s-%s", results_root, stamp,
					     name);
		else
			n = (size_t)snprintf(path, sizeof(path), "%s/%s-%s.%d", results_root, stamp,
					     name, attempt);
		if (n >= sizeof(path) || n >= len) {
			snprintf(err, errlen, "%s/%s-%s: path too long", results_root, stamp, name);
			return -ENAMETOOLONG;
		}
		if (mkdir(path, 0777) == 0) {
			memcpy(out_dir, path, n + 1);
			return 0;
		}
		if (errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen, "%s: cannot create directory: %s", path,
				 strerror(-rc));
			return rc;
		}
	}
	snprintf(err, errlen, "%s/%s-%s: 99 directories of that name exist already",
		 results_root, stamp, name);
	return -EEXIST;
}

int pc_report_link_latest(const char *results_root, const char *dir_name)
{
	char base[NAME_MAX + 1], tmp[PATH_MAX], latest[PATH_MAX];
	size_t end = strlen(dir_name), start;

	while (end > 0 && dir_name[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && dir_name[start - 1] != '/')
		start--;
	if (end == start || end - start >= sizeof(base))
		return -EINVAL;
	memcpy(base, dir_name + start, end - start);
	base[end - start] = '\0';
	if (!strcmp(base, ".") || !strcmp(base, ".."))
		return -EINVAL;
	if ((size_t)snprintf(latest, sizeof(latest), "%s/latest", results_root) >= sizeof(latest))
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 100; attempt++) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.latest.%ld.%d", results_root,
				     (long)getpid(), attempt) >= sizeof(tmp))
			return -ENAMETOOLONG;
		if (symlink(base, tmp) < 0) {
			if (errno == EEXIST)
				continue;  /* a stale temp, or another thread of ours */
			return -errno;
		}
		if (rename(tmp, latest) < 0) {
			int rc = -errno;

			unlink(tmp);
			return rc;
		}
		return 0;
	}
	return -EEXIST;
}

/* ---- console ---- */

/* Copy s without control characters, so a scenario cannot move the cursor;
 * bytes that are not valid UTF-8 become '?' too. */
static void console_clean(const char *s, char *out, size_t len)
{
	size_t n = 0;

	while (*s && n + 1 < len) {
		size_t k = pc_report_utf8_len(s);

		if (k > 1 && n + k < len) {
			memcpy(out + n, s, k);
			n += k;
			s += k;
			continue;
		}
		out[n++] = k == 1 && (unsigned char)*s >= 0x20 && *s != 0x7f ? *s : '?';
		s += k ? k : 1;
	}
	out[n] = '\0';
}

static void console_row(const struct pc_case_result *r, int width, FILE *out)
{
	const struct pc_exp_result *e = pc_report_first_failed(r);
	const char *v = pc_report_case_verdict(r);
	char name[PC_CASE_NAME_MAX], p50[32] = "-", p99[32] = "-", a[400], b[200];

	console_clean(r->spec->name, name, sizeof(name));
	if (r->rebind.n) {
		pc_report_fmt_fixed3(r->rebind.p50, PC_NS_PER_MS, p50, sizeof(p50));
		pc_report_fmt_fixed3(r->rebind.p99, PC_NS_PER_MS, p99, sizeof(p99));
	}
	fprintf(out, "%-*s  %7d  %6d  %13s  %13s  %-5s", width, name, r->bind_ok,
		r->bind_failed, p50, p99, !strcmp(v, "pass") ? "PASS" :
		!strcmp(v, "fail") ? "FAIL" : "ERROR");
	if (!strcmp(v, "error")) {
		console_clean(r->env_error, a, sizeof(a));
		fprintf(out, "  %s", a);
	} else if (!strcmp(v, "fail") && e) {
		console_clean(e->text, a, sizeof(a));
		console_clean(e->measured, b, sizeof(b));
		fprintf(out, "  %s: measured %s", a, b);
	}
	fputc('\n', out);
	if (!strcmp(v, "fail") && r->diagnosis) {
		console_clean(r->diagnosis, a, sizeof(a));
		fprintf(out, "  why: %s\n", a);
	}
}

void pc_report_console(const struct pc_run *run, FILE *out)
{
	struct pc_report_tally t;
	char text[PC_CASE_NAME_MAX];
	int width = 4;

	pc_report_tally(run, &t);
	for (int i = 0; i < run->ncases; i++) {
		int n = run->cases[i].spec ? (int)strlen(run->cases[i].spec->name) : 0;

		if (n > width)
			width = n;   /* the longest name: columns stay aligned */
	}
	if (run->scenario) {
		console_clean(run->scenario->name, text, sizeof(text));
		fprintf(out, "portchurn: %s\n", text);
	}
	fprintf(out, "%-*s  %7s  %6s  %13s  %13s  %s\n", width, "case", "bind ok", "failed",
		"rebind p50 ms", "rebind p99 ms", "verdict");
	for (int i = 0; i < run->ncases; i++)
		if (run->cases[i].spec)
			console_row(&run->cases[i], width, out);
	console_clean(run->netns, text, sizeof(text));
	fprintf(out, "%d of %d cases ran: %d passed, %d failed, %d error%s, %d not run; "
		"interrupted: %s; netns: %s\n", t.ran, t.planned, t.passed, t.failed,
		t.errors, t.errors == 1 ? "" : "s", t.not_run, run->interrupted ? "yes" : "no",
		text[0] ? text : "unknown");
}
