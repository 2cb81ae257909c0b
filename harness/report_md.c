/* report_md.c -- summary.md: a GitHub-flavoured Markdown summary for people
 * (CI job summaries, PR comments):
 *
 *   ## portchurn: SCENARIO
 *
 *   **PASS** — 8/8 cases held their expectations
 *   **FAIL** — 2 of 8 cases failed (1 environment error); 3 not run (interrupted)
 *
 *   | case | bind ok | bind failed | rebind p50 ms | rebind p99 ms |
 *   | restart p50 ms | verdict | failed expectation (measured) |   (one row)
 *
 *   one row per scenario case; verdict PASS, FAIL, ERROR (the environment
 *   error is in the last column) or NOT RUN; figures a case lacks are "–".
 *   The last column lists every failed expectation as "TEXT (MEASURED)",
 *   separated by "; ".
 *
 *   netns: MODE · platform: OS KERNEL · started STARTED_UTC · N.NNN s
 *
 * Milliseconds have 3 decimals, printed from integers (locale-proof). In
 * cells and text, Markdown punctuation that could change the rendering
 * (\ ` * _ [ ] < > & |) is backslash-escaped, line breaks become spaces,
 * other control characters are dropped and bytes that are not valid UTF-8
 * become '?'. */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "clock.h"

static const char *md_esc(unsigned char c, char buf[8])
{
	if (c == '\n' || c == '\r' || c == '\t')
		return " ";
	if (c < 0x20 || c == 0x7f)
		return "";
	return strchr("\\`*_[]<>&|", c) ? pc_report_esc_backslash(c, buf)
					   : pc_report_esc_same(c, buf);
}

static void md_put(FILE *out, const char *s)
{
	pc_report_put_escaped(out, s, md_esc);
}

static void md_ms(FILE *out, const struct pc_stats *s, int64_t v)
{
	char buf[32];

	if (!s->n) {
		fputs(" – |", out);
		return;
	}
	pc_report_fmt_fixed3(v, PC_NS_PER_MS, buf, sizeof(buf));
	fprintf(out, " %s |", buf);
}

static void md_failed(FILE *out, const struct pc_case_result *r)
{
	int n = 0;

	for (int i = 0; i < r->nexps; i++) {
		if (r->exps[i].status != PC_EXP_FAILED)
			continue;
		fputs(n++ ? "; " : " ", out);
		md_put(out, r->exps[i].text);
		fputs(" (", out);
		md_put(out, r->exps[i].measured);
		fputc(')', out);
	}
}

static void md_row(FILE *out, const struct pc_case_result *r)
{
	const char *v = pc_report_case_verdict(r);

	fputs("| ", out);
	md_put(out, r->spec->name);
	fprintf(out, " | %d | %d |", r->bind_ok, r->bind_failed);
	md_ms(out, &r->rebind, r->rebind.p50);
	md_ms(out, &r->rebind, r->rebind.p99);
	md_ms(out, &r->restart, r->restart.p50);
	if (r->peak_at_kill.known)
		fprintf(out, " %d/%d/%d |", r->peak_at_kill.time_wait, r->peak_at_kill.fin_wait2,
			r->peak_at_kill.listen);
	else
		fputs(" – |", out);
	if (!strcmp(v, "error")) {
		fputs(" ERROR | environment: ", out);
		md_put(out, r->env_error);
	} else {
		fputs(!strcmp(v, "pass") ? " PASS |" : " FAIL |", out);
		md_failed(out, r);
	}
	fputs(" |\n", out);
}

static void md_verdict(FILE *out, const struct pc_run *run)
{
	struct pc_report_tally t;

	pc_report_tally(run, &t);
	if (pc_report_run_passed(run)) {
		fprintf(out, "**PASS** — %d/%d cases held their expectations\n\n", t.passed,
			t.planned);
		return;
	}
	fprintf(out, "**FAIL** — %d of %d cases failed", t.failed + t.errors, t.planned);
	if (t.errors)
		fprintf(out, " (%d environment error%s)", t.errors, t.errors == 1 ? "" : "s");
	if (t.not_run)
		fprintf(out, "; %d not run", t.not_run);
	fputs(run->interrupted ? " (interrupted)\n\n" : "\n\n", out);
}

/* What the load clients saw, per case: the answer to "which strategy". */
static void md_load(FILE *out, const struct pc_run *run)
{
	bool any = false;

	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];
		const struct pc_load_result *l = r->load;

		if (!l)
			continue;
		if (!any)
			fputs("\n### What clients saw\n\n| case | strategy | ok | refused | reset | "
			      "timeout | downtime p99 ms | latency p99 ms steady | during restart |\n"
			      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n", out);
		any = true;
		fputs("| ", out);
		md_put(out, r->spec->name);
		fprintf(out, " | %s | %ld | %ld | %ld | %ld |", pc_strategy_name(r->spec->strategy),
			l->total[PC_OUT_OK], l->total[PC_OUT_REFUSED], l->total[PC_OUT_RESET],
			l->total[PC_OUT_TIMEOUT]);
		md_ms(out, &l->downtime, l->downtime.p99);
		md_ms(out, &l->latency_steady, l->latency_steady.p99);
		md_ms(out, &l->latency_restart, l->latency_restart.p99);
		fputc('\n', out);
	}
}

/* Why binds failed, one line per case that had a failed bind. */
static void md_diagnoses(FILE *out, const struct pc_run *run)
{
	bool any = false;

	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];

		if (!r->diagnosis)
			continue;
		if (!any)
			fputs("\n### Why binds failed\n\n", out);
		any = true;
		fputs("- **", out);
		md_put(out, r->spec->name);
		fputs("**: ", out);
		md_put(out, r->diagnosis);
		fputc('\n', out);
	}
}

int pc_report_md(const struct pc_run *run, FILE *out)
{
	const struct pc_scenario *s = run->scenario;
	char dur[32];

	fputs("## portchurn: ", out);
	md_put(out, s->name);
	fputs("\n\n", out);
	md_verdict(out, run);
	fputs("| case | bind ok | bind failed | rebind p50 ms | rebind p99 ms | restart p50 ms "
	      "| at kill, max TW/FW2/LISTEN | verdict | failed expectation (measured) |\n"
	      "|---|---:|---:|---:|---:|---:|---:|---|---|\n", out);
	for (int i = 0; i < run->ncases; i++)
		md_row(out, &run->cases[i]);
	for (int i = run->ncases; i < s->ncases; i++) {
		fputs("| ", out);
		md_put(out, s->cases[i].name);
		fputs(" | – | – | – | – | – | – | NOT RUN | |\n", out);
	}
	md_load(out, run);
	md_diagnoses(out, run);
	pc_report_fmt_fixed3(pc_report_span_ns(run->started_ns, run->finished_ns),
			     PC_REPORT_NS_PER_S, dur, sizeof(dur));
	fputs("\nnetns: ", out);
	md_put(out, run->netns[0] ? run->netns : "unknown");
	fputs(" · platform: ", out);
	md_put(out, run->os);
	fputc(' ', out);
	md_put(out, run->kernel);
	fputs(" · started ", out);
	md_put(out, run->started_utc);
	fprintf(out, " · %s s\n", dur);
	return ferror(out) ? -EIO : 0;
}
