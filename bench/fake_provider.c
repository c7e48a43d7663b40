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
 *
 * It speaks its HTTP/1.1 itself (bench/harness_http.h) over one persistent
 * read event per connection: a recv and a send per reply, 0.018-0.023 ms
 * of CPU where evhttp took 0.029-0.033.
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "harness_http.h"

#define FAKE_BUF_MAX 65536  /* the largest request; the gateway's replies are a few hundred bytes */

struct fake_conn {
	evutil_socket_t fd;
	struct event *ev;
	size_t len;
	char buf[FAKE_BUF_MAX];
};

static uint64_t fake_delivered;

static void
fake_conn_close(struct fake_conn *c)
{
	event_free(c->ev);
	close(c->fd);
	free(c);
}

/* Answers each complete request in c->buf; false if the connection is to close. */
static bool
fake_answer(struct fake_conn *c)
{
	for (;;) {
		size_t total = harness_http_message_len(c->buf, c->len);
		char body[96], reply[256];
		int blen, rlen;

		if (total == 0)
			return c->len < sizeof c->buf;  /* a request larger than the buffer closes the connection */
		if (strncmp(c->buf, "POST ", 5) == 0) {
			fake_delivered++;
			blen = snprintf(body, sizeof body, "{\"sid\": \"SMfake%016" PRIx64 "\", \"status\": \"queued\"}",
			    fake_delivered);
			rlen = snprintf(reply, sizeof reply, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
			    "Content-Length: %d\r\n\r\n%s", blen, body);
		} else {
			blen = snprintf(body, sizeof body, "{\"delivered\": %" PRIu64 "}\n", fake_delivered);
			rlen = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			    "Content-Length: %d\r\n\r\n%s", blen, body);
		}
		if (!harness_send_all(c->fd, reply, (size_t)rlen))
			return false;
		memmove(c->buf, c->buf + total, c->len - total);
		c->len -= total;
	}
}

static void
fake_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake_conn *c = arg;
	ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		fake_conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if (!fake_answer(c))
		fake_conn_close(c);
}

static void
fake_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct fake_conn *c = malloc(sizeof *c);

	(void)sa;
	(void)salen;
	(void)arg;
	if (c == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->len = 0;
	c->ev = event_new(evconnlistener_get_base(l), fd, EV_READ | EV_PERSIST, fake_read_cb, c);
	if (c->ev == NULL || event_add(c->ev, NULL) != 0) {
		close(fd);
		free(c);
	}
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
	struct evconnlistener *listener;
	struct event *term;
	struct sockaddr_in sin;
	int port = argc > 1 ? atoi(argv[1]) : 0;

	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: fake_provider PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = evloop_new();
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	listener = evconnlistener_new_bind(base, fake_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&sin, sizeof sin);
	if (listener == NULL) {
		fprintf(stderr, "fake_provider: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	term = evsignal_new(base, SIGTERM, fake_stop_cb, base);
	event_add(term, NULL);
	event_base_dispatch(base);
	fprintf(stderr, "fake_provider: %" PRIu64 " delivered\n", fake_delivered);
	event_free(term);
	evconnlistener_free(listener);
	event_base_free(base);
	return 0;
}
