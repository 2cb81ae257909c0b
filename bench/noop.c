/* noop.c -- pc-noop: the do-nothing reference of bench_startup. It writes
 * one ready line to fd 3, as pc-fixture does after listen(), and exits:
 * what is left of fork -> ready is the cost of exec and the C start-up. */
#include <unistd.h>

int main(void)
{
	static const char line[] = "pc-noop ready\n";

	return write(3, line, sizeof(line) - 1) == (ssize_t)(sizeof(line) - 1) ? 0 : 1;
}
