/* sockstate_linux.c -- sockstate.h on Linux.
 *
 * Counts come from NETLINK_SOCK_DIAG (inet_diag): one dump covering both
 * address families, with the port filtered inside the kernel by a small
 * bytecode program, so only the port's own sockets are formatted and copied
 * to us. A churn benchmark leaves tens of thousands of TIME_WAIT sockets
 * behind; /proc/net/tcp formats every one of them, and slows down badly
 * (measured: 60-500 ms per read with 20 000, against a few ms here). What
 * remains is the kernel walking its established-socket table, every bucket
 * and every socket in it, once per dump whatever the filter: hence one dump
 * and not one per family (bench/bench_census: 7 ms instead of 13 with
 * 20 000 TIME_WAIT sockets on a 262 144-bucket table). A private network
 * namespace with a small table (net.ipv4.tcp_child_ehash_entries) makes
 * that walk cheap.
 *
 * Holders: the dump gives each listening socket's inode; /proc/PID/fd/N
 * links read "socket:[INODE]", so one walk over /proc maps inodes to pids,
 * which is also what ss -p and fuser do. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sockstate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

/* Large enough for the kernel's biggest dump batch; the kernel sizes its
 * batches after the buffer we read with. */
#define DUMP_BUF_SIZE 32768

/* TCP states 1 (ESTABLISHED) to 12 (NEW_SYN_RECV). Not ~0: newer kernels
 * read bit 13 as "also bound-but-inactive sockets" and then walk the whole
 * bind table too, which made a census 2.5x slower with 20 000 TIME_WAIT
 * sockets on the machine. Whether a port is bound is a question for a
 * test bind(), not for this count. */
#define ALL_STATES ((1u << 13) - 2)
#define LISTEN_ONLY (1u << TCP_LISTEN)

struct diag_ctx {
	uint16_t port;
	bool want_inodes;        /* collect the inodes of LISTEN sockets */
	struct pc_census census;
	unsigned long *inodes;
	size_t ninodes, cap;
};

/* Kernel-side filter "local port == port", as S_GE then S_LE (S_EQ is
 * younger and buys nothing here). Each comparison is one op followed by an
 * op whose 'no' field carries the port. 'yes' steps to the next op; 'no'
 * jumps 4 bytes past the end of the program. The kernel accepts a socket
 * only when the program ends exactly at its end, so overshooting rejects. */
struct port_filter {
	struct inet_diag_bc_op ge, ge_arg, le, le_arg;
};

static void port_filter_init(struct port_filter *f, uint16_t port)
{
	unsigned short step = 2 * sizeof(struct inet_diag_bc_op);

	memset(f, 0, sizeof(*f));
	f->ge.code = INET_DIAG_BC_S_GE;
	f->ge.yes = step;
	f->ge.no = sizeof(*f) + 4;
	f->ge_arg.no = port;
	f->le.code = INET_DIAG_BC_S_LE;
	f->le.yes = step;
	f->le.no = step + 4;
	f->le_arg.no = port;
}

static int push_inode(struct diag_ctx *ctx, unsigned long inode)
{
	unsigned long *grown;

	if (ctx->ninodes == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 8;

		grown = realloc(ctx->inodes, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ctx->inodes = grown;
		ctx->cap = cap;
	}
	ctx->inodes[ctx->ninodes++] = inode;
	return 0;
}

/* The kernel gives a TIME_WAIT socket's remaining life in idiag_expires
 * (ms): keep the soonest and the latest. */
static void note_expiry(struct pc_census *c, uint32_t expires_ms)
{
	int ms = expires_ms > INT32_MAX ? INT32_MAX : (int)expires_ms;

	if (c->tw_expires_min_ms < 0 || ms < c->tw_expires_min_ms)
		c->tw_expires_min_ms = ms;
	if (ms > c->tw_expires_max_ms)
		c->tw_expires_max_ms = ms;
}

static void census_add(struct pc_census *c, const struct inet_diag_msg *m)
{
	switch (m->idiag_state) {
	case TCP_LISTEN:
		c->listen++;
		break;
	case TCP_ESTABLISHED:
		c->established++;
		break;
	case TCP_TIME_WAIT:
		c->time_wait++;
		note_expiry(c, m->idiag_expires);
		break;
	case TCP_FIN_WAIT1:
		c->fin_wait1++;
		break;
	case TCP_FIN_WAIT2:
		c->fin_wait2++;
		break;
	case TCP_CLOSE_WAIT:
		c->close_wait++;
		break;
	default:
		c->other++;
		break;
	}
}

static int on_sock(const struct nlmsghdr *nlh, void *data)
{
	struct diag_ctx *ctx = data;
	const struct inet_diag_msg *m;

	if (nlh->nlmsg_type != TCPDIAG_GETSOCK && nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	m = mnl_nlmsg_get_payload(nlh);
	/* The kernel already filtered; this guards against one that ignored
	 * the bytecode, and costs nothing. */
	if (ntohs(m->id.idiag_sport) != ctx->port)
		return MNL_CB_OK;
	census_add(&ctx->census, m);
	if (ctx->want_inodes && m->idiag_state == TCP_LISTEN && m->idiag_inode) {
		int err = push_inode(ctx, m->idiag_inode);

		if (err) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_OK;
}

/* A dump that failed half-way ends with NLMSG_DONE carrying -errno. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	int err;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err)) {
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* A request the kernel refused (bad bytecode, no such family). Passing a
 * control table to mnl_cb_run2() disables libmnl's defaults for the types
 * it covers, so NLMSG_ERROR is handled here too. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error == 0)
		return MNL_CB_STOP;
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* The request: either the legacy TCPDIAG_GETSOCK, whose dumps cover both
 * address families in one walk of the kernel's tables, or the per-family
 * SOCK_DIAG_BY_FAMILY; the same states and port filter for both. */
static void put_request(struct nlmsghdr *nlh, uint8_t family, uint32_t states,
			const struct diag_ctx *ctx)
{
	struct port_filter filter;

	if (family == AF_UNSPEC) {
		struct inet_diag_req *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));

		nlh->nlmsg_type = TCPDIAG_GETSOCK;
		req->idiag_family = AF_INET;    /* ignored by dumps */
		req->idiag_states = states;
	} else {
		struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		req->sdiag_family = family;
		req->sdiag_protocol = IPPROTO_TCP;
		req->idiag_states = states;
	}
	port_filter_init(&filter, ctx->port);
	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, sizeof(filter), &filter);
}

/* One dump: AF_UNSPEC asks for both families through the legacy request. */
static int dump_family(struct mnl_socket *nl, uint8_t family, uint32_t states,
		       unsigned int seq, struct diag_ctx *ctx)
{
	/* Not const: older libmnl takes a non-const table. */
	mnl_cb_t ctl[NLMSG_DONE + 1] = {
		[NLMSG_ERROR] = on_error,
		[NLMSG_DONE] = on_done,
	};
	char buf[DUMP_BUF_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t len;
	int ret;

	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	put_request(nlh, family, states, ctx);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		ret = mnl_cb_run2(buf, (size_t)len, seq, portid, on_sock, ctx,
				  ctl, NLMSG_DONE + 1);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret == MNL_CB_ERROR)
			/* libmnl says EINTR for NLM_F_DUMP_INTR: the tables
			 * changed under the dump; the caller may ask again. */
			return errno == EINTR ? -EAGAIN : -errno;
	}
}

/* Two dumps, one per family, for a kernel without the legacy request. */
static int dump_per_family(struct mnl_socket *nl, uint32_t states, struct diag_ctx *ctx)
{
	int err = dump_family(nl, AF_INET, states, 2, ctx);

	/* No inet_diag handler for the family: the module is missing. */
	if (err == -ENOENT)
		return -EPROTONOSUPPORT;
	if (err)
		return err;
	err = dump_family(nl, AF_INET6, states, 3, ctx);
	/* A kernel without IPv6 has no IPv6 sockets to count. */
	if (err == -ENOENT || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT)
		err = 0;
	return err;
}

/* The kernel walks its whole established-socket table for every dump,
 * whatever the filter, so one dump for both families halves the cost
 * (measured: bench/bench_census). The legacy request is answered by every
 * kernel with inet_diag; should one refuse it (EOPNOTSUPP without the
 * compat handler, EINVAL for an unknown type), ask per family. A refused
 * request has sent nothing to on_sock, so the counts are still zero. */
static int diag_dump(struct diag_ctx *ctx, uint32_t states)
{
	struct mnl_socket *nl;
	int err;

	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	err = dump_family(nl, AF_UNSPEC, states, 1, ctx);
	if (err == -EOPNOTSUPP || err == -EINVAL)
		err = dump_per_family(nl, states, ctx);
out:
	mnl_socket_close(nl);
	return err;
}

int pc_sockstate_census(int port, struct pc_census *out)
{
	struct diag_ctx ctx = { .port = (uint16_t)port };
	int err;

	if (port < 1 || port > 65535 || !out)
		return -EINVAL;
	ctx.census.tw_expires_min_ms = ctx.census.tw_expires_max_ms = -1;
	err = diag_dump(&ctx, ALL_STATES);
	if (err)
		return err;
	ctx.census.known = true;
	*out = ctx.census;
	return 0;
}

/* ---- inode -> process, through /proc ---- */

struct holder_scan {
	const unsigned long *inodes;  /* sorted, distinct */
	size_t ninodes;
	bool *held;                   /* per inode: some process holds it */
	struct pc_holder *found;
	size_t nfound, cap;
	bool incomplete;
};

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

static int cmp_holder(const void *a, const void *b)
{
	const struct pc_holder *x = a, *y = b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->inode > y->inode) - (x->inode < y->inode);
}

/* A /proc entry named by a pid; everything else there is skipped. */
static bool parse_pid(const char *name, int *pid)
{
	char *end;
	long v;

	if (*name < '1' || *name > '9')
		return false;
	errno = 0;
	v = strtol(name, &end, 10);
	if (errno || *end || v > INT32_MAX)
		return false;
	*pid = (int)v;
	return true;
}

/* "socket:[12345]" -> 12345; false for anything else. */
static bool socket_inode(const char *link, unsigned long *inode)
{
	char *end;

	if (strncmp(link, "socket:[", 8) != 0)
		return false;
	errno = 0;
	*inode = strtoul(link + 8, &end, 10);
	return !errno && end != link + 8 && end[0] == ']' && end[1] == '\0';
}

/* comm and ppid from /proc/PID/stat: "PID (COMM) S PPID ...". COMM may hold
 * spaces and parentheses, so it ends at the LAST ')'. */
static int read_stat(int procfd, int pid, char *comm, size_t commlen, int *ppid)
{
	char path[32], buf[1024];
	const char *open_paren, *close_paren;
	size_t len;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "%d/stat", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EBADMSG;
	if (sscanf(close_paren + 1, " %*c %d", ppid) != 1)
		return -EBADMSG;
	len = (size_t)(close_paren - open_paren - 1);
	if (len >= commlen)
		len = commlen - 1;
	memcpy(comm, open_paren + 1, len);
	comm[len] = '\0';
	return 0;
}

/* Reparented to init, or the parent is no longer visible. */
static bool is_orphan(int procfd, int ppid)
{
	char name[16];

	if (ppid == 1)
		return true;
	if (ppid <= 0)  /* pid 1 itself, or a parent outside our pid namespace */
		return false;
	snprintf(name, sizeof(name), "%d", ppid);
	return faccessat(procfd, name, F_OK, 0) < 0 && errno == ENOENT;
}

static int add_holder(struct holder_scan *s, int pid, unsigned long inode)
{
	struct pc_holder *grown, *h;

	if (s->nfound == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;

		grown = realloc(s->found, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->found = grown;
		s->cap = cap;
	}
	h = &s->found[s->nfound++];
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->inode = inode;
	return 0;
}

static bool holds_already(const struct holder_scan *s, size_t first, unsigned long inode)
{
	for (size_t i = first; i < s->nfound; i++)
		if (s->found[i].inode == inode)
			return true;
	return false;
}

/* Complete the holders [first, nfound) found in one process. A process
 * that exited meanwhile no longer holds anything: drop its entries. */
static int fill_holders(int procfd, int pid, struct holder_scan *s,
			size_t first)
{
	struct pc_holder *h = &s->found[first];
	const unsigned long *hit;
	int err, ppid;

	err = read_stat(procfd, pid, h->comm, sizeof(h->comm), &ppid);
	if (err) {
		s->nfound = first;
		return 0;
	}
	for (size_t i = first; i < s->nfound; i++) {
		h = &s->found[i];
		if (i > first)
			memcpy(h->comm, s->found[first].comm, sizeof(h->comm));
		h->ppid = ppid;
		h->orphan = is_orphan(procfd, ppid);
		hit = bsearch(&h->inode, s->inodes, s->ninodes, sizeof(*s->inodes),
			      cmp_ulong);
		s->held[hit - s->inodes] = true;
	}
	return 0;
}

/* Every fd of one process: a process may hold several of the sockets (or
 * one socket under several fds), so read them all. */
static int scan_fds(int procfd, int pid, struct holder_scan *s)
{
	char path[32], link[64];
	size_t first = s->nfound;
	struct dirent *de;
	unsigned long inode;
	const unsigned long *hit;
	ssize_t len;
	DIR *dir;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%d/fd", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			s->incomplete = true;
		return 0;  /* otherwise the process is gone (or a zombie) */
	}
	dir = fdopendir(fd);
	if (!dir) {
		/* fdopendir() stats the folder, which fails once the process
		 * is gone: then it holds nothing. */
		err = errno == ENOMEM ? -ENOMEM : 0;
		close(fd);
		return err;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		len = readlinkat(fd, de->d_name, link, sizeof(link) - 1);
		if (len < 0) {
			if (errno == EACCES || errno == EPERM)
				s->incomplete = true;
			continue;
		}
		link[len] = '\0';
		if (!socket_inode(link, &inode))
			continue;
		/* no listener, no array: bsearch() wants a base even for 0 items */
		hit = s->inodes ? bsearch(&inode, s->inodes, s->ninodes, sizeof(*s->inodes),
					   cmp_ulong) : NULL;
		if (!hit || holds_already(s, first, inode))
			continue;
		err = add_holder(s, pid, inode);
		if (err)
			break;
	}
	closedir(dir);
	if (err || s->nfound == first)
		return err;
	return fill_holders(procfd, pid, s, first);
}

static int scan_proc(struct holder_scan *s)
{
	struct dirent *de;
	DIR *dir;
	int procfd, pid, err = 0;

	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	dir = fdopendir(procfd);
	if (!dir) {
		err = -errno;
		close(procfd);
		return err;
	}
	while (!err && (de = readdir(dir)) != NULL)
		if (parse_pid(de->d_name, &pid))
			err = scan_fds(procfd, pid, s);
	closedir(dir);
	return err;
}

/* Sort and drop duplicates (the kernel reports a socket once, but be
 * safe); returns the new count. */
static size_t sort_unique(unsigned long *v, size_t n)
{
	size_t out = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_ulong);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || v[out - 1] != v[i])
			v[out++] = v[i];
	return out;
}

int pc_sockstate_listeners(int port, struct pc_holder *out, int max, int *n,
			   bool *incomplete)
{
	struct diag_ctx ctx = { .port = (uint16_t)port, .want_inodes = true };
	struct holder_scan s = { 0 };
	size_t stored;
	int err;

	if (port < 1 || port > 65535 || max < 0 || (max > 0 && !out) || !n ||
	    !incomplete)
		return -EINVAL;
	err = diag_dump(&ctx, LISTEN_ONLY);
	if (err)
		goto out;
	s.ninodes = sort_unique(ctx.inodes, ctx.ninodes);
	s.inodes = ctx.inodes;
	if (s.ninodes) {
		s.held = calloc(s.ninodes, sizeof(*s.held));
		if (!s.held) {
			err = -ENOMEM;
			goto out;
		}
		err = scan_proc(&s);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < s.ninodes; i++)
		if (!s.held[i])
			s.incomplete = true;
	if (s.nfound > (size_t)INT32_MAX) {
		err = -EOVERFLOW;
		goto out;
	}
	if (s.nfound > 1)
		qsort(s.found, s.nfound, sizeof(*s.found), cmp_holder);
	stored = s.nfound < (size_t)max ? s.nfound : (size_t)max;
	if (stored)
		memcpy(out, s.found, stored * sizeof(*out));
	*n = (int)s.nfound;
	*incomplete = s.incomplete;
out:
	free(ctx.inodes);
	free(s.held);
	free(s.found);
	return err;
}

const char *pc_sockstate_backend(void)
{
	return "netlink";
}
