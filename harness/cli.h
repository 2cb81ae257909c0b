/* cli.h -- what the portchurn subcommands share. Each command is one
 * function plus its usage text, listed in the command table in main.c;
 * commands print and pick exit codes, the library below them does not. */
#ifndef PC_CLI_H
#define PC_CLI_H

enum {
	PC_EXIT_PASS = 0,         /* every expectation held */
	PC_EXIT_FAILED = 1,       /* an expectation failed */
	PC_EXIT_USAGE = 2,        /* usage or scenario error */
	PC_EXIT_ENV = 3,          /* environment error */
	PC_EXIT_INTERRUPTED = 130,
};

struct pc_command {
	const char *name;
	int (*main)(int argc, char **argv);   /* argv[0] is the command name */
	const char *usage;
};

/* "portchurn: <fmt with arg> (see portchurn --help)" on stderr; returns 2. */
int pc_cli_usage_error(const char *fmt, const char *arg);

int pc_cmd_inspect_main(int argc, char **argv);
extern const char pc_cmd_inspect_usage[];

#endif
