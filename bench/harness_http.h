/*
 * harness_http.h - the few lines of HTTP/1.1 the benchmark's stand-ins for
 * Twilio speak themselves (bench/loadgen.c sends webhooks and reads the
 * gateway's answers, bench/fake_provider.c reads the gateway's replies and
 * answers them): keep-alive messages with Content-Length bodies, which is
 * all the gateway and libcurl send them. evhttp's request objects, header
 * lists and write events cost them a third more CPU per text, taken from
 * the cores the gateway is measured on.
 */
#ifndef CARENAV_BENCH_HARNESS_HTTP_H
#define CARENAV_BENCH_HARNESS_HTTP_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The length of the whole message at the start of buf (head and body), or 0 while it is incomplete. */
static inline size_t
harness_http_message_len(const char *buf, size_t len)
{
	static const char clen[] = "\r\ncontent-length:";
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t head, body = 0;

	if (end == NULL)
		return 0;
	for (const char *p = buf; p + sizeof clen - 1 < end; p++) {
		if (strncasecmp(p, clen, sizeof clen - 1) == 0) {
			body = (size_t)strtoul(p + sizeof clen - 1, NULL, 10);
			break;
		}
	}
	head = (size_t)(end - buf) + 4;
	return head + body <= len ? head + body : 0;
}

/* Sends all of data on a non-blocking socket, waiting for room if it is full; false if the peer is gone. */
static inline bool
harness_send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, 1000);
			continue;
		}
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

#endif
