/* optset.c -- see optset.h. SO_REUSEPORT is not POSIX: glibc and macOS
 * declare it only when BSD names are asked for, hence these two macros. */
#define _DEFAULT_SOURCE
#define _DARWIN_C_SOURCE
#include "optset.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *const at_names[] = {
	[PC_AT_BEFORE_BIND] = "before-bind",
	[PC_AT_AFTER_BIND] = "after-bind",
	[PC_AT_AFTER_LISTEN] = "after-listen",
	[PC_AT_ACCEPTED] = "accepted",
	[PC_AT_AFTER_ACCEPT] = "after-accept",
};

static int parse_uint(const char *s, int max, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* One token of the set; tok is NUL-terminated. */
static int parse_token(const char *tok, struct pc_optset *o, char *err, size_t errlen)
{
	bool *flag = NULL;

	if (!strcmp(tok, "reuseaddr"))
		flag = &o->reuseaddr;
	else if (!strcmp(tok, "reuseport"))
		flag = &o->reuseport;
	else if (!strcmp(tok, "nodelay"))
		flag = &o->nodelay;
	if (flag) {
		if (*flag)
			goto dup;
		*flag = true;
		return 0;
	}
	if (!strncmp(tok, "linger=", 7)) {
		if (o->linger_s != PC_LINGER_UNSET)
			goto dup;
		if (!strcmp(tok + 7, "off")) {
			o->linger_s = PC_LINGER_OFF;
			return 0;
		}
		if (parse_uint(tok + 7, 65535, &o->linger_s) == 0)
			return 0;
		snprintf(err, errlen, "bad linger value '%s' (seconds 0-65535, or off)", tok + 7);
		return -1;
	}
	if (!strncmp(tok, "backlog=", 8)) {
		if (o->backlog)
			goto dup;
		if (parse_uint(tok + 8, 65535, &o->backlog) == 0 && o->backlog > 0)
			return 0;
		snprintf(err, errlen, "bad backlog value '%s' (1-65535)", tok + 8);
		return -1;
	}
	snprintf(err, errlen, "unknown socket option '%s' (reuseaddr, reuseport, nodelay, "
		 "linger=N|off, backlog=N, none)", tok);
	return -1;
dup:
	snprintf(err, errlen, "option '%s' given twice", tok);
	return -1;
}

/* Messages quote the text: a control character (a newline from an argv
 * or an environment variable) would break the one-line promise. */
static int check_printable(const char *text, char *err, size_t errlen)
{
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "control character 0x%02x in option set at offset %d",
				 (unsigned char)*p, (int)(p - text));
			return -1;
		}
	}
	return 0;
}

int pc_optset_parse(const char *text, struct pc_optset *out, char *err, size_t errlen)
{
	struct pc_optset o = { .linger_s = PC_LINGER_UNSET };
	char buf[PC_OPTSET_TEXT_MAX];
	char *tok, *save;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "option set too long (max %zu characters)", sizeof(buf) - 1);
		return -1;
	}
	if (check_printable(text, err, errlen) < 0)
		return -1;
	if (!strcmp(text, "none")) {
		*out = o;
		return 0;
	}
	if (!*text || text[0] == '+' || text[strlen(text) - 1] == '+' || strstr(text, "++")) {
		snprintf(err, errlen, "empty option in set '%s'", text);
		return -1;
	}
	strcpy(buf, text);
	for (tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save))
		if (parse_token(tok, &o, err, errlen) < 0)
			return -1;
	*out = o;
	return 0;
}

void pc_optset_format(const struct pc_optset *o, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
#define PC_ADD(...) n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__)
	if (o->reuseaddr)
		PC_ADD("%sreuseaddr", n ? "+" : "");
	if (o->reuseport)
		PC_ADD("%sreuseport", n ? "+" : "");
	if (o->linger_s == PC_LINGER_OFF)
		PC_ADD("%slinger=off", n ? "+" : "");
	else if (o->linger_s >= 0)
		PC_ADD("%slinger=%d", n ? "+" : "", o->linger_s);
	if (o->nodelay)
		PC_ADD("%snodelay", n ? "+" : "");
	if (o->backlog)
		PC_ADD("%sbacklog=%d", n ? "+" : "", o->backlog);
	if (!n)
		PC_ADD("none");
#undef PC_ADD
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) < 0 ? -errno : 0;
}

int pc_optset_apply(const struct pc_optset *o, int fd)
{
	int rc = 0;

	if (o->reuseaddr)
		rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
#ifdef SO_REUSEPORT
	if (!rc && o->reuseport)
		rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
#else
	if (!rc && o->reuseport)
		rc = -ENOPROTOOPT;
#endif
	if (!rc && o->nodelay)
		rc = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!rc && o->linger_s != PC_LINGER_UNSET) {
		struct linger l = {
			.l_onoff = o->linger_s != PC_LINGER_OFF,
			.l_linger = o->linger_s > 0 ? o->linger_s : 0,
		};
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
			rc = -errno;
	}
	return rc;
}

int pc_opts_at_parse(const char *text, enum pc_opts_at *out)
{
	for (size_t i = 0; i < sizeof(at_names) / sizeof(at_names[0]); i++) {
		if (!strcmp(text, at_names[i])) {
			*out = (enum pc_opts_at)i;
			return 0;
		}
	}
	return -1;
}

const char *pc_opts_at_name(enum pc_opts_at at)
{
	return at_names[at];
}
