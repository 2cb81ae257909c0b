/* expect.h -- expectations: the one table of what a scenario may expect of
 * a case ("bind = ok", "rebind_p99_ms < 20"), parsing one expectation line
 * for the scenario parser and evaluating it against a case's results for
 * the engine. Pure; thread-safe. */
#ifndef PC_EXPECT_H
#define PC_EXPECT_H

#include <stddef.h>

#include "results.h"
#include "scenario.h"

/* key/value as inih split them; value may start with an operator
 * ("< 20"), else the operator is "=". Returns 0, or -1 with a reason. */
int pc_expect_parse(const char *key, const char *value, struct pc_expect *out, char *err,
		    size_t errlen);
/* Text as written in reports: "rebind_p99_ms < 20", "bind = ok". */
void pc_expect_format(const struct pc_expect *e, char *buf, size_t len);
/* Fills status and measured. */
void pc_expect_evaluate(const struct pc_expect *e, const struct pc_case_result *r,
			struct pc_exp_result *out);

#endif
