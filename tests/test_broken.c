/* Bad input, end to end: a corpus of broken scenario files and command
 * lines (tests/broken/), each refused with exit 2 and one line naming the
 * file and line or the flag, before anything runs; and inputs far past
 * every limit (a 100 000-case matrix, a scenario over 1 MiB, a 10 MB and a
 * 1 GiB results.json, a 1 MiB request to pc-fixture), each handled within
 * its limit or refused with a message that names the limit. */
#define _XOPEN_SOURCE 700   /* nftw() */
#include "e2e.h"

#include <ftw.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#define CLI_MS 30000          /* ASan and a busy machine: generous, still bounded */
#define MANIFEST_MAX 128

static const char *source_dir(void)
{
	const char *d = getenv("PC_SOURCE_DIR");

	return d ? d : PC_SOURCE_DIR;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* A test's temp dir, once it passed (a failure leaves it for a look). */
static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs portchurn with argv (without the program name) in t->dir, so a run
 * that should not have started would leave its results/ there. */
static int run_in_dir(struct e2e *t, char *const args[], int timeout_ms)
{
	char *argv[40];
	int n = 0;

	argv[n++] = (char *)e2e_bin();
	for (; args[n - 1] && n < 39; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	t->pid = fork();
	cr_assert(t->pid >= 0, "fork");
	if (t->pid == 0) {
		char path[256];

		if (chdir(t->dir) < 0)
			_exit(127);
		setenv("PC_TEST_TAG", t->tag, 1);
		snprintf(path, sizeof(path), "%s/stdout", t->dir);
		dup2(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
		snprintf(path, sizeof(path), "%s/stderr", t->dir);
		dup2(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return e2e_wait(t, timeout_ms);
}

/* Names in t->dir other than the ones the test itself put there. */
static int strangers_in_dir(const struct e2e *t, const char *const mine[], char *first,
			    size_t len)
{
	DIR *d = opendir(t->dir);
	struct dirent *de;
	int n = 0;

	first[0] = '\0';
	while (d && (de = readdir(d))) {
		bool known = de->d_name[0] == '.';

		for (int i = 0; mine[i] && !known; i++)
			known = !strcmp(de->d_name, mine[i]);
		if (!known && n++ == 0)
			snprintf(first, len, "%s", de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static void assert_refused(struct e2e *t, const char *what, const char *want,
			   const char *const mine[])
{
	const char *err = e2e_read(t, "stderr");
	char extra[256];

	cr_assert(t->status == 2, "%s: exit %d, want 2: %s", what, t->status, err);
	cr_assert(strstr(err, want) != NULL, "%s: stderr '%s' should say '%s'", what, err, want);
	cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "%s: one line: '%s'", what, err);
	cr_assert(strangers_in_dir(t, mine, extra, sizeof(extra)) == 0,
		  "%s: refused, yet it wrote '%s'", what, extra);
	cr_assert(e2e_tagged_alive(t) == 0, "%s: refused, yet it left a process", what);
}

/* ---- the corpus ---- */

struct manifest {
	char lines[MANIFEST_MAX][256];
	int n;
};

/* The manifest's lines, comments and blank lines left out. */
static void read_manifest(const char *name, struct manifest *m)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/broken/%s", source_dir(), name);
	f = fopen(path, "r");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	m->n = 0;
	while (m->n < MANIFEST_MAX && fgets(m->lines[m->n], sizeof(m->lines[0]), f)) {
		char *line = m->lines[m->n];

		line[strcspn(line, "\n")] = '\0';
		if (line[0] && line[0] != '#')
			m->n++;
	}
	fclose(f);
}

static bool listed(const struct manifest *m, const char *file)
{
	size_t len = strlen(file);

	for (int i = 0; i < m->n; i++)
		if (!strncmp(m->lines[i], file, len) && m->lines[i][len] == ':')
			return true;
	return false;
}

/* One broken scenario, through `run` and `list`: line is "FILE:LINE: msg". */
static void check_broken_scenario(const char *line)
{
	const char *mine[] = { "stdout", "stderr", NULL };
	char path[512], want[768], file[128];
	char *run_args[] = { "run", path, "--out", "out", "-q", NULL };
	char *list_args[] = { "list", path, NULL };
	struct e2e t;

	snprintf(file, sizeof(file), "%.*s", (int)strcspn(line, ":"), line);
	snprintf(path, sizeof(path), "%s/tests/broken/scenarios/%s", source_dir(), file);
	snprintf(want, sizeof(want), "portchurn: %s/tests/broken/scenarios/%s", source_dir(), line);
	e2e_init(&t);
	run_in_dir(&t, run_args, CLI_MS);
	assert_refused(&t, line, want, mine);
	run_in_dir(&t, list_args, CLI_MS);
	assert_refused(&t, line, want, mine);
	rm_tree(t.dir);
}

Test(broken, every_broken_scenario_is_refused_with_file_and_line, .timeout = 300)
{
	struct manifest m;
	char dir[512];
	DIR *d;
	struct dirent *de;

	e2e_bin();
	read_manifest("scenarios.txt", &m);
	cr_assert(m.n > 20, "the manifest lists %d files", m.n);
	snprintf(dir, sizeof(dir), "%s/tests/broken/scenarios", source_dir());
	d = opendir(dir);
	cr_assert(d != NULL, "%s", dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			cr_assert(listed(&m, de->d_name), "%s has no line in scenarios.txt", de->d_name);
	closedir(d);
	for (int i = 0; i < m.n; i++)
		check_broken_scenario(m.lines[i]);
}

/* One refused command line: "ARGS ... => message". */
static void check_broken_cli(char *line)
{
	const char *mine[] = { "stdout", "stderr", NULL };
	char *sep = strstr(line, " => "), *args[32], *save = NULL, copy[256];
	struct e2e t;
	int n = 0;

	cr_assert(sep != NULL, "cli.txt: no ' => ' in '%s'", line);
	snprintf(copy, sizeof(copy), "%.*s", (int)(sep - line), line);
	for (char *a = strtok_r(copy, " ", &save); a && n < 31; a = strtok_r(NULL, " ", &save))
		args[n++] = a;
	args[n] = NULL;
	e2e_init(&t);
	run_in_dir(&t, args, CLI_MS);
	assert_refused(&t, line, sep + 4, mine);
	rm_tree(t.dir);
}

Test(broken, every_broken_command_line_is_refused_naming_the_flag, .timeout = 300)
{
	struct manifest m;

	e2e_bin();
	read_manifest("cli.txt", &m);
	cr_assert(m.n > 20, "cli.txt lists %d command lines", m.n);
	for (int i = 0; i < m.n; i++)
		check_broken_cli(m.lines[i]);
}

/* ---- oversized scenarios ---- */

/* Five keys of ten values: 100 000 cases. The parser stops at the key that
 * takes the product past its limit, without building a case. */
Test(broken, matrix_of_100000_cases_names_the_limit_and_the_line, .timeout = 60)
{
	const char *mine[] = { "stdout", "stderr", "s.ini", NULL };
	char *args[] = { "run", "s.ini", "--out", "out", "-q", NULL };
	struct e2e t;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[scenario]\nname = huge\n[matrix]\n"
		  "cycles = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\n"
		  "requests = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"
		  "startup_delay_ms = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"
		  "term_timeout_ms = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\n"
		  "bind_retry_ms = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n");
	run_in_dir(&t, args, 10000);
	assert_refused(&t, "100 000 cases", "s.ini:7: the matrix expands to more than 4096 cases",
		       mine);
	rm_tree(t.dir);
}

/* Exactly the limit is allowed: 4^6 = 4096 cases, listed. */
Test(broken, matrix_of_4096_cases_is_the_limit_and_allowed, .timeout = 60)
{
	char *args[] = { "list", "s.ini", NULL };
	char path[256];
	struct e2e t;
	int lines = 0, c;
	FILE *f;

	e2e_init(&t);
	e2e_write(&t, "s.ini", "[matrix]\ncycles = 1, 2, 3, 4\nrequests = 0, 1, 2, 3\n"
		  "startup_delay_ms = 0, 1, 2, 3\nterm_timeout_ms = 1, 2, 3, 4\n"
		  "bind_retry_ms = 0, 1, 2, 3\nclose_first = server, client\n"
		  "signal = KILL, TERM\n");
	cr_assert(run_in_dir(&t, args, CLI_MS) == 0, "exit %d: %s", t.status,
		  e2e_read(&t, "stderr"));
	snprintf(path, sizeof(path), "%s/stdout", t.dir);
	f = fopen(path, "r");
	cr_assert(f != NULL);
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	cr_assert(lines == 4096, "listed %d cases, want 4096", lines);
	rm_tree(t.dir);
}

Test(broken, scenario_over_1_mib_names_the_limit, .timeout = 60)
{
	const char *mine[] = { "stdout", "stderr", "s.ini", NULL };
	char *args[] = { "run", "s.ini", "--out", "out", "-q", NULL };
	char path[256];
	struct e2e t;
	FILE *f;

	e2e_init(&t);
	snprintf(path, sizeof(path), "%s/s.ini", t.dir);
	f = fopen(path, "w");
	cr_assert(f != NULL);
	fputs("[scenario]\nname = big\n", f);
	for (int i = 0; i < 30000; i++)   /* 1.5 MiB of comments */
		fputs("; a comment line of fifty characters, give or take\n", f);
	fclose(f);
	run_in_dir(&t, args, CLI_MS);
	assert_refused(&t, "1.5 MiB scenario", "s.ini: larger than 1 MiB", mine);
	rm_tree(t.dir);
}

/* ---- oversized results.json ---- */

/* A real results.json (the fuzz seed) whose first case's records are
 * repeated until the file holds at least min_bytes. */
static void write_big_results(const struct e2e *t, const char *name, size_t min_bytes)
{
	char src[512], dst[256];
	json_error_t err;
	json_t *doc, *c, *recs, *more;
	size_t n;

	snprintf(src, sizeof(src), "%s/fuzz/corpus/results/run_matrix.json", source_dir());
	doc = json_load_file(src, 0, &err);
	cr_assert(doc != NULL, "%s: %s", src, err.text);
	c = json_array_get(json_object_get(doc, "cases"), 0);
	recs = json_object_get(c, "records");
	n = json_array_size(recs);
	cr_assert(n > 0 && json_dumpb(json_array_get(recs, 0), NULL, 0, 0) > 100);
	more = json_array();
	for (size_t i = 0; i * json_dumpb(json_array_get(recs, 0), NULL, 0, 0) < min_bytes; i++)
		json_array_append(more, json_array_get(recs, i % n));
	json_object_set_new(c, "cycles", json_integer((json_int_t)json_array_size(more)));
	json_object_set_new(c, "cycles_planned", json_integer((json_int_t)json_array_size(more)));
	json_object_set_new(c, "records", more);
	snprintf(dst, sizeof(dst), "%s/%s", t->dir, name);
	cr_assert(json_dump_file(doc, dst, JSON_INDENT(1)) == 0, "cannot write %s", dst);
	json_decref(doc);
}

/* 10 MB is far inside the reader's limit: compared with itself, quickly. */
Test(broken, results_json_of_10_mb_is_read, .timeout = 120)
{
	char *args[] = { "compare", "big.json", "big.json", NULL };
	struct stat st;
	char path[256];
	struct e2e t;

	e2e_init(&t);
	write_big_results(&t, "big.json", 10u << 20);
	snprintf(path, sizeof(path), "%s/big.json", t.dir);
	cr_assert(stat(path, &st) == 0 && st.st_size >= 10 << 20, "the file is %lld bytes",
		  (long long)st.st_size);
	cr_assert(run_in_dir(&t, args, 90000) == 0, "exit %d: %s", t.status,
		  e2e_read(&t, "stderr"));
	cr_assert(strstr(e2e_read(&t, "stdout"), "0 of 2 cases regressed") != NULL, "stdout: %s",
		  e2e_read(&t, "stdout"));
	rm_tree(t.dir);
}

/* Past the limit (1 GiB): refused from its size alone, before a byte is
 * read (the file is sparse: it costs nothing here). */
Test(broken, results_json_over_1_gib_names_the_limit, .timeout = 60)
{
	const char *mine[] = { "stdout", "stderr", "huge.json", NULL };
	char *args[] = { "compare", "huge.json", "huge.json", NULL };
	char path[256];
	struct e2e t;
	int fd;

	e2e_init(&t);
	snprintf(path, sizeof(path), "%s/huge.json", t.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd >= 0 && ftruncate(fd, (off_t)1 << 30 | 1) == 0, "sparse file: %s",
		  strerror(errno));
	close(fd);
	run_in_dir(&t, args, CLI_MS);
	assert_refused(&t, "1 GiB results.json", "huge.json: larger than 1024 MiB", mine);
	rm_tree(t.dir);
}

/* ---- a 1 MiB request to the fixture ---- */

struct fixture {
	pid_t pid;
	int port, lifeline_w;
};

static struct fixture fx;

static void fixture_stop(void)
{
	if (fx.pid > 0 && kill(fx.pid, SIGKILL) == 0)   /* ours: started below */
		waitpid(fx.pid, NULL, 0);
	if (fx.lifeline_w > 0)
		close(fx.lifeline_w);
	memset(&fx, 0, sizeof(fx));
}

/* pc-fixture on 127.0.0.1, port 0; its ready line gives the port. */
static void fixture_start(void)
{
	const char *path = getenv("PC_FIXTURE");
	char line[512] = "", rfd[16], lfd[16];
	int ready[2], life[2];
	struct pollfd p;

	if (!path)
		cr_skip_test("PC_FIXTURE is not set (run through ctest)");
	cr_assert(pipe(ready) == 0 && pipe(life) == 0);
	snprintf(rfd, sizeof(rfd), "%d", ready[1]);
	snprintf(lfd, sizeof(lfd), "%d", life[0]);
	fx.pid = fork();
	cr_assert(fx.pid >= 0);
	if (fx.pid == 0) {
		close(ready[0]);
		close(life[1]);
		execl(path, path, "--addr", "127.0.0.1", "--port", "0", "--ready-fd", rfd,
		      "--lifeline-fd", lfd, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	close(life[0]);
	fx.lifeline_w = life[1];
	p = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	cr_assert(poll(&p, 1, 10000) == 1 && read(ready[0], line, sizeof(line) - 1) > 0,
		  "pc-fixture wrote no ready line");
	close(ready[0]);
	cr_assert(strstr(line, " port=") != NULL, "ready line: %s", line);
	fx.port = atoi(strstr(line, " port=") + 6);
}

/* Sends req (len bytes) while reading what comes back, until the server
 * closes or 10 s pass; returns what was read (static buffer). A server
 * that refuses may stop reading early: what was not sent is dropped. */
static const char *exchange(const char *req, size_t len)
{
	static char reply[1 << 16];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port) };
	size_t sent = 0, got = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		  strerror(errno));
	for (int waited = 0; waited < 10000; waited += 10) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, 10) <= 0)
			continue;
		if ((p.revents & POLLOUT) &&
		    (n = send(fd, req + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
			sent += (size_t)n;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, reply + got, sizeof(reply) - 1 - got, MSG_DONTWAIT);
		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			break;
		got += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	reply[got] = '\0';
	return reply;
}

Test(broken, request_head_of_1_mib_gets_431, .fini = fixture_stop, .timeout = 60)
{
	size_t len = 1 << 20;
	char *req = malloc(len);
	const char *reply;

	cr_assert(req != NULL);
	fixture_start();
	strcpy(req, "GET / HTTP/1.1\r\nX-Pad: ");
	memset(req + strlen(req), 'a', len - strlen(req));
	reply = exchange(req, len);
	cr_assert(strncmp(reply, "HTTP/1.1 431", 12) == 0, "a 1 MiB head: '%.80s'", reply);
	free(req);
	/* and the fixture still serves */
	reply = exchange("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", 43);
	cr_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0, "after the 431: '%.80s'", reply);
}

/* A body of exactly the limit (1 MiB) is read and answered; one byte more
 * is refused with 413 before it is read. */
Test(broken, request_body_of_1_mib_is_the_limit, .fini = fixture_stop, .timeout = 60)
{
	static const char head[] = "GET / HTTP/1.1\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n";
	size_t body = 1 << 20;
	char *req = malloc(body + 128);
	const char *reply;
	int n;

	cr_assert(req != NULL);
	fixture_start();
	n = snprintf(req, 128, head, body);
	memset(req + n, 'b', body);
	reply = exchange(req, (size_t)n + body);
	cr_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0, "1 MiB body: '%.80s'", reply);
	n = snprintf(req, 128, head, body + 1);
	memset(req + n, 'b', 64);
	reply = exchange(req, (size_t)n + 64);
	cr_assert(strncmp(reply, "HTTP/1.1 413", 12) == 0, "1 MiB + 1 body: '%.80s'", reply);
	free(req);
}
