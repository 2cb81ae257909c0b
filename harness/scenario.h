/* scenario.h -- a scenario file (INI, parsed with inih): settings, a matrix
 * whose cross product gives the cases, and expectations selected per case.
 * Errors come back as "FILE:LINE: message". The scenario owns its cases
 * (pc_scenario_free); cases are plain data read by the engine and reporters. */
#ifndef PC_SCENARIO_H
#define PC_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "optset.h"

#define PC_CASE_NAME_MAX 256
#define PC_MAX_CASES 4096
#define PC_MAX_EXPS 16
#define PC_MAX_ENV 16
#define PC_COMMAND_MAX 512
#define PC_MAX_COMPONENTS 64

enum pc_close_first { PC_CLOSE_SERVER, PC_CLOSE_CLIENT };

/* How a generation replaces the last one (see churn.c). */
enum pc_strategy {
	PC_STRATEGY_NAIVE,    /* kill, wait until reaped, start */
	PC_STRATEGY_EAGER,    /* kill and start at once, without waiting */
	PC_STRATEGY_OVERLAP,  /* start, wait until ready, then kill (SO_REUSEPORT) */
	PC_STRATEGY_HANDOFF,  /* the harness keeps the listener and hands it over */
};

enum pc_exp_op { PC_OP_LT, PC_OP_LE, PC_OP_GT, PC_OP_GE, PC_OP_EQ, PC_OP_NE };

/* One expectation as written, chosen for a case by section specificity. */
struct pc_expect {
	char key[32];       /* "bind", "rebind_p99_ms", ... */
	enum pc_exp_op op;
	char value[48];     /* "ok", "eaddrinuse", "any" or a number */
	double number;      /* value as a number where the key is numeric */
	int line;
};

/* Settings of one case: every [scenario] key, possibly varied by [matrix]. */
struct pc_case {
	char name[PC_CASE_NAME_MAX];   /* "old=reuseaddr new=none signal=KILL" */
	struct pc_optset old_opts, new_opts;
	char old_text[PC_OPTSET_TEXT_MAX], new_text[PC_OPTSET_TEXT_MAX];
	int signal;                    /* SIGKILL, SIGTERM, SIGINT */
	enum pc_close_first close_first;
	int requests;                  /* HTTP requests per generation before its kill */
	enum pc_opts_at opts_at;
	int bind_retry_ms, bind_retry_interval_ms;
	bool leak_child;
	bool keep_open;                /* the client holds its connection through the kill */
	enum pc_strategy strategy;
	int clients;                   /* concurrent load clients during the case, 0 = none */
	bool keepalive;                /* load: reuse connections */
	int rate;                      /* load: requests per second in all, 0 = unpaced */
	int steady_ms;                 /* each generation serves this long before its kill */
	bool migrate_req;              /* net.ipv4.tcp_migrate_req in the private netns */
	/* fixture = command: any server, started with sh -c; {port} and {addr}
	 * are replaced. Ready when ready_path answers 2xx (ready = http) or a
	 * TCP connect succeeds (ready = tcp). */
	bool fixture_command;          /* fixture = command, or a command line given */
	char command[PC_COMMAND_MAX];
	bool ready_tcp;
	char ready_path[64];
	int ready_timeout_ms;
	int components;                /* > 1: a stack of that many servers on as many ports */
	bool preload;                  /* commands: load the preload probe (default yes) */
	char inject[PC_OPTSET_TEXT_MAX];   /* options the probe sets before bind; "" none */
	int cycles;
	int term_timeout_ms;           /* signal -> SIGKILL escalation bound */
	int startup_delay_ms;          /* the fixture sleeps this long before socket() */
	struct pc_expect exps[PC_MAX_EXPS];
	int nexps;
};

struct pc_scenario {
	char file[256];        /* path, or "(built-in default)" */
	char name[64];
	char description[256];
	char addr[64];         /* literal IPv4/IPv6 address */
	int port;              /* 0 = auto */
	char cwd[256];         /* where commands run: the scenario file's folder, or cwd = */
	char env[PC_MAX_ENV][256];   /* env.NAME = value, as "NAME=value" */
	int nenv;
	struct pc_case *cases;
	int ncases;
	/* --shard K/N took cases[] out of shard_cases (the list every shard
	 * shares); shard_total 0: not sharded. */
	int shard_index, shard_total, shard_cases;
};

/* Parse a file ("-" is not special). Returns NULL with "FILE:LINE: msg" in err. */
struct pc_scenario *pc_scenario_load(const char *path, char *err, size_t errlen);
/* Parse text; 'file' names it in messages. */
struct pc_scenario *pc_scenario_parse(const char *text, const char *file, char *err,
				      size_t errlen);
/* The built-in default scenario (scenarios/default.ini compiled in). */
struct pc_scenario *pc_scenario_default(char *err, size_t errlen);
void pc_scenario_free(struct pc_scenario *s);

/* The platform word used by [expect PLATFORM ...] sections on this build. */
const char *pc_scenario_platform(void);
const char *pc_signal_name(int sig);   /* "KILL", "TERM", "INT" */
const char *pc_strategy_name(enum pc_strategy s);
const char *pc_exp_op_text(enum pc_exp_op op);

#endif
