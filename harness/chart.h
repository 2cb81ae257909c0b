/* chart.h -- timing charts of a run, drawn by gnuplot (an external tool):
 * for each chart a data file (NAME.dat) and a gnuplot script (NAME.gp)
 * under DIR/charts/, and, when gnuplot is on PATH, its SVG and PNG
 * (pngcairo) renderings, 1200x800. Charts:
 *
 *   rebind_cdf   rebind latency CDF per case, log x, one labelled line each
 *   cycles       rebind and restart latency of every cycle, in run order
 *   matrix       old x new option sets: bind outcome, p50 rebind per cell
 *   census       TIME_WAIT / FIN_WAIT2 / LISTEN on the port, per cycle
 *   clients      load clients' outcomes around restarts, per strategy
 *
 * Outcomes have one colour everywhere (ok green, EADDRINUSE red, refused
 * orange, reset purple, ...). A chart without data is not drawn, never
 * drawn from invented data; charts/README.txt says why, and how to render
 * the scripts by hand. Scripts run from charts/ ("gnuplot *.gp" there).
 *
 * gnuplot runs once per chart, all in parallel, each bounded in time; its
 * outputs are renamed into place only when it succeeded. Library code:
 * returns errors, never prints. Not thread-safe against another render of
 * the same directory. */
#ifndef PC_CHART_H
#define PC_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "results.h"

enum pc_chart_mode {
	PC_CHARTS_OFF,       /* no charts at all */
	PC_CHARTS_SCRIPTS,   /* data and scripts only */
	PC_CHARTS_RENDER,    /* and SVG + PNG when gnuplot is installed (default) */
};

/* "off", "scripts", "render": 0, or -1 when text is none of them. */
int pc_chart_mode_parse(const char *text, enum pc_chart_mode *out);

#define PC_CHART_COUNT 5

struct pc_chart {
	const char *name;      /* "rebind_cdf": file names and SVG id prefix */
	const char *title;     /* "Rebind latency CDF per case" */
	bool written;          /* NAME.dat and NAME.gp are in charts/ */
	bool rendered;         /* NAME.svg and NAME.png too */
	char note[240];        /* why it was not written or not rendered, or "" */
	char *svg;             /* the SVG text when rendered (pc_chart_set_release) */
};

struct pc_chart_set {
	struct pc_chart charts[PC_CHART_COUNT];
	bool gnuplot;          /* gnuplot was found on PATH (RENDER mode only) */
	int nwritten, nrendered;
	int64_t render_ns;     /* wall time of the gnuplot runs */
	char dir[1024];        /* DIR/charts */
};

/* Write the charts of run into dir/charts (created) as above. Returns 0,
 * also when gnuplot is missing or failed on a chart (see the notes), or
 * -errno with a message when charts/ or a file in it could not be written.
 * out is filled in either case; release it. */
int pc_chart_write_all(const struct pc_run *run, const char *dir, enum pc_chart_mode mode,
		       struct pc_chart_set *out, char *err, size_t errlen);
void pc_chart_set_release(struct pc_chart_set *set);

#endif
