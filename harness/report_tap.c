/* report_tap.c -- results.tap: TAP version 14 (testanything.org), for
 * harnesses that read TAP rather than JUnit (prove, tappy, node-tap, many
 * CI plugins). One test point per planned case, in scenario order:
 *
 *   TAP version 14
 *   1..N                           N = cases planned
 *   # portchurn: SCENARIO
 *   ok 1 - CASE NAME
 *   not ok 2 - CASE NAME
 *     ---                          YAML diagnostics, failures only
 *     message: "1 of 2 expectations failed"
 *     severity: fail               fail | error (environment error)
 *     failed:
 *       - expectation: "bind = ok"
 *         line: 12                 line of the scenario file
 *         measured: "EADDRINUSE 3/3"
 *     diagnosis: "blocked by 3 TIME_WAIT sockets ..."
 *     env_error: "..."             severity error only
 *     bind: {ok: 0, failed: 3}
 *     bind_errors: {EADDRINUSE: 3}
 *     rebind_ms: {p50: 0.710, p99: 0.808}    when there were samples
 *     restart_ms: {p50: 5.710, p99: 5.808}
 *     cycles: 3
 *     ...
 *   # 3 of 4 cases ran: 1 passed, 1 failed, 1 error; netns: private
 *   Bail out! interrupted: 3 of 4 cases ran    when cases are missing
 *                                  ("stopped early" when not interrupted)
 *
 * A run that stopped early ends in "Bail out!" rather than in skipped test
 * points: a skip would read as a pass, and an interrupted run fails.
 * Descriptions escape '#' and '\' as TAP 14 asks and lose control
 * characters; YAML strings are double-quoted with escapes; bytes that are
 * not valid UTF-8 become '?'. Numbers are printed from integers. */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "errname.h"

/* A test point description: one line, '#' and '\' escaped. */
static const char *desc_esc(unsigned char c, char buf[8])
{
	if (c == '#' || c == '\\')
		return pc_report_esc_backslash(c, buf);
	return c < 0x20 || c == 0x7f ? " " : pc_report_esc_same(c, buf);
}

static void tap_desc(FILE *out, const char *s)
{
	pc_report_put_escaped(out, s, desc_esc);
}

/* A YAML double-quoted scalar. */
static const char *yaml_esc(unsigned char c, char buf[8])
{
	if (c == '"' || c == '\\')
		return pc_report_esc_backslash(c, buf);
	if (c == '\n')
		return "\\n";
	if (c == '\t')
		return "\\t";
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, 8, "\\x%02x", c);
		return buf;
	}
	return pc_report_esc_same(c, buf);
}

static void tap_str(FILE *out, const char *s)
{
	fputc('"', out);
	pc_report_put_escaped(out, s, yaml_esc);
	fputc('"', out);
}

static void tap_ms_pair(FILE *out, const char *key, const struct pc_stats *s)
{
	char p50[32], p99[32];

	if (!s->n)
		return;
	pc_report_fmt_fixed3(s->p50, PC_NS_PER_MS, p50, sizeof(p50));
	pc_report_fmt_fixed3(s->p99, PC_NS_PER_MS, p99, sizeof(p99));
	fprintf(out, "  %s: {p50: %s, p99: %s}\n", key, p50, p99);
}

static void tap_failed_exps(FILE *out, const struct pc_case_result *r)
{
	if (!pc_report_nfailed(r))
		return;
	fputs("  failed:\n", out);
	for (int i = 0; i < r->nexps; i++) {
		const struct pc_exp_result *e = &r->exps[i];

		if (e->status != PC_EXP_FAILED)
			continue;
		fputs("    - expectation: ", out);
		tap_str(out, e->text);
		fprintf(out, "\n      line: %d\n      measured: ", e->line);
		tap_str(out, e->measured);
		fputc('\n', out);
	}
}

static void tap_bind(FILE *out, const struct pc_case_result *r)
{
	fprintf(out, "  bind: {ok: %d, failed: %d}\n", r->bind_ok, r->bind_failed);
	if (!r->nerrors)
		return;
	fputs("  bind_errors: {", out);
	for (int i = 0; i < r->nerrors; i++)
		fprintf(out, "%s%s: %d", i ? ", " : "", pc_errno_name(r->errors[i].err),
			r->errors[i].count);
	fputs("}\n", out);
}

/* The YAML block of a case that did not pass. */
static void tap_diagnostics(FILE *out, const struct pc_case_result *r)
{
	bool env = r->env_error[0] != '\0';
	char msg[96];

	if (env)
		snprintf(msg, sizeof(msg), "environment error");
	else
		snprintf(msg, sizeof(msg), "%d of %d expectations failed", pc_report_nfailed(r),
			 r->nexps);
	fputs("  ---\n  message: ", out);
	tap_str(out, msg);
	fprintf(out, "\n  severity: %s\n", env ? "error" : "fail");
	tap_failed_exps(out, r);
	if (r->diagnosis) {
		fputs("  diagnosis: ", out);
		tap_str(out, r->diagnosis);
		fputc('\n', out);
	}
	if (env) {
		fputs("  env_error: ", out);
		tap_str(out, r->env_error);
		fputc('\n', out);
	}
	tap_bind(out, r);
	tap_ms_pair(out, "rebind_ms", &r->rebind);
	tap_ms_pair(out, "restart_ms", &r->restart);
	fprintf(out, "  cycles: %d\n  ...\n", r->ncycles);
}

int pc_report_tap(const struct pc_run *run, FILE *out)
{
	struct pc_report_tally t;

	pc_report_tally(run, &t);
	fprintf(out, "TAP version 14\n1..%d\n# portchurn: ", t.planned);
	tap_desc(out, run->scenario->name);
	fputc('\n', out);
	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];
		bool pass = !strcmp(pc_report_case_verdict(r), "pass");

		fprintf(out, "%sok %d - ", pass ? "" : "not ", i + 1);
		tap_desc(out, r->spec->name);
		fputc('\n', out);
		if (!pass)
			tap_diagnostics(out, r);
	}
	fprintf(out, "# %d of %d cases ran: %d passed, %d failed, %d error%s; netns: ", t.ran,
		t.planned, t.passed, t.failed, t.errors, t.errors == 1 ? "" : "s");
	tap_desc(out, run->netns[0] ? run->netns : "unknown");
	fputc('\n', out);
	if (t.not_run || run->interrupted)
		fprintf(out, "Bail out! %s: %d of %d cases ran\n",
			run->interrupted ? "interrupted" : "stopped early", t.ran, t.planned);
	return ferror(out) ? -EIO : 0;
}
