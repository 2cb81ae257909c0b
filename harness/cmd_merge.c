/* cmd_merge.c -- `portchurn merge`: joins the results.json of shards (runs
 * of one scenario with --shard K/N, on several machines or jobs) into one
 * results directory, as if one run had run every case.
 *
 * The merge works on the JSON documents, not on the rebuilt runs, so a
 * field this version of portchurn does not know survives it. The merged
 * document keeps the first input's header and lists the cases of each input
 * in the order given (shard 1's, then shard 2's ...). It recomputes what
 * spans the inputs: cases_planned and duration_ns (sums), interrupted (any),
 * started_utc (the earliest), verdict; where inputs differ in netns mode or
 * kernel, the merged value lists each distinct one, " / " between.
 *
 * Shards say which they are (results.json "shard": K of N, and the cases
 * of all N). Inputs must then all be shards of one split, each once; a
 * shard not given is listed in missing_shards, its cases count as planned
 * and not run, and the verdict is fail: a CI job that lost a shard must
 * not pass on the others. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "report.h"
#include "results_load.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#define MAX_INPUTS 1024

const char pc_cmd_merge_usage[] =
"usage: portchurn merge RESULTS ... --out DIR [--format NAME] [--charts MODE]\n"
"\n"
"Joins the results of shards (`portchurn run --shard K/N`) into one results\n"
"directory: results.json, the other reports, charts and report.html, as if\n"
"one run had run every case. RESULTS is a results.json or a directory holding\n"
"one. Refuses results of different scenarios or platforms, shards of\n"
"different splits or mixed with a run that was not one, and a shard or a\n"
"case found in two inputs. Cases keep the order of the inputs. A shard not\n"
"given is named (missing_shards): its cases count as not run, and the\n"
"verdict is fail.\n"
"\n"
"options:\n"
"  -o, --out DIR            where the merged reports go (required)\n"
"  -f, --format NAME        also print one report to stdout: json, junit, csv, md, tap\n"
"      --charts MODE        render (default), scripts or off, as for run\n"
"  -h, --help               this text\n"
"\n"
"exit status: 0 every case of the merged run passed; 1 one failed or did not\n"
"run; 2 bad input; 3 the reports could not be written.\n";

/* ---- merging documents ---- */

static const char *str_at(const json_t *doc, const char *obj, const char *key)
{
	const json_t *o = obj ? json_object_get(doc, obj) : doc;
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The same scenario and platform as the first input, or a message. */
static int check_same(json_t *const *docs, const char *const *names, int i, char *err,
		      size_t errlen)
{
	static const struct { const char *obj, *key, *what; } same[] = {
		{ "scenario", "name", "scenario" },
		{ "scenario", "description", "scenario description" },
		{ "platform", "os", "platform" },
	};

	for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		const char *a = str_at(docs[0], same[k].obj, same[k].key);
		const char *b = str_at(docs[i], same[k].obj, same[k].key);

		if (strcmp(a, b)) {
			snprintf(err, errlen, "cannot merge results of different %ss: %s has '%s', "
				 "%s has '%s'", same[k].what, names[0], a, names[i], b);
			return -EINVAL;
		}
	}
	return 0;
}

/* Case names of every input; a name seen before is refused. */
static int check_cases(json_t *const *docs, const char *const *names, int n, char *err,
		       size_t errlen)
{
	json_t *seen = json_object();   /* case name -> input index */
	int rc = seen ? 0 : -ENOMEM;

	for (int i = 0; i < n && !rc; i++) {
		const json_t *cases = json_object_get(docs[i], "cases");

		for (size_t k = 0; k < json_array_size(cases) && !rc; k++) {
			const char *name = str_at(json_array_get(cases, k), NULL, "name");
			const json_t *where = json_object_get(seen, name);

			if (where) {
				snprintf(err, errlen, "case '%s' is in both %s and %s (a shard given "
					 "twice, or runs that overlap)", name,
					 names[json_integer_value(where)], names[i]);
				rc = -EINVAL;
			} else if (json_object_set_new(seen, name, json_integer(i)) < 0) {
				rc = -ENOMEM;
			}
		}
	}
	json_decref(seen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

static int shard_int(const json_t *doc, const char *key)
{
	return (int)json_integer_value(json_object_get(json_object_get(doc, "shard"), key));
}

/* All shards of one split, each given once, or none a shard. */
static int check_shards(json_t *const *docs, const char *const *names, int n, char *err,
			size_t errlen)
{
	bool sharded = json_is_object(json_object_get(docs[0], "shard"));
	int total = shard_int(docs[0], "total");

	for (int i = 0; i < n; i++) {
		int k = shard_int(docs[i], "index");

		if (json_is_object(json_object_get(docs[i], "shard")) != sharded) {
			snprintf(err, errlen, "cannot merge a shard with a run that was not one: "
				 "%s and %s", names[sharded ? i : 0], names[sharded ? 0 : i]);
			return -EINVAL;
		}
		if (sharded && shard_int(docs[i], "total") != total) {
			snprintf(err, errlen, "cannot merge shards of different splits: %s is shard "
				 "%d/%d, %s is shard %d/%d", names[0], shard_int(docs[0], "index"),
				 total, names[i], k, shard_int(docs[i], "total"));
			return -EINVAL;
		}
		for (int j = 0; sharded && j < i; j++)
			if (shard_int(docs[j], "index") == k) {
				snprintf(err, errlen, "shard %d/%d is given twice: %s and %s", k, total,
					 names[j], names[i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* The shards of the split that no input is (an empty array when all are
 * there); NULL when the inputs are not shards. */
static json_t *missing_shards(json_t *const *docs, int n)
{
	int total = shard_int(docs[0], "total");
	json_t *missing;

	if (!json_is_object(json_object_get(docs[0], "shard")) || !(missing = json_array()))
		return NULL;
	for (int k = 1; k <= total; k++) {
		bool given = false;

		for (int i = 0; i < n && !given; i++)
			given = shard_int(docs[i], "index") == k;
		if (!given && json_array_append_new(missing, json_integer(k))) {
			json_decref(missing);
			return NULL;
		}
	}
	return missing;
}

/* "a / b" of the distinct values of a string field across inputs. */
static json_t *distinct(json_t *const *docs, int n, const char *obj, const char *key)
{
	char buf[1024] = "";
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		const char *v = str_at(docs[i], obj, key);
		bool dup = false;

		for (int k = 0; k < i && !dup; k++)
			dup = !strcmp(v, str_at(docs[k], obj, key));
		if (dup || len >= sizeof(buf) - 1)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? " / " : "", v);
	}
	return json_string(buf);
}

static bool all_passed(const json_t *cases)
{
	for (size_t k = 0; k < json_array_size(cases); k++)
		if (strcmp(str_at(json_array_get(cases, k), NULL, "verdict"), "pass"))
			return false;
	return true;
}

/* a + b for durations (>= 0), stopping at the largest: two checked inputs
 * may each be near it. */
static json_int_t add_ns(json_int_t a, json_int_t b)
{
	if (b <= 0)
		return a;
	return a > LLONG_MAX - b ? LLONG_MAX : a + b;
}

/* The fields that span the inputs, set on merged. */
static int set_totals(json_t *merged, json_t *const *docs, int n, const json_t *cases)
{
	json_int_t planned = 0, dur = 0;
	bool interrupted = false;
	const char *first = str_at(docs[0], NULL, "started_utc");
	json_t *missing = missing_shards(docs, n);
	int bad = 0;

	for (int i = 0; i < n; i++) {
		const char *s = str_at(docs[i], NULL, "started_utc");

		planned += json_integer_value(json_object_get(docs[i], "cases_planned"));
		dur = add_ns(dur, json_integer_value(json_object_get(docs[i], "duration_ns")));
		interrupted |= json_is_true(json_object_get(docs[i], "interrupted"));
		if (*s && strcmp(s, first) < 0)   /* ISO 8601 UTC sorts as text */
			first = s;
	}
	if (missing && planned < shard_int(docs[0], "cases"))
		planned = shard_int(docs[0], "cases");
	if (planned < (json_int_t)json_array_size(cases))
		planned = (json_int_t)json_array_size(cases);
	json_object_del(merged, "shard");   /* the merge is none */
	if (missing && json_array_size(missing))
		bad |= json_object_set(merged, "missing_shards", missing);
	json_decref(missing);
	bad |= json_object_set_new(merged, "started_utc", json_string(first));
	bad |= json_object_set_new(merged, "duration_ns", json_integer(dur));
	bad |= json_object_set_new(merged, "interrupted", json_boolean(interrupted));
	bad |= json_object_set_new(merged, "verdict", json_string(
		!interrupted && planned == (json_int_t)json_array_size(cases) &&
		all_passed(cases) ? "pass" : "fail"));
	bad |= json_object_set_new(merged, "cases_planned", json_integer(planned));
	bad |= json_object_set_new(merged, "netns", distinct(docs, n, NULL, "netns"));
	bad |= json_object_set_new(json_object_get(merged, "platform"), "kernel",
				   distinct(docs, n, "platform", "kernel"));
	return bad ? -ENOMEM : 0;
}

static int join(json_t *const *docs, int n, json_t **out)
{
	json_t *merged = json_deep_copy(docs[0]), *cases = json_array();
	int rc = merged && cases ? 0 : -ENOMEM;

	for (int i = 0; i < n && !rc; i++) {
		json_t *more = json_deep_copy(json_object_get(docs[i], "cases"));

		rc = more && json_array_extend(cases, more) == 0 ? 0 : -ENOMEM;
		json_decref(more);
	}
	if (!rc && !json_is_object(json_object_get(merged, "platform")))
		rc = json_object_set_new(merged, "platform", json_object()) ? -ENOMEM : 0;
	if (!rc)
		rc = set_totals(merged, docs, n, cases);
	if (!rc)
		rc = json_object_set(merged, "cases", cases) ? -ENOMEM : 0;
	json_decref(cases);
	if (rc) {
		json_decref(merged);
		return rc;
	}
	*out = merged;
	return 0;
}

int pc_cmd_merge_docs(json_t *const *docs, const char *const *names, int n, json_t **out,
		      char *err, size_t errlen)
{
	int rc = 0;

	if (n < 1) {
		snprintf(err, errlen, "nothing to merge");
		return -EINVAL;
	}
	for (int i = 1; i < n && !rc; i++)
		rc = check_same(docs, names, i, err, errlen);
	if (!rc)
		rc = check_shards(docs, names, n, err, errlen);
	if (!rc)
		rc = check_cases(docs, names, n, err, errlen);
	if (!rc) {
		rc = join(docs, n, out);
		if (rc)
			snprintf(err, errlen, "out of memory");
	}
	return rc;
}

/* ---- the command ---- */

struct merge_args {
	struct pc_report_opts o;
	char **inputs;
	int ninputs;
};

static int parse_args(int argc, char **argv, struct merge_args *a)
{
	int rc = pc_cmd_report_opts("merge", pc_cmd_merge_usage, argc, argv, &a->o);

	if (rc)
		return rc;
	a->inputs = argv + optind;
	a->ninputs = argc - optind;
	if (!a->ninputs || a->ninputs > MAX_INPUTS)
		return pc_cli_usage_error("merge: give 1 to 1024 results (files or directories)%s", "");
	if (!a->o.out)
		return pc_cli_usage_error("merge: needs --out DIR%s", "");
	return 0;
}

static void free_docs(json_t **docs, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(docs[i]);
	free(docs);
}

/* Load and check every input; 0 or PC_EXIT_USAGE (said). */
static int load_inputs(const struct merge_args *a, json_t **docs)
{
	char err[PATH_MAX + 512];

	for (int i = 0; i < a->ninputs; i++) {
		if (pc_results_load(a->inputs[i], &docs[i], NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "portchurn: merge: %s\n", err);
			return PC_EXIT_USAGE;
		}
	}
	return 0;
}

static int write_merged(const struct merge_args *a, json_t *merged)
{
	char err[1024], line[PATH_MAX * 2 + 300];
	struct pc_run *run = NULL;
	FILE *msg = a->o.format ? stderr : stdout;
	int code;

	if (pc_results_to_run(merged, &run, err, sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: merge: %s\n", err);
		return PC_EXIT_USAGE;
	}
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): parse_args refused no --out */
	if (mkdir(a->o.out, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "portchurn: merge: cannot create %s: %s\n", a->o.out, strerror(errno));
		pc_run_free(run);
		return PC_EXIT_ENV;
	}
	code = pc_cmd_report_write(merged, run, a->o.out, true, a->o.charts, line, sizeof(line));
	if (!code) {
		pc_report_console(run, msg);
		fprintf(msg, "%s%sreports: %s/\n", line, line[0] ? "\n" : "", a->o.out);
		pc_cmd_report_step_summary(a->o.out);
	}
	if (!code && a->o.format)
		code = pc_cmd_report_print(run, a->o.format);
	if (!code)
		code = pc_cmd_report_verdict_code(run);
	pc_run_free(run);
	return code;
}

/* One line on stderr naming the shards that were not given. */
static void warn_missing(const json_t *merged, int total)
{
	const json_t *missing = json_object_get(merged, "missing_shards");
	size_t i;

	if (!json_array_size(missing))
		return;
	fprintf(stderr, "portchurn: merge: shard");
	for (i = 0; i < json_array_size(missing); i++)
		fprintf(stderr, "%s %lld", i ? "," : "",
			(long long)json_integer_value(json_array_get(missing, i)));
	fprintf(stderr, " of %d not given: %s cases count as not run and the verdict is fail\n",
		total, i > 1 ? "their" : "its");
}

int pc_cmd_merge_main(int argc, char **argv)
{
	struct merge_args a = { .o.charts = PC_CHARTS_RENDER };
	char err[2048];
	json_t **docs, *merged = NULL;
	int code = parse_args(argc, argv, &a);

	if (code)
		return code < 0 ? PC_EXIT_PASS : code;
	/* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI): parse_args wants 1 or more */
	docs = calloc((size_t)a.ninputs, sizeof(*docs));
	if (!docs)
		return PC_EXIT_ENV;
	code = load_inputs(&a, docs);
	if (!code && pc_cmd_merge_docs(docs, (const char *const *)a.inputs, a.ninputs, &merged,
				       err, sizeof(err)) < 0) {
		fprintf(stderr, "portchurn: merge: %s\n", err);
		code = PC_EXIT_USAGE;
	}
	if (!code)
		warn_missing(merged, shard_int(docs[0], "total"));
	if (!code)
		code = write_merged(&a, merged);
	json_decref(merged);
	free_docs(docs, a.ninputs);
	return code;
}
