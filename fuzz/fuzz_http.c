/* fuzz_http.c -- pc-fixture's request-head parser on any bytes: a status
 * always, and for a complete head fields that lie inside the buffer and
 * limits that hold. Fed whole, and again in two pieces, as a socket would
 * deliver it: a head complete in pieces is the same head. */
#include "fuzz.h"

#include "http.h"

static void check_complete(const char *buf, size_t len, const struct pc_http_req *r)
{
	FUZZ_CHECK(r->head_len > 0 && r->head_len <= len, "the head lies in the buffer");
	FUZZ_CHECK(r->head_len <= PC_HTTP_HEAD_MAX, "the head is within its limit");
	FUZZ_CHECK(r->method_text >= buf && r->method_text + r->method_len <= buf + len,
		   "the method lies in the buffer");
	FUZZ_CHECK(r->target >= buf && r->target + r->target_len <= buf + len,
		   "the target lies in the buffer");
	FUZZ_CHECK(r->content_length <= PC_HTTP_BODY_MAX, "the body is within its limit");
	FUZZ_CHECK(!r->transfer_encoding || r->content_length == 0,
		   "Content-Length is ignored beside Transfer-Encoding");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct pc_http_req req, part;
	enum pc_http_status st = pc_http_parse(buf, size, &req);

	FUZZ_CHECK(pc_http_status_name(st) != NULL, "every status has a name");
	if (st == PC_HTTP_COMPLETE)
		check_complete(buf, size, &req);
	if (st == PC_HTTP_COMPLETE && size > 1) {
		size_t cut = req.head_len / 2;   /* a first read that ends mid-head */

		FUZZ_CHECK(pc_http_parse(buf, cut, &part) != PC_HTTP_COMPLETE ||
			   part.head_len <= cut, "a prefix is never complete past its end");
		FUZZ_CHECK(pc_http_parse(buf, req.head_len, &part) == PC_HTTP_COMPLETE &&
			   part.head_len == req.head_len, "the head alone parses the same");
	}
	return 0;
}
