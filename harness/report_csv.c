/* report_csv.c -- cycles.csv: one row per cycle of every case, for
 * spreadsheets, gnuplot and pandas. A header line, then rows in case order:
 *
 *   case, cycle, port, old_pid, new_pid, kill_ns, reaped_ns, spawn_ns,
 *   bind_ns, listen_ns, first_ok_ns, bind_errno, bind_attempts, blocked_ns,
 *   rebind_ns, restart_ns, escalated, old_exit, leaked, requests_ok,
 *   requests_failed, tw_at_kill, fw2_at_kill, listen_at_kill, tw_at_bind,
 *   fw2_at_bind, listen_at_bind, error
 *
 * Timestamps are integer CLOCK_MONOTONIC nanoseconds (0 = did not happen);
 * rebind_ns / restart_ns are derived and empty when the cycle has no such
 * figure; bind_errno is a name ("EADDRINUSE", "0" when bound); escalated is
 * 0/1; census cells (tw = TIME_WAIT, fw2 = FIN_WAIT2, listen = LISTEN) are
 * empty when the census was not taken. case and error are always quoted
 * (RFC 4180: inner quotes doubled); line breaks in them become spaces so a
 * row is one line, other control characters are dropped and bytes that are
 * not valid UTF-8 become '?'. Lines end in LF. Only integers are printed, so the locale
 * cannot change a number. old_ready_ns is in results.json only. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>

#include "errname.h"

static const char header[] =
	"case,cycle,port,old_pid,new_pid,kill_ns,reaped_ns,spawn_ns,bind_ns,listen_ns,"
	"first_ok_ns,bind_errno,bind_attempts,blocked_ns,rebind_ns,restart_ns,escalated,"
	"old_exit,leaked,requests_ok,requests_failed,served_new,served_orphan,tw_at_kill,fw2_at_kill,"
	"listen_at_kill,tw_at_bind,fw2_at_bind,listen_at_bind,load_ok,load_refused,"
	"load_reset,load_timeout,load_other,downtime_ns,diagnosis,error\n";

static const char *csv_esc(unsigned char c, char buf[8])
{
	if (c == '"')
		return "\"\"";
	if (c == '\n' || c == '\r' || c == '\t')
		return " ";
	return c >= 0x20 && c != 0x7f ? pc_report_esc_same(c, buf) : "";
}

static void csv_text(FILE *out, const char *s)
{
	fputc('"', out);
	pc_report_put_escaped(out, s, csv_esc);
	fputc('"', out);
}

static void csv_figure(FILE *out, int64_t v)
{
	if (v >= 0)
		fprintf(out, "%" PRId64, v);
	fputc(',', out);
}

static void csv_census(FILE *out, const struct pc_census *c)
{
	if (c->known)
		fprintf(out, "%d,%d,%d,", c->time_wait, c->fin_wait2, c->listen);
	else
		fputs(",,,", out);
}

static void csv_row(FILE *out, const char *name, const struct pc_cycle *c)
{
	csv_text(out, name);
	fprintf(out, ",%d,%d,%d,%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
		",%" PRId64 ",%s,%d,%" PRId64 ",", c->index, c->port, c->old_pid, c->new_pid,
		c->kill_ns, c->reaped_ns, c->spawn_ns, c->bind_ns, c->listen_ns,
		c->first_ok_ns, pc_errno_name(c->bind_errno), c->bind_attempts, c->blocked_ns);
	csv_figure(out, pc_cycle_rebind_ns(c));
	csv_figure(out, pc_cycle_restart_ns(c));
	fprintf(out, "%d,%d,%d,%d,%d,%d,%d,", c->escalated ? 1 : 0, c->old_exit, c->leaked,
		c->requests_ok, c->requests_failed, c->served_new, c->served_orphan);
	csv_census(out, &c->at_kill);
	csv_census(out, &c->at_bind);
	fprintf(out, "%d,%d,%d,%d,%d,%" PRId64 ",", c->load[PC_OUT_OK], c->load[PC_OUT_REFUSED],
		c->load[PC_OUT_RESET], c->load[PC_OUT_TIMEOUT],
		c->load[PC_OUT_HTTP_ERROR] + c->load[PC_OUT_OTHER], c->downtime_ns);
	csv_text(out, c->diagnosis);
	fputc(',', out);
	csv_text(out, c->error);
	fputc('\n', out);
}

int pc_report_csv(const struct pc_run *run, FILE *out)
{
	fputs(header, out);
	for (int i = 0; i < run->ncases; i++) {
		const struct pc_case_result *r = &run->cases[i];

		for (int j = 0; j < r->ncycles; j++)
			csv_row(out, r->spec->name, &r->cycles[j]);
	}
	return ferror(out) ? -EIO : 0;
}
