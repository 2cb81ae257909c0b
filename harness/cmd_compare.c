/* cmd_compare.c -- `portchurn compare BASE CURRENT`: per case, verdict flips
 * and latency regressions between two runs of one scenario, for CI gates
 * ("did this change make restarts slower?").
 *
 * Four figures per case: rebind p50 and p99, restart p50 and p99. A figure
 * regresses when it grew by more than --threshold percent AND by more than
 * the noise floor of its percentile: two runs of the same build on the same
 * machine differ by that much without any change (README, "Charts, HTML
 * reports and CI", has the measurements the defaults come from); moreover
 * a p50 must pass the old run's p90, and a p99 be carried by two cycles. A
 * figure that existed and is gone (no cycle rebound any more) regresses
 * too; one that appears improves. A case that passed and now fails or errs
 * regresses.
 * The runs must hold the same cases; which ones are missing on either side
 * is said. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "report.h"
#include "results_load.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Measured on a two-core machine (README, "Charts, HTML reports and CI"):
 * 50 runs of the default scenario, alone and two at a time, never flagged
 * one another with these. */
const struct pc_compare_opts pc_compare_defaults = {
	.threshold_pct = 100,
	.noise_ns = { 10 * PC_NS_PER_MS, 20 * PC_NS_PER_MS },
};

const char *const pc_compare_fig_names[PC_CMP_NFIGS] = {
	"rebind p50", "rebind p99", "restart p50", "restart p99",
};

const char pc_cmd_compare_usage[] =
"usage: portchurn compare BASE CURRENT [--threshold PCT] [--noise-ms P50[,P99]]\n"
"                         [--markdown FILE]\n"
"\n"
"Compares two runs of one scenario case by case (BASE and CURRENT are\n"
"results.json files or directories holding one): verdict flips, and rebind\n"
"and restart p50/p99 that grew by more than PCT percent and by more than the\n"
"run-to-run noise. Prints a table; with GITHUB_STEP_SUMMARY set, appends the\n"
"Markdown table to it.\n"
"\n"
"options:\n"
"  -t, --threshold PCT      growth that counts, in percent (default 100)\n"
"      --noise-ms P50[,P99] differences below these many ms are noise\n"
"                           (default 10,20: measured, see README)\n"
"  -m, --markdown FILE      also write the table as Markdown to FILE (- for stdout)\n"
"  -h, --help               this text\n"
"\n"
"exit status: 0 no regression; 1 a regression; 2 bad input (unreadable\n"
"results, other scenarios, cases missing on either side: listed).\n";

/* ---- comparing ---- */

static void figures(const struct pc_case_result *r, int64_t *v)
{
	v[0] = r->rebind.n ? r->rebind.p50 : -1;
	v[1] = r->rebind.n ? r->rebind.p99 : -1;
	v[2] = r->restart.n ? r->restart.p50 : -1;
	v[3] = r->restart.n ? r->restart.p99 : -1;
}

static int64_t cycle_fig(const struct pc_cycle *c, int k)
{
	return k < 2 ? pc_cycle_rebind_ns(c) : pc_cycle_restart_ns(c);
}

/* Cycles of r whose figure k is beyond limit. */
static int beyond(const struct pc_case_result *r, int k, double limit)
{
	int n = 0;

	for (int i = 0; i < r->ncycles; i++)
		n += (double)cycle_fig(&r->cycles[i], k) > limit;
	return n;
}

/* The p90 of figure k of a case (k even: the p50's figure), -1 if none. */
static int64_t p90_of(const struct pc_case_result *r, int k)
{
	const struct pc_stats *s = k < 2 ? &r->rebind : &r->restart;

	return s->n ? s->p90 : -1;
}

/* Did figure k grow from vb (case b) to vc (case c) beyond the threshold
 * and the noise? Beyond the measured floors, the runs' own spread counts
 * too: a p50 must pass the old run's p90 (on a loaded machine the median
 * of a few cycles moves that far by itself), and a p99 must be carried by
 * two cycles at least, and 1 % of them (the p99 of a few cycles is their
 * slowest one, and one cycle held up by the scheduler is not a
 * regression). In double: a hostile file's figures must not overflow. */
static bool grew(const struct pc_case_result *b, const struct pc_case_result *c, int k,
		 int64_t vb, int64_t vc, const struct pc_compare_opts *o)
{
	double limit = (double)vb * (1.0 + o->threshold_pct / 100.0);
	int need = c->ncycles / 100 > 2 ? c->ncycles / 100 : 2;

	if ((double)vb + (double)o->noise_ns[k % 2] > limit)
		limit = (double)vb + (double)o->noise_ns[k % 2];
	if ((double)vc <= limit)
		return false;
	if (k % 2 == 0)
		return vc > p90_of(b, k);
	return beyond(c, k, limit) >= need;
}

static enum pc_cmp_change change(const struct pc_case_result *b, const struct pc_case_result *c,
				 int k, int64_t vb, int64_t vc, const struct pc_compare_opts *o)
{
	if (vb < 0 && vc < 0)
		return PC_CMP_NONE;
	if (vb < 0 || vc < 0)
		return vc < 0 ? PC_CMP_WORSE : PC_CMP_BETTER;
	if (grew(b, c, k, vb, vc, o))
		return PC_CMP_WORSE;
	return grew(c, b, k, vc, vb, o) ? PC_CMP_BETTER : PC_CMP_SAME;
}

static void compare_case(const struct pc_case_result *b, const struct pc_case_result *c,
			 const struct pc_compare_opts *o, struct pc_compare_row *row)
{
	bool bp, cp;

	row->name = c->spec->name;
	row->base_verdict = pc_report_case_verdict(b);
	row->cur_verdict = pc_report_case_verdict(c);
	bp = !strcmp(row->base_verdict, "pass");
	cp = !strcmp(row->cur_verdict, "pass");
	row->verdict = bp == cp ? PC_CMP_SAME : bp ? PC_CMP_WORSE : PC_CMP_BETTER;
	figures(b, row->base);
	figures(c, row->cur);
	row->regression = row->verdict == PC_CMP_WORSE;
	row->improvement = row->verdict == PC_CMP_BETTER;
	for (int k = 0; k < PC_CMP_NFIGS; k++) {
		row->fig[k] = change(b, c, k, row->base[k], row->cur[k], o);
		row->regression |= row->fig[k] == PC_CMP_WORSE;
		row->improvement |= row->fig[k] == PC_CMP_BETTER;
	}
}

static const struct pc_case_result *find_case(const struct pc_run *run, const char *name)
{
	for (int i = 0; i < run->ncases; i++)
		if (!strcmp(run->cases[i].spec->name, name))
			return &run->cases[i];
	return NULL;
}

/* "a, b, c and 4 more" of the cases of x that y lacks; returns how many. */
static int missing(const struct pc_run *x, const struct pc_run *y, char *buf, size_t len)
{
	size_t n = 0;
	int count = 0;

	buf[0] = '\0';
	for (int i = 0; i < x->ncases; i++) {
		if (find_case(y, x->cases[i].spec->name))
			continue;
		if (count++ < 8 && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s'%s'", n ? ", " : "",
					      x->cases[i].spec->name);
	}
	if (count > 8 && n < len)
		snprintf(buf + n, len - n, " and %d more", count - 8);
	return count;
}

static int check_comparable(const struct pc_run *base, const struct pc_run *cur, char *err,
			    size_t errlen)
{
	char a[1024], b[1024];
	int na, nb;

	if (strcmp(base->scenario->name, cur->scenario->name)) {
		snprintf(err, errlen, "different scenarios: BASE is '%s', CURRENT is '%s'",
			 base->scenario->name, cur->scenario->name);
		return -EINVAL;
	}
	na = missing(base, cur, a, sizeof(a));
	nb = missing(cur, base, b, sizeof(b));
	if (!na && !nb)
		return 0;
	snprintf(err, errlen, "the runs hold different cases:%s%s%s%s%s%s",
		 na ? " missing in CURRENT: " : "", na ? a : "", na && nb ? ";" : "",
		 nb ? " missing in BASE: " : "", nb ? b : "",
		 base->interrupted || cur->interrupted ? " (an interrupted run?)" :
		 " (a shard, or --case?)");
	return -EINVAL;
}

int pc_cmd_compare_runs(const struct pc_run *base, const struct pc_run *cur,
			const struct pc_compare_opts *o, struct pc_compare *out, char *err,
			size_t errlen)
{
	int rc = check_comparable(base, cur, err, errlen);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	out->opts = *o;
	out->rows = calloc((cur->ncases > 0 ? (size_t)cur->ncases : 1), sizeof(*out->rows));
	if (!out->rows) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < cur->ncases; i++) {
		struct pc_compare_row *row = &out->rows[out->nrows++];

		compare_case(find_case(base, cur->cases[i].spec->name), &cur->cases[i], o, row);
		out->regressions += row->regression;
		out->improvements += row->improvement;
	}
	return 0;
}

void pc_cmd_compare_release(struct pc_compare *c)
{
	free(c->rows);
	c->rows = NULL;
	c->nrows = 0;
}

/* ---- printing ---- */

/* "0.612 -> 0.640 +5%", "– -> 0.640", "0.612 -> –" or "–". */
static void fig_text(int64_t b, int64_t c, char *buf, size_t len)
{
	char x[32] = "–", y[32] = "–";

	if (b >= 0)
		pc_report_fmt_fixed3(b, PC_NS_PER_MS, x, sizeof(x));
	if (c >= 0)
		pc_report_fmt_fixed3(c, PC_NS_PER_MS, y, sizeof(y));
	if (b < 0 && c < 0)
		snprintf(buf, len, "–");
	else if (b > 0 && c >= 0)
		snprintf(buf, len, "%s -> %s %+.0f%%", x, y, ((double)c / (double)b - 1.0) * 100.0);
	else
		snprintf(buf, len, "%s -> %s", x, y);
}

static const char *change_mark(enum pc_cmp_change ch)
{
	return ch == PC_CMP_WORSE ? " !" : ch == PC_CMP_BETTER ? " +" : "";
}

/* "REGRESSION: rebind p50, verdict" / "improved: ..." / "same" */
static void row_result(const struct pc_compare_row *r, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s", r->regression ? "REGRESSION:" :
				    r->improvement ? "improved:" : "same");
	enum pc_cmp_change want = r->regression ? PC_CMP_WORSE : PC_CMP_BETTER;

	if (!r->regression && !r->improvement)
		return;
	if (r->verdict == want && n < len)
		n += (size_t)snprintf(buf + n, len - n, " verdict %s -> %s,", r->base_verdict,
				      r->cur_verdict);
	for (int k = 0; k < PC_CMP_NFIGS; k++)
		if (r->fig[k] == want && n < len)
			n += (size_t)snprintf(buf + n, len - n, " %s,", pc_compare_fig_names[k]);
	if (n > 0 && n < len && buf[n - 1] == ',')
		buf[n - 1] = '\0';
}

static int name_width(const struct pc_compare *c)
{
	int w = 4;

	for (int i = 0; i < c->nrows; i++)
		if ((int)strlen(c->rows[i].name) > w)
			w = (int)strlen(c->rows[i].name);
	return w;
}

static void summary_line(const struct pc_compare *c, FILE *out)
{
	char p50[32], p99[32];

	pc_report_fmt_fixed3(c->opts.noise_ns[0], PC_NS_PER_MS, p50, sizeof(p50));
	pc_report_fmt_fixed3(c->opts.noise_ns[1], PC_NS_PER_MS, p99, sizeof(p99));
	fprintf(out, "%d of %d cases regressed, %d improved (a figure counts when it changed by "
		"more than %d%% and by more than %s ms at p50, %s ms at p99; a p50 must pass the "
		"old p90, a p99 be carried by two cycles)\n", c->regressions, c->nrows,
		c->improvements, c->opts.threshold_pct, p50, p99);
}

void pc_cmd_compare_table(const struct pc_compare *c, FILE *out)
{
	int w = name_width(c);
	char f[PC_CMP_NFIGS][64], res[160];

	fprintf(out, "%-*s  %-14s", w, "case", "verdict");
	for (int k = 0; k < PC_CMP_NFIGS; k++)
		fprintf(out, "  %-24s", pc_compare_fig_names[k]);
	fputs("  result\n", out);
	for (int i = 0; i < c->nrows; i++) {
		const struct pc_compare_row *r = &c->rows[i];
		char v[32];

		snprintf(v, sizeof(v), "%s -> %s", r->base_verdict, r->cur_verdict);
		fprintf(out, "%-*s  %-14s", w, r->name, v);
		for (int k = 0; k < PC_CMP_NFIGS; k++) {
			fig_text(r->base[k], r->cur[k], f[k], sizeof(f[k]));
			strcat(f[k], change_mark(r->fig[k]));
			fprintf(out, "  %-24s", f[k]);
		}
		row_result(r, res, sizeof(res));
		fprintf(out, "  %s\n", res);
	}
	summary_line(c, out);
}

/* Markdown cell text: | and a few others escaped. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\`*_[]<>|", *s))
			fputc('\\', out);
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
	}
}

void pc_cmd_compare_markdown(const struct pc_compare *c, FILE *out)
{
	char f[64], res[160];

	fprintf(out, "## portchurn compare: %s\n\n| case | verdict |", c->regressions ?
		"**REGRESSION**" : "no regression");
	for (int k = 0; k < PC_CMP_NFIGS; k++)
		fprintf(out, " %s ms |", pc_compare_fig_names[k]);
	fputs(" result |\n|---|---|---:|---:|---:|---:|---|\n", out);
	for (int i = 0; i < c->nrows; i++) {
		const struct pc_compare_row *r = &c->rows[i];

		fputs("| ", out);
		md_cell(out, r->name);
		fprintf(out, " | %s → %s |", r->base_verdict, r->cur_verdict);
		for (int k = 0; k < PC_CMP_NFIGS; k++) {
			fig_text(r->base[k], r->cur[k], f, sizeof(f));
			fprintf(out, " %s%s |", f, r->fig[k] == PC_CMP_WORSE ? " ⚠" : "");
		}
		row_result(r, res, sizeof(res));
		fprintf(out, " %s |\n", res);
	}
	fputc('\n', out);
	summary_line(c, out);
}

/* ---- the command ---- */

struct compare_args {
	const char *base, *cur, *markdown;
	struct pc_compare_opts o;
};

/* "5" or "5,20" (milliseconds, decimals allowed) */
static int parse_noise(const char *text, int64_t *ns)
{
	char *end;
	double a = strtod(text, &end), b = a;

	if (end == text || a < 0 || a > 1e6)
		return -1;
	if (*end == ',') {
		const char *p = end + 1;

		b = strtod(p, &end);
		if (end == p || b < 0 || b > 1e6)
			return -1;
	}
	if (*end)
		return -1;
	ns[0] = (int64_t)(a * PC_NS_PER_MS);
	ns[1] = (int64_t)(b * PC_NS_PER_MS);
	return 0;
}

static int parse_args(int argc, char **argv, struct compare_args *a)
{
	static const struct option longs[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "noise-ms", required_argument, NULL, 'N' },
		{ "markdown", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	long v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "t:m:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'm': a->markdown = optarg; break;
		case 'h': fputs(pc_cmd_compare_usage, stdout); return -1;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 100000)
				return pc_cli_usage_error("compare: --threshold needs a percentage "
							  "from 0 to 100000, not '%s'", optarg);
			a->o.threshold_pct = (int)v;
			break;
		case 'N':
			if (parse_noise(optarg, a->o.noise_ns) < 0)
				return pc_cli_usage_error("compare: --noise-ms needs P50 or P50,P99 "
							  "in ms, not '%s'", optarg);
			break;
		default:
			return pc_cli_usage_error("compare: unknown or incomplete option '%s'",
						  argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return pc_cli_usage_error("compare: needs BASE and CURRENT results%s", "");
	a->base = argv[optind];
	a->cur = argv[optind + 1];
	return 0;
}

static int put_markdown(const void *ctx, FILE *out)
{
	pc_cmd_compare_markdown(ctx, out);
	return ferror(out) ? -EIO : 0;
}

/* To stdout ("-"), or atomically to a file. */
static int write_markdown(const struct pc_compare *c, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], err[PATH_MAX + 128];

	if (!strcmp(path, "-")) {
		pc_cmd_compare_markdown(c, stdout);
		return fflush(stdout) ? PC_EXIT_ENV : 0;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
		 slash ? path : ".");
	if (pc_report_write_file(dir, slash ? slash + 1 : path, put_markdown, c, err,
				 sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: compare: %s\n", err);
		return PC_EXIT_ENV;
	}
	return 0;
}

/* GITHUB_STEP_SUMMARY is appended to, as GitHub asks. */
static int append_summary(const struct pc_compare *c, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;

	if (!f) {
		fprintf(stderr, "portchurn: compare: GITHUB_STEP_SUMMARY=%s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return PC_EXIT_ENV;
	}
	pc_cmd_compare_markdown(c, f);
	return fclose(f) ? PC_EXIT_ENV : 0;
}

static int compare_files(const struct compare_args *a)
{
	struct pc_run *base = NULL, *cur = NULL;
	struct pc_compare c = { 0 };
	char err[3000];
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	int code = PC_EXIT_USAGE;

	if (pc_results_load(a->base, NULL, &base, err, sizeof(err)) < 0 ||
	    pc_results_load(a->cur, NULL, &cur, err, sizeof(err)) < 0 ||
	    pc_cmd_compare_runs(base, cur, &a->o, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: compare: %s\n", err);
		goto out;
	}
	pc_cmd_compare_table(&c, stdout);
	code = c.regressions ? PC_EXIT_FAILED : PC_EXIT_PASS;
	if (a->markdown && write_markdown(&c, a->markdown))
		code = PC_EXIT_ENV;
	if (summary && *summary && append_summary(&c, summary))
		code = PC_EXIT_ENV;
out:
	pc_cmd_compare_release(&c);
	pc_run_free(base);
	pc_run_free(cur);
	return code;
}

int pc_cmd_compare_main(int argc, char **argv)
{
	struct compare_args a = { .o = pc_compare_defaults };
	int code = parse_args(argc, argv, &a);

	if (code)
		return code < 0 ? PC_EXIT_PASS : code;
	return compare_files(&a);
}
