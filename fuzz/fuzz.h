/* fuzz.h -- what the fuzz targets share. Each fuzz_*.c defines
 * LLVMFuzzerTestOneInput() for one parser of untrusted text; libFuzzer
 * drives it (ci/fuzz, clang), and replay.c feeds it the files of a corpus
 * in the ordinary test suite (any compiler, under ASan+UBSan in ci/test).
 * A broken invariant aborts: the fuzzer then keeps the input as a crash. */
#ifndef PC_FUZZ_H
#define PC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (free() it): the parsers take C
 * strings, so an input with a NUL in it is cut there, as a file read
 * into a string would be. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Checks an invariant: when it does not hold, say which and abort. */
#define FUZZ_CHECK(cond, what)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz invariant broken: %s (%s)\n", what, #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
