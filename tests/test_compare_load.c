/* test_compare_load.c -- results_load, the reader compare, merge and report
 * stand on: a run written by report_json.c reads back to the same figures;
 * bad input is refused with the path of the bad field; and mangled copies
 * of a real results.json (truncated, bytes flipped, fields swapped for
 * other types) never crash it, under ASan too. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "results_load.h"

#define MS 1000000LL

/* A run as the engine leaves it: two cases, one with a failed bind, a
 * census, expectations, and a third case planned but not run. */
static struct pc_run *engine_like_run(void)
{
	struct pc_run *run = calloc(1, sizeof(*run));
	struct pc_scenario *s = calloc(1, sizeof(*s));

	cr_assert(run && s);
	run->scenario = s;
	s->cases = calloc(3, sizeof(*s->cases));
	run->cases = calloc(3, sizeof(*run->cases));
	cr_assert(s->cases && run->cases);
	s->ncases = 3;
	run->ncases = 2;
	snprintf(s->name, sizeof(s->name), "round-trip");
	snprintf(s->file, sizeof(s->file), "rt.ini");
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1");
	snprintf(run->netns, sizeof(run->netns), "private");
	snprintf(run->os, sizeof(run->os), "Linux");
	snprintf(run->kernel, sizeof(run->kernel), "6.1");
	run->started_ns = 100;
	run->finished_ns = 100 + 3 * MS;
	for (int i = 0; i < 2; i++) {
		struct pc_case *c = &s->cases[i];
		struct pc_case_result *r = &run->cases[i];

		snprintf(c->name, sizeof(c->name), "case %d", i);
		snprintf(c->old_text, sizeof(c->old_text), i ? "none" : "reuseaddr");
		snprintf(c->new_text, sizeof(c->new_text), i ? "none" : "reuseaddr");
		c->signal = i ? SIGTERM : SIGKILL;
		c->strategy = i ? PC_STRATEGY_OVERLAP : PC_STRATEGY_NAIVE;
		c->cycles = 3;
		r->spec = c;
		r->cycles = calloc(3, sizeof(*r->cycles));
		r->ncycles = 3;
		for (int k = 0; k < 3; k++) {
			struct pc_cycle *y = &r->cycles[k];

			y->index = k;
			y->kill_ns = 1000 * MS + k * 100 * MS;
			y->reaped_ns = y->kill_ns + MS;
			y->spawn_ns = y->reaped_ns + 1;
			y->bind_ns = y->spawn_ns + 1;
			y->bind_errno = i && k == 1 ? EADDRINUSE : 0;
			y->listen_ns = y->bind_errno ? 0 : y->reaped_ns + (k + 1) * 300000;
			y->first_ok_ns = y->listen_ns ? y->listen_ns + 2 * MS : 0;
			y->at_kill = (struct pc_census){ .known = true, .time_wait = 4 * k, .listen = 1 };
		}
		r->exps = calloc(1, sizeof(*r->exps));
		r->nexps = 1;
		snprintf(r->exps[0].text, sizeof(r->exps[0].text), "bind = ok");
		r->exps[0].status = i ? PC_EXP_FAILED : PC_EXP_HELD;
		r->exps[0].line = 9;
		r->pass = !i;
		pc_case_result_summarize(r);
	}
	snprintf(s->cases[2].name, sizeof(s->cases[2].name), "case 2");
	return run;
}

static char *json_of(const struct pc_run *run, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	cr_assert(f != NULL);
	cr_assert_eq(pc_report_json(run, f), 0);
	fclose(f);
	return text;
}

Test(results_load, round_trip, .timeout = 10)
{
	struct pc_run *a = engine_like_run(), *b = NULL;
	size_t len;
	char *text = json_of(a, &len), err[256];
	json_t *doc = NULL;

	cr_assert_eq(pc_results_parse(text, len, &doc, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(b->scenario->name, "round-trip");
	cr_assert_eq(b->scenario->ncases, 3, "planned cases");
	cr_assert_eq(b->ncases, 2, "cases that ran");
	cr_assert_str_eq(b->scenario->cases[2].name, "(case 3, not run)");
	cr_assert_eq(pc_report_span_ns(b->started_ns, b->finished_ns), 3 * MS, "duration");
	for (int i = 0; i < 2; i++) {
		const struct pc_case_result *x = &a->cases[i], *y = &b->cases[i];

		cr_assert_str_eq(y->spec->name, x->spec->name);
		cr_assert_eq(y->spec->signal, x->spec->signal, "case %d signal", i);
		cr_assert_eq(y->spec->strategy, x->spec->strategy, "case %d strategy", i);
		cr_assert_eq(y->bind_ok, x->bind_ok, "case %d bind ok", i);
		cr_assert_eq(y->bind_failed, x->bind_failed, "case %d bind failed", i);
		cr_assert_eq(y->rebind.p50, x->rebind.p50, "case %d rebind p50", i);
		cr_assert_eq(y->restart.p99, x->restart.p99, "case %d restart p99", i);
		cr_assert_eq(y->peak_at_kill.time_wait, 8, "case %d census peak", i);
		cr_assert_eq(y->pass, x->pass, "case %d verdict", i);
		cr_assert_eq(y->exps[0].status, x->exps[0].status, "case %d expectation", i);
	}
	json_decref(doc);
	free(text);
	pc_run_free(a);
	pc_run_free(b);
}

struct bad_case {
	char text[200];
	char message[80];
};

ParameterizedTestParameters(results_load, refuses)
{
	static struct bad_case cases[] = {
		{ "[]", "results.json must be a JSON object" },
		{ "{\"schema\": \"portchurn/2\"}", "schema: not \"portchurn/1\"" },
		{ "{\"schema\": \"portchurn/1\"}", "scenario: missing" },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}}", "cases: missing" },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}, \"cases\": [{}]}",
		  "cases[0].name: missing" },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}, \"cases\": "
		  "[{\"name\": \"a\", \"verdict\": \"pass\", \"records\": [{\"kill_ns\": -5}]}]}",
		  "cases[0].records[0].kill_ns: want an integer >= 0" },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}, \"cases\": "
		  "[{\"name\": \"a\", \"verdict\": \"maybe\", \"records\": []}]}",
		  "cases[0].verdict: unknown value 'maybe'" },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}, \"cases\": "
		  "[{\"name\": \"a\", \"verdict\": \"pass\", \"records\": [], \"old\": \"bogus\"}]}",
		  "cases[0].old: " },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}, \"cases\": "
		  "[{\"name\": \"a\", \"verdict\": \"pass\", \"records\": []}, "
		  "{\"name\": \"a\", \"verdict\": \"pass\", \"records\": []}]}",
		  "case 'a' appears twice" },
		{ "{\"schema\": \"portchurn/1\", \"schema\": \"x\"}", "not valid JSON" },
		{ "{\"schema\": \"portchurn/1\", \"scenario\": {\"name\": \"s\"}, \"cases\": "
		  "[{\"name\": \"a\", \"verdict\": \"pass\", \"records\": [{\"bind_errno\": "
		  "\"ENOTHING\"}]}]}", "cases[0].records[0].bind_errno: unknown errno name" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, results_load, refuses, .timeout = 10)
{
	struct pc_run *run = NULL;
	json_t *doc = NULL;
	char err[256] = "";
	int rc = pc_results_parse(c->text, strlen(c->text), &doc, &run, err, sizeof(err));

	cr_assert_eq(rc, -EINVAL, "accepted (%d): %s", rc, c->text);
	cr_assert(strstr(err, c->message), "message '%s' lacks '%s'", err, c->message);
	cr_assert(run == NULL && doc == NULL, "outputs set on failure");
}

/* Mangled copies of a real document: every outcome is 0 or -EINVAL,
 * never a crash, a leak or a hang. */
Test(results_load, mangled_input_never_crashes, .timeout = 60)
{
	struct pc_run *a = engine_like_run();
	size_t len;
	char *text = json_of(a, &len), *copy = malloc(len + 1), err[256];
	unsigned seed = 4242;
	int ok = 0, refused = 0;

	cr_assert(copy != NULL);
	for (int round = 0; round < 3000; round++) {
		struct pc_run *run = NULL;
		size_t n = len;
		int rc;

		memcpy(copy, text, len);
		if (round % 3 == 0)
			n = (size_t)rand_r(&seed) % len;   /* truncated */
		for (int k = 0; k < 1 + round % 4; k++) {  /* bytes replaced */
			static const char pick[] = "0123456789-\"{}[],:.eE tfn\\";

			copy[(size_t)rand_r(&seed) % len] = pick[rand_r(&seed) % (sizeof(pick) - 1)];
		}
		rc = pc_results_parse(copy, n, NULL, &run, err, sizeof(err));
		cr_assert(rc == 0 || rc == -EINVAL, "round %d: rc %d (%s)", round, rc, err);
		ok += rc == 0;
		refused += rc != 0;
		pc_run_free(run);
	}
	cr_assert(refused > 0, "nothing was refused: the mangling did nothing");
	free(copy);
	free(text);
	pc_run_free(a);
}

/* Values of another type at every field of a real document. */
Test(results_load, wrong_types_everywhere, .timeout = 60)
{
	struct pc_run *a = engine_like_run();
	size_t len;
	char *text = json_of(a, &len), err[256];
	json_t *doc = json_loads(text, 0, NULL), *swaps[4];
	int fields = 0;

	cr_assert(doc != NULL);
	swaps[0] = json_string("x");
	swaps[1] = json_integer(-1);
	swaps[2] = json_array();
	swaps[3] = json_real(1e300);
	/* each key of each case and of its first record, in turn */
	for (size_t i = 0; i < 2; i++) {
		json_t *c = json_array_get(json_object_get(doc, "cases"), i);
		json_t *targets[2] = { c, json_array_get(json_object_get(c, "records"), 0) };

		for (int t = 0; t < 2; t++) {
			const char *key;
			json_t *val;

			json_object_foreach(targets[t], key, val) {
				json_t *keep = json_incref(val);

				for (int s = 0; s < 4; s++) {
					struct pc_run *run = NULL;
					int rc;

					json_object_set(targets[t], key, swaps[s]);
					rc = pc_results_to_run(doc, &run, err, sizeof(err));
					cr_assert(rc == 0 || rc == -EINVAL, "%s: rc %d", key, rc);
					pc_run_free(run);
				}
				json_object_set(targets[t], key, keep);
				json_decref(keep);
				fields++;
			}
		}
	}
	cr_assert_gt(fields, 40, "only %d fields tried", fields);
	for (int s = 0; s < 4; s++)
		json_decref(swaps[s]);
	json_decref(doc);
	free(text);
	pc_run_free(a);
}
