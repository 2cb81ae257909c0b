/* report_html.c -- report.html: one self-contained page per run for a
 * person who opens it from a CI artifact and wants to know what broke.
 * No external asset, no script: inline CSS, inline SVG. In order:
 *
 *   the verdict (a green or red band), with the run's counts
 *   what failed: per failed case its failed expectations (scenario line,
 *     measured value), why the bind failed, environment errors
 *   the charts: gnuplot's SVGs, inlined (their ids prefixed with the chart
 *     name, as several SVGs share one document), else a small chart drawn
 *     here of each case's rebind p50 and p99, and the note saying why
 *   the per-case table, not-run cases included
 *   the run: scenario, file, platform, netns mode, start, duration
 *
 * The page is XML-clean XHTML served as HTML5 (xmllint --noout accepts it):
 * every element closed, text escaped (& < > " '), control characters
 * dropped, bytes that are not valid UTF-8 written as '?'. Numbers are
 * printed from integers. */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "errname.h"

#define FALLBACK_ROWS 200   /* rows the built-in chart draws at most */

static void h(FILE *out, const char *s)
{
	pc_report_xml_put(out, s, false);
}

static void ms_cell(FILE *out, const struct pc_stats *s, int64_t v)
{
	char buf[32];

	if (!s->n) {
		fputs("<td class=\"n\">–</td>", out);
		return;
	}
	pc_report_fmt_fixed3(v, PC_NS_PER_MS, buf, sizeof(buf));
	fprintf(out, "<td class=\"n\">%s</td>", buf);
}

static const char style[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"margin:0;color:#222;background:#f6f6f6}"
	"header{padding:18px 28px;color:#fff}header.pass{background:#2e7d32}"
	"header.fail{background:#c62828}header h1{margin:0;font-size:28px}"
	"header p{margin:4px 0 0}main{padding:4px 28px 48px}"
	"h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:30px}"
	"table{border-collapse:collapse;font-size:13px;background:#fff}"
	"th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
	"th{background:#eee}td.name{min-width:14em}td.why{min-width:24em}td.n{text-align:right;"
	"font-variant-numeric:tabular-nums;"
	"white-space:nowrap}.v-pass{color:#2e7d32;font-weight:bold}"
	".v-fail,.v-error{color:#c62828;font-weight:bold}.v-not{color:#777}"
	".failure{border-left:5px solid #c62828;background:#fff;padding:6px 16px 12px;"
	"margin:14px 0}.failure h3{margin:8px 0}.why{margin:8px 0 0}"
	".notice{background:#fff3cd;border:1px solid #e0c060;padding:8px 14px}"
	"figure{margin:18px 0;background:#fff;border:1px solid #ddd;padding:10px}"
	"figure svg{max-width:100%;height:auto;display:block}"
	"figcaption{color:#555;font-size:13px;margin-top:4px}"
	"code{font-family:'DejaVu Sans Mono',monospace;font-size:13px}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}"
	"dt{font-weight:bold}dd{margin:0}";

/* ---- verdict ---- */

static void verdict(FILE *out, const struct pc_run *run)
{
	struct pc_report_tally t;
	bool pass = pc_report_run_passed(run);

	pc_report_tally(run, &t);
	fprintf(out, "<header class=\"%s\"><h1>%s — ", pass ? "pass" : "fail", pass ? "PASS" : "FAIL");
	h(out, run->scenario->name);
	fputs("</h1><p>", out);
	if (pass)
		fprintf(out, "%d of %d cases held their expectations", t.passed, t.planned);
	else
		fprintf(out, "%d of %d cases failed, %d passed", t.failed + t.errors, t.planned,
			t.passed);
	if (!pass && t.errors)
		fprintf(out, "; %d environment error%s", t.errors, t.errors == 1 ? "" : "s");
	if (!pass && t.not_run)
		fprintf(out, "; %d not run", t.not_run);
	if (run->interrupted)
		fputs("; the run was interrupted", out);
	fputs("</p><p>netns: ", out);
	h(out, run->netns[0] ? run->netns : "unknown");
	fputs(" · ", out);
	h(out, run->os);
	fputc(' ', out);
	h(out, run->kernel);
	fputs("</p></header>\n", out);
}

/* ---- what failed ---- */

static void failed_exps(FILE *out, const struct pc_case_result *r)
{
	if (!pc_report_nfailed(r))
		return;
	fputs("<table><tr><th>failed expectation</th><th>scenario line</th><th>measured</th>"
	      "</tr>", out);
	for (int i = 0; i < r->nexps; i++) {
		if (r->exps[i].status != PC_EXP_FAILED)
			continue;
		fputs("<tr><td><code>", out);
		h(out, r->exps[i].text);
		fprintf(out, "</code></td><td class=\"n\">%d</td><td><code>", r->exps[i].line);
		h(out, r->exps[i].measured);
		fputs("</code></td></tr>", out);
	}
	fputs("</table>\n", out);
}

static void failure(FILE *out, const struct pc_case_result *r, int i)
{
	const char *v = pc_report_case_verdict(r);

	fprintf(out, "<div class=\"failure\"><h3><a href=\"#case-%d\">", i + 1);
	h(out, r->spec->name);
	fprintf(out, "</a> <span class=\"v-%s\">%s</span></h3>\n", v,
		!strcmp(v, "error") ? "ERROR" : "FAIL");
	if (r->env_error[0]) {
		fputs("<p>Environment error: ", out);
		h(out, r->env_error);
		fputs("</p>\n", out);
	}
	failed_exps(out, r);
	if (r->diagnosis) {
		fputs("<p class=\"why\"><b>Why the bind failed:</b> ", out);
		h(out, r->diagnosis);
		fputs("</p>\n", out);
	}
	fputs("</div>\n", out);
}

static void failures(FILE *out, const struct pc_run *run)
{
	struct pc_report_tally t;

	pc_report_tally(run, &t);
	if (t.failed + t.errors == 0 && !run->interrupted && !t.not_run)
		return;
	fputs("<section id=\"failures\"><h2>What failed</h2>\n", out);
	if (run->interrupted || t.not_run)
		fprintf(out, "<p class=\"notice\">The run %s after %d of %d cases: the results "
			"are partial.</p>\n", run->interrupted ? "was interrupted" : "stopped",
			t.ran, t.planned);
	for (int i = 0; i < run->ncases; i++)
		if (strcmp(pc_report_case_verdict(&run->cases[i]), "pass"))
			failure(out, &run->cases[i], i);
	fputs("</section>\n", out);
}

/* ---- charts ---- */

/* Does s start an attribute or reference that names an id? Returns the
 * length of the part before the id, or 0. */
static size_t id_ref(const char *s, const char *start)
{
	static const char *const refs[] = { "id='", "id=\"", "href='#", "href=\"#", "url(#" };

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		size_t n = strlen(refs[i]);

		if (strncmp(s, refs[i], n))
			continue;
		if (i < 2 && s > start && s[-1] != ' ' && s[-1] != '\n' && s[-1] != '\t')
			continue;   /* "gid=", not "id=" */
		return n;
	}
	return 0;
}

/* gnuplot's SVG from its <svg> element on, each id prefixed with name. */
static void svg_inline(FILE *out, const char *svg, const char *name)
{
	const char *s = strstr(svg, "<svg");

	for (const char *p = s; p && *p; p++) {
		size_t n = id_ref(p, s);

		if (n) {
			fwrite(p, 1, n, out);
			fprintf(out, "%s-", name);
			p += n - 1;
			continue;
		}
		fputc(*p, out);
	}
}

static bool svg_usable(const char *svg)
{
	return svg && strstr(svg, "<svg") && !strstr(svg, "<script");
}

/* A small SVG of each case's rebind p50 (bar) and p99 (tick), linear, for
 * when gnuplot drew nothing. */
static int64_t fallback_max(const struct pc_run *run, int rows)
{
	int64_t max = 1;

	for (int i = 0; i < rows; i++)
		if (run->cases[i].rebind.n && run->cases[i].rebind.p99 > max)
			max = run->cases[i].rebind.p99;
	return max;
}

static void fallback_row(FILE *out, const struct pc_case_result *r, int y, int64_t max)
{
	const char *colour = !strcmp(pc_report_case_verdict(r), "pass") ? "#43a047" : "#e53935";
	char p50[32], p99[32];
	int w50, w99;

	fprintf(out, "<text x=\"390\" y=\"%d\" text-anchor=\"end\">", y + 14);
	h(out, r->spec->name);
	fputs("</text>", out);
	if (!r->rebind.n) {
		fprintf(out, "<text x=\"402\" y=\"%d\" fill=\"#777\">no successful rebind</text>\n",
			y + 14);
		return;
	}
	pc_report_fmt_fixed3(r->rebind.p50, PC_NS_PER_MS, p50, sizeof(p50));
	pc_report_fmt_fixed3(r->rebind.p99, PC_NS_PER_MS, p99, sizeof(p99));
	w50 = (int)((double)r->rebind.p50 * 600.0 / (double)max);
	w99 = (int)((double)r->rebind.p99 * 600.0 / (double)max);
	fprintf(out, "<rect x=\"400\" y=\"%d\" width=\"%d\" height=\"14\" fill=\"%s\"/>"
		"<rect x=\"%d\" y=\"%d\" width=\"3\" height=\"18\" fill=\"#222\"/>"
		"<text x=\"%d\" y=\"%d\" fill=\"#444\">%s / %s ms</text>\n", y + 3, w50, colour,
		400 + w99, y + 1, 410 + w99, y + 14, p50, p99);
}

static void fallback_chart(FILE *out, const struct pc_run *run)
{
	int rows = run->ncases < FALLBACK_ROWS ? run->ncases : FALLBACK_ROWS;
	int64_t max = fallback_max(run, rows);

	fprintf(out, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" "
		"height=\"%d\" viewBox=\"0 0 1200 %d\" font-family=\"sans-serif\" "
		"font-size=\"13\"><text x=\"10\" y=\"20\" font-size=\"16\">Rebind latency per "
		"case: p50 (bar) and p99 (tick), ms, linear</text>\n", 40 + 22 * rows,
		40 + 22 * rows);
	for (int i = 0; i < rows; i++)
		fallback_row(out, &run->cases[i], 32 + 22 * i, max);
	fprintf(out, "</svg><figcaption>Drawn by portchurn itself%s.</figcaption></figure>\n",
		run->ncases > rows ? "; the first 200 cases" : "");
}

static void charts(FILE *out, const struct pc_run *run, const struct pc_report_chart *c,
		   int n, const char *note)
{
	int drawn = 0;

	fputs("<section id=\"charts\"><h2>Charts</h2>\n", out);
	if (note) {
		fputs("<p class=\"notice\">", out);
		h(out, note);
		fputs("</p>\n", out);
	}
	for (int i = 0; i < n; i++) {
		if (!svg_usable(c[i].svg))
			continue;
		fputs("<figure>", out);
		svg_inline(out, c[i].svg, c[i].name);
		fputs("<figcaption>", out);
		h(out, c[i].title);
		fputs(" (charts/", out);
		h(out, c[i].name);
		fputs(".svg, .png)</figcaption></figure>\n", out);
		drawn++;
	}
	if (!drawn && run->ncases)
		fallback_chart(out, run);
	fputs("</section>\n", out);
}

/* ---- the case table ---- */

static void bind_cells(FILE *out, const struct pc_case_result *r)
{
	fprintf(out, "<td class=\"n\">%d</td><td class=\"n\">%d", r->bind_ok, r->bind_failed);
	for (int k = 0; k < r->nerrors; k++)
		fprintf(out, "%s%s %d", k ? ", " : " (", pc_errno_name(r->errors[k].err),
			r->errors[k].count);
	fputs(r->nerrors ? ")</td>" : "</td>", out);
}

static void census_cell(FILE *out, const struct pc_census *c)
{
	if (c->known)
		fprintf(out, "<td class=\"n\">%d / %d / %d</td>", c->time_wait, c->fin_wait2,
			c->listen);
	else
		fputs("<td class=\"n\">–</td>", out);
}

static void load_cell(FILE *out, const struct pc_case_result *r)
{
	const long *t;

	if (!r->load) {
		fputs("<td>–</td>", out);
		return;
	}
	t = r->load->total;
	fprintf(out, "<td class=\"n\">%ld ok, %ld refused, %ld reset, %ld timeout, %ld other</td>",
		t[PC_OUT_OK], t[PC_OUT_REFUSED], t[PC_OUT_RESET], t[PC_OUT_TIMEOUT],
		t[PC_OUT_HTTP_ERROR] + t[PC_OUT_OTHER]);
}

static void case_row(FILE *out, const struct pc_case_result *r, int i)
{
	const char *v = pc_report_case_verdict(r);

	fprintf(out, "<tr id=\"case-%d\"><td class=\"n\">%d</td><td class=\"name\">", i + 1,
		i + 1);
	h(out, r->spec->name);
	fprintf(out, "</td><td>%s</td><td class=\"v-%s\">%s</td>",
		pc_strategy_name(r->spec->strategy), v, !strcmp(v, "pass") ? "PASS" :
		!strcmp(v, "fail") ? "FAIL" : "ERROR");
	bind_cells(out, r);
	ms_cell(out, &r->rebind, r->rebind.p50);
	ms_cell(out, &r->rebind, r->rebind.p99);
	ms_cell(out, &r->restart, r->restart.p50);
	ms_cell(out, &r->restart, r->restart.p99);
	census_cell(out, &r->peak_at_kill);
	load_cell(out, r);
	fputs("<td class=\"why\">", out);
	h(out, r->diagnosis ? r->diagnosis : "");
	fputs("</td></tr>\n", out);
}

static void case_table(FILE *out, const struct pc_run *run)
{
	const struct pc_scenario *s = run->scenario;

	fputs("<section id=\"cases\"><h2>Cases</h2>\n<table><tr><th>#</th><th>case</th>"
	      "<th>strategy</th><th>verdict</th><th>bind ok</th><th>bind failed</th>"
	      "<th>rebind p50 ms</th><th>rebind p99 ms</th><th>restart p50 ms</th>"
	      "<th>restart p99 ms</th><th>TIME_WAIT / FIN_WAIT2 / LISTEN at kill (max)</th>"
	      "<th>load clients saw</th><th>why binds failed</th></tr>\n", out);
	for (int i = 0; i < run->ncases; i++)
		case_row(out, &run->cases[i], i);
	for (int i = run->ncases; i < s->ncases; i++) {
		fprintf(out, "<tr id=\"case-%d\"><td class=\"n\">%d</td><td>", i + 1, i + 1);
		h(out, s->cases[i].name);
		fputs("</td><td></td><td class=\"v-not\">NOT RUN</td><td colspan=\"9\"></td></tr>\n",
		      out);
	}
	fputs("</table></section>\n", out);
}

/* ---- the run ---- */

static void dl_item(FILE *out, const char *term, const char *text)
{
	fprintf(out, "<dt>%s</dt><dd>", term);
	h(out, text);
	fputs("</dd>", out);
}

static void run_facts(FILE *out, const struct pc_run *run)
{
	const struct pc_scenario *s = run->scenario;
	char buf[320], dur[32];

	fputs("<section id=\"run\"><h2>Run</h2><dl>", out);
	dl_item(out, "scenario", s->name);
	if (s->description[0])
		dl_item(out, "description", s->description);
	dl_item(out, "file", s->file);
	if (s->port)
		snprintf(buf, sizeof(buf), "%s, port %d", s->addr, s->port);
	else
		snprintf(buf, sizeof(buf), "%s, port auto", s->addr);
	dl_item(out, "address", buf);
	snprintf(buf, sizeof(buf), "%s %s", run->os, run->kernel);
	dl_item(out, "platform", buf);
	dl_item(out, "network namespace", run->netns[0] ? run->netns : "unknown");
	dl_item(out, "started (UTC)", run->started_utc);
	pc_report_fmt_fixed3(pc_report_span_ns(run->started_ns, run->finished_ns),
			     PC_REPORT_NS_PER_S, dur, sizeof(dur));
	snprintf(buf, sizeof(buf), "%s s", dur);
	dl_item(out, "duration", buf);
	dl_item(out, "interrupted", run->interrupted ? "yes" : "no");
	fputs("</dl></section>\n", out);
}

int pc_report_html(const struct pc_run *run, const struct pc_report_chart *charts_in,
		   int ncharts, const char *charts_note, FILE *out)
{
	bool pass = pc_report_run_passed(run);

	fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n"
	      "<head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width"
	      "\"/><title>", out);
	fputs(pass ? "PASS" : "FAIL", out);
	fputs(" — portchurn: ", out);
	h(out, run->scenario->name);
	fprintf(out, "</title><style>%s</style></head>\n<body>\n", style);
	verdict(out, run);
	fputs("<main>\n", out);
	failures(out, run);
	charts(out, run, charts_in, ncharts, charts_note);
	case_table(out, run);
	run_facts(out, run);
	fputs("</main>\n</body>\n</html>\n", out);
	return ferror(out) ? -EIO : 0;
}
