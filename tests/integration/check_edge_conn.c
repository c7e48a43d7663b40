/*
 * check_edge_conn.c - the hostile edge, connections and operator lock-out,
 * end to end against the real gateway and PostgreSQL:
 * - a flood of idle keep-alive connections from one address cannot starve
 *   webhooks or health checks (per-client cap, oldest idle closed first);
 * - the global cap closes idle connections first and keeps headroom for
 *   webhooks and health checks when everything else is busy;
 * - idle keep-alive connections are closed after HTTP_IDLE_TIMEOUT_S;
 * - a wrong-token flood does not lock a valid operator out of the API;
 * - X-Forwarded-For is believed only from TRUSTED_PROXIES.
 * The two floods write their figures to the build's reliability.md (harness_report_row).
 *
 * Every connection is on loopback; several client addresses are played
 * from 127.0.0.2.. (all of 127/8 is loopback on Linux).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "form.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define ALICE "alice-token-0123456789"
#define WAIT_MS 15000
#define FLOOD_CONNS 600
#define FLOOD_TEXTS 20

static const char *const healthz_req = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
/* A request cut short: the connection is reading it, so it is not idle. */
static const char *const partial_req = "GET /healthz HTTP/1.1\r\nHo";
/* Cut short after a whole line: evhttp has taken it from its buffer, only the kernel's count shows it. */
static const char *const first_line_req = "GET /healthz HTTP/1.1\r\n";

/* A gateway on the sandbox provider with the given settings (NULL-terminated, may be NULL). */
static void
world_init(struct twilio_world *w, const char *const *env)
{
	twilio_world_start(w, &(const struct twilio_world_opts){ .sandbox = true, .settings = env });
}

/* The value of a counter in /metrics (-1 if absent). */
static long
metric(struct twilio_world *w, const char *name)
{
	char *text = NULL, *needle = xasprintf("\n%s ", name), *at;
	long v = -1;

	ck_assert_int_eq(harness_get(w->gw.port, "/metrics", &text), 200);
	if ((at = strstr(text, needle)) != NULL)
		v = strtol(at + strlen(needle), NULL, 10);
	free(needle);
	free(text);
	return v;
}

/* Lines of the gateway's log that contain what. */
static int
log_lines(struct twilio_world *w, const char *what)
{
	FILE *f = fopen(w->gw.log_path, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (getline(&line, &cap, f) > 0)
		n += strstr(line, what) != NULL;
	free(line);
	fclose(f);
	return n;
}

/* Asserts that min to max lines of the gateway's log contain what. */
static void
assert_log_lines(struct twilio_world *w, const char *what, int min, int max)
{
	int n = log_lines(w, what);

	ck_assert_msg(n >= min && n <= max, "%d log line(s) with \"%s\", want %d to %d", n, what, min, max);
}

/* A new keep-alive connection from source that has had one request answered with want. */
static int
open_conn(struct twilio_world *w, const char *source, const char *req, long want)
{
	int fd = harness_connect_from(w->gw.port, source);
	long st = harness_raw_request(fd, req, 5000);

	ck_assert_msg(st == want, "a new connection from %s got %ld, not %ld; see %s", source, st, want,
	    w->gw.log_path);
	return fd;
}

static int
count_closed(const int *fds, int n)
{
	int closed = 0;

	for (int i = 0; i < n; i++)
		closed += harness_fd_closed(fds[i], 0);
	return closed;
}

/* Posts texts from a new number each, timing each; returns the slowest, in ms. */
static double
post_texts(struct twilio_world *w, int first, int n)
{
	double slowest = 0;

	for (int i = first; i < first + n; i++) {
		char sid[32], from[32];
		double t0 = harness_now_s(), ms;

		snprintf(sid, sizeof sid, "SMedge%05d", i);
		snprintf(from, sizeof from, "+1555400%04d", i);
		ck_assert_int_eq(harness_post_sms(w->gw.port, sid, from, CLINIC, "my back hurts"), 200);
		ms = (harness_now_s() - t0) * 1000;
		slowest = ms > slowest ? ms : slowest;
	}
	return slowest;
}

/* A whole Twilio-style inbound webhook request, for a raw connection (caller frees). */
static char *
same_address_text(int i)
{
	char sid[32], from[32], *form, *req;
	const char *kv[] = { "MessageSid", sid, "From", from, "To", CLINIC, "Body", "my back hurts" };

	snprintf(sid, sizeof sid, "SMedge%05d", i);
	snprintf(from, sizeof from, "+1555400%04d", i);
	form = form_encode(kv, 4);
	req = xasprintf("POST /sms/inbound HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(form), form);
	free(form);
	return req;
}

/* Rows for docs/reliability.md: sent texts stored and answered once each. */
static void
report(struct twilio_world *w, const char *scenario, long sent, const char *notes)
{
	struct harness_inbound t;
	long dups, lost;

	ck_assert_msg(harness_wait_int(w->pg, "SELECT count(*) FROM messages WHERE direction = 'in' AND "
	    "processed_at IS NOT NULL", sent, WAIT_MS), "not every text was answered; see %s", w->gw.log_path);
	harness_inbound_tally(w->pg, &t);
	dups = (t.rows - t.stored) + (t.steps - t.answered);
	lost = sent - (t.answered < t.stored ? t.answered : t.stored);
	harness_report_row(scenario, sent, t.stored, t.answered, dups, lost, notes);
	ck_assert_msg(t.stored == sent && t.answered == sent && dups == 0 && lost == 0,
	    "%s: sent %ld stored %ld answered %ld duplicates %ld lost %ld", scenario, sent, t.stored, t.answered,
	    dups, lost);
}

/*
 * ~600 idle keep-alive connections from one address, each after one request
 * (the old gateway then answered every newcomer 503, webhooks included):
 * with the default settings the flooder keeps MAX_CONNECTIONS_PER_CLIENT
 * of them, its oldest are closed, and texts and /healthz from elsewhere are
 * answered 200 at once. Refusals and closings are logged, but not one line each.
 */
START_TEST(test_idle_connection_flood)
{
	struct twilio_world w;
	int *fds = xcalloc(FLOOD_CONNS, sizeof *fds), closed, same[2];
	double t0, flood_s, slowest, healthz_ms;
	long closed_idle, refused;
	char *notes;

	world_init(&w, NULL);
	t0 = harness_now_s();
	for (int i = 0; i < FLOOD_CONNS; i++)
		fds[i] = open_conn(&w, "127.0.0.2", healthz_req, 200);
	flood_s = harness_now_s() - t0;
	harness_sleep_ms(200);
	closed = count_closed(fds, FLOOD_CONNS);
	/* The default cap: 64 per client address; the oldest were closed, the newest kept. */
	ck_assert_int_eq(closed, FLOOD_CONNS - 64);
	ck_assert(harness_fd_closed(fds[0], 0));
	ck_assert(!harness_fd_closed(fds[FLOOD_CONNS - 1], 0));
	/* With the flood still connected: texts and health checks are answered at once. */
	slowest = post_texts(&w, 0, FLOOD_TEXTS);
	t0 = harness_now_s();
	ck_assert_int_eq(harness_get(w.gw.port, "/healthz", NULL), 200);
	healthz_ms = (harness_now_s() - t0) * 1000;
	ck_assert_msg(slowest < 1000, "slowest webhook took %.0f ms", slowest);
	ck_assert_msg(healthz_ms < 1000, "/healthz took %.0f ms", healthz_ms);
	/* A kept connection still works. */
	ck_assert_int_eq(harness_raw_request(fds[FLOOD_CONNS - 1], healthz_req, 5000), 200);
	/* Even from the flooding address itself (one NAT, or a proxy not in TRUSTED_PROXIES): its oldest idle go. */
	for (int i = 0; i < 2; i++) {
		char *req = same_address_text(FLOOD_TEXTS + i);

		same[i] = harness_connect_from(w.gw.port, "127.0.0.2");
		ck_assert_int_eq(harness_raw_request(same[i], req, 5000), 200);
		free(req);
	}
	closed_idle = metric(&w, "carenav_http_connections_closed_idle_total");
	refused = metric(&w, "carenav_http_connections_refused_total");
	ck_assert_int_eq(closed_idle, FLOOD_CONNS - 64 + 2);
	ck_assert_int_eq(refused, 0);
	/* Logged, but rate-limited: a line per 10 s, not one per connection. */
	assert_log_lines(&w, "idle keep-alive connection(s) closed", 1, 3);
	ck_assert_int_eq(log_lines(&w, "refused with 503"), 0);
	notes = xasprintf("%d idle keep-alive connections from one address in %.1f s, each after one request "
	    "(the old gateway answered everything 503 past 512): the per-client cap (64) closed the oldest, "
	    "0 refused; with 64 still open, %d texts and /healthz from another address all 200 (slowest "
	    "webhook %.0f ms, /healthz %.0f ms), and 2 texts from the flooding address itself 200; %ld idle "
	    "connections closed in all, %d log line(s)", FLOOD_CONNS, flood_s, FLOOD_TEXTS, slowest, healthz_ms,
	    closed_idle, log_lines(&w, "idle keep-alive connection(s) closed"));
	report(&w, "idle keep-alive connection flood", FLOOD_TEXTS + 2, notes);
	free(notes);
	for (int i = 0; i < FLOOD_CONNS; i++)
		close(fds[i]);
	close(same[0]);
	close(same[1]);
	free(fds);
	twilio_world_stop(&w);
}
END_TEST

/*
 * MAX_CONNECTIONS from many connections of one address (no per-client cap):
 * idle connections make room; once every connection is busy reading a
 * request, an ordinary newcomer gets 503 but webhooks and /healthz still
 * have RESERVED_CONNECTIONS.
 */
START_TEST(test_global_cap_headroom)
{
	static const char *const env[] = { "MAX_CONNECTIONS=40", "MAX_CONNECTIONS_PER_CLIENT=0",
		"RESERVED_CONNECTIONS=8", NULL };
	static const char *const other_req = "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n";
	struct twilio_world w;
	int fds[60], fd, open_fds[60], nopen = 0;
	double slowest;

	world_init(&w, env);
	/* 60 idle connections on an ordinary path: each new one past 32 (40 - 8) closes the oldest. */
	for (int i = 0; i < 60; i++)
		fds[i] = open_conn(&w, "127.0.0.2", other_req, 404);
	harness_sleep_ms(200);
	for (int i = 0; i < 60; i++) {
		if (!harness_fd_closed(fds[i], 0))
			open_fds[nopen++] = fds[i];
	}
	ck_assert_int_eq(nopen, 32);
	/* Now every open connection is in the middle of a request: none may be cut. */
	for (int i = 0; i < nopen; i++)
		ck_assert(write(open_fds[i], partial_req, strlen(partial_req)) == (ssize_t)strlen(partial_req));
	harness_sleep_ms(100);
	fd = harness_connect_from(w.gw.port, "127.0.0.3");
	ck_assert_int_eq(harness_raw_request(fd, other_req, 5000), 503);
	close(fd);
	/* The headroom: texts and health checks are still served. */
	slowest = post_texts(&w, 100, 5);
	ck_assert_msg(slowest < 1000, "slowest webhook took %.0f ms", slowest);
	ck_assert_int_eq(harness_get(w.gw.port, "/healthz", NULL), 200);
	ck_assert_int_eq(harness_get(w.gw.port, "/readyz", NULL), 200);
	ck_assert_int_eq(count_closed(open_fds, nopen), 0);
	/* A connection whose request then completes is answered. */
	ck_assert_int_eq(harness_raw_request(open_fds[0], "st: t\r\n\r\n", 5000), 200);
	ck_assert_int_ge(metric(&w, "carenav_http_connections_refused_total"), 1);
	ck_assert_int_ge(log_lines(&w, "latest: MAX_CONNECTIONS reached from"), 1);
	for (int i = 0; i < 60; i++)
		close(fds[i]);
	twilio_world_stop(&w);
}
END_TEST

/*
 * MAX_CONNECTIONS_PER_CLIENT: the address's oldest idle connection makes
 * room; with none idle, its newcomer gets 503 while other addresses and
 * trusted proxies are unaffected.
 */
START_TEST(test_per_client_cap)
{
	static const char *const env[] = { "MAX_CONNECTIONS_PER_CLIENT=4", "TRUSTED_PROXIES=127.0.0.4", NULL };
	struct twilio_world w;
	int a[6], b, proxy[10];

	world_init(&w, env);
	for (int i = 0; i < 4; i++)
		a[i] = open_conn(&w, "127.0.0.2", healthz_req, 200);
	harness_sleep_ms(50);
	ck_assert_int_eq(count_closed(a, 4), 0);
	/* The fifth from the same address: the oldest idle one is closed, the others keep working. */
	a[4] = open_conn(&w, "127.0.0.2", healthz_req, 200);
	ck_assert(harness_fd_closed(a[0], 2000));
	ck_assert_int_eq(count_closed(a + 1, 4), 0);
	ck_assert_int_eq(harness_raw_request(a[1], healthz_req, 5000), 200);
	/* All four busy (mid-request): the address gets 503, another address does not. */
	for (int i = 1; i <= 4; i++) {
		const char *part = i == 4 ? first_line_req : partial_req;

		ck_assert(write(a[i], part, strlen(part)) == (ssize_t)strlen(part));
	}
	harness_sleep_ms(100);
	a[5] = harness_connect_from(w.gw.port, "127.0.0.2");
	ck_assert_int_eq(harness_raw_request(a[5], healthz_req, 5000), 503);
	ck_assert(harness_fd_closed(a[5], 2000));
	b = open_conn(&w, "127.0.0.3", healthz_req, 200);
	ck_assert_int_eq(count_closed(a + 1, 4), 0);
	/* A trusted proxy carries many clients: not capped. */
	for (int i = 0; i < 10; i++)
		proxy[i] = open_conn(&w, "127.0.0.4", healthz_req, 200);
	harness_sleep_ms(100);
	ck_assert_int_eq(count_closed(proxy, 10), 0);
	ck_assert_int_eq(metric(&w, "carenav_http_connections_refused_total"), 1);
	ck_assert_int_eq(log_lines(&w, "latest: MAX_CONNECTIONS_PER_CLIENT reached from 127.0.0.2;"), 1);
	for (int i = 0; i < 6; i++)
		close(a[i]);
	for (int i = 0; i < 10; i++)
		close(proxy[i]);
	close(b);
	twilio_world_stop(&w);
}
END_TEST

/*
 * An idle keep-alive connection is closed after HTTP_IDLE_TIMEOUT_S (it was
 * 30 s, and a request every 20 s kept it forever); a trusted proxy's is not.
 */
START_TEST(test_idle_timeout)
{
	static const char *const env[] = { "HTTP_IDLE_TIMEOUT_S=1", "TRUSTED_PROXIES=127.0.0.3", NULL };
	struct twilio_world w;
	int fd, proxy;
	double t0;

	world_init(&w, env);
	fd = open_conn(&w, "127.0.0.2", healthz_req, 200);
	proxy = open_conn(&w, "127.0.0.3", healthz_req, 200);
	t0 = harness_now_s();
	ck_assert_msg(harness_fd_closed(fd, 5000), "an idle connection was kept for 5 s");
	ck_assert_msg(harness_now_s() - t0 > 0.5, "closed too early: %.2f s", harness_now_s() - t0);
	/* Used within the timeout, a connection stays. */
	fd = open_conn(&w, "127.0.0.2", healthz_req, 200);
	for (int i = 0; i < 4; i++) {
		harness_sleep_ms(500);
		ck_assert_int_eq(harness_raw_request(fd, healthz_req, 5000), 200);
	}
	ck_assert(!harness_fd_closed(proxy, 0));
	ck_assert_int_eq(harness_raw_request(proxy, healthz_req, 5000), 200);
	close(fd);
	close(proxy);
	twilio_world_stop(&w);
}
END_TEST

static long
api_raw(int fd, const char *token)
{
	char *req = xasprintf("GET /api/me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n", token);
	long st = harness_raw_request(fd, req, 5000);

	free(req);
	return st;
}

/*
 * 700 wrong-token requests from one address in a fraction of a second (the
 * old gateway then answered the valid operator 429 at that address): the
 * failures exhaust their own bucket, the operator is served throughout, and
 * the 429s are logged in one line, not 670.
 */
START_TEST(test_bad_token_flood)
{
	static const char *const env[] = { "OPERATOR_TOKENS=alice:" ALICE, NULL };
	struct twilio_world w;
	int fd, n401 = 0, n429 = 0, alice_ok = 0, texts = 0;
	double t0, flood_s, slowest = 0;
	char *notes;

	world_init(&w, env);
	fd = harness_connect_from(w.gw.port, "127.0.0.1");
	t0 = harness_now_s();
	for (int i = 0; i < 700; i++) {
		long st = api_raw(fd, "guess-guess-guess-guess");

		n401 += st == 401;
		n429 += st == 429;
		/* Meanwhile, from the same address, the valid operator and the provider. */
		if (i % 35 == 34) {
			double ms;

			ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/me", ALICE, NULL, NULL), 200);
			alice_ok++;
			ms = post_texts(&w, 200 + texts++, 1);
			slowest = ms > slowest ? ms : slowest;
		}
	}
	flood_s = harness_now_s() - t0;
	close(fd);
	/* API_AUTH_FAILURES_PER_MINUTE=30 by default; the rest 429. */
	ck_assert_int_eq(n401, 30);
	ck_assert_int_eq(n429, 670);
	ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/me", ALICE, NULL, NULL), 200);
	ck_assert_int_eq(metric(&w, "carenav_api_rate_limited_total"), 670);
	ck_assert_int_eq(metric(&w, "carenav_api_auth_failures_total"), 700);
	assert_log_lines(&w, "refused with 429", 1, 2);
	notes = xasprintf("700 wrong-token /api/ requests from one address in %.2f s (the old gateway then "
	    "answered the valid operator 429): 30 answered 401, 670 429 from their own bucket; the valid "
	    "operator at the same address %d/%d 200, %d texts all 200 (slowest %.0f ms); %d log line(s) for "
	    "the 670 429s", flood_s, alice_ok, alice_ok, texts, slowest, log_lines(&w, "refused with 429"));
	report(&w, "wrong-token flood on the operator API", texts, notes);
	free(notes);
	twilio_world_stop(&w);
}
END_TEST

static long
guess_from(struct twilio_world *w, const char *source, const char *const *headers)
{
	return harness_api_from(w->gw.port, source, headers, "GET", "/api/me", "guess-guess-guess-guess",
	    NULL, NULL);
}

/*
 * X-Forwarded-For is ignored from an untrusted peer and believed from a
 * trusted proxy, hop by hop from the right, so two clients behind the proxy
 * have buckets of their own and a client cannot pick its own address.
 */
START_TEST(test_forwarded_for)
{
	static const char *const env[] = { "OPERATOR_TOKENS=alice:" ALICE, "TRUSTED_PROXIES=127.0.0.2",
		"API_AUTH_FAILURES_PER_MINUTE=3", NULL };
	static const char *const xff1[] = { "X-Forwarded-For: 10.0.0.1", NULL };
	static const char *const xff2[] = { "X-Forwarded-For: 10.0.0.2", NULL };
	static const char *const spoof_left[] = { "X-Forwarded-For: 10.0.0.7, 10.0.0.1", NULL };
	static const char *const spoof_line[] = { "X-Forwarded-For: 10.0.0.8", "X-Forwarded-For: 10.0.0.1", NULL };
	static const char *const chain[] = { "X-Forwarded-For: 10.0.0.3, 127.0.0.2", NULL };
	static const char *const garbage[] = { "X-Forwarded-For: nonsense", NULL };
	struct twilio_world w;

	world_init(&w, env);
	/* Untrusted peer 127.0.0.1: the header is ignored, one bucket for the peer. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(guess_from(&w, "127.0.0.1", xff1), 401);
	ck_assert_int_eq(guess_from(&w, "127.0.0.1", xff2), 429);
	ck_assert_int_eq(guess_from(&w, "127.0.0.1", NULL), 429);
	/* Trusted proxy 127.0.0.2: client 10.0.0.1 floods its own bucket... */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(guess_from(&w, "127.0.0.2", xff1), 401);
	ck_assert_int_eq(guess_from(&w, "127.0.0.2", xff1), 429);
	/* ...and cannot escape it by writing another address to the left, or on an earlier line. */
	ck_assert_int_eq(guess_from(&w, "127.0.0.2", spoof_left), 429);
	ck_assert_int_eq(guess_from(&w, "127.0.0.2", spoof_line), 429);
	/* Client 10.0.0.2 behind the same proxy is not affected. */
	ck_assert_int_eq(guess_from(&w, "127.0.0.2", xff2), 401);
	/* A hop through a second trusted proxy is skipped: the client is 10.0.0.3. */
	ck_assert_int_eq(guess_from(&w, "127.0.0.2", chain), 401);
	/* A header that names no address: the proxy itself is the client. */
	ck_assert_int_eq(guess_from(&w, "127.0.0.2", garbage), 401);
	/* The operator is served from every one of those addresses. */
	ck_assert_int_eq(harness_api_from(w.gw.port, "127.0.0.2", xff1, "GET", "/api/me", ALICE, NULL, NULL), 200);
	ck_assert_int_eq(harness_api_from(w.gw.port, "127.0.0.1", NULL, "GET", "/api/me", ALICE, NULL, NULL), 200);
	twilio_world_stop(&w);
}
END_TEST

/* "carenav doctor" flags a TRUSTED_PROXIES that trusts everyone; a bad entry stops the configuration. */
START_TEST(test_doctor_trusted_proxies)
{
	static const char *const broad[] = { "TRUSTED_PROXIES=10.0.0.5, 0.0.0.0/0", NULL };
	static const char *const fine[] = { "TRUSTED_PROXIES=10.0.0.5", NULL };
	static const char *const bad[] = { "TRUSTED_PROXIES=10.0.0.5,proxy.example.org", NULL };
	char *conninfo = harness_db_create(), *out = NULL;
	struct harness_gw gw;

	harness_gw_init(&gw, conninfo, broad);
	harness_gw_cli(&gw, &out, "doctor", NULL);
	ck_assert_msg(strstr(out, "warn  proxies: TRUSTED_PROXIES contains 0.0.0.0/0") != NULL, "%s", out);
	free(out);
	harness_gw_free(&gw);
	harness_gw_init(&gw, conninfo, fine);
	harness_gw_cli(&gw, &out, "doctor", NULL);
	ck_assert_msg(strstr(out, "ok    proxies: X-Forwarded-For believed from 1 address") != NULL, "%s", out);
	free(out);
	harness_gw_free(&gw);
	harness_gw_init(&gw, conninfo, bad);
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "doctor", NULL), 1);
	ck_assert_msg(strstr(out, "FAIL  configuration: TRUSTED_PROXIES: \"proxy.example.org\" is not an address")
	    != NULL, "%s", out);
	free(out);
	harness_gw_free(&gw);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("edge_conn", 120, test_idle_connection_flood, test_global_cap_headroom, test_per_client_cap,
    test_idle_timeout, test_bad_token_flood, test_forwarded_for, test_doctor_trusted_proxies)
