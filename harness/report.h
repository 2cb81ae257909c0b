/* report.h -- reporters: turn a finished (or interrupted) pc_run into files
 * for machines (results.json, junit.xml, cycles.csv, summary.md) and a
 * table for people (the console). Writers are registered by name in one
 * table, Criterion style, so `--format json` and "write everything" share
 * it. A writer only reads the run and writes to the FILE it is given; it
 * never opens, closes, prints elsewhere or exits, so the same writer serves
 * an atomic file, stdout ("-") or a test's memory stream.
 *
 * Numbers in machine-read files never go through locale-dependent float
 * printing: nanoseconds are integers, milliseconds and seconds are made from
 * integers (pc_report_fmt_fixed3), JSON reals are jansson's (C locale).
 *
 * No function here keeps state between calls. */
#ifndef PC_REPORT_H
#define PC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "results.h"

/* A writer returns 0, or -errno (-EIO for a stream error, -ENOMEM when a
 * document could not be built). */
struct pc_report_writer {
	const char *name;   /* "json": what --format names */
	const char *file;   /* "results.json": its file in a results dir */
	int (*write)(const struct pc_run *run, FILE *out);
};

/* The registry, ended by an entry whose name is NULL. */
extern const struct pc_report_writer pc_report_writers[];

int pc_report_json(const struct pc_run *run, FILE *out);
int pc_report_junit(const struct pc_run *run, FILE *out);
int pc_report_csv(const struct pc_run *run, FILE *out);
int pc_report_md(const struct pc_run *run, FILE *out);
int pc_report_tap(const struct pc_run *run, FILE *out);    /* report_tap.c */

/* report.html (report_html.c): not in the table, because it embeds the
 * charts, which are drawn after the other reports. Each chart is an SVG
 * document (gnuplot's, whole, prolog and all) or NULL; charts_note says
 * what happened to the charts ("gnuplot is not installed: ..."), or NULL.
 * Without any SVG the report draws its own small chart of the rebind
 * latencies. */
struct pc_report_chart {
	const char *name;      /* "rebind_cdf": ids inside the SVG get it as prefix */
	const char *title;
	const char *svg;       /* NUL-terminated, or NULL when not rendered */
};

int pc_report_html(const struct pc_run *run, const struct pc_report_chart *charts,
		   int ncharts, const char *charts_note, FILE *out);

/* 0 when the writers can read run without checking pointers: scenario set,
 * every case's spec set, cycles/exps present when counted. Else -EINVAL with
 * a message. pc_report_write_all checks; call it before using a writer
 * directly (--format NAME to stdout). */
int pc_report_check_run(const struct pc_run *run, char *err, size_t errlen);

/* The writer called name, or NULL. */
const struct pc_report_writer *pc_report_writer_find(const char *name);

/* Write every registered file into dir, each atomically: a mkstemp temp file
 * in dir, fflush + fsync, fclose, rename over the final name; then the dir is
 * fsync'd. A failed file leaves no temp behind and does not stop the others
 * (an interrupted run should keep as many valid reports as it can). Returns
 * 0, or the first failure as -errno with "PATH: what failed" in err. Files
 * are mode 0644. The run is checked first (pc_report_check_run). */
int pc_report_write_all(const struct pc_run *run, const char *dir, char *err, size_t errlen);

/* One file, dir/file, written the same atomic way by fn(ctx, out), which
 * returns 0 or -errno like a writer. For files that are not a run's report
 * (a merged results.json, report.html, chart data). On failure "PATH:
 * what failed" goes to err and no temp file is left. */
int pc_report_write_file(const char *dir, const char *file,
			 int (*fn)(const void *ctx, FILE *out), const void *ctx,
			 char *err, size_t errlen);

/* Create results_root (mkdir -p) and in it a new, empty directory
 * "<utc_stamp>-<scenario_name>" (both reduced to [A-Za-z0-9._-], others
 * become '_'). If that name is taken, ".2" ... ".99" is appended rather than
 * reusing an old run's directory. The path goes to out_dir. Returns 0 or
 * -errno with a message in err. */
int pc_report_prepare_dir(const char *results_root, const char *scenario_name,
			  const char *utc_stamp, char *out_dir, size_t len,
			  char *err, size_t errlen);

/* Atomically repoint results_root/latest, a relative symlink, at dir_name
 * (only its last path component is used, so a full path works too): a
 * symlink under a temp name, then rename over "latest". Returns 0 or -errno
 * (a real directory called "latest" is not replaced: -EISDIR or similar). */
int pc_report_link_latest(const char *results_root, const char *dir_name);

/* The human table for stdout: a row per case that ran (name, bind ok/failed,
 * rebind p50/p99 ms, PASS/FAIL/ERROR, the first failed expectation with its
 * measured value or the environment error), then totals, the interrupted
 * flag and the netns mode. Control characters in names are not printed. */
void pc_report_console(const struct pc_run *run, FILE *out);

/* Helpers shared by the writers. */

/* Cases by outcome; not_run counts scenario cases the run never started. */
struct pc_report_tally {
	int planned, ran, passed, failed, errors, not_run;
};

void pc_report_tally(const struct pc_run *run, struct pc_report_tally *t);
/* The run passes when every planned case ran and passed and the run was not
 * interrupted. */
bool pc_report_run_passed(const struct pc_run *run);
/* "pass", "fail" or "error" (env_error set; it wins over the rest). */
const char *pc_report_case_verdict(const struct pc_case_result *r);
/* The first expectation with status PC_EXP_FAILED, or NULL. */
const struct pc_exp_result *pc_report_first_failed(const struct pc_case_result *r);
int pc_report_nfailed(const struct pc_case_result *r);
/* finished - started, or 0 when either is unset or they are out of order. */
int64_t pc_report_span_ns(int64_t started_ns, int64_t finished_ns);

#define PC_REPORT_NS_PER_S 1000000000LL

/* value_ns / unit_ns with three decimals, rounded half away from zero and
 * printed from integers ("12.345"): unit PC_NS_PER_MS gives milliseconds,
 * PC_REPORT_NS_PER_S seconds. Locale-proof. unit_ns should be a multiple of
 * 1000 (a smaller unit prints value_ns / 1000 as if it were). */
void pc_report_fmt_fixed3(int64_t value_ns, int64_t unit_ns, char *buf, size_t len);
/* Length (1-4) of the valid UTF-8 sequence at s, or 0 when the byte at s
 * starts none (stray continuation, overlong form, surrogate, > U+10FFFF, or
 * U+FFFE/U+FFFF, which XML forbids). s must not point at the NUL. */
size_t pc_report_utf8_len(const char *s);
/* What one ASCII byte c (below 0x80) becomes in a format: a string, ""
 * to drop it; buf (8 bytes) is scratch for the answer. */
typedef const char *pc_report_esc_fn(unsigned char c, char buf[8]);
/* s through esc: valid multi-byte UTF-8 as is, bytes that are not UTF-8
 * as '?', each ASCII byte as esc says. Every text writer of the reports
 * and charts is this walk with its own esc. */
void pc_report_put_escaped(FILE *out, const char *s, pc_report_esc_fn *esc);
/* For esc functions: c itself, or c after a backslash, in buf. */
const char *pc_report_esc_same(unsigned char c, char buf[8]);
const char *pc_report_esc_backslash(unsigned char c, char buf[8]);
/* s as XML (and HTML) text: & < > " ' as references, invalid UTF-8 as '?',
 * tab, newline and CR kept (keep_newlines: element text) or made spaces
 * (attributes, one-line cells), other control characters dropped. */
void pc_report_xml_put(FILE *out, const char *s, bool keep_newlines);

#endif
