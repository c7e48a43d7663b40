/*
 * fake_provider.c - a Twilio Messages API stand-in for the benchmark.
 *
 * Every POST (the gateway's provider_twilio sends to
 * /2010-04-01/Accounts/{sid}/Messages.json) is a delivered reply: counted
 * and answered 201 {"sid": "SM...", "status": "queued"} at once, as fast as
 * a provider can be, so the benchmark measures the gateway and not the
 * provider. GET /stats answers {"delivered": N}, which bench/run reads to
 * compute replies per second. Runs in its own process so that its CPU is
 * not counted as the gateway's.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_base.h"

static uint64_t fake_delivered;

static void
fake_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	(void)arg;
	evhttp_add_header(h, "Content-Type", "application/json");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		fake_delivered++;
		evbuffer_add_printf(out, "{\"sid\": \"SMfake%016" PRIx64 "\", \"status\": \"queued\"}",
		    fake_delivered);
		evhttp_send_reply(req, 201, "Created", out);
	} else {
		evbuffer_add_printf(out, "{\"delivered\": %" PRIu64 "}\n", fake_delivered);
		evhttp_send_reply(req, 200, "OK", out);
	}
	evbuffer_free(out);
}

static void
fake_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct evhttp *http;
	struct event *term;
	int port = argc > 1 ? atoi(argv[1]) : 0;

	if (port <= 0) {
		fprintf(stderr, "usage: fake_provider PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = harness_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, fake_request_cb, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
		fprintf(stderr, "fake_provider: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	term = evsignal_new(base, SIGTERM, fake_stop_cb, base);
	event_add(term, NULL);
	event_base_dispatch(base);
	fprintf(stderr, "fake_provider: %" PRIu64 " delivered\n", fake_delivered);
	event_free(term);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
