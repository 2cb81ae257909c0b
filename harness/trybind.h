/* trybind.h -- would a new server's bind() on this address and port
 * succeed right now? pc_trybind() answers by doing it: socket, the option
 * set, bind, close. It never calls listen(), so no connection can reach it
 * and the port is taken only for the instant between bind() and close().
 * The kernel's answer is the truth; a socket census can only explain it.
 * POSIX only; no state; thread-safe. */
#ifndef PC_TRYBIND_H
#define PC_TRYBIND_H

#include <stdbool.h>

struct pc_optset;

/* An IPv4 or IPv6 address literal (no host names: a name may resolve to
 * an address other than the one the server binds). */
bool pc_trybind_addr_valid(const char *addr);

/* TCP socket on addr's family, o applied before bind() (NULL = none),
 * bind to addr:port (1-65535), close. Returns 0 when bind() succeeded, or
 * -errno of the step that failed: -EINVAL for a bad addr or port, the
 * setsockopt() errno when an option could not be set, else bind()'s. */
int pc_trybind(const char *addr, int port, const struct pc_optset *o);

#endif
