/*
 * check_gateway.c - the foundation end to end: the real gateway process, a
 * real PostgreSQL database per test, and a fake Twilio API on loopback.
 *
 * Webhook -> row committed before the 200 -> dialogue step -> outbox ->
 * delivered to the provider with the right auth and form body; duplicates,
 * retries, permanent failures, delivery reports, bad input, and a restart
 * with replies still queued.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fake_twilio.h"
#include "form.h"
#include "harness.h"
#include "metrics_check.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define PATIENT "+15551230001"
#define CLINIC "+15550001111"
#define WAIT_MS 15000

/* extra: more NAME=value for the gateway's environment, NULL-terminated; or NULL. */
static void
world_init_env(struct twilio_world *w, bool twilio, const char *const *extra)
{
	twilio_world_start(w, &(struct twilio_world_opts){ .sandbox = !twilio, .base_url = "https://clinic.example.org",
	    .settings = extra });
}

static void
world_init(struct twilio_world *w, bool twilio)
{
	world_init_env(w, twilio, NULL);
}

START_TEST(test_reply_delivered_to_twilio)
{
	struct twilio_world w;
	struct fake_twilio_request r;
	struct form f;
	char *cause = NULL, *sid;
	long long nout;

	world_init(&w, true);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMin0001", PATIENT, CLINIC, "my back hurts"), 200);
	/* Durable before the 200: the row is there the moment the answer arrives. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND provider_sid = 'SMin0001' AND body = 'my back hurts'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations "
	    "WHERE patient_number = '" PATIENT "' AND service_number = '" CLINIC "'"), 1);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'sent'", 0, WAIT_MS));
	nout = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	ck_assert_int_gt(nout, 0);
	ck_assert_uint_eq(fake_twilio_count(w.ft), (size_t)nout);

	r = fake_twilio_get(w.ft, 0);
	ck_assert_str_eq(r.path, "/2010-04-01/Accounts/ACtest123/Messages.json");
	ck_assert_str_eq(r.authorization, "Basic QUN0ZXN0MTIzOnMzY3JldA==");
	ck_assert_str_eq(r.content_type, "application/x-www-form-urlencoded");
	ck_assert(form_parse(r.body, strlen(r.body), &f, &cause));
	ck_assert_str_eq(form_get(&f, "To"), PATIENT);
	ck_assert_str_eq(form_get(&f, "From"), CLINIC);
	ck_assert_str_eq(form_get(&f, "StatusCallback"), "https://clinic.example.org/sms/status");
	sid = harness_query_text(w.pg, "SELECT body FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1");
	ck_assert_str_eq(form_get(&f, "Body"), sid);
	free(sid);
	form_free(&f);
	fake_twilio_request_free(&r);
	/* The provider's id is recorded for delivery reports. */
	sid = harness_query_text(w.pg, "SELECT provider_sid FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1");
	ck_assert_str_eq(sid, "SMfake0001");
	free(sid);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND status = 'processed' AND processed_at IS NOT NULL"), 1);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_duplicate_sid_answered_once)
{
	struct twilio_world w;
	long long nout;

	world_init(&w, true);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(harness_post_sms(w.gw.port, "SMdup0001", PATIENT, CLINIC, "hello"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	usleep(500 * 1000);  /* give a wrong second answer time to show up */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 1);
	/* One dialogue step ran: the conversation's version counts steps. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT version FROM conversations"), 1);
	nout = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	ck_assert_int_gt(nout, 0);
	ck_assert_uint_eq(fake_twilio_count(w.ft), (size_t)nout);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_retry_then_delivered_once)
{
	static const int script[] = { 500, 429 };
	struct twilio_world w;
	long long nout;
	char *first;

	world_init(&w, true);
	fake_twilio_script(w.ft, script, 2);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMretry01", PATIENT, CLINIC, "hello"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'sent'", 0, WAIT_MS));
	nout = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	/* Two scripted failures, then every message accepted exactly once. */
	ck_assert_uint_eq(fake_twilio_count(w.ft), (size_t)nout + 2);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT attempts FROM outbox ORDER BY id LIMIT 1"), 3);
	first = harness_query_text(w.pg, "SELECT body FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1");
	ck_assert_uint_eq(fake_twilio_count_sent(w.ft, "Body", first), 1);
	free(first);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_permanent_failure_recorded)
{
	static const int script[] = { 400 };
	struct twilio_world w;
	char *status, *error;

	world_init(&w, true);
	fake_twilio_script(w.ft, script, 1);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMfail001", PATIENT, CLINIC, "hello"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	status = harness_query_text(w.pg, "SELECT status FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1");
	error = harness_query_text(w.pg, "SELECT error FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1");
	ck_assert_str_eq(status, "failed");
	ck_assert_msg(strstr(error, "HTTP 400") != NULL, "error was %s", error);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT attempts FROM outbox ORDER BY id LIMIT 1"), 1);
	/* A rejected reply does not block the ones after it. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'done'"),
	    harness_query_int(w.pg, "SELECT count(*) FROM outbox") - 1);
	free(status);
	free(error);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_status_callback)
{
	struct twilio_world w;
	char *status;
	const char *ct = "application/x-www-form-urlencoded";
	const char *delivered = "MessageSid=SMfake0001&MessageStatus=delivered&AccountSid=ACtest123";
	const char *late_sent = "MessageSid=SMfake0001&MessageStatus=sent";
	const char *unknown = "MessageSid=SMnotours&MessageStatus=delivered";

	world_init(&w, true);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMstat001", PATIENT, CLINIC, "hello"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/status", ct, delivered, strlen(delivered), NULL), 200);
	status = harness_query_text(w.pg, "SELECT status FROM messages WHERE provider_sid = 'SMfake0001'");
	ck_assert_str_eq(status, "delivered");
	free(status);
	/* Reports can arrive out of order; a late "sent" does not undo "delivered". */
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/status", ct, late_sent, strlen(late_sent), NULL), 200);
	status = harness_query_text(w.pg, "SELECT status FROM messages WHERE provider_sid = 'SMfake0001'");
	ck_assert_str_eq(status, "delivered");
	free(status);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/status", ct, unknown, strlen(unknown), NULL), 200);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM delivery_reports"), 3);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/status", ct, "MessageSid=SMfake0001&MessageStatus=bogus",
	    41, NULL), 400);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_bad_input_stores_nothing)
{
	struct twilio_world w;
	const char *form = "application/x-www-form-urlencoded";
	char *big = xmalloc(64 * 1024 + 1), *resp = NULL;
	struct {
		const char *ctype, *body;
		long status;
		const char *says;
	} cases[] = {
		{ form, "MessageSid=SMx1&From=%2B15551230001&To=%2B15550001111&Body=%ZZ", 400, "percent" },
		{ form, "MessageSid=SMx2&From=%2B15551230001&To=%2B15550001111&Body=%C3%28", 400, "UTF-8" },
		{ form, "MessageSid=SMx3&To=%2B15550001111&Body=hi", 400, "From" },
		{ form, "From=%2B15551230001&To=%2B15550001111&Body=hi", 400, "MessageSid" },
		{ form, "MessageSid=SMx4&From=not+a+number&To=%2B15550001111&Body=hi", 400, "phone" },
		{ form, "MessageSid=SM%27%3B+drop&From=%2B15551230001&To=%2B15550001111&Body=hi", 400, "message id" },
		{ "application/json", "{\"MessageSid\":\"SMx5\"}", 415, "Content-Type" },
		{ "text/plain", "MessageSid=SMx6&From=%2B15551230001&To=%2B15550001111", 415, "Content-Type" },
	};

	world_init(&w, false);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long status = harness_post(w.gw.port, "/sms/inbound", cases[i].ctype, cases[i].body,
		    strlen(cases[i].body), &resp);

		ck_assert_msg(status == cases[i].status, "case %zu: got %ld, want %ld", i, status, cases[i].status);
		ck_assert_msg(strstr(resp, cases[i].says) != NULL, "case %zu: answer was %s", i, resp);
		free(resp);
	}
	memcpy(big, "Body=", 5);
	memset(big + 5, 'a', 64 * 1024 - 5);
	big[64 * 1024] = '\0';
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", form, big, 64 * 1024, NULL), 413);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", form, big, 20 * 1024, NULL), 413);
	ck_assert_int_eq(harness_get(w.gw.port, "/sms/inbound", NULL), 405);
	ck_assert_int_eq(harness_get(w.gw.port, "/nowhere", NULL), 404);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations"), 0);
	/* The gateway is still healthy and accepts a good message afterwards. */
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMgood001", PATIENT, CLINIC, "hi"), 200);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 1);
	free(big);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_restart_resumes_queued_replies)
{
	static int down[40];
	struct twilio_world w;
	long long nout;

	for (size_t i = 0; i < 40; i++)
		down[i] = 503;
	/* A slow retry (1.5-3 s) so the kill below lands between attempts, not during a send:
	 * a send in flight holds its lease for PROVIDER_TIMEOUT + 30 s (check_faults kills at random points). */
	world_init_env(&w, true, (const char *const[]){ "OUTBOX_BACKOFF_BASE_MS=3000",
	    "OUTBOX_BACKOFF_MAX_MS=3000", NULL });
	fake_twilio_script(w.ft, down, 40);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMrest001", PATIENT, CLINIC, "hello"), 200);
	/* The first failure is recorded (attempt counted, lease released), the retry not yet claimed. */
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM outbox WHERE attempts >= 1 AND lease_until IS NULL "
	    "AND state = 'pending'", 1, WAIT_MS));
	harness_gw_kill(&w.gw);
	fake_twilio_script(w.ft, NULL, 0);  /* the provider is back */
	harness_gw_start(&w.gw);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'sent'", 0, WAIT_MS));
	nout = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT version FROM conversations"), 1);
	/* Each reply was accepted by the provider exactly once. */
	for (long long i = 0; i < nout; i++) {
		char *sql = xasprintf("SELECT body FROM messages WHERE direction = 'out' ORDER BY id OFFSET %lld LIMIT 1", i);
		char *body = harness_query_text(w.pg, sql);

		ck_assert_uint_eq(fake_twilio_count_sent(w.ft, "Body", body), 1);
		free(body);
		free(sql);
	}
	twilio_world_free(&w);
}
END_TEST

/*
 * The step commit leases a conversation's first reply and hands it to the
 * sender; the gateway dies while the provider holds the request. Its lease
 * runs out (made to here, instead of waiting PROVIDER_TIMEOUT_MS + 30 s),
 * and the gateway started again sends it: the row is the durable record,
 * as for a claimed one. The step is not run again.
 */
START_TEST(test_handed_reply_resent_after_crash)
{
	struct twilio_world w;
	long long nout;

	world_init(&w, true);
	fake_twilio_set_delay(w.ft, 10000);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMhand001", PATIENT, CLINIC, "hello"), 200);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM outbox WHERE attempts = 1 AND lease_until > now()",
	    1, WAIT_MS));
	for (int i = 0; i < 100 && fake_twilio_count(w.ft) == 0; i++)
		harness_sleep_ms(50);
	ck_assert_uint_eq(fake_twilio_count(w.ft), 1);
	harness_gw_kill(&w.gw);
	fake_twilio_set_delay(w.ft, 0);
	nout = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	ck_assert_int_ge(nout, 1);
	ck_assert_int_eq(harness_query_int(w.pg, "WITH u AS (UPDATE outbox SET lease_until = now() - interval '1 ms' "
	    "WHERE lease_until IS NOT NULL RETURNING 1) SELECT count(*) FROM u"), 1);
	harness_gw_start(&w.gw);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' AND status <> 'sent'",
	    0, WAIT_MS));
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'"), nout);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'done'"), nout);
	/* The handed reply took a second attempt; the others went once. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT attempts FROM outbox ORDER BY id LIMIT 1"), 2);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE attempts = 1"), nout - 1);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_sandbox_provider_and_health)
{
	struct twilio_world w;
	char *path, *resp = NULL, *line = NULL;
	FILE *f;
	size_t cap = 0;
	long long nout, lines = 0;

	world_init(&w, false);
	/* Ready once a pool connection is open, which may be a moment after /healthz first answered. */
	ck_assert(harness_wait_get(w.gw.port, "/readyz", 200, WAIT_MS));
	ck_assert_int_eq(harness_get(w.gw.port, "/readyz", &resp), 200);
	free(resp);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMsand001", PATIENT, CLINIC, "hello"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'sent'", 0, WAIT_MS));
	nout = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	path = xasprintf("%s/outbox.log", w.gw.var_dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (getline(&line, &cap, f) > 0) {
		ck_assert_msg(strstr(line, "\"to\":\"" PATIENT "\"") != NULL, "line: %s", line);
		lines++;
	}
	ck_assert_int_eq(lines, nout);
	fclose(f);
	free(line);
	free(path);
	/* A clean SIGTERM exits 0. */
	harness_gw_stop_clean(&w.gw);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_twilio_signatures)
{
	struct twilio_world w;
	const char *ct = "application/x-www-form-urlencoded";
	const char *body = "MessageSid=SMsig0001&From=%2B15551230001&To=%2B15550001111&Body=hello";
	char *resp = NULL;

	world_init(&w, true);
	/* Unsigned and wrongly signed requests are refused and store nothing. */
	harness_sign_twilio(NULL, NULL);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", ct, body, strlen(body), &resp), 403);
	ck_assert_msg(strstr(resp, "X-Twilio-Signature") != NULL, "%s", resp);
	free(resp);
	harness_sign_twilio("wrong-token", "https://clinic.example.org");
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", ct, body, strlen(body), NULL), 403);
	/* Signed for another URL: refused too (the URL is part of what is signed). */
	harness_sign_twilio("s3cret", "https://attacker.example.org");
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", ct, body, strlen(body), NULL), 403);
	harness_sign_twilio(NULL, NULL);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/status", ct, "MessageSid=SMx&MessageStatus=sent", 33,
	    NULL), 403);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM delivery_reports"), 0);
	metrics_check_has(w.gw.port, (const char *const[]){ "carenav_webhook_signature_failures_total 4", NULL });
	/* The harness signs right: Twilio's published example (TwilioDevEd api-snippets). */
	resp = harness_twilio_signature("12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2",
	    "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212");
	ck_assert_str_eq(resp, "GvWf1cFY/Q7PnoempGyD5oXAezc=");
	free(resp);
	/* Correctly signed: accepted. */
	harness_sign_twilio("s3cret", "https://clinic.example.org");
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", ct, body, strlen(body), NULL), 200);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 1);
	twilio_world_free(&w);
}
END_TEST

/* Opens a keep-alive connection and sends one GET; returns the fd and the status line's code. */
static int
raw_get(int port, int *status)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *req = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
	char buf[512] = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	ck_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	ck_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	n = read(fd, buf, sizeof buf - 1);
	ck_assert_int_gt(n, 12);
	*status = atoi(buf + 9);
	return fd;
}

/* At MAX_CONNECTIONS the oldest idle keep-alive connection makes room (tests/integration/check_edge_conn.c has the rest). */
START_TEST(test_connection_limit)
{
	static const char *const env[] = { "MAX_CONNECTIONS=2", NULL };
	struct twilio_world w = { 0 };
	int a, b, c, st;
	char buf[16];

	w.conninfo = harness_db_create();
	harness_gw_init(&w.gw, w.conninfo, env);
	harness_gw_start(&w.gw);
	w.pg = harness_db_connect(w.conninfo);
	a = raw_get(w.gw.port, &st);
	ck_assert_int_eq(st, 200);
	b = raw_get(w.gw.port, &st);
	ck_assert_int_eq(st, 200);
	c = raw_get(w.gw.port, &st);
	ck_assert_int_eq(st, 200);
	/* a, the oldest idle connection, was closed for c. */
	ck_assert_int_eq(read(a, buf, sizeof buf), 0);
	close(a);
	close(b);
	close(c);
	usleep(200 * 1000);
	/* Closed connections free their places. */
	metrics_check_has(w.gw.port, (const char *const[]){ "carenav_http_connections_closed_idle_total 1\n",
	    "carenav_http_connections_refused_total 0\n", NULL });
	twilio_world_free(&w);
}
END_TEST

CHECK_RUN_MAIN("gateway", 60, test_reply_delivered_to_twilio, test_duplicate_sid_answered_once,
    test_retry_then_delivered_once, test_permanent_failure_recorded, test_status_callback,
    test_bad_input_stores_nothing, test_restart_resumes_queued_replies, test_handed_reply_resent_after_crash,
    test_sandbox_provider_and_health,
    test_twilio_signatures, test_connection_limit)
