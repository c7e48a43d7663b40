/*
 * loadgen.c - the benchmark's load generator: signed Twilio webhooks from
 * many patients walking the back-pain flow.
 *
 * Patients: message number k (a global sequence that continues across runs
 * through --start) goes to patient k % PATIENTS as that patient's step
 * k / PATIENTS of the script below, so every patient walks the flow in
 * order and, with PATIENTS much larger than the requests in flight, never
 * has two texts in flight at once (as a real phone).
 *
 * Two ways to drive the gateway over CONNS keep-alive connections:
 *   closed loop (no --rate): each connection sends its next webhook when
 *     the previous one is answered; this finds the maximum rate.
 *   open loop (--rate R): webhooks are due at fixed times, R per second,
 *     whether or not earlier ones were answered; a webhook that finds every
 *     connection busy waits in a FIFO, and its latency counts from the time
 *     it was due, so a slow gateway cannot hide its queueing (no
 *     coordinated omission). This measures latency at a given rate.
 * A webhook counts as accepted on a 200; anything else is an error.
 *
 * It speaks its HTTP/1.1 itself (bench/harness_http.h) over one persistent
 * read event per connection: a send and a recv per webhook, 0.014-0.017 ms
 * of CPU where evhttp's client took 0.021-0.026.
 *
 * Output: KEY=value lines on stdout (LG_*), read by bench/lib.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "harness_http.h"
#include "timeutil.h"

#define LOADGEN_MAX_TEXT 64
#define LOADGEN_SERIES_S 3600  /* seconds of per-second latency kept for LOADGEN_SERIES */
#define LOADGEN_TIMEOUT_US 30000000  /* a webhook unanswered this long is an error */
#define LOADGEN_IN_MAX 8192    /* the largest answer; the gateway's are TwiML of a few hundred bytes */

/* The back-pain walk: hi, screen, region and duration (slot filling), the see-a-doctor signs, tips. */
static const char *const loadgen_script[] = {
	"hi", "no", "lower, about 3 days", "no", "1", "2", "3", "4", "5", "6",
};
#define LOADGEN_SCRIPT_LEN (sizeof loadgen_script / sizeof loadgen_script[0])

struct loadgen_opts {
	const char *host;
	int port;
	const char *token;        /* TWILIO_AUTH_TOKEN */
	const char *public_base;  /* PUBLIC_BASE_URL */
	const char *service;      /* the clinic's number */
	const char *run_id;       /* makes MessageSids unique across runs */
	long patients;
	uint64_t start;           /* first sequence number */
	uint64_t count;           /* stop after this many (0: by duration only) */
	double duration_s;
	double rate;              /* per second; 0 = closed loop */
	int conns;
};

struct loadgen_req {
	TAILQ_ENTRY(loadgen_req) entry;
	uint64_t seq;
	uint64_t due_us;          /* when it was due (open loop) or sent (closed) */
	struct loadgen_conn *conn;  /* the connection carrying it, once issued */
};
TAILQ_HEAD(loadgen_req_list, loadgen_req);

struct loadgen_conn {
	struct loadgen *lg;
	evutil_socket_t fd;       /* -1 until connected (again, after the gateway closed it) */
	struct event *ev;         /* EV_READ | EV_PERSIST on fd */
	struct loadgen_req *req;  /* the webhook in flight, or NULL */
	uint64_t sent_us;         /* when it went out, for the timeout */
	size_t inlen;
	char in[LOADGEN_IN_MAX];
};

struct loadgen {
	struct event_base *base;
	struct loadgen_opts o;
	struct loadgen_conn *conns;
	struct loadgen_req_list waiting;  /* due, no connection free yet */
	struct event tick;                /* open loop: issues due requests */
	struct event watchdog;            /* every second: webhooks past LOADGEN_TIMEOUT_US fail */
	EVP_MAC_CTX *mac;                 /* HMAC-SHA1 keyed with the token once; copied per webhook */
	uint64_t t0_us;
	uint64_t end_us;
	uint64_t next_seq;
	uint64_t issued, ok, errors, in_flight;
	uint32_t *lat_us;                 /* owned; one per accepted webhook */
	size_t nlat, caplat;
	uint32_t series_n[LOADGEN_SERIES_S], series_slow[LOADGEN_SERIES_S], series_max_us[LOADGEN_SERIES_S];
	bool stopping;
};

/* An HMAC-SHA1 context keyed with token, as Twilio signs its webhooks. */
static EVP_MAC_CTX *
loadgen_mac_new(const char *token)
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0), OSSL_PARAM_END };

	EVP_MAC_free(hmac);
	if (ctx == NULL || !EVP_MAC_init(ctx, (const unsigned char *)token, strlen(token), params)) {
		fprintf(stderr, "loadgen: cannot set up HMAC-SHA1\n");
		exit(1);
	}
	return ctx;
}

static void
loadgen_form_append(char *out, size_t cap, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(out);

	n += (size_t)snprintf(out + n, cap - n, "%s%s=", n ? "&" : "", key);
	for (const unsigned char *p = (const unsigned char *)value; *p && n + 4 < cap; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.') {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
}

static void loadgen_issue(struct loadgen *lg, struct loadgen_conn *c, struct loadgen_req *r);
static void loadgen_maybe_stop(struct loadgen *lg);

static struct loadgen_conn *
loadgen_idle_conn(struct loadgen *lg)
{
	for (int i = 0; i < lg->o.conns; i++) {
		if (lg->conns[i].req == NULL)
			return &lg->conns[i];
	}
	return NULL;
}

static bool
loadgen_more(const struct loadgen *lg)
{
	if (lg->stopping)
		return false;
	if (lg->o.count > 0 && lg->issued >= lg->o.count)
		return false;
	return timeutil_mono_us() < lg->end_us;
}

static struct loadgen_req *
loadgen_req_new(struct loadgen *lg, uint64_t due_us)
{
	struct loadgen_req *r = calloc(1, sizeof *r);

	if (r == NULL)
		abort();
	r->seq = lg->next_seq++;
	r->due_us = due_us;
	lg->issued++;
	return r;
}

/* Per second of due time: webhooks, those over 50 ms, the slowest. */
static void
loadgen_series_add(struct loadgen *lg, uint64_t due_us, uint32_t lat_us)
{
	uint64_t s = due_us > lg->t0_us ? (due_us - lg->t0_us) / 1000000 : 0;

	if (s >= LOADGEN_SERIES_S)
		return;
	lg->series_n[s]++;
	lg->series_slow[s] += lat_us > 50000;
	if (lat_us > lg->series_max_us[s])
		lg->series_max_us[s] = lat_us;
}

/* LOADGEN_SERIES=FILE appends "second webhooks over_50ms max_ms" lines: where in a phase the slow ones were. */
static void
loadgen_series_write(const struct loadgen *lg, const char *path)
{
	FILE *f;

	if (path == NULL || *path == '\0' || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "# run %s start %" PRIu64 " rate %.0f\n", lg->o.run_id, lg->o.start, lg->o.rate);
	for (int s = 0; s < LOADGEN_SERIES_S; s++)
		if (lg->series_n[s])
			fprintf(f, "%d %u %u %.1f\n", s, lg->series_n[s], lg->series_slow[s],
			    lg->series_max_us[s] / 1000.0);
	fclose(f);
}

static void
loadgen_conn_close(struct loadgen_conn *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	c->ev = NULL;
	c->fd = -1;
	c->inlen = 0;
}

/* The webhook on c was answered with HTTP code (0: no answer); c takes the next one. */
static void
loadgen_done(struct loadgen_conn *c, int code)
{
	struct loadgen *lg = c->lg;
	struct loadgen_req *r = c->req;
	uint64_t now = timeutil_mono_us();

	c->req = NULL;
	lg->in_flight--;
	if (code == 200) {
		lg->ok++;
		if (lg->nlat == lg->caplat) {
			lg->caplat = lg->caplat ? lg->caplat * 2 : 65536;
			lg->lat_us = realloc(lg->lat_us, lg->caplat * sizeof *lg->lat_us);
			if (lg->lat_us == NULL)
				abort();
		}
		lg->lat_us[lg->nlat++] = (uint32_t)(now - r->due_us > UINT32_MAX ? UINT32_MAX :
		    now - r->due_us);
		loadgen_series_add(lg, r->due_us, lg->lat_us[lg->nlat - 1]);
	} else {
		if (lg->errors < 5)
			fprintf(stderr, "loadgen: seq %" PRIu64 " got HTTP %d\n", r->seq, code);
		lg->errors++;
	}
	free(r);
	if (!TAILQ_EMPTY(&lg->waiting)) {
		r = TAILQ_FIRST(&lg->waiting);
		TAILQ_REMOVE(&lg->waiting, r, entry);
		loadgen_issue(lg, c, r);
	} else if (lg->o.rate == 0 && loadgen_more(lg)) {
		loadgen_issue(lg, c, loadgen_req_new(lg, timeutil_mono_us()));
	}
	loadgen_maybe_stop(lg);
}

static void
loadgen_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen_conn *c = arg;
	ssize_t n = recv(fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
	size_t len;
	int code = 0;

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {  /* closed (an idle keep-alive timeout, or mid-answer): reconnect for the next */
		loadgen_conn_close(c);
		if (c->req != NULL)
			loadgen_done(c, 0);
		return;
	}
	c->inlen += (size_t)n;
	if ((len = harness_http_message_len(c->in, c->inlen)) == 0) {
		if (c->inlen == sizeof c->in) {
			loadgen_conn_close(c);
			if (c->req != NULL)
				loadgen_done(c, 0);
		}
		return;
	}
	code = strncmp(c->in, "HTTP/1.", 7) == 0 ? atoi(c->in + 9) : 0;
	memmove(c->in, c->in + len, c->inlen - len);
	c->inlen -= len;
	if (c->req != NULL)
		loadgen_done(c, code);
}

/* Connects c (on loopback: at once); false if it cannot. */
static bool
loadgen_conn_open(struct loadgen *lg, struct loadgen_conn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)lg->o.port) };
	int one = 1;

	if (inet_pton(AF_INET, lg->o.host, &sin.sin_addr) != 1)
		return false;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
	    evutil_make_socket_nonblocking(c->fd) != 0 ||
	    (c->ev = event_new(lg->base, c->fd, EV_READ | EV_PERSIST, loadgen_read_cb, c)) == NULL ||
	    event_add(c->ev, NULL) != 0) {
		loadgen_conn_close(c);
		return false;
	}
	return true;
}

static void
loadgen_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	loadgen_done(arg, 0);
}

/* The webhook on c failed before it went out: counted from the event loop, not
 * from here, which loadgen_done itself may have called (no recursion). */
static void
loadgen_fail_later(struct loadgen *lg, struct loadgen_conn *c)
{
	struct timeval now = { 0, 0 };

	loadgen_conn_close(c);
	if (event_base_once(lg->base, -1, EV_TIMEOUT, loadgen_fail_cb, c, &now) != 0)
		abort();
}

static void
loadgen_issue(struct loadgen *lg, struct loadgen_conn *c, struct loadgen_req *r)
{
	const struct loadgen_opts *o = &lg->o;
	uint64_t step = r->seq / (uint64_t)o->patients;
	long patient = (long)(r->seq % (uint64_t)o->patients);
	size_t s = step % LOADGEN_SCRIPT_LEN;
	const char *text = (s == 0 && step > 0) ? "menu" : loadgen_script[s];
	char from[32], sid[64], body[512], signed_data[1024], sigb64[64], out[2048];
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0, body_len, out_len;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(lg->mac);

	snprintf(from, sizeof from, "+1555%07ld", 1000000 + patient);
	snprintf(sid, sizeof sid, "SM%s%020" PRIu64, o->run_id, r->seq);
	body[0] = '\0';
	loadgen_form_append(body, sizeof body, "MessageSid", sid);
	loadgen_form_append(body, sizeof body, "From", from);
	loadgen_form_append(body, sizeof body, "To", o->service);
	loadgen_form_append(body, sizeof body, "Body", text);
	loadgen_form_append(body, sizeof body, "NumMedia", "0");
	body_len = strlen(body);
	/* Twilio signs the URL, then each parameter as name+value sorted by name. */
	snprintf(signed_data, sizeof signed_data, "%s/sms/inboundBody%sFrom%sMessageSid%sNumMedia0To%s",
	    o->public_base, text, from, sid, o->service);
	/* HMAC() would fetch the algorithms and key them again for every webhook. */
	if (ctx == NULL || !EVP_MAC_update(ctx, (const unsigned char *)signed_data, strlen(signed_data)) ||
	    !EVP_MAC_final(ctx, mac, &maclen, sizeof mac)) {
		fprintf(stderr, "loadgen: HMAC failed\n");
		exit(1);
	}
	EVP_MAC_CTX_free(ctx);
	EVP_EncodeBlock((unsigned char *)sigb64, mac, (int)maclen);
	out_len = (size_t)snprintf(out, sizeof out, "POST /sms/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: %s\r\n"
	    "Content-Length: %zu\r\n\r\n%s", sigb64, body_len, body);

	c->req = r;
	c->sent_us = timeutil_mono_us();
	lg->in_flight++;
	if (c->fd < 0 && !loadgen_conn_open(lg, c)) {
		loadgen_fail_later(lg, c);
		return;
	}
	if (!harness_send_all(c->fd, out, out_len))
		loadgen_fail_later(lg, c);
}

/* Webhooks unanswered for LOADGEN_TIMEOUT_US fail, and their connections are closed. */
static void
loadgen_watchdog_timer(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;
	uint64_t now = timeutil_mono_us();

	(void)fd;
	(void)what;
	for (int i = 0; i < lg->o.conns; i++) {
		struct loadgen_conn *c = &lg->conns[i];

		if (c->req != NULL && now - c->sent_us > LOADGEN_TIMEOUT_US) {
			loadgen_conn_close(c);
			loadgen_done(c, 0);
		}
	}
}

static void
loadgen_maybe_stop(struct loadgen *lg)
{
	if (!loadgen_more(lg) && lg->in_flight == 0 && TAILQ_EMPTY(&lg->waiting))
		event_base_loopbreak(lg->base);
}

/* Open loop: every millisecond, issue what has fallen due since the start. */
static void
loadgen_tick_timer(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;
	uint64_t now = timeutil_mono_us();
	uint64_t due_total = (uint64_t)((double)(now - lg->t0_us) * lg->o.rate / 1e6);

	(void)fd;
	(void)what;
	while (lg->issued < due_total && loadgen_more(lg)) {
		uint64_t due = lg->t0_us + (uint64_t)((double)lg->issued * 1e6 / lg->o.rate);
		struct loadgen_req *r = loadgen_req_new(lg, due);
		struct loadgen_conn *c = loadgen_idle_conn(lg);

		if (c != NULL)
			loadgen_issue(lg, c, r);
		else
			TAILQ_INSERT_TAIL(&lg->waiting, r, entry);
	}
	loadgen_maybe_stop(lg);
}

static int
loadgen_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
loadgen_pct_ms(const struct loadgen *lg, double p)
{
	size_t i;

	if (lg->nlat == 0)
		return 0;
	i = (size_t)(p * (double)(lg->nlat - 1) + 0.5);
	return lg->lat_us[i] / 1000.0;
}

static void
loadgen_usage(void)
{
	fprintf(stderr,
	    "usage: loadgen --port P --token T --public-base URL [--host IPV4] [--service NUM]\n"
	    "               [--run-id ID] [--patients N] [--start SEQ] [--count N]\n"
	    "               [--duration S] [--rate R] [--conns C]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct loadgen lg;
	struct rusage ru;
	uint64_t elapsed;

	memset(&lg, 0, sizeof lg);
	lg.o.host = "127.0.0.1";
	lg.o.service = "+15550009999";
	lg.o.run_id = "bench";
	lg.o.patients = 10000;
	lg.o.duration_s = 10;
	lg.o.conns = 64;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			loadgen_usage();
		if (strcmp(a, "--host") == 0) lg.o.host = v;
		else if (strcmp(a, "--port") == 0) lg.o.port = atoi(v);
		else if (strcmp(a, "--token") == 0) lg.o.token = v;
		else if (strcmp(a, "--public-base") == 0) lg.o.public_base = v;
		else if (strcmp(a, "--service") == 0) lg.o.service = v;
		else if (strcmp(a, "--run-id") == 0) lg.o.run_id = v;
		else if (strcmp(a, "--patients") == 0) lg.o.patients = atol(v);
		else if (strcmp(a, "--start") == 0) lg.o.start = strtoull(v, NULL, 10);
		else if (strcmp(a, "--count") == 0) lg.o.count = strtoull(v, NULL, 10);
		else if (strcmp(a, "--duration") == 0) lg.o.duration_s = atof(v);
		else if (strcmp(a, "--rate") == 0) lg.o.rate = atof(v);
		else if (strcmp(a, "--conns") == 0) lg.o.conns = atoi(v);
		else loadgen_usage();
		i++;
	}
	if (lg.o.port <= 0 || lg.o.token == NULL || lg.o.public_base == NULL || lg.o.patients < 1 ||
	    lg.o.conns < 1 || lg.o.rate < 0)
		loadgen_usage();

	lg.base = evloop_new();
	lg.mac = loadgen_mac_new(lg.o.token);
	TAILQ_INIT(&lg.waiting);
	lg.next_seq = lg.o.start;
	lg.conns = calloc((size_t)lg.o.conns, sizeof *lg.conns);
	for (int i = 0; i < lg.o.conns; i++) {
		lg.conns[i].lg = &lg;
		lg.conns[i].fd = -1;
		if (!loadgen_conn_open(&lg, &lg.conns[i])) {
			fprintf(stderr, "loadgen: cannot connect to %s:%d\n", lg.o.host, lg.o.port);
			return 1;
		}
	}
	timeutil_every(&lg.watchdog, lg.base, 1000, loadgen_watchdog_timer, &lg);
	lg.t0_us = timeutil_mono_us();
	lg.end_us = lg.t0_us + (uint64_t)(lg.o.duration_s * 1e6);
	if (lg.o.rate > 0) {
		timeutil_every(&lg.tick, lg.base, 1, loadgen_tick_timer, &lg);  /* every millisecond */
	} else {
		for (int i = 0; i < lg.o.conns && loadgen_more(&lg); i++)
			loadgen_issue(&lg, &lg.conns[i], loadgen_req_new(&lg, timeutil_mono_us()));
	}
	event_base_dispatch(lg.base);
	elapsed = timeutil_mono_us() - lg.t0_us;

	qsort(lg.lat_us, lg.nlat, sizeof *lg.lat_us, loadgen_cmp_u32);
	loadgen_series_write(&lg, getenv("LOADGEN_SERIES"));
	printf("LG_issued=%" PRIu64 "\n", lg.issued);
	printf("LG_ok=%" PRIu64 "\n", lg.ok);
	printf("LG_errors=%" PRIu64 "\n", lg.errors);
	printf("LG_seconds=%.3f\n", (double)elapsed / 1e6);
	/* The wall clock as it ended: bench/run times the drain from here to the last answer PostgreSQL stored. */
	printf("LG_end_epoch=%.3f\n", (double)timeutil_now_ms() / 1e3);
	printf("LG_rate=%.1f\n", (double)lg.ok * 1e6 / (double)(elapsed ? elapsed : 1));
	printf("LG_p50_ms=%.2f\n", loadgen_pct_ms(&lg, 0.50));
	printf("LG_p95_ms=%.2f\n", loadgen_pct_ms(&lg, 0.95));
	printf("LG_p99_ms=%.2f\n", loadgen_pct_ms(&lg, 0.99));
	printf("LG_max_ms=%.2f\n", lg.nlat ? lg.lat_us[lg.nlat - 1] / 1000.0 : 0.0);
	printf("LG_next_seq=%" PRIu64 "\n", lg.next_seq);
	/* Its own CPU: on a shared host, the load generator competes with what it measures. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("LG_cpu_ms=%.0f\n", (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);

	if (lg.o.rate > 0)
		event_del(&lg.tick);
	event_del(&lg.watchdog);
	for (int i = 0; i < lg.o.conns; i++)
		loadgen_conn_close(&lg.conns[i]);
	free(lg.conns);
	free(lg.lat_us);
	EVP_MAC_CTX_free(lg.mac);
	event_base_free(lg.base);
	return lg.errors > 0 ? 1 : 0;
}
