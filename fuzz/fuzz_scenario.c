/* fuzz_scenario.c -- pc_scenario_parse() on any text: a scenario with 1 to
 * PC_MAX_CASES named cases, or NULL and one line "fuzz.ini:LINE: why". */
#include "fuzz.h"

#include "scenario.h"

#define FILE_NAME "fuzz.ini"

static void check_cases(const struct pc_scenario *s)
{
	FUZZ_CHECK(s->ncases >= 1 && s->ncases <= PC_MAX_CASES, "case count in bounds");
	for (int i = 0; i < s->ncases; i++) {
		const struct pc_case *c = &s->cases[i];

		FUZZ_CHECK(memchr(c->name, '\0', sizeof(c->name)) != NULL, "case names end");
		FUZZ_CHECK(c->cycles >= 1, "a case has cycles");
		FUZZ_CHECK(c->nexps >= 0 && c->nexps <= PC_MAX_EXPS, "expectations in bounds");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), err[512] = "";
	struct pc_scenario *s = pc_scenario_parse(text, FILE_NAME, err, sizeof(err));

	if (s) {
		check_cases(s);
		pc_scenario_free(s);
	} else {
		FUZZ_CHECK(!strncmp(err, FILE_NAME ":", strlen(FILE_NAME ":")),
			   "an error names the file");
		FUZZ_CHECK(!strchr(err, '\n'), "an error is one line");
	}
	free(text);
	return 0;
}
