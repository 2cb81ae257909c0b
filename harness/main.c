/* main.c -- the portchurn command line: parses flags, enters the private
 * network namespace, runs the engine, and lets the reporters speak. The
 * only place that prints to the terminal or picks an exit code. */
#define _XOPEN_SOURCE 700   /* realpath() */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "chart.h"
#include "churn.h"
#include "cli.h"
#include "report.h"
#include "scenario.h"
#include "shard.h"
#include "sys.h"

#ifndef PC_VERSION
#define PC_VERSION "0.0.0"
#endif
#ifndef PC_BINDIR
#define PC_BINDIR "/usr/local/bin"
#endif
#ifndef PC_LIBDIR
#define PC_LIBDIR "/usr/local/lib"
#endif

enum {
	EXIT_PASS = PC_EXIT_PASS, EXIT_FAILED = PC_EXIT_FAILED, EXIT_USAGE = PC_EXIT_USAGE,
	EXIT_ENV = PC_EXIT_ENV, EXIT_INTERRUPTED = PC_EXIT_INTERRUPTED,
};

static volatile sig_atomic_t g_stop;
static const char *g_argv0 = "portchurn";

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;   /* keep signal-safe */
}

static const char usage_main[] =
"usage: portchurn <command> [options]\n"
"\n"
"Starts fixture servers with chosen socket options, kills and restarts them\n"
"in tight loops, and reports how fast (and whether) the port binds again.\n"
"\n"
"commands:\n"
"  run [SCENARIO.ini ...]   run scenarios (the built-in default when none)\n"
"  list [SCENARIO.ini ...]  print the cases a scenario expands to\n"
"  inspect PORT [--addr A] [--json]  who holds PORT; would bind() work now\n"
"  compare BASE CURRENT [--threshold PCT] [--noise-ms P50,P99] [--markdown FILE]\n"
"                           verdict flips and latency regressions between runs\n"
"  merge RESULTS ... --out DIR  join shards' results into one report\n"
"  report RESULTS [--out DIR]   write reports, charts, report.html again\n"
"  help [COMMAND]           this text, or a command's\n"
"\n"
"options:\n"
"  -h, --help               this text\n"
"  -V, --version            print the version\n"
"\n"
"exit status of run: 0 every expectation held; 1 an expectation failed; 2\n"
"usage or scenario error; 3 environment error (port held by a foreign\n"
"process, fixture missing, namespace refused with --netns on); 130\n"
"interrupted. inspect: 0 a plain bind would succeed, 1 it would not, 2 usage.\n"
"compare: 0 no regression, 1 a regression, 2 bad input. merge and report: as\n"
"run, for the results they read.\n";

static const char usage_run[] =
"usage: portchurn run [SCENARIO.ini ...] [options]\n"
"\n"
"Runs every case of each scenario (scenarios/default.ini, built in, when\n"
"none is given) and writes results.json, junit.xml, cycles.csv, summary.md,\n"
"results.tap (TAP 14), charts/ and report.html.\n"
"\n"
"options:\n"
"  -o, --out DIR            write reports to DIR (default results/<UTC time>-<name>,\n"
"                           with results/latest pointing at it); with several\n"
"                           scenarios, to DIR/<name>\n"
"  -n, --cycles N           cycles per case, overriding the scenario\n"
"  -c, --case GLOB          run only the cases whose name matches GLOB\n"
"  -s, --shard K/N          run only shard K of N: a deterministic slice of the\n"
"                           cases, balanced by cycles (TEST_SHARD_INDEX, 0-based,\n"
"                           and TEST_TOTAL_SHARDS work too); `merge` joins them\n"
"  -f, --format NAME        print one report to stdout instead of the table: json,\n"
"                           junit, csv, md or tap (the table goes to stderr)\n"
"      --charts MODE        render (default): chart data, gnuplot scripts and,\n"
"                           with gnuplot installed, SVG + PNG; scripts; off\n"
"      --netns MODE         auto (default): a private network namespace where\n"
"                           allowed; on: required; off: the host's network\n"
"      --cmd COMMAND        churn this command instead of a scenario file (a\n"
"                           one-off: {port} and {addr} are replaced; ready\n"
"                           when /health answers)\n"
"      --fixture PATH       the pc-fixture binary (default: next to portchurn)\n"
"      --allow-non-loopback allow an addr outside 127.0.0.0/8 and ::1\n"
"  -q, --quiet              no progress bar\n"
"  -h, --help               this text\n"
"\n"
"A progress bar goes to stderr when it is a terminal; the result table to\n"
"stdout. NO_COLOR turns colour off. With GITHUB_STEP_SUMMARY set, summary.md\n"
"is appended to it.\n";

static const char usage_list[] =
"usage: portchurn list [SCENARIO.ini ...] [--shard K/N]\n"
"\n"
"Prints the cases each scenario expands to, one per line (prefixed with the\n"
"scenario name when several are given); with --shard, those of shard K.\n";

struct cli {
	const char *out, *case_glob, *fixture, *format, *cmd;
	int cycles;
	struct pc_shard shard;         /* total 0: not sharded */
	enum pc_chart_mode charts;
	enum { NETNS_AUTO, NETNS_ON, NETNS_OFF } netns;
	bool quiet, allow_non_loopback;
	char fixture_buf[PATH_MAX];
	char netns_text[128];
	int total_cycles, done_cycles;
	bool tty, color;
};

int pc_cli_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "portchurn: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see portchurn --help)\n");
	return EXIT_USAGE;
}

static int parse_run_flags(int argc, char **argv, struct cli *c)
{
	static const struct option longs[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "case", required_argument, NULL, 'c' },
		{ "shard", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "charts", required_argument, NULL, 'G' },
		{ "netns", required_argument, NULL, 'N' },
		{ "fixture", required_argument, NULL, 'F' },
		{ "cmd", required_argument, NULL, 'C' },
		{ "allow-non-loopback", no_argument, NULL, 'A' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end, msg[160];
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:n:c:s:f:qh", longs, NULL)) != -1) {
		switch (opt) {
		case 'o': c->out = optarg; break;
		case 'c': c->case_glob = optarg; break;
		case 's':
			if (pc_shard_parse(optarg, &c->shard, msg, sizeof(msg)) < 0)
				return pc_cli_usage_error("%s", msg);
			break;
		case 'f':
			c->format = optarg;
			if (!pc_report_writer_find(optarg))
				return pc_cli_usage_error("--format takes json, junit, csv, md or tap, "
							  "not '%s'", optarg);
			break;
		case 'G':
			if (pc_chart_mode_parse(optarg, &c->charts) < 0)
				return pc_cli_usage_error("--charts takes render, scripts or off, not "
							  "'%s'", optarg);
			break;
		case 'F': c->fixture = optarg; break;
		case 'C': c->cmd = optarg; break;
		case 'A': c->allow_non_loopback = true; break;
		case 'q': c->quiet = true; break;
		case 'h': fputs(usage_run, stdout); exit(EXIT_PASS);
		case 'n':
			c->cycles = (int)strtol(optarg, &end, 10);
			if (*end || c->cycles < 1 || c->cycles > 1000000)
				return pc_cli_usage_error("--cycles needs a number from 1 to 1000000, not '%s'",
						   optarg);
			break;
		case 'N':
			if (!strcmp(optarg, "auto")) c->netns = NETNS_AUTO;
			else if (!strcmp(optarg, "on")) c->netns = NETNS_ON;
			else if (!strcmp(optarg, "off")) c->netns = NETNS_OFF;
			else return pc_cli_usage_error("--netns takes auto, on or off, not '%s'", optarg);
			break;
		default:
			return pc_cli_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

/* pc-fixture next to this binary, else where it is installed. */
static const char *find_fixture(struct cli *c, const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	const char *env = getenv("PORTCHURN_FIXTURE");

	if (c->fixture)
		return c->fixture;
	if (env && *env)
		return env;
	if (slash) {
		snprintf(c->fixture_buf, sizeof(c->fixture_buf), "%.*s/pc-fixture",
			 (int)(slash - argv0), argv0);
		if (access(c->fixture_buf, X_OK) == 0)
			return c->fixture_buf;
	}
	return PC_BINDIR "/pc-fixture";
}

/* libportchurn-preload.so next to this binary (the build tree), else where
 * it is installed; NULL when neither exists (reports then say so). */
static const char *find_preload(const char *argv0, char *buf, size_t len)
{
	const char *slash = strrchr(argv0, '/');

	char rel[PATH_MAX];

	/* absolute: commands run in other folders */
	if (slash) {
		snprintf(rel, sizeof(rel), "%.*s/libportchurn-preload.so", (int)(slash - argv0), argv0);
		if (len >= PATH_MAX && realpath(rel, buf))
			return buf;
	}
	snprintf(buf, len, "%s/libportchurn-preload.so", PC_LIBDIR);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static bool is_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && !memcmp(&a6, &in6addr_loopback, sizeof(a6));
}

/* --cmd: a scenario of one case, the command restarted in place. */
static struct pc_scenario *command_scenario(const char *cmd, char *err, size_t len)
{
	char text[PC_COMMAND_MAX + 128];

	if (strchr(cmd, '\n') || strlen(cmd) >= PC_COMMAND_MAX) {
		snprintf(err, len, "--cmd: one line of at most %d characters", PC_COMMAND_MAX - 1);
		return NULL;
	}
	snprintf(text, sizeof(text), "[scenario]\nname = cmd\nclose_first = client\n"
		 "command = %s\n", cmd);
	return pc_scenario_parse(text, "(--cmd)", err, len);
}

static struct pc_scenario *load(const char *path, const char *cmd, int *code)
{
	char err[512];
	struct pc_scenario *s = cmd ? command_scenario(cmd, err, sizeof(err)) :
				path ? pc_scenario_load(path, err, sizeof(err)) :
				       pc_scenario_default(err, sizeof(err));

	if (!s) {
		fprintf(stderr, "portchurn: %s\n", err);
		*code = EXIT_USAGE;
	}
	return s;
}

/* Keep the cases that match --case and apply --cycles; returns how many
 * matched. Then keep the shard's (which may be none). */
static int select_cases(struct pc_scenario *s, const struct cli *c)
{
	int n = 0, matched;

	for (int i = 0; i < s->ncases; i++) {
		if (c->case_glob && fnmatch(c->case_glob, s->cases[i].name, 0) != 0)
			continue;
		s->cases[n] = s->cases[i];
		if (c->cycles)
			s->cases[n].cycles = c->cycles;
		n++;
	}
	s->ncases = matched = n;
	if (c->shard.total && n > 0) {
		n = pc_shard_select(s, &c->shard);
		if (n < 0)
			return n;
		fprintf(stderr, "portchurn: %s: shard %d/%d: %d of %d cases\n", s->name,
			c->shard.index, c->shard.total, n, matched);
		s->shard_index = c->shard.index;
		s->shard_total = c->shard.total;
		s->shard_cases = matched;
	}
	return matched;
}

static void progress(void *user, const struct pc_run *run, int case_idx, int cycle)
{
	struct cli *c = user;
	const struct pc_case *k = &run->scenario->cases[case_idx];
	int width = 30, filled;

	if (cycle >= 0)
		c->done_cycles++;
	if (!c->tty)
		return;
	filled = c->total_cycles ? width * c->done_cycles / c->total_cycles : 0;
	fprintf(stderr, "\r\033[K%s[%.*s%*s]%s %d/%d cycles  case %d/%d: %.60s",
		c->color ? "\033[36m" : "", filled, "##############################",
		width - filled, "", c->color ? "\033[0m" : "", c->done_cycles, c->total_cycles,
		case_idx + 1, run->scenario->ncases, k->name);
	fflush(stderr);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0777) < 0 && errno != EEXIST ? -errno : 0;
}

/* Where this scenario's reports go; created. */
static int output_dir(const struct cli *c, const struct pc_scenario *s, int nscen, char *dir,
		      size_t len, bool *link_latest)
{
	char err[256], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	*link_latest = false;
	if (c->out) {
		snprintf(dir, len, nscen > 1 ? "%s/%s" : "%s", c->out, s->name);
		rc = mkdir_p(dir);
		if (rc < 0)
			fprintf(stderr, "portchurn: cannot create %s: %s\n", dir, strerror(-rc));
		return rc;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	rc = pc_report_prepare_dir("results", s->name, stamp, dir, len, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "portchurn: %s\n", err);
	*link_latest = rc == 0;
	return rc;
}

/* interrupted > environment error > failed > passed */
static int worse(int a, int b)
{
	static const int rank[] = { EXIT_PASS, EXIT_FAILED, EXIT_USAGE, EXIT_ENV, EXIT_INTERRUPTED };
	int ra = 0, rb = 0;

	for (int i = 0; i < 5; i++) {
		ra = rank[i] == a ? i : ra;
		rb = rank[i] == b ? i : rb;
	}
	return ra >= rb ? a : b;
}

static int run_code(const struct pc_run *run)
{
	int code = EXIT_PASS;

	for (int i = 0; i < run->ncases; i++) {
		if (run->cases[i].env_error[0])
			return EXIT_ENV;
		if (!run->cases[i].pass)
			code = EXIT_FAILED;
	}
	return run->interrupted ? EXIT_INTERRUPTED : code;
}

/* Charts and report.html (they follow the other reports), the table, the
 * GitHub step summary, and --format's report on stdout. */
static int after_reports(const struct cli *c, const struct pc_run *run, const char *dir)
{
	FILE *msg = c->format ? stderr : stdout;
	char line[2 * PATH_MAX + 300];
	int code = pc_cmd_report_render(run, dir, c->charts, line, sizeof(line));

	pc_report_console(run, msg);
	if (line[0])
		fprintf(msg, "%s\n", line);
	fprintf(msg, "reports: %s/\n", dir);
	pc_cmd_report_step_summary(dir);
	if (c->format && pc_cmd_report_print(run, c->format))
		code = EXIT_ENV;
	return code;
}

static int run_one(struct cli *c, struct pc_scenario *s, int nscen, const char *fixture)
{
	struct pc_churn_opts o = {
		.fixture = fixture, .netns = c->netns_text, .stop = &g_stop,
		.progress = progress, .progress_user = c, .log_fd = -1,
	};
	char dir[PATH_MAX], path[PATH_MAX + 16], err[512], preload[PATH_MAX];
	struct pc_run *run;
	bool latest;
	int rc, code;

	if (output_dir(c, s, nscen, dir, sizeof(dir), &latest) < 0) {
		pc_scenario_free(s);
		return EXIT_ENV;
	}
	o.preload = find_preload(g_argv0, preload, sizeof(preload));
	snprintf(path, sizeof(path), "%s/fixture.log", dir);
	o.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	c->total_cycles = c->done_cycles = 0;
	for (int i = 0; i < s->ncases; i++)
		c->total_cycles += s->cases[i].cycles;
	rc = pc_churn_run(s, &o, &run, err, sizeof(err));
	if (o.log_fd >= 0)
		close(o.log_fd);
	if (c->tty)
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		fprintf(stderr, "portchurn: %s\n", err);
		return EXIT_ENV;
	}
	code = run_code(run);
	if (pc_report_write_all(run, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: %s\n", err);
		code = code == EXIT_PASS ? EXIT_ENV : code;
	} else if (latest) {
		pc_report_link_latest("results", strrchr(dir, '/') + 1);
	}
	code = worse(code, after_reports(c, run, dir));
	for (int i = 0; i < run->ncases; i++)
		if (run->cases[i].env_error[0])
			fprintf(stderr, "portchurn: %s: %s\n", run->cases[i].spec->name,
				run->cases[i].env_error);
	pc_run_free(run);
	return code;
}

static int enter_netns(struct cli *c)
{
	char why[200];

	if (c->netns == NETNS_OFF) {
		snprintf(c->netns_text, sizeof(c->netns_text), "host (--netns off)");
		return 0;
	}
	if (pc_sys_enter_private_netns(why, sizeof(why)) == 0) {
		snprintf(c->netns_text, sizeof(c->netns_text), "private");
		return 0;
	}
	if (c->netns == NETNS_ON) {
		fprintf(stderr, "portchurn: --netns on: %s\n", why);
		return EXIT_ENV;
	}
	snprintf(c->netns_text, sizeof(c->netns_text), "host (%.100s)", why);
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };   /* no SA_RESTART: waits wake */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Loads every scenario first so a bad file fails before anything runs. */
static int load_all(int argc, char **argv, const struct cli *c, struct pc_scenario **s, int *n)
{
	int code = 0, matched;

	*n = argc > 0 ? argc : 1;
	for (int i = 0; i < *n; i++) {
		s[i] = load(argc > 0 ? argv[i] : NULL, c->cmd, &code);
		if (!s[i])
			break;
		if (!c->allow_non_loopback && !is_loopback(s[i]->addr)) {
			fprintf(stderr, "portchurn: %s: addr %s is not loopback (use "
				"--allow-non-loopback)\n", s[i]->file, s[i]->addr);
			code = EXIT_USAGE;
		} else if ((matched = select_cases(s[i], c)) == 0) {
			fprintf(stderr, "portchurn: %s: no case matches --case '%s'\n", s[i]->file,
				c->case_glob);
			code = EXIT_USAGE;
		} else if (matched < 0) {
			fprintf(stderr, "portchurn: out of memory\n");
			code = EXIT_ENV;
		}
		if (code)
			break;
	}
	if (code)
		for (int i = 0; i < *n; i++)
			pc_scenario_free(s[i]);
	return code;
}

/* The sharding convention of Bazel and others, when --shard is not given;
 * a runner that sets TEST_SHARD_STATUS_FILE wants it touched to know the
 * test shards. */
static int shard_from_env(struct cli *c)
{
	const char *status = getenv("TEST_SHARD_STATUS_FILE");
	char msg[200];
	int rc;

	if (c->shard.total)
		return 0;
	rc = pc_shard_from_env(getenv("TEST_SHARD_INDEX"), getenv("TEST_TOTAL_SHARDS"),
			       &c->shard, msg, sizeof(msg));
	if (rc < 0)
		return pc_cli_usage_error("%s", msg);
	if (rc > 0 && status && *status) {
		int fd = open(status, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct cli c = { 0 };
	struct pc_scenario *s[64] = { 0 };
	const char *fixture;
	int n, code, worst = EXIT_PASS;

	c.charts = PC_CHARTS_RENDER;
	code = parse_run_flags(argc, argv, &c);
	if (!code)
		code = shard_from_env(&c);
	if (code)
		return code;
	if (argc - optind > 64)
		return pc_cli_usage_error("at most 64 scenario files%s", "");
	if (c.cmd && argc > optind)
		return pc_cli_usage_error("--cmd runs no scenario file ('%s')", argv[optind]);
	code = load_all(argc - optind, argv + optind, &c, s, &n);
	if (code)
		return code;
	fixture = find_fixture(&c, g_argv0);
	c.tty = isatty(STDERR_FILENO) && !c.quiet;
	c.color = c.tty && !getenv("NO_COLOR");
	code = enter_netns(&c);
	install_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < n; i++) {
		if (code || g_stop) {   /* a run that cannot go on stops the rest */
			pc_scenario_free(s[i]);
			continue;
		}
		worst = worse(worst, run_one(&c, s[i], n, fixture));
		code = worst == EXIT_ENV || worst == EXIT_INTERRUPTED ? worst : 0;
	}
	curl_global_cleanup();
	return code ? code : worst;
}

static int cmd_list(int argc, char **argv)
{
	struct pc_scenario *s[64] = { 0 };
	struct cli c = { 0 };
	int n, code;

	char *files[64], msg[160];
	int nfiles = 0;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_list, stdout);
		return EXIT_PASS;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
			if (pc_shard_parse(argv[++i], &c.shard, msg, sizeof(msg)) < 0)
				return pc_cli_usage_error("%s", msg);
		} else if (argv[i][0] == '-') {
			return pc_cli_usage_error("unknown option '%s' for list", argv[i]);
		} else if (nfiles == 64) {
			return pc_cli_usage_error("at most 64 scenario files%s", "");
		} else {
			files[nfiles++] = argv[i];
		}
	}
	code = load_all(nfiles, files, &c, s, &n);
	if (code)
		return code;
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < s[i]->ncases; j++)
			printf("%s%s%s\n", n > 1 ? s[i]->name : "", n > 1 ? ": " : "",
			       s[i]->cases[j].name);
		pc_scenario_free(s[i]);
	}
	return EXIT_PASS;
}

static int cmd_help(int argc, char **argv);

static const struct pc_command commands[] = {
	{ "run", cmd_run, usage_run },
	{ "list", cmd_list, usage_list },
	{ "inspect", pc_cmd_inspect_main, pc_cmd_inspect_usage },
	{ "compare", pc_cmd_compare_main, pc_cmd_compare_usage },
	{ "merge", pc_cmd_merge_main, pc_cmd_merge_usage },
	{ "report", pc_cmd_report_main, pc_cmd_report_usage },
	{ "help", cmd_help, usage_main },
};

static const struct pc_command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct pc_command *c = argc > 1 ? command_find(argv[1]) : NULL;

	fputs(c ? c->usage : usage_main, stdout);
	return EXIT_PASS;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "";
	const struct pc_command *c;

	g_argv0 = argv[0];
	if (!strcmp(name, "-h") || !strcmp(name, "--help"))
		return cmd_help(1, argv + 1);
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("portchurn %s\n", PC_VERSION);
		return EXIT_PASS;
	}
	if (!*name) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	c = command_find(name);
	if (!c)
		return pc_cli_usage_error("unknown command '%s'", name);
	return c->main(argc - 1, argv + 1);
}
