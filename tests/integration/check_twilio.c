/*
 * check_twilio.c - Twilio's conventions (issue #15), through the real
 * gateway, the fake Twilio API and PostgreSQL.
 *
 * Every MessageStatus is answered 2xx and the final ones follow a defined
 * order; error 21610 opts the patient out; OptOutType and Advanced Opt-Out;
 * PUBLIC_BASE_URL with a trailing "/" and signatures over the URL with the
 * default port; Retry-After on 429/503; a 201 "queued" recorded as queued;
 * sending through a Messaging Service.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "form.h"
#include "harness.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define PATIENT "+15551230001"
#define CLINIC "+15550001111"
#define BASE "https://clinic.example.org"
#define FORM "application/x-www-form-urlencoded"
#define WAIT_MS 15000
#define SERVICE_SID "MG0123456789abcdef0123456789abcdef"

/* The fake Twilio and a gateway at BASE; extra: more NAME=value settings (later win), or NULL. */
static void
world_init(struct twilio_world *w, const char *const *extra)
{
	twilio_world_start(w, &(struct twilio_world_opts){ .base_url = BASE, .settings = extra });
}

/* The patient texts "hello" as message sid, and the gateway's reply has left the queue. */
static void
patient_hello_settled(struct twilio_world *w, const char *sid)
{
	ck_assert_int_eq(harness_post_sms(w->gw.port, sid, PATIENT, CLINIC, "hello"), 200);
	twilio_world_wait_settled(w, WAIT_MS);
}

/* Posts a status callback; returns the HTTP status. */
static long
post_status(struct twilio_world *w, const char *sid, const char *status, const char *error_code)
{
	const char *kv[] = { "MessageSid", sid, "MessageStatus", status, "ErrorCode", error_code };
	char *body = form_encode(kv, error_code ? 3 : 2);
	long st = harness_post(w->gw.port, "/sms/status", FORM, body, strlen(body), NULL);

	free(body);
	return st;
}

/* Posts an inbound text with Twilio's OptOutType (NULL: none). */
static long
post_sms_opt(struct twilio_world *w, const char *sid, const char *body, const char *opt_out_type)
{
	const char *kv[] = { "MessageSid", sid, "From", PATIENT, "To", CLINIC, "Body", body,
		"OptOutType", opt_out_type };
	char *form = form_encode(kv, opt_out_type ? 5 : 4);
	long st = harness_post(w->gw.port, "/sms/inbound", FORM, form, strlen(form), NULL);

	free(form);
	return st;
}

static char *
msg_field(struct twilio_world *w, const char *field, const char *sid)
{
	char *sql = xasprintf("SELECT coalesce(%s, '-') FROM messages WHERE direction = 'out' "
	    "AND provider_sid = '%s'", field, sid);
	char *v = harness_query_text(w->pg, sql);

	free(sql);
	return v;
}

static void
assert_msg(struct twilio_world *w, const char *sid, const char *status, const char *error)
{
	char *s = msg_field(w, "status", sid), *e = msg_field(w, "error", sid);

	ck_assert_msg(strcmp(s, status) == 0 && strcmp(e, error) == 0, "%s: status %s error %s, want %s %s",
	    sid, s, e, status, error);
	free(s);
	free(e);
}

/* One status callback and what the message shows after it. */
struct status_step {
	const char *posted;     /* MessageStatus */
	const char *error_code; /* ErrorCode, or NULL for none */
	const char *status;     /* the message's status after it; NULL: not checked */
	const char *error;      /* and its error ("-" for none) */
};

/* Posts each step's callback for sid (each answered 200) and checks what the message shows. */
static void
post_steps(struct twilio_world *w, const char *sid, const struct status_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(post_status(w, sid, steps[i].posted, steps[i].error_code), 200);
		if (steps[i].status != NULL)
			assert_msg(w, sid, steps[i].status, steps[i].error);
	}
}

/* Every one of Twilio's 13 statuses gets a 2xx (a 4xx makes Twilio retry and alert). */
START_TEST(test_every_status_answered)
{
	static const char *const all[] = { "accepted", "scheduled", "canceled", "queued", "sending",
		"sent", "failed", "delivered", "undelivered", "receiving", "received", "read",
		"partially_delivered" };
	struct twilio_world w;

	world_init(&w, NULL);
	patient_hello_settled(&w, "SMord01");
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		long st = post_status(&w, "SMnotours", all[i], NULL);

		ck_assert_msg(st == 200, "MessageStatus=%s answered %ld", all[i], st);
	}
	ck_assert_int_eq(post_status(&w, "SMfake0001", "bogus", NULL), 400);
	twilio_world_free(&w);
}
END_TEST

/* The order of final statuses (docs/api.md): delivered beats failed and clears its error. */
START_TEST(test_status_order)
{
	static const struct status_step order_steps[] = {
		/* failed with 30008, then the carrier delivers after all: delivered wins, the error goes. */
		{ "failed", "30008", "failed", "30008" },
		{ "delivered", NULL, "delivered", "-" },
		/* A late undelivered (or failed, or sent) does not undo delivered. */
		{ "undelivered", "30005", "delivered", "-" },
		{ "failed", "30008", "delivered", "-" },
		/* Statuses of inbound messages move nothing. */
		{ "received", NULL, NULL, NULL },
		{ "receiving", NULL, "delivered", "-" },
		{ "read", NULL, "read", "-" },
		{ "delivered", NULL, "read", "-" },
	};
	struct twilio_world w;

	world_init(&w, NULL);
	patient_hello_settled(&w, "SMord02");
	post_steps(&w, "SMfake0001", order_steps, sizeof order_steps / sizeof order_steps[0]);
	twilio_world_free(&w);
}
END_TEST

/* 21610 on an ordinary reply: the patient is opted out, their other queued replies dropped. */
START_TEST(test_unsubscribed_opts_out)
{
	const int script[] = { 400 };
	struct twilio_world w;
	long long replies, before;

	world_init(&w, NULL);
	fake_twilio_set_error_code(w.ft, 21610);
	fake_twilio_script(w.ft, script, 1);
	/* The first reply is still at Twilio when the second text's reply is queued behind it. */
	fake_twilio_set_delay(w.ft, 1500);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMuns01", PATIENT, CLINIC, "my back hurts"), 200);
	harness_sleep_ms(300);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMuns01b", PATIENT, CLINIC, "no"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	fake_twilio_set_delay(w.ft, 0);
	replies = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	ck_assert_int_ge(replies, 2);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'failed' "
	    "AND last_error LIKE '%21610%'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out "
	    "AND (state->>'opted_out')::boolean"), 1);
	/* Only the refused one reached Twilio; the rest were suppressed, not sent. */
	ck_assert_uint_eq(fake_twilio_count(w.ft), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'suppressed'"),
	    replies - 1);
	/* The dialogue is silent now, until START. */
	before = (long long)fake_twilio_count(w.ft);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMuns02", PATIENT, CLINIC, "hello?"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq((long long)fake_twilio_count(w.ft), before);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMuns03", PATIENT, CLINIC, "START"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 0);
	ck_assert_int_gt((long long)fake_twilio_count(w.ft), before);
	twilio_world_free(&w);
}
END_TEST

/* OptOutType decides: REVOKE/OPTOUT opt out, YES opts in, when Twilio says so. */
START_TEST(test_opt_out_type)
{
	struct twilio_world w;
	long long confirmations;

	world_init(&w, NULL);
	ck_assert_int_eq(post_sms_opt(&w, "SMopt01", "hello", NULL), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	/* Not words of our flow, but Twilio took it as an opt-out. */
	ck_assert_int_eq(post_sms_opt(&w, "SMopt02", "REVOKE", "STOP"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND provider_sid = 'SMopt02' AND opt_out_type = 'STOP'"), 1);
	/* Without Advanced Opt-Out carenav confirms itself (compliance texts, sent). */
	confirmations = harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE compliance AND state = 'done'");
	ck_assert_int_gt(confirmations, 0);
	ck_assert_int_eq(post_sms_opt(&w, "SMopt03", "YES", "START"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 0);
	ck_assert_int_gt(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE compliance"), confirmations);
	/* OPTOUT, and OptOutType in any case. */
	ck_assert_int_eq(post_sms_opt(&w, "SMopt04", "OPTOUT", "stop"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 1);
	twilio_world_free(&w);
}
END_TEST

/* OptOutType survives the spool: a text taken while the database is missing keeps it. */
START_TEST(test_opt_out_type_through_the_spool)
{
	char *admin = xasprintf("host=%s dbname=postgres user=carenav", getenv("CARENAV_TEST_PGHOST"));
	char *name = xasprintf("t_spool_%d_%ld", (int)getpid(), (long)time(NULL)), *sql, *conninfo;
	struct twilio_world w;
	PGconn *pg;

	conninfo = xasprintf("host=%s dbname=%s user=carenav", getenv("CARENAV_TEST_PGHOST"), name);
	/* The database does not exist yet: every text goes to the spool. */
	twilio_world_start(&w, &(struct twilio_world_opts){ .base_url = BASE, .conninfo = conninfo });
	free(conninfo);
	ck_assert_int_eq(post_sms_opt(&w, "SMspool1", "REVOKE", "STOP"), 200);
	pg = harness_db_connect(admin);
	sql = xasprintf("CREATE DATABASE %s", name);
	PQclear(PQexec(pg, sql));
	PQfinish(pg);
	w.pg = harness_db_connect(w.conninfo);
	ck_assert_msg(harness_wait_int(w.pg, "SELECT count(*) FROM information_schema.tables "
	    "WHERE table_name = 'conversations'", 1, WAIT_MS), "never migrated; see %s", w.gw.log_path);
	ck_assert_msg(harness_wait_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out", 1, 30000),
	    "the spooled STOP was not honoured; see %s", w.gw.log_path);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE provider_sid = "
	    "'SMspool1' AND opt_out_type = 'STOP'"), 1);
	twilio_world_free(&w);
	free(sql);
	free(name);
	free(admin);
}
END_TEST

/* With Advanced Opt-Out Twilio confirms; ours would be refused with 21610, so none is sent. */
START_TEST(test_advanced_opt_out_no_confirmation)
{
	const char *extra[] = { "TWILIO_ADVANCED_OPT_OUT=1", NULL };
	struct twilio_world w;
	size_t before;

	world_init(&w, extra);
	ck_assert_int_eq(post_sms_opt(&w, "SMadv01", "hello", NULL), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	before = fake_twilio_count(w.ft);
	ck_assert_int_eq(post_sms_opt(&w, "SMadv02", "STOP", "STOP"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 1);
	ck_assert_uint_eq(fake_twilio_count(w.ft), before);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE compliance"), 0);
	ck_assert_int_eq(post_sms_opt(&w, "SMadv03", "START", "START"), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE compliance"), 0);
	/* A stop word Twilio did not flag (Spanish ALTO): ours is the only confirmation, so it goes. */
	ck_assert_int_eq(post_sms_opt(&w, "SMadv04", "ALTO", NULL), 200);
	twilio_world_wait_settled(&w, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 1);
	ck_assert_int_gt(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE compliance"), 0);
	twilio_world_free(&w);
}
END_TEST

/* PUBLIC_BASE_URL=".../": signatures still match and the callback URL has one "/". */
START_TEST(test_public_base_url_normalised)
{
	const char *extra[] = { "PUBLIC_BASE_URL=" BASE "/", NULL };
	struct twilio_world w;
	struct fake_twilio_request r;
	struct form f;
	char *cause = NULL;

	world_init(&w, extra);
	patient_hello_settled(&w, "SMurl01");
	r = fake_twilio_get(w.ft, 0);
	ck_assert(form_parse(r.body, strlen(r.body), &f, &cause));
	ck_assert_str_eq(form_get(&f, "StatusCallback"), BASE "/sms/status");
	form_free(&f);
	fake_twilio_request_free(&r);
	/* Twilio may sign the URL with the default port; its validators accept both. */
	harness_sign_twilio("s3cret", "https://clinic.example.org:443");
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMurl02", PATIENT, CLINIC, "hi"), 200);
	harness_sign_twilio("s3cret", "https://clinic.example.org:8443");
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMurl03", PATIENT, CLINIC, "hi"), 403);
	harness_sign_twilio("s3cret", BASE);
	twilio_world_free(&w);
}
END_TEST

/* A configured port: the signature over the URL without it is accepted too. */
START_TEST(test_signature_without_port)
{
	const char *extra[] = { "PUBLIC_BASE_URL=https://clinic.example.org:443/carenav/", NULL };
	struct twilio_world w;

	world_init(&w, extra);
	harness_sign_twilio("s3cret", "https://clinic.example.org/carenav");
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMport1", PATIENT, CLINIC, "hello"), 200);
	harness_sign_twilio("s3cret", "https://clinic.example.org:443/carenav");
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMport2", PATIENT, CLINIC, "hello"), 200);
	harness_sign_twilio("s3cret", BASE);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMport3", PATIENT, CLINIC, "hello"), 403);
	twilio_world_free(&w);
}
END_TEST

/* Retry-After on 429 (seconds) and 503 (an HTTP date) sets the delay, not our backoff. */
START_TEST(test_retry_after)
{
	/* Our own backoff would wait 60-120 s. */
	const char *extra[] = { "OUTBOX_BACKOFF_BASE_MS=120000", "OUTBOX_BACKOFF_MAX_MS=600000", NULL };
	const int script[] = { 429, 503 };
	struct twilio_world w;
	struct fake_twilio_request a, b, c;
	char date[64];
	time_t later;
	struct tm tm;

	world_init(&w, extra);
	fake_twilio_set_retry_after(w.ft, "1");
	fake_twilio_script(w.ft, script, 1);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMra01", PATIENT, CLINIC, "hello"), 200);
	ck_assert_msg(harness_wait_int(w.pg, "SELECT (count(*) > 0)::int FROM outbox WHERE state = 'done'", 1, 10000),
	    "Retry-After: 1 not honoured; see %s", w.gw.log_path);
	a = fake_twilio_get(w.ft, 0);
	b = fake_twilio_get(w.ft, 1);
	ck_assert_int_eq(a.answered, 429);
	ck_assert_msg(b.at_s - a.at_s >= 0.9 && b.at_s - a.at_s < 8, "retried after %.2f s", b.at_s - a.at_s);
	twilio_world_wait_settled(&w, WAIT_MS);

	later = time(NULL) + 4;
	gmtime_r(&later, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	fake_twilio_set_retry_after(w.ft, date);
	fake_twilio_script(w.ft, script + 1, 1);
	ck_assert_int_eq(harness_post_sms(w.gw.port, "SMra02", PATIENT, CLINIC, "MENU"), 200);
	ck_assert_msg(harness_wait_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'pending' "
	    "AND last_error LIKE 'HTTP 503%'", 1, 10000), "no 503 recorded; see %s", w.gw.log_path);
	ck_assert_msg(harness_wait_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, 15000),
	    "Retry-After: %s not honoured; see %s", date, w.gw.log_path);
	for (size_t i = 0; i < fake_twilio_count(w.ft); i++) {
		c = fake_twilio_get(w.ft, i);
		if (c.answered == 503) {
			struct fake_twilio_request d = fake_twilio_get(w.ft, i + 1);

			/* The date has whole seconds: 3 to 4 s after the 503. */
			ck_assert_msg(d.at_s - c.at_s >= 2 && d.at_s - c.at_s < 12, "retried after %.2f s",
			    d.at_s - c.at_s);
			fake_twilio_request_free(&d);
		}
		fake_twilio_request_free(&c);
	}
	fake_twilio_request_free(&a);
	fake_twilio_request_free(&b);
	twilio_world_free(&w);
}
END_TEST

/* 201 "queued" is recorded as queued, and the status callback moves it on. */
START_TEST(test_created_queued)
{
	static const struct status_step queued_steps[] = {
		{ "sending", NULL, "sending", "-" },
		{ "sent", NULL, "sent", "-" },
		{ "queued", NULL, "sent", "-" },
	};
	struct twilio_world w;

	world_init(&w, NULL);
	fake_twilio_set_created_status(w.ft, "queued");
	patient_hello_settled(&w, "SMq01");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status = 'queued' AND provider_sid = 'SMfake0001'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status = 'sent'"), 0);
	post_steps(&w, "SMfake0001", queued_steps, sizeof queued_steps / sizeof queued_steps[0]);
	twilio_world_free(&w);
}
END_TEST

/* TWILIO_MESSAGING_SERVICE_SID: MessagingServiceSid instead of From; "accepted" recorded. */
START_TEST(test_messaging_service)
{
	const char *extra[] = { "TWILIO_MESSAGING_SERVICE_SID=" SERVICE_SID, NULL };
	struct twilio_world w;
	struct fake_twilio_request r;
	struct form f;
	char *cause = NULL;

	world_init(&w, extra);
	fake_twilio_set_created_status(w.ft, "accepted");
	patient_hello_settled(&w, "SMsvc01");
	r = fake_twilio_get(w.ft, 0);
	ck_assert(form_parse(r.body, strlen(r.body), &f, &cause));
	ck_assert_str_eq(form_get(&f, "MessagingServiceSid"), SERVICE_SID);
	ck_assert_ptr_null(form_get(&f, "From"));
	ck_assert_str_eq(form_get(&f, "To"), PATIENT);
	form_free(&f);
	fake_twilio_request_free(&r);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'accepted'"), 0);
	twilio_world_free(&w);
}
END_TEST

CHECK_RUN_MAIN("twilio", 60, test_every_status_answered, test_status_order, test_unsubscribed_opts_out,
    test_opt_out_type, test_advanced_opt_out_no_confirmation, test_opt_out_type_through_the_spool,
    test_public_base_url_normalised, test_signature_without_port, test_retry_after, test_created_queued,
    test_messaging_service)
