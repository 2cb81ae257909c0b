/* fuzz_optset.c -- pc_optset_parse() on any text: it parses or says why in
 * one line, and what it parses prints back canonically and parses again
 * to the same set. */
#include "fuzz.h"

#include "optset.h"

static void check_round_trip(const struct pc_optset *o)
{
	struct pc_optset again;
	char text[PC_OPTSET_TEXT_MAX], err[128];

	pc_optset_format(o, text, sizeof(text));
	FUZZ_CHECK(pc_optset_parse(text, &again, err, sizeof(err)) == 0,
		   "the canonical text of a parsed set parses");
	FUZZ_CHECK(!memcmp(&again, o, sizeof(again)), "and gives the same set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), err[128] = "";
	struct pc_optset o;
	enum pc_opts_at at;

	if (pc_optset_parse(text, &o, err, sizeof(err)) == 0)
		check_round_trip(&o);
	else
		FUZZ_CHECK(err[0] && !strchr(err, '\n'), "a refusal says why, in one line");
	if (pc_opts_at_parse(text, &at) == 0)
		FUZZ_CHECK(!strcmp(pc_opts_at_name(at), text), "opts_at names round-trip");
	free(text);
	return 0;
}
