/* cmd_report.c -- `portchurn report`: re-renders a run's reports, charts and
 * report.html from its results.json (after a merge, on a machine with
 * gnuplot, after an upgrade of portchurn). Also home of what every command
 * that writes a results directory does after the reports: the charts, then
 * report.html (which inlines them), the GitHub step summary. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chart.h"
#include "clock.h"
#include "cli.h"
#include "report.h"
#include "results_load.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

const char pc_cmd_report_usage[] =
"usage: portchurn report RESULTS [--out DIR] [--format NAME] [--charts MODE]\n"
"\n"
"Writes the reports, the charts and report.html again from RESULTS (a\n"
"results.json, or a directory holding one), e.g. after `portchurn merge` or\n"
"on a machine with gnuplot.\n"
"\n"
"options:\n"
"  -o, --out DIR            write into DIR (default: beside RESULTS); results.json\n"
"                           is copied there, fields this version does not know kept\n"
"  -f, --format NAME        also print one report to stdout: json, junit, csv, md, tap\n"
"      --charts MODE        render (default): data, scripts and, with gnuplot,\n"
"                           SVG + PNG; scripts: no images; off: no charts\n"
"  -h, --help               this text\n";

/* ---- writing a results directory ---- */

static int dump_doc(const void *ctx, FILE *out)
{
	int rc = json_dumpf((const json_t *)ctx, out,
			    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

	if (!rc && fputc('\n', out) == EOF)
		rc = -1;
	return rc ? (ferror(out) ? -EIO : -ENOMEM) : 0;
}

struct html_ctx {
	const struct pc_run *run;
	const struct pc_chart_set *set;
	const char *note;
};

static int put_html(const void *ctx, FILE *out)
{
	const struct html_ctx *c = ctx;
	struct pc_report_chart charts[PC_CHART_COUNT];

	for (int i = 0; i < PC_CHART_COUNT; i++)
		charts[i] = (struct pc_report_chart){ c->set->charts[i].name,
						      c->set->charts[i].title,
						      c->set->charts[i].svg };
	return pc_report_html(c->run, charts, PC_CHART_COUNT, c->note, out);
}

/* What report.html and the terminal say about the charts. */
static void charts_note(const struct pc_chart_set *s, enum pc_chart_mode mode, char *buf,
			size_t len)
{
	if (mode == PC_CHARTS_OFF)
		snprintf(buf, len, "No charts (--charts off).");
	else if (mode == PC_CHARTS_SCRIPTS)
		snprintf(buf, len, "Charts not rendered (--charts scripts): render them with "
			 "`cd %s && gnuplot *.gp`.", s->dir);
	else if (!s->gnuplot)
		snprintf(buf, len, "gnuplot is not installed: the chart data and scripts are in "
			 "%s; render them with `cd %s && gnuplot *.gp`.", s->dir, s->dir);
	else
		buf[0] = '\0';
}

/* One line: what was drawn and how long gnuplot took, or how to render. */
static void charts_line(const struct pc_chart_set *s, enum pc_chart_mode mode, const char *note,
			char *line, size_t len)
{
	char secs[32];
	int skipped = 0;
	size_t n;

	line[0] = '\0';
	if (mode == PC_CHARTS_OFF)
		return;
	if (note[0]) {
		snprintf(line, len, "charts: %s", note);
		return;
	}
	for (int i = 0; i < PC_CHART_COUNT; i++)
		skipped += !s->charts[i].written;
	pc_report_fmt_fixed3(s->render_ns, PC_REPORT_NS_PER_S, secs, sizeof(secs));
	n = (size_t)snprintf(line, len, "charts: %d of %d rendered as SVG and PNG in %s/ (%s s)",
			     s->nrendered, s->nwritten, s->dir, secs);
	if (skipped && n < len)
		snprintf(line + n, len - n, "; %d not drawn, see README.txt there", skipped);
}

int pc_cmd_report_render(const struct pc_run *run, const char *dir, enum pc_chart_mode mode,
			 char *line, size_t len)
{
	struct pc_chart_set set;
	char err[PATH_MAX + 200], note[PATH_MAX * 2 + 200];
	struct html_ctx h = { run, &set, NULL };
	int rc = pc_chart_write_all(run, dir, mode, &set, err, sizeof(err));

	if (rc < 0)
		fprintf(stderr, "portchurn: charts: %s\n", err);
	charts_note(&set, mode, note, sizeof(note));
	h.note = note[0] ? note : NULL;
	if (pc_report_write_file(dir, "report.html", put_html, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: %s\n", err);
		rc = -1;
	}
	charts_line(&set, mode, note, line, len);
	pc_chart_set_release(&set);
	return rc < 0 ? PC_EXIT_ENV : 0;
}

struct writer_ctx {
	const struct pc_run *run;
	const struct pc_report_writer *w;
};

static int put_writer(const void *ctx, FILE *out)
{
	const struct writer_ctx *c = ctx;

	return c->w->write(c->run, out);
}

int pc_cmd_report_write(const json_t *doc, const struct pc_run *run, const char *dir,
			bool write_json, enum pc_chart_mode mode, char *line, size_t len)
{
	char err[PATH_MAX + 200];
	int code = 0;

	for (const struct pc_report_writer *w = pc_report_writers; w->name; w++) {
		struct writer_ctx c = { run, w };
		bool json = !strcmp(w->name, "json");
		int rc = 0;

		if (json && write_json)
			rc = pc_report_write_file(dir, w->file, dump_doc, doc, err, sizeof(err));
		else if (!json)
			rc = pc_report_write_file(dir, w->file, put_writer, &c, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "portchurn: %s\n", err);
			code = PC_EXIT_ENV;
		}
	}
	if (pc_cmd_report_render(run, dir, mode, line, len))
		code = PC_EXIT_ENV;
	return code;
}

int pc_cmd_report_print(const struct pc_run *run, const char *format)
{
	const struct pc_report_writer *w = pc_report_writer_find(format);
	char err[256];

	if (!w || pc_report_check_run(run, err, sizeof(err)) < 0)
		return PC_EXIT_USAGE;
	if (w->write(run, stdout) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "portchurn: cannot write the %s report to stdout\n", format);
		return PC_EXIT_ENV;
	}
	return 0;
}

void pc_cmd_report_step_summary(const char *dir)
{
	const char *path = getenv("GITHUB_STEP_SUMMARY");
	char src[PATH_MAX + 16], buf[8192];
	int in, out;
	ssize_t n;

	if (!path || !*path)
		return;
	snprintf(src, sizeof(src), "%s/summary.md", dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (out < 0)
		fprintf(stderr, "portchurn: GITHUB_STEP_SUMMARY=%s: %s\n", path, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

int pc_cmd_report_verdict_code(const struct pc_run *run)
{
	return pc_report_run_passed(run) ? PC_EXIT_PASS : PC_EXIT_FAILED;
}

/* ---- the command ---- */

int pc_cmd_report_opts(const char *cmd, const char *usage, int argc, char **argv,
		       struct pc_report_opts *o)
{
	static const struct option longs[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "charts", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char what[128];
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:f:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'o': o->out = optarg; break;
		case 'f': o->format = optarg; break;
		case 'h': fputs(usage, stdout); return -1;
		case 'C':
			if (pc_chart_mode_parse(optarg, &o->charts) == 0)
				break;
			snprintf(what, sizeof(what), "%s: --charts takes render, scripts or off, "
				 "not '%%s'", cmd);
			return pc_cli_usage_error(what, optarg);
		default:
			snprintf(what, sizeof(what), "%s: unknown or incomplete option '%%s'", cmd);
			return pc_cli_usage_error(what, argv[optind - 1]);
		}
	}
	if (o->format && !pc_report_writer_find(o->format)) {
		snprintf(what, sizeof(what), "%s: --format takes json, junit, csv, md or tap, "
			 "not '%%s'", cmd);
		return pc_cli_usage_error(what, o->format);
	}
	return 0;
}

struct report_args {
	const char *in;
	struct pc_report_opts o;
};

static int parse_args(int argc, char **argv, struct report_args *a)
{
	int rc = pc_cmd_report_opts("report", pc_cmd_report_usage, argc, argv, &a->o);

	if (rc)
		return rc;
	if (optind != argc - 1)
		return pc_cli_usage_error("report: needs one results.json or directory%s", "");
	a->in = argv[optind];
	return 0;
}

/* Where the reports go: --out, else the directory RESULTS is or is in. */
static int out_dir(const struct report_args *a, char *dir, size_t len, bool *same)
{
	struct stat st;
	const char *slash;

	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): parse_args set in */
	if (stat(a->in, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(dir, len, "%s", a->in);
	else if ((slash = strrchr(a->in, '/')))
		snprintf(dir, len, "%.*s", (int)(slash - a->in) + (slash == a->in), a->in);
	else
		snprintf(dir, len, ".");
	*same = true;
	if (!a->o.out)
		return 0;
	*same = false;
	if (stat(a->o.out, &st) == 0 && stat(dir, &st) == 0) {
		struct stat o;

		*same = stat(a->o.out, &o) == 0 && o.st_dev == st.st_dev && o.st_ino == st.st_ino;
	}
	snprintf(dir, len, "%s", a->o.out);
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "portchurn: cannot create %s: %s\n", dir, strerror(errno));
		return PC_EXIT_ENV;
	}
	return 0;
}

int pc_cmd_report_main(int argc, char **argv)
{
	struct report_args a = { .o.charts = PC_CHARTS_RENDER };
	char dir[PATH_MAX], err[PATH_MAX + 512], line[PATH_MAX * 2 + 300];
	struct pc_run *run = NULL;
	json_t *doc = NULL;
	bool same;
	int code = parse_args(argc, argv, &a);

	if (code)
		return code < 0 ? PC_EXIT_PASS : code;
	if (pc_results_load(a.in, &doc, &run, err, sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: %s\n", err);
		return PC_EXIT_USAGE;
	}
	code = out_dir(&a, dir, sizeof(dir), &same);
	if (!code)
		code = pc_cmd_report_write(doc, run, dir, !same, a.o.charts, line, sizeof(line));
	if (!code && a.o.format)
		code = pc_cmd_report_print(run, a.o.format);
	if (!code)
		fprintf(a.o.format ? stderr : stdout, "%s%sreports: %s/\n", line, line[0] ? "\n" : "",
			dir);
	if (!code)
		code = pc_cmd_report_verdict_code(run);
	json_decref(doc);
	pc_run_free(run);
	return code;
}
