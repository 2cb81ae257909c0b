/* test_html.c -- report.html: from a run built as a results.json document
 * (names that need escaping, a failure with a diagnosis, an environment
 * error, a case that did not run), with gnuplot-like SVGs and without any;
 * then from real runs, and `portchurn report` re-rendering one. The page
 * must be well-formed XML (xmllint --noout, when installed), hold every
 * case, put the verdict first and the failures before the charts. */
#include "e2e.h"

#include "report.h"
#include "results_load.h"

#define MS 1000000LL

static json_t *record(int i, const char *err, int64_t rebind_ns)
{
	int64_t kill = 1000 * MS + i * 100 * MS, reaped = kill + 2 * MS;
	bool ok = !strcmp(err, "0");

	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:{s:i, s:i, s:i}}", "index",
			 i, "kill_ns", (json_int_t)kill, "reaped_ns", (json_int_t)reaped,
			 "spawn_ns", (json_int_t)(reaped + MS), "bind_ns", (json_int_t)(reaped + MS),
			 "listen_ns", (json_int_t)(ok ? reaped + rebind_ns : 0), "first_ok_ns",
			 (json_int_t)(ok ? reaped + rebind_ns + 3 * MS : 0), "bind_errno", err,
			 "at_kill", "time_wait", 4 + i, "fin_wait2", 0, "listen", 1);
}

static json_t *case_json(const char *name, const char *verdict, json_t *records)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", name, "old", "reuseaddr", "new",
			 "none", "verdict", verdict, "records", records);
}

#define NAME_PASS "pass <b>&amp; 'q'"
#define NAME_FAIL "fail \"x\" & <y>"
#define NAME_ERR "err ]]> --"

static struct pc_run *sample_run(void)
{
	json_t *cases = json_array(), *fail, *doc;
	struct pc_run *run = NULL;
	char err[256];

	json_array_append_new(cases, case_json(NAME_PASS, "pass", json_pack("[o, o]",
				record(0, "0", 700000), record(1, "0", 900000))));
	fail = case_json(NAME_FAIL, "fail", json_pack("[o]", record(0, "EADDRINUSE", 0)));
	json_object_set_new(fail, "expectations", json_pack("[{s:s, s:s, s:s, s:i}]", "text",
			    "bind = ok", "status", "failed", "measured", "EADDRINUSE 1/1", "line", 7));
	json_array_append_new(cases, fail);
	json_array_append_new(cases, json_pack("{s:s, s:s, s:s, s:[]}", "name", NAME_ERR,
					       "verdict", "error", "env_error", "no <netns>",
					       "records"));
	doc = json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}, s:i, s:o}", "schema",
			"portchurn/1", "scenario", "name", "html & <test>", "file", "h.ini", "netns",
			"private", "platform", "os", "Linux", "kernel", "6.1-test", "cases_planned",
			4, "cases", cases);
	cr_assert_eq(pc_results_to_run(doc, &run, err, sizeof(err)), 0, "%s", err);
	json_decref(doc);
	snprintf(run->cases[1].cycles[0].diagnosis, sizeof(run->cases[1].cycles[0].diagnosis),
		 "blocked by 4 TIME_WAIT sockets <left>");
	pc_case_result_summarize(&run->cases[1]);
	return run;
}

static char *html_of(const struct pc_run *run, const struct pc_report_chart *c, int n,
		     const char *note)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert(f != NULL);
	cr_assert_eq(pc_report_html(run, c, n, note, f), 0, "the HTML writer failed");
	fclose(f);
	return text;
}

/* xmllint --noout on the text; skipped (true) without xmllint. */
static bool well_formed(const char *text, char *why, size_t len)
{
	char path[] = "/tmp/pc-html-XXXXXX", cmd[128];
	int fd = mkstemp(path), rc;
	FILE *p;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		unlink(path);
		cr_skip_test("xmllint is not installed (libxml2-utils)");
	}
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s 2>&1", path);
	p = popen(cmd, "r");
	why[0] = '\0';
	if (p && !fgets(why, (int)len, p))
		why[0] = '\0';
	rc = p ? pclose(p) : -1;
	unlink(path);
	return rc == 0;
}

static const char gnuplot_svg[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"  standalone=\"no\"?>\n"
	"<svg width=\"1200\" height=\"800\" viewBox=\"0 0 1200 800\"\n"
	" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
	"<g id=\"gnuplot_canvas\"><defs><path id='gpPt0' d='M-1,0 h2'/>"
	"<clipPath id='gpclip'><rect width='1' height='1'/></clipPath></defs>"
	"<use xlink:href='#gpPt0' clip-path='url(#gpclip)'/><text>a &amp; b</text></g></svg>\n";

Test(html, verdict_failures_charts_table, .timeout = 10)
{
	struct pc_run *run = sample_run();
	struct pc_report_chart charts[] = {
		{ "rebind_cdf", "Rebind latency CDF", gnuplot_svg },
		{ "cycles", "Cycles", gnuplot_svg },
	};
	char *h = html_of(run, charts, 2, NULL), why[512];
	const char *verdict = strstr(h, "<h1>FAIL"), *failed = strstr(h, "What failed");
	const char *chart = strstr(h, "<svg"), *table = strstr(h, "<section id=\"cases\"");

	cr_assert(well_formed(h, why, sizeof(why)), "not well-formed XML: %s", why);
	cr_assert(verdict && failed && chart && table, "a part is missing:\n%s", h);
	cr_assert(verdict < failed && failed < chart && chart < table,
		  "order: verdict, failures, charts, cases");
	cr_assert(strstr(h, "pass &lt;b&gt;&amp;amp; &#39;q&#39;"), "escaped passing name");
	cr_assert(strstr(h, "fail &quot;x&quot; &amp; &lt;y&gt;"), "escaped failing name");
	cr_assert(strstr(h, "err ]]&gt; --"), "escaped error name");
	cr_assert(strstr(h, "(case 4, not run)") && strstr(h, "NOT RUN"), "the case not run");
	cr_assert(strstr(h, "<code>bind = ok</code></td><td class=\"n\">7</td><td><code>"
			 "EADDRINUSE 1/1</code>"), "failed expectation, line and measured value");
	cr_assert(strstr(h, "blocked by 4 TIME_WAIT sockets &lt;left&gt;"), "the diagnosis");
	cr_assert(strstr(h, "Environment error: no &lt;netns&gt;"), "the environment error");
	cr_assert(strstr(h, "netns: private") && strstr(h, "Linux 6.1-test"), "netns, platform");
	cr_assert_eq(strstr(h, "<?xml"), NULL, "the SVG prolog must go");
	cr_assert(strstr(h, "id='rebind_cdf-gpPt0'") && strstr(h, "href='#rebind_cdf-gpPt0'") &&
		  strstr(h, "url(#rebind_cdf-gpclip)") && strstr(h, "id=\"cycles-gnuplot_canvas\""),
		  "ids of each SVG prefixed with its chart");
	cr_assert_eq(strstr(h, "<script"), NULL, "no script");
	free(h);
	pc_run_free(run);
}

Test(html, without_gnuplot_draws_its_own_chart, .timeout = 10)
{
	struct pc_run *run = sample_run();
	struct pc_report_chart charts[] = { { "rebind_cdf", "Rebind latency CDF", NULL } };
	char *h = html_of(run, charts, 1, "gnuplot is not installed: render with `gnuplot *.gp`"),
	     why[512];

	cr_assert(well_formed(h, why, sizeof(why)), "not well-formed XML: %s", why);
	cr_assert(strstr(h, "gnuplot is not installed"), "the note says why");
	cr_assert(strstr(h, "Rebind latency per case: p50 (bar) and p99 (tick)"),
		  "the built-in chart");
	cr_assert(strstr(h, ">0.800 / 0.898 ms</text>"), "p50 / p99 of the passing case");
	cr_assert(strstr(h, "no successful rebind"), "the failing case has no bar");
	free(h);
	pc_run_free(run);
}

Test(html, svg_with_script_is_not_inlined, .timeout = 10)
{
	struct pc_run *run = sample_run();
	struct pc_report_chart charts[] = {
		{ "x", "X", "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>" },
	};
	char *h = html_of(run, charts, 1, NULL);

	cr_assert_eq(strstr(h, "<script"), NULL, "a script got in");
	free(h);
	pc_run_free(run);
}

Test(html, passing_run_says_pass_first, .timeout = 10)
{
	struct pc_run *run = sample_run();
	char *h;

	run->cases[1].pass = true;
	run->cases[1].nexps = 0;
	run->cases[2].env_error[0] = '\0';
	run->cases[2].pass = true;
	run->scenario->ncases = 3;
	h = html_of(run, NULL, 0, NULL);
	cr_assert(strstr(h, "<header class=\"pass\"><h1>PASS — html &amp; &lt;test&gt;</h1>"),
		  "green band first:\n%.600s", h);
	cr_assert_eq(strstr(h, "What failed"), NULL, "nothing failed");
	free(h);
	pc_run_free(run);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;

	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)n + 1);
	cr_assert(text && fread(text, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	fclose(f);
	return text;
}

static bool gnuplot_installed(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* A real run: report.html is well-formed and names every case; with
 * gnuplot, the charts are inlined, else the page says how to render. */
Test(html, real_run, .timeout = 120)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	const char *names[] = { "old=none new=none", "old=none new=reuseaddr",
				"old=reuseaddr new=none", "old=reuseaddr new=reuseaddr" };
	char path[256], why[512];
	struct e2e t;
	char *h;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = html\ncycles = 3\n[matrix]\nold = none, "
		  "reuseaddr\nnew = none, reuseaddr\n[expect]\nbind = ok\n");
	cr_assert_eq(e2e_run(&t, args, 60000), 1, "exit %d: %s", t.status, e2e_read(&t, "stderr"));
	snprintf(path, sizeof(path), "%s/out/report.html", t.dir);
	h = slurp(path);
	cr_assert(well_formed(h, why, sizeof(why)), "report.html is not well-formed: %s", why);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert(strstr(h, names[i]), "report.html lacks case '%s'", names[i]);
	cr_assert(strstr(h, "<h1>FAIL — html</h1>") < strstr(h, "What failed"), "verdict first");
	cr_assert(strstr(h, "EADDRINUSE 3/3"), "the measured value of the failure");
	if (gnuplot_installed())
		cr_assert(strstr(h, "id=\"matrix-gnuplot_canvas\""), "the matrix chart is inlined");
	else
		cr_assert(strstr(h, "gnuplot is not installed"), "the page says why no chart");
	free(h);
	e2e_assert_no_leftovers(&t);
}

/* `portchurn report DIR` writes what a run writes, from results.json alone;
 * with --out elsewhere it copies results.json, fields it does not know kept. */
Test(html, report_rerenders_from_results_json, .timeout = 120)
{
	const char *run_args[] = { "run", "@/s.ini", "--out", "@/out", "-q", "--charts", "off",
				   NULL };
	const char *rep_args[] = { "report", "@/out", "--charts", "scripts", NULL };
	const char *copy_args[] = { "report", "@/out/results.json", "--out", "@/copy", "--charts",
				    "off", NULL };
	char path[256];
	struct e2e t;
	json_t *j;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = rerender\ncycles = 2\nopts = reuseaddr\n");
	cr_assert_eq(e2e_run(&t, run_args, 60000), 0, "run: exit %d", t.status);
	snprintf(path, sizeof(path), "%s/out/junit.xml", t.dir);
	cr_assert_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/out/results.json", t.dir);
	j = json_load_file(path, 0, NULL);
	json_object_set_new(j, "x_from_the_future", json_string("kept"));
	cr_assert_eq(json_dump_file(j, path, JSON_INDENT(2)), 0);
	json_decref(j);
	cr_assert_eq(e2e_run(&t, rep_args, 60000), 0, "report: exit %d: %s", t.status,
		     e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "out/junit.xml"), "<testcase"), "junit.xml rewritten");
	cr_assert(strstr(e2e_read(&t, "out/charts/rebind_cdf.gp"), "rebind_cdf.dat"),
		  "chart scripts written");
	cr_assert(strstr(e2e_read(&t, "stdout"), "charts: Charts not rendered (--charts scripts)"),
		  "one line says how to render: %s", e2e_read(&t, "stdout"));
	cr_assert_eq(e2e_run(&t, copy_args, 60000), 0, "report --out: exit %d: %s", t.status,
		     e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "copy/results.json"), "\"x_from_the_future\": \"kept\""),
		  "unknown fields survive the copy");
	cr_assert(strstr(e2e_read(&t, "copy/summary.md"), "rerender"), "summary.md in the copy");
}

Test(html, report_refuses_what_is_not_results, .timeout = 30)
{
	const char *args[] = { "report", "@/junk.json", NULL };
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "junk.json", "{\"schema\": \"something/2\"}");
	cr_assert_eq(e2e_run(&t, args, 10000), 2, "exit %d", t.status);
	cr_assert(strstr(e2e_read(&t, "stderr"), "junk.json: schema: not \"portchurn/1\""),
		  "stderr: %s", e2e_read(&t, "stderr"));
}
