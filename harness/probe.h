/* probe.h -- HTTP requests with libcurl against a fixture on loopback,
 * each classified by what the client saw. One pc_http per connection
 * owner; keeps its connection alive between requests until pc_http_close().
 * Call curl_global_init() once before the first pc_http_new(). Not
 * thread-safe per handle. */
#ifndef PC_PROBE_H
#define PC_PROBE_H

#include <signal.h>
#include <stdbool.h>

enum pc_outcome {
	PC_OUT_OK,          /* HTTP 2xx */
	PC_OUT_REFUSED,     /* connection refused */
	PC_OUT_RESET,       /* reset, or closed without a response */
	PC_OUT_TIMEOUT,
	PC_OUT_HTTP_ERROR,  /* a response, not 2xx */
	PC_OUT_OTHER,
	PC_OUT_COUNT
};

struct pc_http;

/* stop: when it becomes nonzero, a request in progress is abandoned. */
int pc_http_new(const volatile sig_atomic_t *stop, struct pc_http **out);
void pc_http_free(struct pc_http *h);
/* GET http://addr:port/path (addr a literal; IPv6 without brackets). */
enum pc_outcome pc_http_get(struct pc_http *h, const char *addr, int port, const char *path,
			    int timeout_ms);
/* Close the kept-alive connection: the client closes first. */
void pc_http_close(struct pc_http *h);
/* When on, requests ask for Connection: close, and closing a connection
 * first waits (bounded) for the server's FIN, so the server is reliably
 * the side that closed first (and holds the TIME_WAIT), instead of racing
 * the client's own close. */
void pc_http_wait_server_close(struct pc_http *h, bool on);
const char *pc_outcome_name(enum pc_outcome o);
/* What a finished libcurl transfer means for its client: rc is its
 * CURLcode, curl its easy handle (void * keeps libcurl out of this header). */
enum pc_outcome pc_http_classify(int rc, void *curl);
/* The pid in the last response's X-Pc-Pid header (pc-fixture sends it), or 0. */
int pc_http_last_pid(const struct pc_http *h);

#endif
