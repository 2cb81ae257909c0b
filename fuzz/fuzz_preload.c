/* fuzz_preload.c -- the preload probe's event lines, from a pipe a server
 * under test writes to: parse one line; and feed the whole input, split
 * where it has newlines, to a log and summarise it, as the harness does. */
#include "fuzz.h"

#include <errno.h>

#include "preload_events.h"

static void check_log(const uint8_t *data, size_t size)
{
	struct pc_preload_log log;
	char summary[2048];
	size_t start = 0;

	FUZZ_CHECK(pc_preload_log_init(&log, -1) == 0, "a log");
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		pc_preload_log_add_line(&log, (const char *)data + start, i - start + (i < size));
		start = i + 1;
	}
	FUZZ_CHECK(log.n <= PC_PRELOAD_LOG_MAX, "the log keeps at most its maximum");
	pc_preload_summary(&log, 0, 0, summary, sizeof(summary));
	FUZZ_CHECK(memchr(summary, '\0', sizeof(summary)) != NULL, "the summary ends");
	if (log.n)
		pc_preload_summary(&log, log.events[0].pid, 0, summary, sizeof(summary));
	pc_preload_log_free(&log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size);
	struct pc_preload_event ev;
	int rc = pc_preload_parse(line, &ev);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL, "0 or -EINVAL");
	if (rc == 0)
		FUZZ_CHECK(pc_preload_call_name(ev.call) != NULL, "a parsed call has a name");
	free(line);
	check_log(data, size);
	return 0;
}
