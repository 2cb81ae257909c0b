/* test_chart.c -- charts/ from runs built as results.json documents: what
 * each data file holds, that a chart without data is not drawn (never from
 * invented data) and README.txt says why, that the client-outcome chart
 * lights up when load data is there, and that gnuplot renders every
 * written chart to SVG and PNG when installed. Then real runs: with
 * gnuplot, and with a PATH where there is none. */
#include "e2e.h"

#include "chart.h"
#include "results_load.h"

#define MS 1000000LL

/* A cycle 100 ms after the last: bound with the rebind given, or failed. */
static json_t *record(int i, const char *err, int64_t rebind_ns)
{
	int64_t kill = 1000 * MS + i * 100 * MS, reaped = kill + 2 * MS;
	bool ok = !strcmp(err, "0");

	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:{s:i, s:i, s:i}, s:n}",
			 "index", i, "kill_ns", (json_int_t)kill, "reaped_ns", (json_int_t)reaped,
			 "spawn_ns", (json_int_t)(reaped + MS), "bind_ns", (json_int_t)(reaped + MS),
			 "listen_ns", (json_int_t)(ok ? reaped + rebind_ns : 0), "first_ok_ns",
			 (json_int_t)(ok ? reaped + rebind_ns + 3 * MS : 0), "bind_errno", err,
			 "at_kill", "time_wait", 4 * (i + 1), "fin_wait2", i % 2, "listen", 1,
			 "at_bind");
}

static json_t *case_json(const char *old, const char *new, const char *err, int n)
{
	char name[96];
	json_t *recs = json_array();

	snprintf(name, sizeof(name), "old=%s new=%s", old, new);
	for (int i = 0; i < n; i++)
		json_array_append_new(recs, record(i, err, (500 + 100 * i) * 1000));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "name", name, "old", old, "new", new,
			 "strategy", "naive", "verdict", "pass", "records", recs);
}

/* Load during a case: 10 ms buckets across its 4 cycles (kills every
 * 100 ms from 1 s); refused requests in the 20 ms after each kill. */
static void add_load(json_t *c, const char *strategy)
{
	json_t *series = json_array();

	for (int b = 0; b < 40; b++) {
		int64_t t = 950 * MS + b * 10 * MS, since = (t - 1000 * MS) % (100 * MS);
		bool down = t >= 1000 * MS && since < 20 * MS;

		json_array_append_new(series, json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:i}",
				      "t_ns", (json_int_t)t, "ok", down ? 0 : 9, "refused",
				      down ? 7 : 0, "reset", down ? 1 : 0, "timeout", 0,
				      "http_error", 0, "other", 0));
	}
	json_object_set_new(c, "strategy", json_string(strategy));
	json_object_set_new(c, "load", json_pack("{s:i, s:b, s:i, s:I, s:o}", "clients", 4,
			    "keepalive", 1, "rate", 0, "bucket_ns", (json_int_t)(10 * MS),
			    "series", series));
}

static struct pc_run *run_of(json_t *cases)
{
	json_t *doc = json_pack("{s:s, s:{s:s}, s:s, s:o}", "schema", "portchurn/1", "scenario",
				"name", "charts", "netns", "private", "cases", cases);
	struct pc_run *run = NULL;
	char err[256];

	cr_assert_eq(pc_results_to_run(doc, &run, err, sizeof(err)), 0, "%s", err);
	json_decref(doc);
	return run;
}

/* 2 x 2 matrix: none/none fails, the rest bind. */
static struct pc_run *matrix_run(bool with_load)
{
	json_t *cases = json_pack("[o, o, o, o]", case_json("none", "none", "EADDRINUSE", 4),
				  case_json("none", "reuseaddr", "0", 4),
				  case_json("reuseaddr", "none", "0", 4),
				  case_json("reuseaddr", "reuseaddr", "0", 4));

	if (with_load) {
		add_load(json_array_get(cases, 1), "naive");
		add_load(json_array_get(cases, 3), "overlap");
	}
	return run_of(cases);
}

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pc-chart-XXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(chart, .init = make_dir, .fini = remove_dir, .timeout = 60);

static char *read_chart(const char *name)
{
	static char buf[1 << 16];
	char path[160];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/charts/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/charts/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void write_charts(struct pc_run *run, enum pc_chart_mode mode, struct pc_chart_set *s)
{
	char err[256];

	cr_assert_eq(pc_chart_write_all(run, dir, mode, s, err, sizeof(err)), 0, "%s", err);
}

Test(chart, data_and_scripts_without_load)
{
	struct pc_run *run = matrix_run(false);
	struct pc_chart_set s;
	const char *t;

	write_charts(run, PC_CHARTS_SCRIPTS, &s);
	cr_assert_eq(s.nwritten, 4, "rebind_cdf, cycles, matrix, census; not %d", s.nwritten);
	cr_assert(!s.charts[4].written && strstr(s.charts[4].note, "no load data"),
		  "clients: %s", s.charts[4].note);
	cr_assert(!exists("clients.dat") && !exists("clients.gp"), "no invented client data");
	t = read_chart("rebind_cdf.dat");
	cr_assert(strstr(t, "# case 2: old=none new=reuseaddr\n# rebind_ms fraction_of_cycles\n"
			 "0.500 0\n0.500 0.250000\n0.600 0.500000\n0.700 0.750000\n0.800 1.000000\n"),
		  "CDF of case 2:\n%s", t);
	cr_assert_eq(strstr(t, "case 1:"), NULL, "a case without a rebind has no line");
	cr_assert(strstr(s.charts[0].note, "1 case without a successful rebind is not drawn"),
		  "note: %s", s.charts[0].note);
	t = read_chart("matrix.dat");
	cr_assert(strstr(t, "0 0 2 \"EADDRINUSE 4/4\"\n") && strstr(t, "1 0 0 \"p50 0.650 ms\"\n"),
		  "matrix cells:\n%s", t);
	t = read_chart("census.dat");
	cr_assert(strstr(t, "\n1 4 0 1 NaN NaN NaN\n2 8 1 1 NaN NaN NaN\n"), "census:\n%s", t);
	t = read_chart("cycles.gp");
	cr_assert(strstr(t, "set terminal svg size 1200,800") && strstr(t, "pngcairo") &&
		  strstr(t, "set ylabel 'rebind latency (ms, log)'"), "script:\n%s", t);
	t = read_chart("README.txt");
	cr_assert(strstr(t, "gnuplot *.gp") && strstr(t, "clients     Client outcomes around "
		  "restarts: not drawn; no load data"), "README.txt:\n%s", t);
	cr_assert(!exists("rebind_cdf.svg"), "scripts mode renders nothing");
	pc_chart_set_release(&s);
	pc_run_free(run);
}

Test(chart, clients_chart_lights_up_with_load)
{
	struct pc_run *run = matrix_run(true);
	struct pc_chart_set s;
	const char *t;

	write_charts(run, PC_CHARTS_SCRIPTS, &s);
	cr_assert(s.charts[4].written, "clients chart not written: %s", s.charts[4].note);
	t = read_chart("clients.dat");
	cr_assert(strstr(t, "# strategy naive:") && strstr(t, "# strategy overlap:"),
		  "one block per strategy:\n%s", t);
	/* bucket centres 5 ms and 15 ms after each of the 4 kills, summed */
	cr_assert(strstr(t, "\n5.000 0 28 4 0 0 0\n15.000 0 28 4 0 0 0\n25.000 36 0 0 0 0 0\n"),
		  "refused and reset right after the kills, ok later:\n%s", t);
	t = read_chart("clients.gp");
	cr_assert(strstr(t, "set multiplot layout 2,1") && strstr(t, "strategy overlap"),
		  "a panel per strategy:\n%s", t);
	cr_assert(strstr(t, "title 'refused'") && strstr(t, "#fb8c00"), "refused in orange");
	pc_chart_set_release(&s);
	pc_run_free(run);
}

static bool gnuplot_installed(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static void assert_png(const char *name)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char head[8] = { 0 };
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/charts/%s.png", dir, name);
	f = fopen(path, "rb");
	cr_assert(f != NULL, "%s missing", path);
	cr_assert_eq(fread(head, 1, 8, f), 8u);
	fclose(f);
	cr_assert(!memcmp(head, sig, 8), "%s is not a PNG", path);
}

Test(chart, gnuplot_renders_all_five)
{
	struct pc_run *run = matrix_run(true);
	struct pc_chart_set s;
	char keep[256];

	if (!gnuplot_installed())
		cr_skip_test("gnuplot is not installed");
	write_charts(run, PC_CHARTS_RENDER, &s);
	cr_assert(s.gnuplot, "gnuplot not found on PATH");
	for (int i = 0; i < PC_CHART_COUNT; i++) {
		char svg[64];

		cr_assert(s.charts[i].rendered, "%s not rendered: %s", s.charts[i].name,
			  s.charts[i].note);
		cr_assert(s.charts[i].svg && strstr(s.charts[i].svg, "<svg"), "%s: no SVG text",
			  s.charts[i].name);
		snprintf(svg, sizeof(svg), "%s.svg", s.charts[i].name);
		cr_assert(exists(svg), "%s missing", svg);
		assert_png(s.charts[i].name);
	}
	cr_assert(!exists(".tmp-clients.svg") && !exists(".tmp-clients.png"), "temp files left");
	/* PC_CHART_KEEP=DIR keeps the PNGs for a person to look at */
	if (getenv("PC_CHART_KEEP")) {
		snprintf(keep, sizeof(keep), "cp %s/charts/*.png '%s'/", dir, getenv("PC_CHART_KEEP"));
		cr_assert_eq(system(keep), 0);
	}
	pc_chart_set_release(&s);
	pc_run_free(run);
}

/* A failed render leaves no half-written image under the final name. */
Test(chart, broken_gnuplot_leaves_no_image)
{
	struct pc_run *run = matrix_run(false);
	struct pc_chart_set s;
	char bin[96], path[160];
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	cr_assert_eq(mkdir(bin, 0755), 0);
	snprintf(path, sizeof(path), "%s/gnuplot", bin);
	f = fopen(path, "w");
	cr_assert(f != NULL);
	fputs("#!/bin/sh\necho 'gnuplot: simulated failure' >&2\nexit 1\n", f);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
	setenv("PATH", bin, 1);
	write_charts(run, PC_CHARTS_RENDER, &s);
	cr_assert(s.gnuplot, "the fake gnuplot was not found");
	cr_assert(!s.charts[2].rendered && strstr(s.charts[2].note, "gnuplot failed: gnuplot: "
		  "simulated failure"), "note: %s", s.charts[2].note);
	cr_assert(!exists("matrix.svg") && !exists(".tmp-matrix.svg"), "no image left behind");
	cr_assert(exists("matrix.gp"), "the script stays, to render by hand");
	pc_chart_set_release(&s);
	pc_run_free(run);
}

/* End to end: a run without gnuplot on PATH exits as before, writes the
 * data and scripts, and says in one line how to render them. */
Test(chart, run_without_gnuplot_still_passes, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	struct e2e t;
	const char *out;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = nognuplot\ncycles = 3\nopts = reuseaddr\n"
		  "[expect]\nbind = ok\n");
	setenv("PATH", "/nonexistent", 1);
	cr_assert_eq(e2e_run(&t, args, 60000), 0, "exit %d: %s", t.status, e2e_read(&t, "stderr"));
	out = e2e_read(&t, "stdout");
	cr_assert(strstr(out, "charts: gnuplot is not installed: the chart data and scripts are "
			 "in ") && strstr(out, "render them with `cd ") && strstr(out, "gnuplot *.gp`"),
		  "one line says how to render:\n%s", out);
	cr_assert(strstr(e2e_read(&t, "out/charts/rebind_cdf.gp"), "plot"), "scripts written");
	cr_assert(strstr(e2e_read(&t, "out/charts/README.txt"), "gnuplot was not installed"),
		  "README.txt says why");
	cr_assert(strstr(e2e_read(&t, "out/report.html"), "Drawn by portchurn itself"),
		  "report.html draws its own chart");
	e2e_assert_no_leftovers(&t);
}

Test(chart, run_with_gnuplot_renders, .timeout = 90)
{
	const char *args[] = { "run", "@/s.ini", "--out", "@/out", "-q", NULL };
	static const char *const names[] = { "rebind_cdf", "cycles", "matrix", "census" };
	struct e2e t;
	char path[256];

	if (!gnuplot_installed())
		cr_skip_test("gnuplot is not installed");
	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = withgnuplot\ncycles = 3\n[matrix]\n"
		  "old = none, reuseaddr\nnew = reuseaddr\n[expect]\nbind = any\n");
	cr_assert_eq(e2e_run(&t, args, 60000), 0, "exit %d: %s", t.status, e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "stdout"), "charts: 4 of 4 rendered as SVG and PNG"),
		  "stdout: %s", e2e_read(&t, "stdout"));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/out/charts/%s.png", t.dir, names[i]);
		cr_assert(access(path, F_OK) == 0, "%s missing", path);
		snprintf(path, sizeof(path), "%s/out/charts/%s.svg", t.dir, names[i]);
		cr_assert(access(path, F_OK) == 0, "%s missing", path);
	}
	e2e_assert_no_leftovers(&t);
}
