/* report_junit.c -- junit.xml for CI test views (GitLab, Jenkins, GitHub
 * actions that read JUnit). One scenario is one testsuite; each case of the
 * scenario is one testcase:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <testsuites name="portchurn" tests= failures= errors= skipped= time=>
 *     <testsuite name=SCENARIO tests= failures= errors= skipped= time=
 *                timestamp=STARTED_UTC>
 *       <properties> scenario_file, netns, os, kernel, interrupted
 *                    (true/false) as <property name= value=/> </properties>
 *       <testcase classname=SCENARIO name=CASE time=SECONDS>
 *         <properties> bind_ok, bind_failed, cycles, and rebind_p50_ms,
 *           rebind_p99_ms, restart_p50_ms, restart_p99_ms when the case has
 *           the figure </properties>
 *         <failure type="expectation" message="FIRST: measured VALUE">
 *           every failed expectation, one a line, with its measured value
 *           and scenario line</failure>               (verdict fail)
 *         <error type="environment" message=ENV_ERROR>  (verdict error)
 *         <skipped message="not run: ..."/>            (case never started)
 *       </testcase>
 *
 * A case the run never started (interrupted: ncases < scenario->ncases) is
 * listed, from the scenario, as skipped. time is seconds with 3 decimals;
 * every number is printed from integers, so the locale cannot change it.
 * Text is escaped (& < > " '), control characters other than tab/newline
 * are dropped (in attributes tab/newline/CR become a space), and bytes that
 * are not valid UTF-8 become '?'. */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "clock.h"

/* s escaped for an attribute (attr) or for element text. */
static void xml_put(FILE *out, const char *s, bool attr)
{
	pc_report_xml_put(out, s, !attr);
}

static void prop(FILE *out, const char *indent, const char *name, const char *value)
{
	fprintf(out, "%s<property name=\"%s\" value=\"", indent, name);
	xml_put(out, value, true);
	fputs("\"/>\n", out);
}

static void prop_int(FILE *out, const char *indent, const char *name, long long v)
{
	fprintf(out, "%s<property name=\"%s\" value=\"%lld\"/>\n", indent, name, v);
}

static void prop_ms(FILE *out, const char *indent, const char *name, int64_t ns)
{
	char buf[32];

	pc_report_fmt_fixed3(ns, PC_NS_PER_MS, buf, sizeof(buf));
	prop(out, indent, name, buf);
}

static void case_props(FILE *out, const struct pc_case_result *r)
{
	const char *in = "        ";

	fputs("      <properties>\n", out);
	prop_int(out, in, "bind_ok", r->bind_ok);
	prop_int(out, in, "bind_failed", r->bind_failed);
	prop_int(out, in, "cycles", r->ncycles);
	if (r->rebind.n) {
		prop_ms(out, in, "rebind_p50_ms", r->rebind.p50);
		prop_ms(out, in, "rebind_p99_ms", r->rebind.p99);
	}
	if (r->restart.n) {
		prop_ms(out, in, "restart_p50_ms", r->restart.p50);
		prop_ms(out, in, "restart_p99_ms", r->restart.p99);
	}
	fputs("      </properties>\n", out);
}

/* One <failure> (JUnit allows one per testcase) naming the first failed
 * expectation in its message and every one in its text. */
static void case_failure(FILE *out, const struct pc_case_result *r)
{
	const struct pc_exp_result *first = pc_report_first_failed(r);
	int nfailed = pc_report_nfailed(r);

	fputs("      <failure type=\"expectation\" message=\"", out);
	if (first) {
		xml_put(out, first->text, true);
		fputs(": measured ", out);
		xml_put(out, first->measured, true);
		if (nfailed > 1)
			fprintf(out, " (and %d more)", nfailed - 1);
	} else {
		fputs("case failed", out);
	}
	fputs("\">", out);
	for (int i = 0; i < r->nexps; i++) {
		if (r->exps[i].status != PC_EXP_FAILED)
			continue;
		fputc('\n', out);
		xml_put(out, r->exps[i].text, false);
		fputs(": measured ", out);
		xml_put(out, r->exps[i].measured, false);
		fprintf(out, " (scenario line %d)", r->exps[i].line);
	}
	if (r->diagnosis) {
		fputs("\nwhy the bind failed: ", out);
		xml_put(out, r->diagnosis, false);
	}
	fputs("</failure>\n", out);
}

static void time_attr(FILE *out, int64_t span_ns)
{
	char buf[32];

	pc_report_fmt_fixed3(span_ns, PC_REPORT_NS_PER_S, buf, sizeof(buf));
	fprintf(out, " time=\"%s\"", buf);
}

static void testcase_open(FILE *out, const char *scenario, const char *name)
{
	fputs("    <testcase classname=\"", out);
	xml_put(out, scenario, true);
	fputs("\" name=\"", out);
	xml_put(out, name, true);
	fputc('"', out);
}

static void testcase(FILE *out, const char *scenario, const struct pc_case_result *r)
{
	const char *v = pc_report_case_verdict(r);

	testcase_open(out, scenario, r->spec->name);
	time_attr(out, pc_report_span_ns(r->started_ns, r->finished_ns));
	fputs(">\n", out);
	case_props(out, r);
	if (!strcmp(v, "error")) {
		fputs("      <error type=\"environment\" message=\"", out);
		xml_put(out, r->env_error, true);
		fputs("\"/>\n", out);
	} else if (!strcmp(v, "fail")) {
		case_failure(out, r);
	}
	fputs("    </testcase>\n", out);
}

static void not_run(FILE *out, const char *scenario, const struct pc_case *c, bool interrupted)
{
	testcase_open(out, scenario, c->name);
	fprintf(out, " time=\"0.000\">\n      <skipped message=\"not run: %s\"/>\n"
		"    </testcase>\n",
		interrupted ? "the run was interrupted" : "the run ended early");
}

static void counts(FILE *out, const struct pc_report_tally *t, int64_t span_ns)
{
	fprintf(out, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\"", t->planned,
		t->failed, t->errors, t->not_run);
	time_attr(out, span_ns);
}

int pc_report_junit(const struct pc_run *run, FILE *out)
{
	const struct pc_scenario *s = run->scenario;
	int64_t span_ns = pc_report_span_ns(run->started_ns, run->finished_ns);
	struct pc_report_tally t;
	const char *in = "      ";

	pc_report_tally(run, &t);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"portchurn\"", out);
	counts(out, &t, span_ns);
	fputs(">\n  <testsuite name=\"", out);
	xml_put(out, s->name, true);
	fputc('"', out);
	counts(out, &t, span_ns);
	fputs(" timestamp=\"", out);
	xml_put(out, run->started_utc, true);
	fputs("\">\n    <properties>\n", out);
	prop(out, in, "scenario_file", s->file);
	prop(out, in, "netns", run->netns);
	prop(out, in, "os", run->os);
	prop(out, in, "kernel", run->kernel);
	prop(out, in, "interrupted", run->interrupted ? "true" : "false");
	fputs("    </properties>\n", out);
	for (int i = 0; i < run->ncases; i++)
		testcase(out, s->name, &run->cases[i]);
	for (int i = run->ncases; i < s->ncases; i++)
		not_run(out, s->name, &s->cases[i], run->interrupted);
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? -EIO : 0;
}
