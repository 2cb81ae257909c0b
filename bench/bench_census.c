/* bench_census.c -- what one census of a port costs on a machine holding
 * 20 000 TIME_WAIT sockets: pc_sockstate_census() (netlink, port filtered
 * in the kernel) against `ss -tan state time-wait sport = :P` (fork + exec,
 * as a launcher script pays it) and against reading /proc/net/tcp and
 * /proc/net/tcp6, and against `netstat -an` read by the POSIX-only
 * build's parser (what that build pays for every census), measured in one
 * run and printed with their ratios.
 *
 * Needs root: it makes a private network namespace (loopback only, nothing
 * leaves it, everything goes with it when the process exits). It leaves
 * net.ipv4.tcp_child_ehash_entries alone, so the namespace shares the
 * kernel's TCP hash table as a user's processes do, and says which table
 * it got. Without root, or where the namespace is refused, it says it
 * cannot run and exits 0: no figure is ever made up. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#ifndef __linux__
int main(void)
{
	puts("bench_census: skipped: needs Linux network namespaces");
	return 0;
}
#else

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "sockstate.h"
#include "sockstate_text.h"

#define FILL_TW 20000
#define FILL_PORTS 4           /* server ports the 20 000 are spread over */
#define TW_ON_P 5
#define CLIENT_PORT_BASE 10000 /* below the ephemeral range; see fill() */
#define BUDGET_NS (10 * 1000 * PC_NS_PER_MS)   /* per method */
#define TW_LIFETIME_NS (55 * 1000 * PC_NS_PER_MS)

struct method {
	const char *name;
	int (*run)(int port);      /* one census of port; TIME_WAIT count or -errno */
	int reps;
	int64_t ns[64];
	int n, last;
};

static int64_t g_filled_ns;

static void skip(const char *why)
{
	printf("bench_census: skipped: %s\n", why);
	exit(0);
}

static int loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (!rc && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static struct sockaddr_in loop_addr(const char *ip, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/* A listener on 127.0.0.1, port chosen by the kernel; returns the fd. */
static int listener(int *port)
{
	struct sockaddr_in sin = loop_addr("127.0.0.1", 0);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("bench_census: listener");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* One connection the server closes first, so the server's side (local
 * port = the listener's) ends in TIME_WAIT. Each client has its own fixed
 * source (127.0.0.2, cport): no 4-tuple repeats, so no new SYN can recycle
 * an older TIME_WAIT socket, as reusing an ephemeral port could. */
static int server_closes_first(int lfd, int port, int cport)
{
	struct sockaddr_in src = loop_addr("127.0.0.2", cport), dst = loop_addr("127.0.0.1", port);
	struct timeval bound = { 2, 0 };   /* loopback answers at once; never hang */
	int cfd, sfd, rc = -1;
	char byte;

	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0)
		return -1;
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
	if (bind(cfd, (struct sockaddr *)&src, sizeof(src)) == 0 &&
	    connect(cfd, (struct sockaddr *)&dst, sizeof(dst)) == 0) {
		sfd = accept(lfd, NULL, NULL);
		if (sfd >= 0) {
			close(sfd);
			rc = read(cfd, &byte, 1) == 0 ? 0 : -1;   /* the server's FIN */
		}
	}
	close(cfd);
	return rc;
}

/* FILL_TW TIME_WAIT sockets on FILL_PORTS other ports, TW_ON_P on *p_out. */
static void fill(int *p_out)
{
	int cport = CLIENT_PORT_BASE, port, lfd;

	for (int i = 0; i < FILL_PORTS; i++) {
		lfd = listener(&port);
		for (int j = 0; j < FILL_TW / FILL_PORTS; j++)
			if (server_closes_first(lfd, port, cport++) < 0) {
				fprintf(stderr, "bench_census: connection %d on port %d failed: %s\n",
					j, port, strerror(errno));
				exit(1);
			}
		close(lfd);
	}
	lfd = listener(p_out);
	for (int j = 0; j < TW_ON_P; j++)
		if (server_closes_first(lfd, *p_out, cport++) < 0)
			exit(1);
	close(lfd);
	g_filled_ns = pc_now_ns();
}

/* ---- the three ways to ask ---- */

static int via_census(int port)
{
	struct pc_census c;
	int rc = pc_sockstate_census(port, &c);

	return rc < 0 ? rc : c.time_wait;
}

static int via_ss(int port)
{
	char filter[16];
	int status, devnull;
	pid_t pid;

	snprintf(filter, sizeof(filter), ":%d", port);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("ss", "ss", "-tan", "state", "time-wait", "sport", "=", filter, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOEXEC;
}

/* TIME_WAIT lines (st 06) of one /proc/net/tcp* file with local port 'port'. */
static int proc_count(const char *path, int port)
{
	unsigned int lport, st;
	char line[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;   /* no IPv6 */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &st) == 2 &&
		    (int)lport == port && st == 6)
			n++;
	fclose(f);
	return n;
}

static int via_proc(int port)
{
	int v4 = proc_count("/proc/net/tcp", port), v6;

	if (v4 < 0)
		return v4;
	v6 = proc_count("/proc/net/tcp6", port);
	return v6 < 0 ? v6 : v4 + v6;
}

/* `netstat -an`, each line through the POSIX-only backend's parser. */
static int via_netstat(int port)
{
	struct pc_census c = { 0 };
	char *line = NULL;
	size_t cap = 0;
	int fds[2], status;
	FILE *f;
	pid_t pid;

	if (pipe(fds) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("netstat", "netstat", "-an", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && getline(&line, &cap, f) > 0)
		pc_netstat_count_line(line, port, &c);
	free(line);
	if (f)
		fclose(f);
	else
		close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? c.time_wait : -ENOEXEC;
}

/* ---- timing and printing ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void measure(struct method *m, int port)
{
	int64_t start = pc_now_ns(), t0;

	for (m->n = 0; m->n < m->reps && pc_now_ns() - start < BUDGET_NS; m->n++) {
		t0 = pc_now_ns();
		m->last = m->run(port);
		m->ns[m->n] = pc_now_ns() - t0;
		if (m->last < 0)
			break;
	}
	qsort(m->ns, (size_t)m->n, sizeof(m->ns[0]), cmp_i64);
}

static double median_ms(const struct method *m)
{
	return m->n ? (double)m->ns[m->n / 2] / 1e6 : 0;
}

static void print_row(const struct method *m)
{
	if (m->last < 0) {
		printf("  %-32s failed: %s\n", m->name, strerror(-m->last));
		return;
	}
	printf("  %-32s n=%-3d min %8.3f  median %8.3f  max %8.3f ms\n", m->name, m->n,
	       (double)m->ns[0] / 1e6, median_ms(m), (double)m->ns[m->n - 1] / 1e6);
}

static void print_table(void)
{
	char buf[32] = "?";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_ehash_entries", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?");
		buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	/* Negative: the namespace shares the host's table (its size, negated). */
	printf("TCP hash table: %s buckets%s\n", buf[0] == '-' ? buf + 1 : buf,
	       buf[0] == '-' ? " (shared with the host, as on a user's machine)"
			     : " (this namespace's own)");
}

int main(void)
{
	struct method m[] = {
		{ .name = "pc_sockstate_census (netlink)", .run = via_census, .reps = 64 },
		{ .name = "ss -tan state time-wait sport", .run = via_ss, .reps = 24 },
		{ .name = "/proc/net/tcp + tcp6", .run = via_proc, .reps = 12 },
		{ .name = "netstat -an (POSIX-only build)", .run = via_netstat, .reps = 12 },
	};
	int port;

	if (geteuid() != 0)
		skip("needs root to create a private network namespace");
	if (unshare(CLONE_NEWNET) < 0)
		skip(strerror(errno));
	if (loopback_up() < 0)
		skip("cannot bring loopback up in the private namespace");
	if (via_census(1) == -ENOSYS)
		skip("no socket census on this platform (PORTCHURN_POSIX_ONLY build)");
	fill(&port);
	printf("census of port %d (%d TIME_WAIT) among %d TIME_WAIT sockets on %d other ports\n",
	       port, TW_ON_P, FILL_TW, FILL_PORTS);
	print_table();
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		measure(&m[i], port);
		print_row(&m[i]);
	}
	if (m[0].last >= 0 && m[2].last >= 0 && m[3].last >= 0)
		printf("TIME_WAIT on port %d: census %d, /proc %d, netstat %d (expected %d)\n",
		       port, m[0].last, m[2].last, m[3].last, TW_ON_P);
	if (pc_now_ns() - g_filled_ns > TW_LIFETIME_NS)
		puts("warning: the TIME_WAIT sockets may have started to expire during the run");
	if (m[0].last >= 0 && m[0].n && median_ms(&m[0]) > 0) {
		if (m[1].last >= 0)
			printf("ratio ss/census   %.1fx (medians)\n", median_ms(&m[1]) / median_ms(&m[0]));
		if (m[2].last >= 0)
			printf("ratio proc/census %.1fx (medians)\n", median_ms(&m[2]) / median_ms(&m[0]));
		if (m[3].last >= 0)
			printf("ratio netstat/census %.1fx (medians)\n",
			       median_ms(&m[3]) / median_ms(&m[0]));
	}
	return 0;
}
#endif
