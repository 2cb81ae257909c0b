/* chart.c -- see chart.h. Each chart is a builder that writes its data and
 * its gnuplot script into memory (open_memstream); the files are then
 * written atomically, and gnuplot renders them (chart_gnuplot.c). */
#include "chart.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chart_int.h"
#include "clock.h"
#include "report.h"

int pc_chart_mode_parse(const char *text, enum pc_chart_mode *out)
{
	static const char *const names[] = { "off", "scripts", "render" };

	for (int i = 0; i < 3; i++) {
		if (!strcmp(text, names[i])) {
			*out = (enum pc_chart_mode)i;
			return 0;
		}
	}
	return -1;
}

static const struct {
	const char *name, *title;
	int (*build)(struct pc_chart__plot *p);
} table[PC_CHART_COUNT] = {
	{ "rebind_cdf", "Rebind latency CDF per case", pc_chart__rebind_cdf },
	{ "cycles", "Rebind and restart latency per cycle", pc_chart__cycles },
	{ "matrix", "Bind outcome by old x new option set", pc_chart__matrix },
	{ "census", "TIME_WAIT / FIN_WAIT2 / LISTEN per cycle", pc_chart__census },
	{ "clients", "Client outcomes around restarts", pc_chart__clients },
};

/* ---- files ---- */

struct buf {
	char *text;
	size_t len;
};

static int put_buf(const void *ctx, FILE *out)
{
	const struct buf *b = ctx;

	return fwrite(b->text, 1, b->len, out) == b->len ? 0 : -EIO;
}

static int mkdir_charts(const char *dir, struct pc_chart_set *set, char *err, size_t errlen)
{
	if ((size_t)snprintf(set->dir, sizeof(set->dir), "%s/charts", dir) >= sizeof(set->dir)) {
		snprintf(err, errlen, "%s/charts: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(set->dir, 0777) < 0 && errno != EEXIST) {
		int rc = -errno;

		snprintf(err, errlen, "%s: cannot create directory: %s", set->dir, strerror(-rc));
		return rc;
	}
	return 0;
}

/* Files of an earlier render of this directory that this one does not
 * replace would show data that is not this run's. */
void pc_chart__remove(const char *chart_dir, const char *name, const char *const *exts)
{
	char path[1200];

	for (; *exts; exts++) {
		snprintf(path, sizeof(path), "%s/%s.%s", chart_dir, name, *exts);
		unlink(path);
	}
}

static int write_text(const char *dir, const char *name, const char *ext, const struct buf *b,
		      char *err, size_t errlen)
{
	char file[128];

	snprintf(file, sizeof(file), "%s.%s", name, ext);
	return pc_report_write_file(dir, file, put_buf, b, err, errlen);
}

/* Build one chart in memory and write its two files; the renderings of an
 * earlier run go, the render makes new ones. Returns 0 (written, or not
 * drawn with the reason in c->note) or -errno. */
static int build_one(const struct pc_run *run, const struct pc_chart_set *set, int i,
		     struct pc_chart *c, char *err, size_t errlen)
{
	static const char *const stale[] = { "dat", "gp", "svg", "png", NULL };
	struct buf dat = { 0 }, gp = { 0 };
	struct pc_chart__plot p = { .run = run, .name = c->name, .note = c->note,
				    .notelen = sizeof(c->note) };
	int rc = -ENOMEM;

	p.dat = open_memstream(&dat.text, &dat.len);
	p.gp = open_memstream(&gp.text, &gp.len);
	if (p.dat && p.gp)
		rc = table[i].build(&p);
	if (p.dat && fclose(p.dat) != 0 && rc >= 0)
		rc = -ENOMEM;
	if (p.gp && fclose(p.gp) != 0 && rc >= 0)
		rc = -ENOMEM;
	if (rc >= 0)
		pc_chart__remove(set->dir, c->name, stale);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s chart: out of memory", c->name);
	if (rc > 0) {
		rc = write_text(set->dir, c->name, "dat", &dat, err, errlen);
		if (!rc)
			rc = write_text(set->dir, c->name, "gp", &gp, err, errlen);
		c->written = rc == 0;
	}
	free(dat.text);
	free(gp.text);
	return rc;
}

/* ---- README.txt ---- */

struct readme {
	const struct pc_chart_set *set;
	enum pc_chart_mode mode;
};

static int put_readme(const void *ctx, FILE *out)
{
	const struct readme *r = ctx;
	const struct pc_chart_set *s = r->set;

	fputs("portchurn charts: one .dat (data) and one .gp (gnuplot script) per chart;\n"
	      "a script writes NAME.svg and NAME.png (1200x800) next to itself.\n\n"
	      "Render by hand (needs gnuplot 5.2 or later), in this directory:\n"
	      "    gnuplot *.gp\n\n", out);
	if (r->mode == PC_CHARTS_SCRIPTS)
		fputs("This run wrote the scripts only (--charts scripts).\n\n", out);
	else if (!s->gnuplot)
		fputs("gnuplot was not installed when this run ended, so nothing was rendered.\n\n",
		      out);
	for (int i = 0; i < PC_CHART_COUNT; i++) {
		const struct pc_chart *c = &s->charts[i];

		fprintf(out, "%-11s %s: %s%s%s\n", c->name, c->title,
			!c->written ? "not drawn" : c->rendered ? "rendered" : "scripts only",
			c->note[0] ? "; " : "", c->note);
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- the set ---- */

static void set_init(struct pc_chart_set *set)
{
	memset(set, 0, sizeof(*set));
	for (int i = 0; i < PC_CHART_COUNT; i++) {
		set->charts[i].name = table[i].name;
		set->charts[i].title = table[i].title;
	}
}

void pc_chart_set_release(struct pc_chart_set *set)
{
	for (int i = 0; i < PC_CHART_COUNT; i++) {
		free(set->charts[i].svg);
		set->charts[i].svg = NULL;
	}
}

static int build_all(const struct pc_run *run, struct pc_chart_set *set, char *err,
		     size_t errlen)
{
	for (int i = 0; i < PC_CHART_COUNT; i++) {
		int rc = build_one(run, set, i, &set->charts[i], err, errlen);

		if (rc < 0)
			return rc;
		set->nwritten += set->charts[i].written;
	}
	return 0;
}

int pc_chart_write_all(const struct pc_run *run, const char *dir, enum pc_chart_mode mode,
		       struct pc_chart_set *out, char *err, size_t errlen)
{
	struct readme rm = { out, mode };
	int rc;

	set_init(out);
	if (mode == PC_CHARTS_OFF)
		return 0;
	rc = mkdir_charts(dir, out, err, errlen);
	if (!rc)
		rc = build_all(run, out, err, errlen);
	if (!rc && mode == PC_CHARTS_RENDER)
		pc_chart__render(out);
	if (!rc)
		rc = pc_report_write_file(out->dir, "README.txt", put_readme, &rm, err, errlen);
	return rc;
}
