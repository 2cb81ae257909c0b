/* chart_int.h -- what chart.c, chart_plots.c and chart_gnuplot.c share;
 * not for use outside the chart module (hence pc_chart__). */
#ifndef PC_CHART_INT_H
#define PC_CHART_INT_H

#include <stdio.h>

#include "chart.h"

/* One chart being built: a builder writes its data to dat and its script
 * to gp. It returns 1 when drawn, 0 when there is nothing to draw (with the
 * reason in note), or -ENOMEM. A drawn chart may leave a note too ("2
 * cases without a successful rebind are not drawn"). */
struct pc_chart__plot {
	const struct pc_run *run;
	const char *name;        /* "rebind_cdf": the files' names */
	FILE *dat, *gp;
	char *note;
	size_t notelen;
};

int pc_chart__rebind_cdf(struct pc_chart__plot *p);
int pc_chart__cycles(struct pc_chart__plot *p);
int pc_chart__matrix(struct pc_chart__plot *p);
int pc_chart__census(struct pc_chart__plot *p);
int pc_chart__clients(struct pc_chart__plot *p);

/* Run gnuplot on every written chart of set (set->dir holds them); fills
 * rendered, svg, the notes of failures, gnuplot and render_ns. */
void pc_chart__render(struct pc_chart_set *set);

/* Unlink chart_dir/name.EXT for each EXT of the NULL-ended exts. */
void pc_chart__remove(const char *chart_dir, const char *name, const char *const *exts);

#endif
