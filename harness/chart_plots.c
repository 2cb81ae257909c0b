/* chart_plots.c -- the five charts: each builder writes a data file
 * gnuplot reads (numbers printed from integers, "NaN" for a figure a
 * cycle does not have; blocks separated by blank lines) and a script that
 * draws it twice, as SVG and as PNG. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart_int.h"
#include "clock.h"
#include "errname.h"
#include "report.h"
#include "stats.h"

/* Colours: one per outcome, the same in every chart; cases cycle through
 * ten (Tableau 10), with a new dash pattern for each round. */
#define C_OK "#43a047"
#define C_MIXED "#fdd835"
#define C_EADDRINUSE "#e53935"
#define C_OTHER_ERRNO "#6d4c41"
#define C_REFUSED "#fb8c00"
#define C_RESET "#8e24aa"
#define C_TIMEOUT "#757575"
#define C_HTTP_ERROR "#00897b"
#define C_OTHER "#212121"
#define C_TIME_WAIT "#1e88e5"
#define C_FIN_WAIT2 "#d81b60"
#define C_LISTEN "#546e7a"

static const char *const case_colour[10] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

#define MAX_KEYED 30        /* more lines than this get no key: it would hide the plot */
#define MAX_BOUNDARIES 200  /* case boundaries drawn as dotted lines */
#define MAX_POINTS 400      /* cycles beyond which lines lose their points: the
			       SVG would grow by megabytes and show nothing more */

/* ---- script helpers ---- */

/* A gnuplot single-quoted string: only ' needs escaping (doubled); control
 * characters and bytes that are not UTF-8 do not belong in a label. */
static const char *gp_esc(unsigned char c, char buf[8])
{
	if (c < 0x20 || c == 0x7f)
		return "?";
	return c == '\'' ? "''" : pc_report_esc_same(c, buf);
}

static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	pc_report_put_escaped(f, s, gp_esc);
	fputc('\'', f);
}

/* A data-file comment: one line. */
static void dat_comment(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

/* Milliseconds with three decimals; below floor_ns (on a log axis, where
 * 0 cannot be drawn) the floor. */
static void ms(int64_t ns, int64_t floor_ns, char *buf, size_t len)
{
	pc_report_fmt_fixed3(ns < floor_ns ? floor_ns : ns, PC_NS_PER_MS, buf, len);
}

/* ms() text without trailing zeros: "10", "0.5". */
static void ms_short(int64_t ns, char *buf, size_t len)
{
	size_t n;

	pc_report_fmt_fixed3(ns, PC_NS_PER_MS, buf, len);
	for (n = strlen(buf); n > 1 && buf[n - 1] == '0'; n--)
		buf[n - 1] = '\0';
	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
}

/* Where a log axis draws 0 (an overlap or handoff restart has its new
 * generation listening before the old one is reaped): the power of ten a
 * decade below the smallest positive value, at least 1 us. */
static int64_t log_floor(int64_t lo_positive)
{
	int64_t f = 1000;

	/* the bound first: f * 100 must not overflow */
	while (f < INT64_MAX / 100 && f * 100 <= lo_positive)
		f *= 10;
	return f;
}

static void gp_begin(struct pc_chart__plot *p, const char *what)
{
	FILE *f = p->gp;

	fprintf(f, "# %s.gp -- %s.\n# Written by portchurn; the data is in %s.dat. Render in this "
		"directory with\n#     gnuplot %s.gp\n# which writes %s.svg and %s.png "
		"(1200x800).\n", p->name, what, p->name, p->name, p->name, p->name);
	fputs("if (!exists(\"pc_tmp\")) pc_tmp = \"\"\n"
	      "do for [pc_fmt in \"svg png\"] {\n"
	      "reset\n"
	      "if (pc_fmt eq \"svg\") {\n"
	      "    set terminal svg size 1200,800 font \"sans-serif,14\" noenhanced "
	      "background rgb \"white\"\n"
	      "} else {\n"
	      "    if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
	      "        set terminal pngcairo size 1200,800 font \"Sans,12\" noenhanced "
	      "background rgb \"white\"\n"
	      "    } else {\n"
	      "        set terminal png size 1200,800 noenhanced\n"
	      "    }\n"
	      "}\n", f);
	fprintf(f, "set output pc_tmp.\"%s.\".pc_fmt\n", p->name);
	fputs("set encoding utf8\nset grid lc rgb \"#dddddd\"\nset border lc rgb \"#444444\"\n", f);
}

static void gp_end(struct pc_chart__plot *p)
{
	fputs("set output\n}\n", p->gp);
}

/* set title 'TEXT: scenario NAME' */
static void gp_title(struct pc_chart__plot *p, const char *cmd, const char *text)
{
	char t[400];

	snprintf(t, sizeof(t), "%s (scenario %s)", text, p->run->scenario->name);
	fprintf(p->gp, "%s ", cmd);
	gp_str(p->gp, t);
	fputs(" font \",16\"\n", p->gp);
}

/* Tics on a log axis of milliseconds from lo to hi (ns): at 1, 2 and 5 of
 * each decade over up to three decades (gnuplot's own label only the powers
 * of ten), at each power of ten beyond, where labels would crowd. Tics
 * outside the drawn range are ignored by gnuplot. */
static void gp_log_tic(FILE *f, int64_t v, bool first)
{
	char label[32];

	ms_short(v, label, sizeof(label));
	fprintf(f, "%s\"%s\" %s", first ? "" : ", ", label, label);
}

static void gp_log_tics(FILE *f, const char *axis, int64_t lo, int64_t hi)
{
	/* tenths of a decade: 1 2 5 over up to three decades, finer within one */
	static const int fine[] = { 10, 15, 20, 30, 50, 70 }, coarse[] = { 10, 20, 50 };
	int64_t decade = 1000, top;   /* 0.001 ms */
	int decades = 0, nsteps;
	const int *steps;
	bool first = true;

	if (hi > INT64_MAX / 100)
		hi = INT64_MAX / 100;
	while (decade * 10 <= lo && decade <= hi)
		decade *= 10;
	for (top = lo > 0 ? hi / lo : hi; top >= 10; top /= 10)
		decades++;   /* how many times hi is ten times lo */
	steps = decades < 1 ? fine : coarse;
	nsteps = decades < 1 ? 6 : decades < 3 ? 3 : 1;
	fprintf(f, "set %stics (", axis);
	for (; decade <= hi; decade *= 10) {
		for (int k = 0; k < nsteps; k++) {
			gp_log_tic(f, decade / 10 * steps[k], first);
			first = false;
		}
	}
	gp_log_tic(f, decade, first);
	fputs(")\n", f);
}

/* A gnuplot double-quoted string, where \n is a line break. */
static void gp_dstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	}
	fputc('"', f);
}

static void gp_case_linetypes(FILE *f)
{
	for (int k = 0; k < 10; k++)
		fprintf(f, "set linetype %d lc rgb \"%s\" lw 2 pt 7\n", k + 1, case_colour[k]);
}

/* Dotted verticals where each case's cycles begin (x = cycle in run order). */
static void gp_boundaries(struct pc_chart__plot *p)
{
	const struct pc_run *run = p->run;
	int seq = 0;

	if (run->ncases > MAX_BOUNDARIES)
		return;
	for (int i = 0; i < run->ncases; i++) {
		if (seq > 0 && run->cases[i].ncycles > 0)
			fprintf(p->gp, "set arrow from %d.5, graph 0 to %d.5, graph 1 nohead "
				"lc rgb \"#aaaaaa\" dt 3\n", seq, seq);
		seq += run->cases[i].ncycles;
	}
}

static int total_cycles(const struct pc_run *run, int *max)
{
	int n = 0;

	*max = 0;
	for (int i = 0; i < run->ncases; i++) {
		n += run->cases[i].ncycles;
		if (run->cases[i].ncycles > *max)
			*max = run->cases[i].ncycles;
	}
	return n;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* fig(cycle) >= 0 of a case's cycles into v, sorted; returns how many. */
static int samples(const struct pc_case_result *r, int64_t (*fig)(const struct pc_cycle *),
		   int64_t *v)
{
	int n = 0;

	for (int k = 0; k < r->ncycles; k++) {
		int64_t x = fig(&r->cycles[k]);

		if (x >= 0)
			v[n++] = x;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return n;
}

/* A case's colour, the same in the CDF and in the cycles chart: its rank
 * among the cases that have a rebind or restart figure at all, so cases
 * with nothing to draw do not use up the ten colours. */
static bool has_figure(const struct pc_case_result *r)
{
	for (int k = 0; k < r->ncycles; k++)
		if (pc_cycle_rebind_ns(&r->cycles[k]) >= 0 ||
		    pc_cycle_restart_ns(&r->cycles[k]) >= 0)
			return true;
	return false;
}

static int *colour_slots(const struct pc_run *run)
{
	int *slot = malloc((run->ncases > 0 ? (size_t)run->ncases : 1) * sizeof(*slot));
	int next = 0;

	for (int i = 0; slot && i < run->ncases; i++) {
		slot[i] = next;
		next += has_figure(&run->cases[i]);
	}
	return slot;
}

/* ---- rebind_cdf ---- */

struct range {
	int64_t lo, hi;     /* lo: smallest positive value */
	bool zero;          /* a 0 too, which a log axis draws at its floor */
};

static void range_add(struct range *r, int64_t v)
{
	if (v < 0)
		return;
	if (v > 0 && v < r->lo)
		r->lo = v;
	r->zero |= v == 0;
	r->hi = v > r->hi ? v : r->hi;
}

/* A log axis from a bit below the lowest drawn value (the floor, when a
 * 0 is drawn there) to a bit above the highest: gnuplot would stretch it
 * to whole decades, squeezing the data. */
static void gp_log_range(FILE *f, const char *axis, const struct range *r, int64_t floor_ns)
{
	int64_t lo = r->zero ? floor_ns : r->lo;
	char a[32], b[32];

	ms(lo * 2 / 3, 0, a, sizeof(a));
	ms(r->hi > INT64_MAX / 2 ? r->hi : r->hi * 3 / 2, 0, b, sizeof(b));
	fprintf(f, "set %srange [%s:%s]\n", axis, a, b);
}

static void cdf_block(FILE *f, const struct pc_case_result *r, const int64_t *v, int n,
		      int i, int64_t floor_ns)
{
	char x[32];

	fprintf(f, "# case %d: ", i + 1);
	dat_comment(f, r->spec->name);
	fputs("\n# rebind_ms fraction_of_cycles\n", f);
	ms(v[0], floor_ns, x, sizeof(x));
	fprintf(f, "%s 0\n", x);
	for (int k = 0; k < n; k++) {
		long long q = (long long)(k + 1) * 1000000 / n;

		ms(v[k], floor_ns, x, sizeof(x));
		fprintf(f, "%s %lld.%06lld\n", x, q / 1000000, q % 1000000);
	}
	fputs("\n\n", f);
}

/* Is tok (len n) one of the space-separated words of name? */
static bool has_word(const char *name, const char *tok, size_t n)
{
	for (const char *p = name; (p = strstr(p, tok)); p++)
		if ((p == name || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* The words of the first drawn case's name that every drawn case has
 * ("old=a new=b" when only the strategy varies): the key leaves them out
 * and a second title line says them once. */
static void common_words(const struct pc_run *run, const int *drawn, int n, char *out,
			 size_t len)
{
	const char *name = run->cases[drawn[0]].spec->name;
	size_t used = 0;

	out[0] = '\0';
	for (const char *w = name; *w && n > 1; ) {
		size_t k = strcspn(w, " ");
		char tok[PC_CASE_NAME_MAX];
		bool all = true;

		snprintf(tok, sizeof(tok), "%.*s", (int)k, w);
		for (int i = 1; i < n && all; i++)
			all = has_word(run->cases[drawn[i]].spec->name, tok, k);
		if (all && k && used + k + 2 < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", tok);
		w += k + (w[k] == ' ');
	}
}

/* name without the common words. */
static void short_name(const char *name, const char *common, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *w = name; *w; ) {
		size_t k = strcspn(w, " ");
		char tok[PC_CASE_NAME_MAX];

		snprintf(tok, sizeof(tok), "%.*s", (int)k, w);
		if (k && !has_word(common, tok, k) && used + k + 2 < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", tok);
		w += k + (w[k] == ' ');
	}
	if (!out[0])
		snprintf(out, len, "%s", name);
}

static void cdf_title(struct pc_chart__plot *p, const char *common)
{
	char t[700];

	snprintf(t, sizeof(t), "Rebind latency per case: cumulative distribution (scenario %s)%s%s",
		 p->run->scenario->name, common[0] ? "\nall cases: " : "", common);
	fputs("set title ", p->gp);
	gp_dstr(p->gp, t);
	fputs(" font \",16\"\n", p->gp);
}

static void cdf_script(struct pc_chart__plot *p, const int *drawn, int ndrawn,
		       const struct range *x, int64_t floor_ns, const int *slot)
{
	char common[PC_CASE_NAME_MAX], label[PC_CASE_NAME_MAX], fl[32];
	FILE *f = p->gp;

	common_words(p->run, drawn, ndrawn, common, sizeof(common));
	ms_short(floor_ns, fl, sizeof(fl));
	gp_begin(p, "rebind latency CDF per case");
	cdf_title(p, common);
	fprintf(f, "set logscale x\nset yrange [0:1.02]\nset ytics 0.1\n"
		"set xlabel 'rebind latency (ms, log): old generation reaped -> new one listening%s%s'"
		"\nset ylabel 'fraction of cycles'\n", x->zero ? "; 0 (new first) at " : "",
		x->zero ? fl : "");
	gp_log_tics(f, "x", x->zero ? floor_ns : x->lo, x->hi);
	gp_log_range(f, "x", x, floor_ns);
	if (ndrawn <= MAX_KEYED)
		fputs("set key outside right top Left reverse font \",10\" samplen 2 spacing 1.1\n", f);
	else
		fputs("set key off\n", f);
	fputs("plot \\\n", f);
	for (int k = 0; k < ndrawn; k++) {
		int i = drawn[k];

		int c = slot[i];

		fprintf(f, "  '%s.dat' index %d using 1:2 with steps lw 2 lc rgb \"%s\" dt %d "
			"title ", p->name, k, case_colour[c % 10], 1 + (c / 10) % 5);
		short_name(p->run->cases[i].spec->name, common, label, sizeof(label));
		gp_str(f, label);
		fputs(k + 1 < ndrawn ? ", \\\n" : "\n", f);
	}
	gp_end(p);
}

static void cdf_note(struct pc_chart__plot *p, int ndrawn, int nempty)
{
	if (!ndrawn)
		snprintf(p->note, p->notelen, "no case had a successful rebind");
	else if (nempty)
		snprintf(p->note, p->notelen, "%d case%s without a successful rebind %s not drawn",
			 nempty, nempty == 1 ? "" : "s", nempty == 1 ? "is" : "are");
	if (ndrawn > MAX_KEYED)
		snprintf(p->note + strlen(p->note), p->notelen - strlen(p->note),
			 "%s%d lines: too many for a key", p->note[0] ? "; " : "", ndrawn);
}

int pc_chart__rebind_cdf(struct pc_chart__plot *p)
{
	const struct pc_run *run = p->run;
	int max, ndrawn = 0;
	struct range x = { INT64_MAX, 0, false };
	int64_t *v, floor_ns;
	int *drawn, *slot;

	total_cycles(run, &max);
	v = malloc((max > 0 ? (size_t)max : 1) * sizeof(*v));
	drawn = malloc((run->ncases > 0 ? (size_t)run->ncases : 1) * sizeof(*drawn));
	slot = colour_slots(run);
	if (!v || !drawn || !slot) {
		free(v);
		free(drawn);
		free(slot);
		return -ENOMEM;
	}
	for (int i = 0; i < run->ncases; i++) {   /* the range first: it sets the floor */
		int n = samples(&run->cases[i], pc_cycle_rebind_ns, v);

		for (int k = 0; k < n; k++)
			range_add(&x, v[k]);
		if (n)
			drawn[ndrawn++] = i;
	}
	floor_ns = log_floor(x.lo);
	for (int k = 0; k < ndrawn; k++) {
		int n = samples(&run->cases[drawn[k]], pc_cycle_rebind_ns, v);

		cdf_block(p->dat, &run->cases[drawn[k]], v, n, drawn[k], floor_ns);
	}
	if (ndrawn)
		cdf_script(p, drawn, ndrawn, &x, floor_ns, slot);
	cdf_note(p, ndrawn, run->ncases - ndrawn);
	free(v);
	free(drawn);
	free(slot);
	return ndrawn > 0;
}

/* ---- cycles ---- */

/* The range of each panel; returns which have data (bit 0 rebind, 1
 * restart). */
static int cycles_ranges(const struct pc_run *run, struct range *y)
{
	int panels = 0;

	for (int i = 0; i < run->ncases; i++) {
		for (int k = 0; k < run->cases[i].ncycles; k++) {
			int64_t rb = pc_cycle_rebind_ns(&run->cases[i].cycles[k]);
			int64_t rs = pc_cycle_restart_ns(&run->cases[i].cycles[k]);

			panels |= (rb >= 0) | (rs >= 0) << 1;
			range_add(&y[0], rb);
			range_add(&y[1], rs);
		}
	}
	return panels;
}

static void cycles_data(struct pc_chart__plot *p, const int64_t *floor_ns)
{
	const struct pc_run *run = p->run;
	char a[32], b[32];
	int seq = 0, slot = 0;

	fputs("# cycle_in_run colour rebind_ms restart_ms (NaN: the cycle has no such figure)\n",
	      p->dat);
	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];

		fprintf(p->dat, "# case %d: ", i + 1);
		dat_comment(p->dat, r->spec->name);
		fputc('\n', p->dat);
		for (int k = 0; k < r->ncycles; k++) {
			int64_t rb = pc_cycle_rebind_ns(&r->cycles[k]);
			int64_t rs = pc_cycle_restart_ns(&r->cycles[k]);

			ms(rb, floor_ns[0], a, sizeof(a));
			ms(rs, floor_ns[1], b, sizeof(b));
			fprintf(p->dat, "%d %d %s %s\n", ++seq, slot, rb >= 0 ? a : "NaN",
				rs >= 0 ? b : "NaN");
		}
		fputc('\n', p->dat);   /* a blank line ends the case's line segment */
		slot += has_figure(r);
	}
}

/* "linespoints pt N ps S" while points can be told apart, else "lines". */
static const char *line_style(int total, const char *points)
{
	return total <= MAX_POINTS ? points : "lines";
}

static void cycles_panel(struct pc_chart__plot *p, int column, const char *ylabel, bool last,
			 const struct range *y, int64_t floor_ns, int total)
{
	FILE *f = p->gp;
	char fl[32];

	ms_short(floor_ns, fl, sizeof(fl));
	gp_log_tics(f, "y", y->zero ? floor_ns : y->lo, y->hi);
	fprintf(f, "set ylabel '%s%s%s'\n", ylabel, y->zero ? "; 0 at " : "", y->zero ? fl : "");
	gp_log_range(f, "y", y, floor_ns);
	if (last)
		fputs("set xlabel 'cycle, in run order (dotted: where each case begins; colour: "
		      "case, as in rebind_cdf)'\n", f);
	fprintf(f, "plot '%s.dat' using 1:%d:(int($2) %% 10 + 1) with %s lc variable notitle\n",
		p->name, column, line_style(total, "linespoints ps 0.8"));
}

int pc_chart__cycles(struct pc_chart__plot *p)
{
	struct range y[2] = { { INT64_MAX, 0, false }, { INT64_MAX, 0, false } };
	int max, total = total_cycles(p->run, &max), panels = cycles_ranges(p->run, y);
	int64_t floor_ns[2] = { log_floor(y[0].lo), log_floor(y[1].lo) };
	FILE *f = p->gp;

	if (!panels) {
		snprintf(p->note, p->notelen, "no cycle rebound or restarted");
		return 0;
	}
	cycles_data(p, floor_ns);
	gp_begin(p, "rebind and restart latency of every cycle, in run order");
	gp_case_linetypes(f);
	fprintf(f, "set multiplot layout %d,1 ", (panels & 1) + (panels >> 1));
	gp_title(p, "title", "Latency of each cycle over the run");
	fprintf(f, "set logscale y\nset xrange [0.5:%d.5]\nset key off\n", total);
	gp_boundaries(p);
	if (panels & 1)
		cycles_panel(p, 3, "rebind latency (ms, log)", panels == 1, &y[0], floor_ns[0],
			     total);
	if (panels & 2)
		cycles_panel(p, 4, "restart (ms, log): kill -> first 200", true, &y[1],
			     floor_ns[1], total);
	fputs("unset multiplot\n", f);
	gp_end(p);
	if (panels != 3)
		snprintf(p->note, p->notelen, "no cycle %s", panels == 1 ? "restarted (no HTTP 200)" :
			 "rebound");
	return 1;
}

/* ---- matrix ---- */

struct axis {
	const char **names;
	int n;
};

static int axis_index(const struct axis *a, const char *name)
{
	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->names[i], name))
			return i;
	return -1;
}

static void axis_add(struct axis *a, const char *name)
{
	if (axis_index(a, name) < 0)
		a->names[a->n++] = name;
}

struct cell {
	int cases, bound, failed, eaddrinuse, other_errno;
	int64_t *v;    /* pooled rebind samples */
	int nv;
};

static void cell_add(struct cell *c, const struct pc_case_result *r)
{
	c->cases++;
	for (int k = 0; k < r->ncycles; k++) {
		const struct pc_cycle *y = &r->cycles[k];
		int64_t rb = pc_cycle_rebind_ns(y);

		if (y->bind_errno) {
			c->failed++;
			if (y->bind_errno == EADDRINUSE)
				c->eaddrinuse++;
			else
				c->other_errno = y->bind_errno;
		} else if (y->bind_ns > 0 || y->listen_ns > 0) {
			c->bound++;
		}
		if (rb >= 0)
			c->v[c->nv++] = rb;
	}
}

/* Outcome code (0 ok, 1 mixed, 2 EADDRINUSE, 3 other errno; -1 no bind)
 * and the text in the cell. */
static int cell_outcome(struct cell *c, char *label, size_t len)
{
	char p50[32] = "", pooled[32];

	snprintf(pooled, sizeof(pooled), " (%d cases)", c->cases);
	if (c->nv) {
		qsort(c->v, (size_t)c->nv, sizeof(*c->v), cmp_i64);
		ms(pc_stats_percentile(c->v, (size_t)c->nv, 50), 0, p50, sizeof(p50));
	}
	if (!c->bound && !c->failed) {
		snprintf(label, len, "no bind");
		return -1;
	}
	if (!c->failed) {
		snprintf(label, len, "p50 %s ms%s", p50[0] ? p50 : "-", c->cases > 1 ? pooled : "");
		return 0;
	}
	if (!c->bound) {
		snprintf(label, len, "%s %d/%d", pc_errno_name(c->eaddrinuse == c->failed ?
			 EADDRINUSE : c->other_errno), c->failed, c->failed);
		return c->eaddrinuse == c->failed ? 2 : 3;
	}
	snprintf(label, len, "%d/%d bound, p50 %s ms", c->bound, c->bound + c->failed,
		 p50[0] ? p50 : "-");
	return 1;
}

/* One line of data per cell that has cases; returns the most cases any
 * cell pooled. */
static int matrix_data(struct pc_chart__plot *p, const struct axis *olds,
		       const struct axis *news, int64_t *v)
{
	const struct pc_run *run = p->run;
	int pooled = 0;
	char label[96];

	fputs("# new_index old_index outcome(0 ok, 1 mixed, 2 EADDRINUSE, 3 other errno) "
	      "\"label\"\n", p->dat);
	for (int y = 0; y < olds->n; y++) {
		for (int x = 0; x < news->n; x++) {
			struct cell c = { .v = v };

			for (int i = 0; i < run->ncases; i++)
				if (!strcmp(run->cases[i].spec->old_text, olds->names[y]) &&
				    !strcmp(run->cases[i].spec->new_text, news->names[x]))
					cell_add(&c, &run->cases[i]);
			if (!c.cases)
				continue;
			pooled = c.cases > pooled ? c.cases : pooled;
			fprintf(p->dat, "%d %d ", x, y);
			fprintf(p->dat, "%d \"", cell_outcome(&c, label, sizeof(label)));
			fprintf(p->dat, "%s\"\n", label);
		}
	}
	return pooled;
}

static void gp_tics(FILE *f, const char *axis, const struct axis *a, const char *extra)
{
	fprintf(f, "set %stics (", axis);
	for (int i = 0; i < a->n; i++) {
		gp_str(f, a->names[i]);
		fprintf(f, " %d%s", i, i + 1 < a->n ? ", " : "");
	}
	fprintf(f, ") nomirror %s\n", extra);
}

static void matrix_script(struct pc_chart__plot *p, const struct axis *olds,
			  const struct axis *news, int pooled)
{
	FILE *f = p->gp;

	gp_begin(p, "bind outcome of each old x new option set, p50 rebind latency in each cell");
	gp_title(p, "set title", "Did the new generation bind? Old option set x new option set");
	fprintf(f, "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\nunset grid\nset key off\n",
		news->n - 1, olds->n - 1);
	gp_tics(f, "x", news, news->n > 4 ? "rotate by -20" : "");
	gp_tics(f, "y", olds, "");
	fprintf(f, "set xlabel \"new generation's option set%s\"\n"
		"set ylabel \"old (killed) generation's option set\"\n",
		pooled > 1 ? " (a cell pools the cases that differ in other settings)" : "");
	fputs("set rmargin 18\n", f);
	fputs("set object 1 rectangle from graph 0,0 to graph 1,1 behind fc rgb \"#eeeeee\" "
	      "fs solid 1.0 noborder\n"
	      "set cbrange [-0.5:3.5]\n", f);
	fprintf(f, "set palette defined (-0.5 \"%s\", 0.5 \"%s\", 0.5 \"%s\", 1.5 \"%s\", "
		"1.5 \"%s\", 2.5 \"%s\", 2.5 \"%s\", 3.5 \"%s\")\n", C_OK, C_OK, C_MIXED, C_MIXED,
		C_EADDRINUSE, C_EADDRINUSE, C_OTHER_ERRNO, C_OTHER_ERRNO);
	fputs("set cbtics (\"ok\" 0, \"mixed\" 1, \"EADDRINUSE\" 2, \"other errno\" 3)\n"
	      "set cblabel 'bind outcome over all cycles (grey: not in the scenario)'\n", f);
	fprintf(f, "plot '%s.dat' using 1:2:(0.49):(0.49):($3 < 0 ? NaN : $3) with boxxyerror "
		"fs solid 1.0 noborder lc palette, \\\n  '' using 1:2:4 with labels font \",12\"\n",
		p->name);
	gp_end(p);
}

int pc_chart__matrix(struct pc_chart__plot *p)
{
	const struct pc_run *run = p->run;
	int max, total = total_cycles(run, &max), pooled;
	const char **names = malloc((size_t)(2 * run->ncases + 2) * sizeof(*names));
	int64_t *v = malloc((total > 0 ? (size_t)total : 1) * sizeof(*v));
	struct axis olds = { names, 0 }, news = { names ? names + run->ncases + 1 : NULL, 0 };

	if (!names || !v) {
		free(names);
		free(v);
		return -ENOMEM;
	}
	for (int i = 0; i < run->ncases; i++) {
		axis_add(&olds, run->cases[i].spec->old_text);
		axis_add(&news, run->cases[i].spec->new_text);
	}
	pooled = matrix_data(p, &olds, &news, v);
	if (pooled)
		matrix_script(p, &olds, &news, pooled);
	else
		snprintf(p->note, p->notelen, "no case ran");
	free(names);
	free(v);
	return pooled > 0;
}

/* ---- census ---- */

static void census_cols(FILE *f, const struct pc_census *c)
{
	if (c->known)
		fprintf(f, " %d %d %d", c->time_wait, c->fin_wait2, c->listen);
	else
		fputs(" NaN NaN NaN", f);
}

/* Returns which panels have data (bit 0 at kill, 1 at bind). */
static int census_data(struct pc_chart__plot *p)
{
	const struct pc_run *run = p->run;
	int seq = 0, panels = 0;

	fputs("# cycle_in_run tw_at_kill fw2_at_kill listen_at_kill tw_at_bind fw2_at_bind "
	      "listen_at_bind (NaN: no census)\n", p->dat);
	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];

		fprintf(p->dat, "# case %d: ", i + 1);
		dat_comment(p->dat, r->spec->name);
		fputc('\n', p->dat);
		for (int k = 0; k < r->ncycles; k++) {
			panels |= r->cycles[k].at_kill.known | r->cycles[k].at_bind.known << 1;
			fprintf(p->dat, "%d", ++seq);
			census_cols(p->dat, &r->cycles[k].at_kill);
			census_cols(p->dat, &r->cycles[k].at_bind);
			fputc('\n', p->dat);
		}
		fputc('\n', p->dat);
	}
	return panels;
}

static void census_panel(struct pc_chart__plot *p, int col, const char *when, bool last,
			 int total)
{
	FILE *f = p->gp;

	fprintf(f, "set title '%s'\n", when);
	if (last)
		fputs("set xlabel 'cycle, in run order (dotted: where each case begins)'\n", f);
	fprintf(f, "plot '%s.dat' using 1:%d with %s lw 2 lc rgb \"%s\" title 'TIME_WAIT', \\\n"
		"  '' using 1:%d with %s lw 2 lc rgb \"%s\" title 'FIN_WAIT2', \\\n"
		"  '' using 1:%d with %s lw 2 lc rgb \"%s\" title 'LISTEN'\n", p->name,
		col, line_style(total, "linespoints pt 7 ps 0.6"), C_TIME_WAIT,
		col + 1, line_style(total, "linespoints pt 5 ps 0.6"), C_FIN_WAIT2,
		col + 2, line_style(total, "linespoints pt 9 ps 0.7"), C_LISTEN);
}

int pc_chart__census(struct pc_chart__plot *p)
{
	int max, total = total_cycles(p->run, &max), panels = census_data(p);
	FILE *f = p->gp;

	if (!panels) {
		snprintf(p->note, p->notelen, "no socket census in this run (the platform cannot "
			 "count sockets by state)");
		return 0;
	}
	gp_begin(p, "TIME_WAIT, FIN_WAIT2 and LISTEN sockets on the port, per cycle");
	fprintf(f, "set multiplot layout %d,1 ", (panels & 1) + (panels >> 1));
	gp_title(p, "title", "Sockets on the port by TCP state");
	fprintf(f, "set xrange [0.5:%d.5]\nset yrange [0:*]\nset ylabel 'sockets on the port'\n"
		"set key outside right top\n", total);
	gp_boundaries(p);
	if (panels & 1)
		census_panel(p, 2, "just before the kill", panels == 1, total);
	if (panels & 2)
		census_panel(p, 5, "at a failed bind of the new generation, or after its first "
			     "response", true, total);
	fputs("unset multiplot\n", f);
	gp_end(p);
	return 1;
}

/* ---- clients ---- */

/* The moment a cycle's restart begins, as the load windows count it:
 * the kill, or the new generation's spawn when that came first
 * (overlap, handoff); 0 when neither happened. */
static int64_t restart_at(const struct pc_cycle *c)
{
	if (c->kill_ns > 0 && c->spawn_ns > 0)
		return c->kill_ns < c->spawn_ns ? c->kill_ns : c->spawn_ns;
	return c->kill_ns > 0 ? c->kill_ns : c->spawn_ns;
}

/* Buckets up to an hour: the engine's are milliseconds, and with at most
 * MAX_BINS bins either side no product of the two can overflow. */
#define MAX_BUCKET_NS (3600 * 1000 * PC_NS_PER_MS)

static bool has_load(const struct pc_case_result *r)
{
	return r->load && r->load->nseries > 0 && r->load->bucket_ns > 0 &&
	       r->load->bucket_ns <= MAX_BUCKET_NS && r->ncycles > 0;
}

/* floor(a / b) for b > 0 */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && a < 0);
}

/* The bin (of width bin_ns, 0 = at the restart) of bucket b: its centre
 * against the nearest restart of the case; INT64_MIN when there is none
 * or it lies more than MAX_BINS bins away (no restart window is that
 * long; a results.json from elsewhere must not make the chart allocate
 * without bound or overflow). */
#define MAX_BINS 100000

static int64_t bin_of(const struct pc_case_result *r, const struct pc_load_bucket *b,
		      int64_t bin_ns)
{
	int64_t t, best = INT64_MAX, rel = 0;

	if (b->t_ns > INT64_MAX / 2)
		return INT64_MIN;
	t = b->t_ns + r->load->bucket_ns / 2;
	for (int k = 0; k < r->ncycles; k++) {
		int64_t at = restart_at(&r->cycles[k]), d;

		if (!at || at > INT64_MAX / 2)
			continue;
		d = t > at ? t - at : at - t;
		if (d < best) {
			best = d;
			rel = t - at;
		}
	}
	if (best == INT64_MAX || best / bin_ns > MAX_BINS)
		return INT64_MIN;
	return floor_div(rel, bin_ns);
}

struct strat {
	int cases, restarts;
	long requests, ymax;         /* ymax: the most requests in one bin */
	int64_t bin_ns, lo, hi;      /* bins lo..hi */
	long (*n)[PC_OUT_COUNT];     /* per bin */
	int64_t restart_p50;         /* -1 when no cycle restarted */
};

static bool in_strategy(const struct pc_case_result *r, int s)
{
	return has_load(r) && (int)r->spec->strategy == s;
}

/* First pass over a strategy's cases: bin width and range. */
static void strat_scan(const struct pc_run *run, int s, struct strat *st)
{
	st->lo = INT64_MAX;
	st->hi = INT64_MIN;
	for (int i = 0; i < run->ncases; i++)
		if (in_strategy(&run->cases[i], s) && run->cases[i].load->bucket_ns > st->bin_ns)
			st->bin_ns = run->cases[i].load->bucket_ns;
	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];

		if (!in_strategy(r, s))
			continue;
		st->cases++;
		for (size_t b = 0; b < r->load->nseries; b++) {
			int64_t bin = bin_of(r, &r->load->series[b], st->bin_ns);

			if (bin == INT64_MIN)
				continue;
			st->lo = bin < st->lo ? bin : st->lo;
			st->hi = bin > st->hi ? bin : st->hi;
		}
	}
}

/* Second pass: the counts, the restarts and their median latency. */
static void strat_fill(const struct pc_run *run, int s, struct strat *st, int64_t *v)
{
	int nv = 0;

	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];

		if (!in_strategy(r, s))
			continue;
		for (size_t b = 0; b < r->load->nseries; b++) {
			int64_t bin = bin_of(r, &r->load->series[b], st->bin_ns);

			for (int o = 0; bin != INT64_MIN && o < PC_OUT_COUNT; o++) {
				st->n[bin - st->lo][o] += r->load->series[b].n[o];
				st->requests += r->load->series[b].n[o];
			}
		}
		for (int k = 0; k < r->ncycles; k++) {
			st->restarts += restart_at(&r->cycles[k]) > 0;
			if (pc_cycle_restart_ns(&r->cycles[k]) >= 0)
				v[nv++] = pc_cycle_restart_ns(&r->cycles[k]);
		}
	}
	qsort(v, (size_t)nv, sizeof(*v), cmp_i64);
	st->restart_p50 = nv ? pc_stats_percentile(v, (size_t)nv, 50) : -1;
}

static void strat_block(FILE *f, struct strat *st, const char *name)
{
	char x[32];

	fprintf(f, "# strategy %s: rel_ms ok refused reset timeout http_error other\n", name);
	for (int64_t b = st->lo; b <= st->hi; b++) {
		const long *n = st->n[b - st->lo];
		long sum = 0;

		for (int o = 0; o < PC_OUT_COUNT; o++)
			sum += n[o];
		st->ymax = sum > st->ymax ? sum : st->ymax;
		ms(b * st->bin_ns + st->bin_ns / 2, INT64_MIN, x, sizeof(x));
		fprintf(f, "%s %ld %ld %ld %ld %ld %ld\n", x, n[PC_OUT_OK], n[PC_OUT_REFUSED],
			n[PC_OUT_RESET], n[PC_OUT_TIMEOUT], n[PC_OUT_HTTP_ERROR], n[PC_OUT_OTHER]);
	}
	fputs("\n\n", f);
}

/* A tic step of 1, 2 or 5 times a power of ten that gives about three
 * tics up to max: short panels have room for no more. */
static long nice_step(long max)
{
	long step = 1;

	while (step * 3 < max && step < LONG_MAX / 10) {
		if (step * 2 * 3 >= max)
			return step * 2;
		if (step * 5 * 3 >= max)
			return step * 5;
		step *= 10;
	}
	return step;
}

/* The restart and the median first 200, as dashed lines with labels in
 * boxes in front of the bars. */
static void strat_marks(FILE *f, const struct strat *st)
{
	char med[32];

	fputs("unset arrow\nunset label\nset arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 "
	      "lc rgb \"#000000\" front\nset label 1 'restart' at 0, graph 0.9 right offset -0.5,0 "
	      "front boxed\n", f);
	if (st->restart_p50 < 0)
		return;
	ms(st->restart_p50, 0, med, sizeof(med));
	fprintf(f, "set arrow 2 from %s, graph 0 to %s, graph 1 nohead dt 3 lw 2 lc rgb \"%s\" "
		"front\nset label 2 'first HTTP 200 (median)' at %s, graph 0.9 left offset 0.5,0 "
		"front boxed\n", med, med, C_OK, med);
}

/* Outcomes any strategy saw: bit o for outcome o. Only they are drawn,
 * so the key stays short enough for a panel. */
static unsigned outcomes_seen(const struct strat *st)
{
	unsigned seen = 0;

	for (int s = 0; s <= PC_STRATEGY_HANDOFF; s++)
		for (int64_t b = 0; st[s].n && b <= st[s].hi - st[s].lo; b++)
			for (int o = 0; o < PC_OUT_COUNT; o++)
				seen |= (st[s].n[b][o] > 0) << o;
	return seen ? seen : 1;
}

/* Stacked boxes, one outcome on top of the ones before it: for outcome o
 * the sum of the columns (2 + outcome) of the seen outcomes up to o. */
static void strat_plot(struct pc_chart__plot *p, int index, unsigned seen)
{
	static const char *const title[PC_OUT_COUNT] = {
		"ok", "refused", "reset", "timeout", "http error", "other",
	};
	static const char *const colour[PC_OUT_COUNT] = {
		C_OK, C_REFUSED, C_RESET, C_TIMEOUT, C_HTTP_ERROR, C_OTHER,
	};
	bool first = true;

	fputs("plot", p->gp);
	for (int o = PC_OUT_COUNT - 1; o >= 0; o--) {
		if (!(seen >> o & 1))
			continue;
		fprintf(p->gp, "%s '%s.dat' index %d using 1:(0", first ? "" : ", \\\n ", p->name,
			index);
		for (int k = 0; k <= o; k++)
			if (seen >> k & 1)
				fprintf(p->gp, "+$%d", 2 + k);
		fprintf(p->gp, ") with boxes lc rgb \"%s\" title '%s'", colour[o], title[o]);
		first = false;
	}
	fputc('\n', p->gp);
}

static void strat_panel(struct pc_chart__plot *p, const struct strat *st, const char *name,
			int index, bool first, bool last, unsigned seen)
{
	FILE *f = p->gp;
	char w[32];

	ms_short(st->bin_ns, w, sizeof(w));
	fprintf(f, "set title 'strategy %s: %d restarts in %d case%s, %ld requests'\n", name,
		st->restarts, st->cases, st->cases == 1 ? "" : "s", st->requests);
	fprintf(f, "set boxwidth %s absolute\nset ytics %ld\nset ylabel 'requests / %s ms'\n", w,
		nice_step(st->ymax), w);
	fputs(first ? "set key outside right top vertical font \",10\" samplen 1.5\n" :
	      "unset key\n", f);
	if (last)
		fputs("set xlabel 'ms from each restart (0: the kill, or the new generation''s spawn "
		      "if that came first); all restarts summed'\n", f);
	strat_marks(f, st);
	strat_plot(p, index, seen);
}

/* The strategies that have load data, scanned; returns how many, and the
 * x range over all of them (ms x 1000), so the panels line up. */
static int strat_scan_all(const struct pc_run *run, struct strat *st, int64_t *lo,
			  int64_t *hi)
{
	int n = 0;

	*lo = INT64_MAX;
	*hi = INT64_MIN;
	for (int s = 0; s <= PC_STRATEGY_HANDOFF; s++) {
		strat_scan(run, s, &st[s]);
		if (!st[s].cases || st[s].lo > st[s].hi)
			continue;
		n++;
		*lo = st[s].lo * st[s].bin_ns < *lo ? st[s].lo * st[s].bin_ns : *lo;
		*hi = (st[s].hi + 1) * st[s].bin_ns > *hi ? (st[s].hi + 1) * st[s].bin_ns : *hi;
	}
	return n;
}

static void clients_head(struct pc_chart__plot *p, int panels, int64_t lo, int64_t hi)
{
	char a[32], b[32];

	ms(lo, INT64_MIN, a, sizeof(a));
	ms(hi, INT64_MIN, b, sizeof(b));
	gp_begin(p, "load clients' outcomes around restarts, one panel per strategy");
	fprintf(p->gp, "set multiplot layout %d,1 ", panels);
	gp_title(p, "title", "Client requests by outcome around each restart");
	fprintf(p->gp, "set style fill solid 1.0 noborder\nset style textbox opaque noborder\n"
		"set yrange [0:*]\nset xrange [%s:%s]\nset lmargin 10\nset rmargin 16\n", a, b);
}

static void strat_free(struct strat *st)
{
	for (int s = 0; s <= PC_STRATEGY_HANDOFF; s++)
		free(st[s].n);
}

/* Counts of every strategy with data; -ENOMEM. */
static int strat_fill_all(const struct pc_run *run, struct strat *st, int64_t *v)
{
	for (int s = 0; s <= PC_STRATEGY_HANDOFF; s++) {
		if (!st[s].cases || st[s].lo > st[s].hi)
			continue;
		st[s].n = calloc((size_t)(st[s].hi - st[s].lo + 1), sizeof(*st[s].n));
		if (!st[s].n)
			return -ENOMEM;
		strat_fill(run, s, &st[s], v);
	}
	return 0;
}

int pc_chart__clients(struct pc_chart__plot *p)
{
	struct strat st[PC_STRATEGY_HANDOFF + 1] = { 0 };
	int max, total = total_cycles(p->run, &max), panels, k = 0, rc;
	int64_t *v, lo, hi;
	unsigned seen;

	panels = strat_scan_all(p->run, st, &lo, &hi);
	if (!panels) {
		snprintf(p->note, p->notelen, "no load data was recorded in this run (no case had "
			 "load clients: set clients = N in the scenario)");
		return 0;
	}
	v = malloc((total > 0 ? (size_t)total : 1) * sizeof(*v));
	rc = v ? strat_fill_all(p->run, st, v) : -ENOMEM;
	if (rc) {
		strat_free(st);
		free(v);
		return rc;
	}
	seen = outcomes_seen(st);
	clients_head(p, panels, lo, hi);
	for (int s = 0; s <= PC_STRATEGY_HANDOFF; s++) {
		if (!st[s].n)
			continue;
		strat_block(p->dat, &st[s], pc_strategy_name((enum pc_strategy)s));
		strat_panel(p, &st[s], pc_strategy_name((enum pc_strategy)s), k, k == 0,
			    k == panels - 1, seen);
		k++;
	}
	fputs("unset multiplot\n", p->gp);
	gp_end(p);
	strat_free(st);
	free(v);
	return 1;
}
