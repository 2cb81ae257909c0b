/* probe.c -- see probe.h. */
#include "probe.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"

struct pc_http {
	CURL *curl;
	const volatile sig_atomic_t *stop;
	bool wait_fin;
	struct curl_slist *close_hdr;   /* "Connection: close" while wait_fin */
	int last_pid;    /* from X-Pc-Pid */
	char url[128];
};

#define WAIT_FIN_MS 200

static const char *const outcome_names[PC_OUT_COUNT] = {
	"ok", "refused", "reset", "timeout", "http_error", "other",
};

const char *pc_outcome_name(enum pc_outcome o)
{
	return outcome_names[o];
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *user)
{
	(void)ptr;
	(void)user;
	return size * nmemb;
}

static size_t on_header(char *line, size_t size, size_t n, void *user)
{
	static const char name[] = "x-pc-pid:";
	struct pc_http *h = user;
	size_t len = size * n;

	if (len > sizeof(name) && !strncasecmp(line, name, sizeof(name) - 1))
		h->last_pid = atoi(line + sizeof(name) - 1);
	return len;
}

int pc_http_last_pid(const struct pc_http *h)
{
	return h->last_pid;
}

static int progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const volatile sig_atomic_t *stop = user;

	(void)a, (void)b, (void)c, (void)d;
	return stop && *stop;   /* nonzero aborts the transfer */
}

/* libcurl closes its sockets through this. */
static int close_socket(void *user, curl_socket_t fd)
{
	const struct pc_http *h = user;
	int64_t deadline = pc_now_ns() + WAIT_FIN_MS * PC_NS_PER_MS;
	char buf[512];

	while (h->wait_fin && pc_now_ns() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, WAIT_FIN_MS) <= 0 || read(fd, buf, sizeof(buf)) <= 0)
			break;   /* EOF: the server's FIN is in; or an error, or time is up */
	}
	return close(fd);
}

/* Asking for Connection: close makes any HTTP/1.1 server (uvicorn, not
 * only pc-fixture) close after its response, so it closes first. */
void pc_http_wait_server_close(struct pc_http *h, bool on)
{
	h->wait_fin = on;
	if (h->curl)
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, on ? h->close_hdr : NULL);
}

static int setup(struct pc_http *h)
{
	h->curl = curl_easy_init();
	if (!h->curl)
		return -ENOMEM;
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	/* Never through a proxy: the traffic must stay on loopback. */
	curl_easy_setopt(h->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, (void *)h->stop);
	curl_easy_setopt(h->curl, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
	curl_easy_setopt(h->curl, CURLOPT_CLOSESOCKETDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->wait_fin ? h->close_hdr : NULL);
	return 0;
}

int pc_http_new(const volatile sig_atomic_t *stop, struct pc_http **out)
{
	struct pc_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->stop = stop;
	h->close_hdr = curl_slist_append(NULL, "Connection: close");
	if (!h->close_hdr || setup(h) < 0) {
		curl_slist_free_all(h->close_hdr);
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void pc_http_free(struct pc_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->close_hdr);
	free(h);
}

void pc_http_close(struct pc_http *h)
{
	curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

enum pc_outcome pc_http_classify(int code, void *curl)
{
	CURLcode rc = (CURLcode)code;
	long status = 0, oserr = 0;

	switch (rc) {
	case CURLE_OK:
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		return status >= 200 && status < 300 ? PC_OUT_OK : PC_OUT_HTTP_ERROR;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &oserr);
		return oserr == ECONNREFUSED ? PC_OUT_REFUSED :
		       oserr == ECONNRESET ? PC_OUT_RESET : PC_OUT_OTHER;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return PC_OUT_RESET;
	case CURLE_OPERATION_TIMEDOUT:
		return PC_OUT_TIMEOUT;
	default:
		return PC_OUT_OTHER;
	}
}

enum pc_outcome pc_http_get(struct pc_http *h, const char *addr, int port, const char *path,
			    int timeout_ms)
{
	bool v6 = strchr(addr, ':') != NULL;

	if (!h->curl && setup(h) < 0)
		return PC_OUT_OTHER;
	snprintf(h->url, sizeof(h->url), "http://%s%s%s:%d%s", v6 ? "[" : "", addr, v6 ? "]" : "",
		 port, path);
	curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	h->last_pid = 0;
	return pc_http_classify(curl_easy_perform(h->curl), h->curl);
}
