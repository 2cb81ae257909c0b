/* fuzz_results.c -- the results.json reader that compare, merge and report
 * use, on any bytes: a checked document and a rebuilt run, or an error
 * with a message and nothing set. What it accepts, the writer's reports
 * can be made from: render the rebuilt run to every format in memory. */
#include "fuzz.h"

#include <errno.h>

#include "report.h"
#include "results_load.h"

/* Every report the run can be written to, into /dev/null: the writers
 * trust what the reader accepted. */
static void fuzz_render(const struct pc_run *run)
{
	static FILE *null;
	char err[256];

	if (!null)
		null = fopen("/dev/null", "we");
	FUZZ_CHECK(null != NULL, "/dev/null opens");
	FUZZ_CHECK(pc_report_check_run(run, err, sizeof(err)) == 0,
		   "a run the reader rebuilt passes the writers' check");
	for (const struct pc_report_writer *w = pc_report_writers; w->name; w++)
		FUZZ_CHECK(w->write(run, null) == 0, "a writer takes the rebuilt run");
	FUZZ_CHECK(pc_report_html(run, NULL, 0, NULL, null) == 0, "report.html too");
}

static void check_refusal(int rc, const char *err, json_t *doc, struct pc_run *run)
{
	FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM, "-EINVAL or -ENOMEM");
	FUZZ_CHECK(err[0] != '\0', "a refusal says why");
	FUZZ_CHECK(doc == NULL && run == NULL, "a refusal sets nothing");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	json_t *doc = NULL;
	struct pc_run *run = NULL;
	int rc = pc_results_parse((const char *)data, size, &doc, &run, err, sizeof(err));

	if (rc < 0) {
		check_refusal(rc, err, doc, run);
		return 0;
	}
	FUZZ_CHECK(doc != NULL && run != NULL, "an accepted document gives both");
	fuzz_render(run);
	json_decref(doc);
	pc_run_free(run);
	return 0;
}
