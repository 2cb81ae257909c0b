/* The supervisor on its own: spawn, ready line, signal, reap, escalation,
 * the leaked child, and cleanup of everything at the end. Each mechanism
 * is checked directly here; the end-to-end tests see only their sum. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervisor.h"

static struct pc_sup *sup;

static const char *fixture(void)
{
	const char *p = getenv("PC_FIXTURE");

	if (!p)
		cr_skip_test("PC_FIXTURE is not set (run through ctest)");
	return p;
}

static void setup(void)
{
	cr_assert(pc_sup_new(fixture(), -1, &sup) == 0, "pc_sup_new");
}

static void teardown(void)
{
	pc_sup_free(sup);   /* kills whatever a failed test left */
	sup = NULL;
}

TestSuite(supervisor, .init = setup, .fini = teardown, .timeout = 20);

static void start(struct pc_gen *g, bool leak)
{
	struct pc_gen_spec spec = {
		.addr = "127.0.0.1", .port = 0, .opts_text = "reuseaddr",
		.opts_at = PC_AT_BEFORE_BIND, .close_first = PC_CLOSE_CLIENT,
		.leak_child = leak,
	};

	cr_assert(pc_sup_spawn(sup, &spec, g) == 0, "spawn");
	cr_assert(pc_sup_wait_ready(sup, g, 10000, NULL) == 0, "ready line");
}

static bool exists(pid_t pid)
{
	return kill(pid, 0) == 0;
}

/* Killed and gone within a bound: without a subreaper (the POSIX-only
 * build) a leaked child is init's, and gone only once init reaped it. */
static bool gone(pid_t pid)
{
	struct timespec tick = { 0, 1000000L };

	for (int i = 0; i < 5000 && exists(pid); i++)
		nanosleep(&tick, NULL);
	return !exists(pid);
}

Test(supervisor, ready_line_carries_the_set_up)
{
	struct pc_gen g;

	start(&g, false);
	cr_assert(g.port > 0, "the kernel's port is reported back");
	cr_assert(g.bind_errno == 0 && g.listen_errno == 0 && g.opts_errno == 0);
	cr_assert(g.attempts == 1);
	cr_assert(g.spawn_ns < g.start_ns && g.start_ns <= g.bind_ns && g.bind_ns <= g.listen_ns,
		  "fork < main() <= bind <= listen on one clock");
}

Test(supervisor, term_is_graceful_and_reaped)
{
	struct pc_gen g;
	bool escalated = true;

	start(&g, false);
	cr_assert(pc_sup_stop(sup, &g, SIGTERM, 5000, &escalated) == 0);
	cr_assert(!escalated, "SIGTERM alone ends the fixture");
	cr_assert(g.reaped && g.exit_code == 0, "exit code %d", g.exit_code);
	cr_assert(waitpid(g.pid, NULL, WNOHANG) < 0 && errno == ECHILD, "reaped, not a zombie");
}

Test(supervisor, stuck_process_is_escalated_to_kill)
{
	struct pc_gen g;
	bool escalated = false;

	start(&g, false);
	kill(g.pid, SIGSTOP);   /* a stopped process cannot act on SIGTERM */
	cr_assert(pc_sup_stop(sup, &g, SIGTERM, 100, &escalated) == 0);
	cr_assert(escalated, "SIGTERM had to be followed by SIGKILL");
	cr_assert(g.reaped && g.exit_code == -SIGKILL, "exit code %d", g.exit_code);
}

Test(supervisor, leaked_child_outlives_its_parent_until_the_group_is_killed)
{
	struct pc_gen g;
	int reaped = -1;

	start(&g, true);
	cr_assert(g.leak_pid > 0, "the ready line names the leaked child");
	cr_assert(pc_sup_signal(&g, SIGKILL) == 0);
	cr_assert(pc_sup_wait_exit(&g, 5000) == 0 && g.reaped);
	cr_assert(pc_sup_leak_alive(&g), "the leaked child survives its parent");
	cr_assert(pc_sup_kill_group(sup, &g, &reaped) == 0);
	cr_assert(reaped == 1, "one leaked process reaped, got %d", reaped);
	cr_assert(gone(g.leak_pid), "the leaked child is gone");
}

Test(supervisor, free_kills_every_live_generation)
{
	struct pc_gen a, b;

	start(&a, false);
	start(&b, true);
	pc_sup_free(sup);
	sup = NULL;
	cr_assert(gone(a.pid) && gone(b.pid) && gone(b.leak_pid),
		  "nothing the supervisor started is left");
}

Test(supervisor, exit_without_a_ready_line_is_reported)
{
	struct pc_gen_spec spec = {
		.addr = "127.0.0.1", .port = 0, .opts_text = "reuseaddr",
		.close_first = PC_CLOSE_CLIENT,
	};
	struct pc_gen g;

	spec.addr = "not-an-address";   /* the fixture refuses it: usage error */
	cr_assert(pc_sup_spawn(sup, &spec, &g) == 0);
	cr_assert(pc_sup_wait_ready(sup, &g, 10000, NULL) == -EPIPE, "EOF without a line");
	cr_assert(pc_sup_wait_exit(&g, 5000) == 0 && g.exit_code == 2, "exit %d", g.exit_code);
}

Test(supervisor, missing_fixture_is_refused)
{
	struct pc_sup *s = NULL;

	cr_assert(pc_sup_new("/nonexistent/pc-fixture", -1, &s) == -ENOENT);
}

/* A generation starts as a server started from a shell would: nothing
 * blocked, SIGPIPE at its default (portchurn ignores it for itself), in a
 * process group of its own. Told by the command's own /proc/self/status. */
Test(supervisor, command_starts_with_a_shells_signal_state)
{
	struct pc_gen_spec spec = {
		.addr = "127.0.0.1", .port = 0,
		.command = "grep -E '^(SigBlk|SigIgn):' /proc/self/status",
	};
	unsigned long long blk = ~0ULL, ign = ~0ULL;
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	sigset_t usr2, was;
	const char *p;
	struct pc_gen g;

	if (access("/proc/self/status", R_OK))
		cr_skip_test("no /proc/self/status here");
	sigaction(SIGPIPE, &ignore, &old);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, &was);
	cr_assert(pc_sup_spawn(sup, &spec, &g) == 0, "spawn");
	sigprocmask(SIG_SETMASK, &was, NULL);
	sigaction(SIGPIPE, &old, NULL);
	cr_assert(pc_sup_wait_exit(&g, 10000) == 0 && g.exit_code == 0, "exit %d", g.exit_code);
	for (int i = 0; i < 1000 && g.out_fd >= 0; i++) {
		pc_sup_read_output(&g);
		poll(NULL, 0, 1);
	}
	cr_assert((p = strstr(g.output, "SigBlk:")) && sscanf(p, "SigBlk: %llx", &blk) == 1,
		  "output: %s", g.output);
	cr_assert((p = strstr(g.output, "SigIgn:")) && sscanf(p, "SigIgn: %llx", &ign) == 1,
		  "output: %s", g.output);
	cr_assert_eq(blk, 0, "signals blocked in the generation: %llx", blk);
	cr_assert_eq(ign & (1ULL << (SIGPIPE - 1)), 0, "SIGPIPE ignored in the generation");
}
