/* shard.c -- see shard.h. */
#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cycle of the default scenario takes about 6 ms on a two-core CI
 * machine (20 cases x 8 cycles in about a second); only the ratio between
 * cases matters, so a round figure does. */
#define CYCLE_MS 5

/* A decimal in [min, max]; -1 when text is not one. */
static long number(const char *text, long min, long max)
{
	char *end;
	long v;

	if (!text || text[0] < '0' || text[0] > '9')
		return -1;
	v = strtol(text, &end, 10);
	return *end || v < min || v > max ? -1 : v;
}

int pc_shard_parse(const char *text, struct pc_shard *out, char *err, size_t errlen)
{
	const char *slash = strchr(text, '/');
	char k[16];
	long index, total;

	if (!slash || (size_t)(slash - text) >= sizeof(k))
		goto bad;
	memcpy(k, text, (size_t)(slash - text));
	k[slash - text] = '\0';
	total = number(slash + 1, 1, PC_SHARD_MAX);
	index = number(k, 1, total < 1 ? 1 : total);
	if (total < 1 || index < 1)
		goto bad;
	out->index = (int)index;
	out->total = (int)total;
	return 0;
bad:
	snprintf(err, errlen, "--shard wants K/N with 1 <= K <= N <= %d, not '%s'", PC_SHARD_MAX,
		 text);
	return -EINVAL;
}

int pc_shard_from_env(const char *index, const char *total, struct pc_shard *out, char *err,
		      size_t errlen)
{
	long t, i;

	if (!index && !total)
		return 0;
	t = number(total, 1, PC_SHARD_MAX);
	i = number(index, 0, t < 1 ? 0 : t - 1);
	if (!index || !total || t < 1 || i < 0) {
		snprintf(err, errlen, "TEST_SHARD_INDEX='%s' and TEST_TOTAL_SHARDS='%s' must both be "
			 "set, with 0 <= index < total <= %d", index ? index : "",
			 total ? total : "", PC_SHARD_MAX);
		return -EINVAL;
	}
	out->index = (int)i + 1;
	out->total = (int)t;
	return 1;
}

int64_t pc_shard_weight(const struct pc_case *c)
{
	int64_t cycles = c->cycles > 0 ? c->cycles : 1;

	return cycles * (CYCLE_MS + (c->startup_delay_ms > 0 ? c->startup_delay_ms : 0));
}

struct order {
	int64_t weight;
	int index;
};

/* Heaviest first; equal weights keep the case order. */
static int heavier_first(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return (x->index > y->index) - (x->index < y->index);
}

static int lightest(const int64_t *load, int total)
{
	int best = 0;

	for (int s = 1; s < total; s++)
		if (load[s] < load[best])
			best = s;
	return best;
}

int pc_shard_assign(const int64_t *weights, int n, int total, int *shard_of)
{
	struct order *o = malloc((n > 0 ? (size_t)n : 1) * sizeof(*o));
	int64_t *load = calloc((total > 0 ? (size_t)total : 1), sizeof(*load));

	if (!o || !load) {
		free(o);
		free(load);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		o[i] = (struct order){ weights[i], i };
	qsort(o, (size_t)n, sizeof(*o), heavier_first);
	for (int i = 0; i < n; i++) {
		int s = lightest(load, total);

		load[s] += o[i].weight;
		shard_of[o[i].index] = s + 1;
	}
	free(o);
	free(load);
	return 0;
}

int pc_shard_select(struct pc_scenario *s, const struct pc_shard *sh)
{
	int64_t *w = malloc((s->ncases > 0 ? (size_t)s->ncases : 1) * sizeof(*w));
	int *of = malloc((s->ncases > 0 ? (size_t)s->ncases : 1) * sizeof(*of));
	int n = 0;

	if (!w || !of) {
		free(w);
		free(of);
		return -ENOMEM;
	}
	for (int i = 0; i < s->ncases; i++)
		w[i] = pc_shard_weight(&s->cases[i]);
	if (pc_shard_assign(w, s->ncases, sh->total, of) == 0) {
		for (int i = 0; i < s->ncases; i++)
			if (of[i] == sh->index)
				s->cases[n++] = s->cases[i];
		s->ncases = n;
	} else {
		n = -ENOMEM;
	}
	free(w);
	free(of);
	return n;
}
