/* results_load.h -- reads a results.json (schema "portchurn/1", written by
 * report_json.c) back: checks it and rebuilds the pc_run the reporters
 * read, for `compare`, `merge` and `report`.
 *
 * The input is untrusted (an artifact from another machine, a hand-edited
 * file, a fuzzer): every field used is type- and range-checked, and a bad
 * one is an error that names its path ("cases[3].records[0].kill_ns: want
 * an integer from 0"). Required: schema, scenario.name, and per case name,
 * verdict and records; a missing optional field takes its default. Case
 * names must be unique (compare and merge match cases by name). Fields this
 * reader does not know stay in the document, so merge passes them on.
 *
 * The run's figures (bind counts, rebind/restart statistics, census peaks,
 * the case diagnosis) are recomputed from the records, the one source of
 * truth, exactly as the engine computes them. Cases the file does not
 * list but counts in cases_planned become named placeholders that did not
 * run. Only durations survive, not the monotonic start and end times.
 *
 * Plain functions on caller-owned data; no global state; thread-safe. */
#ifndef PC_RESULTS_LOAD_H
#define PC_RESULTS_LOAD_H

#include <stddef.h>

#include <jansson.h>

#include "results.h"

#define PC_RESULTS_SCHEMA "portchurn/1"
#define PC_RESULTS_MAX_BYTES (1L << 30)   /* a 1 GiB results.json is not ours */

/* Parse len bytes of text (no NUL needed). On success returns 0 and sets
 * whichever of *doc (the checked document, json_decref) and *run (the
 * rebuilt run, pc_run_free) are not NULL. On failure returns -EINVAL (bad
 * JSON, wrong schema, a bad field) or -ENOMEM, with a message in err, and
 * sets nothing. */
int pc_results_parse(const char *text, size_t len, json_t **doc, struct pc_run **run,
		     char *err, size_t errlen);

/* The same from a file: path, or path/results.json when path is a
 * directory. Messages start with the path. -errno when it cannot be read. */
int pc_results_load(const char *path, json_t **doc, struct pc_run **run, char *err,
		    size_t errlen);

/* The rebuilt run of an already parsed document (one that may not have
 * been checked: it is checked here). */
int pc_results_to_run(const json_t *doc, struct pc_run **run, char *err, size_t errlen);

#endif
