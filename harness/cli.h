/* cli.h -- what the portchurn subcommands share. Each command is one
 * function plus its usage text, listed in the command table in main.c;
 * commands print and pick exit codes, the library below them does not. */
#ifndef PC_CLI_H
#define PC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "chart.h"
#include "results.h"

enum {
	PC_EXIT_PASS = 0,         /* every expectation held */
	PC_EXIT_FAILED = 1,       /* an expectation failed */
	PC_EXIT_USAGE = 2,        /* usage or scenario error */
	PC_EXIT_ENV = 3,          /* environment error */
	PC_EXIT_INTERRUPTED = 130,
};

struct pc_command {
	const char *name;
	int (*main)(int argc, char **argv);   /* argv[0] is the command name */
	const char *usage;
};

/* "portchurn: <fmt with arg> (see portchurn --help)" on stderr; returns 2. */
int pc_cli_usage_error(const char *fmt, const char *arg);

int pc_cmd_inspect_main(int argc, char **argv);
extern const char pc_cmd_inspect_usage[];

/* cmd_report.c: `portchurn report`, and what every command that writes a
 * results directory does after the reports. */
int pc_cmd_report_main(int argc, char **argv);
extern const char pc_cmd_report_usage[];
/* Charts (mode) under dir/charts, then dir/report.html with them inlined;
 * line gets one line about the charts for the terminal ("" with none).
 * Returns 0 or PC_EXIT_ENV (said on stderr). */
int pc_cmd_report_render(const struct pc_run *run, const char *dir, enum pc_chart_mode mode,
			 char *line, size_t len);
/* Every report into dir: results.json from doc (when write_json), the
 * others from run, then pc_cmd_report_render. 0 or PC_EXIT_ENV. */
int pc_cmd_report_write(const json_t *doc, const struct pc_run *run, const char *dir,
			bool write_json, enum pc_chart_mode mode, char *line, size_t len);
/* The writer called format to stdout: 0, PC_EXIT_USAGE or PC_EXIT_ENV. */
int pc_cmd_report_print(const struct pc_run *run, const char *format);
/* Append dir/summary.md to $GITHUB_STEP_SUMMARY when that is set. */
void pc_cmd_report_step_summary(const char *dir);
/* 0 when the run passed, else PC_EXIT_FAILED. */
int pc_cmd_report_verdict_code(const struct pc_run *run);

/* The options `report` and `merge` share: --out, --format, --charts,
 * --help. Set by pc_cmd_report_opts, which leaves optind at the first
 * operand and returns 0, -1 after printing usage for --help, or
 * PC_EXIT_USAGE (said on stderr, naming cmd). */
struct pc_report_opts {
	const char *out, *format;
	enum pc_chart_mode charts;
};
int pc_cmd_report_opts(const char *cmd, const char *usage, int argc, char **argv,
		       struct pc_report_opts *o);

/* cmd_merge.c: `portchurn merge`. */
int pc_cmd_merge_main(int argc, char **argv);
extern const char pc_cmd_merge_usage[];
/* One results document from n checked ones (names[i] names docs[i] in
 * messages): the first one's header, every case of each in input order,
 * counts and verdict recomputed. Refuses (-EINVAL, message) documents of
 * different scenarios or platforms, and a case found twice. */
int pc_cmd_merge_docs(json_t *const *docs, const char *const *names, int n, json_t **out,
		      char *err, size_t errlen);

/* cmd_compare.c: `portchurn compare`. */
int pc_cmd_compare_main(int argc, char **argv);
extern const char pc_cmd_compare_usage[];

#define PC_CMP_NFIGS 4   /* rebind p50, rebind p99, restart p50, restart p99 */

enum pc_cmp_change {
	PC_CMP_SAME,         /* within threshold and noise */
	PC_CMP_WORSE,        /* a regression */
	PC_CMP_BETTER,
	PC_CMP_NONE,         /* neither run has the figure */
};

struct pc_compare_opts {
	int threshold_pct;                 /* a figure must grow by more than this ... */
	int64_t noise_ns[2];               /* ... and by more than this (p50, p99) */
};

struct pc_compare_row {
	const char *name;                  /* points into the current run */
	const char *base_verdict, *cur_verdict;
	int64_t base[PC_CMP_NFIGS], cur[PC_CMP_NFIGS];   /* -1: no sample */
	enum pc_cmp_change fig[PC_CMP_NFIGS];
	enum pc_cmp_change verdict;
	bool regression, improvement;
};

struct pc_compare {
	struct pc_compare_row *rows;       /* in the current run's case order */
	int nrows, regressions, improvements;
	struct pc_compare_opts opts;
};

extern const struct pc_compare_opts pc_compare_defaults;
extern const char *const pc_compare_fig_names[PC_CMP_NFIGS];
/* Case by case, matched by name. Returns 0, -EINVAL with a message when the
 * runs are not comparable (other scenario; cases missing on either side,
 * listed), or -ENOMEM. */
int pc_cmd_compare_runs(const struct pc_run *base, const struct pc_run *cur,
			const struct pc_compare_opts *o, struct pc_compare *out, char *err,
			size_t errlen);
void pc_cmd_compare_release(struct pc_compare *c);
void pc_cmd_compare_table(const struct pc_compare *c, FILE *out);
void pc_cmd_compare_markdown(const struct pc_compare *c, FILE *out);

#endif
