/*
 * check_numbers.c - numbers and what may leave (issue #15), end to end:
 * the real gateway, PostgreSQL and a fake Twilio.
 *   - one patient is one number however it is written (webhooks, staff CLI);
 *     what is not a phone number gets a 400 and nothing is stored;
 *   - OUTBOUND_RATE_PER_SEC caps sending, OUTBOUND_COUNTRIES refuses other
 *     countries for good, and neither holds back an emergency text;
 *   - a provider's error text is stored and logged without the number or
 *     the text it quoted.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "form.h"
#include "harness.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define WAIT_MS 20000
#define RED_FLAG "i lost control of my bladder and my legs are numb"

/* A gateway on the fake Twilio; extra is one more NAME=VALUE setting or NULL. */
static void
world_init(struct twilio_world *w, const char *extra)
{
	twilio_world_start(w, &(struct twilio_world_opts){ .settings = (const char *const[]){ extra, NULL } });
}

static void
sms(struct twilio_world *w, const char *from, const char *body)
{
	ck_assert_int_eq(twilio_world_post_sms(w, 0, from, CLINIC, body), 200);
}

static void
wait_q(struct twilio_world *w, const char *sql, long long want)
{
	ck_assert_msg(harness_wait_int(w->pg, sql, want, WAIT_MS), "never %lld: %s (now %lld); see %s", want, sql,
	    harness_query_int(w->pg, sql), w->gw.log_path);
}

/* A metric's value from /metrics (-1 if absent). */
static long long
metric(struct twilio_world *w, const char *name)
{
	char *text = NULL, *p, *key = xasprintf("\n%s ", name);
	long long v = -1;

	ck_assert_int_eq(harness_get(w->gw.port, "/metrics", &text), 200);
	p = strstr(text, key);
	if (p != NULL)
		v = strtoll(p + strlen(key), NULL, 10);
	free(key);
	free(text);
	return v;
}

START_TEST(test_one_patient_one_number)
{
	struct twilio_world w;
	char *out = NULL, *resp = NULL;
	const char *bad = "MessageSid=SMbad1&From=555-CALL-NOW&To=%2B15550001111&Body=hi";
	long long last;

	world_init(&w, "OPERATOR_TOKENS=nurse:nurse-token-0123456789");
	/* The same phone as Kannel/SMSCs, a tel: URI and an international prefix write it. */
	sms(&w, "15551110003", "hi, my back hurts");
	sms(&w, "tel:+1-555-111-0003", "no");
	sms(&w, "0015551110003", "STOP");
	wait_q(&w, "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NOT NULL", 3);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE patient_number = '+15551110003' "
	    "AND service_number = '" CLINIC "' AND opted_out"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND from_number = '+15551110003'"), 3);
	/* The opt-out holds for the number however it comes next: nothing is queued for it. */
	last = harness_last_message_id(w.pg);
	sms(&w, "+1 (555) 111-0003", "hello?");
	wait_q(&w, "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NOT NULL", 4);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations"), 1);
	{
		char *sql = xasprintf("SELECT count(*) FROM messages WHERE direction = 'out' AND id > %lld "
		    "AND status <> 'suppressed'", last);

		ck_assert_int_eq(harness_query_int(w.pg, sql), 0);
		free(sql);
	}

	/* The operator API finds it by the number written any way. */
	ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/conversations?q=011%201%20555%20111%200003",
	    "nurse-token-0123456789", NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "\"***0003\"") != NULL, "search: %s", resp);
	free(resp);
	resp = NULL;

	/* Not phone numbers: 400 with the reason, nothing stored. */
	last = harness_query_int(w.pg, "SELECT count(*) FROM messages");
	ck_assert_int_eq(twilio_world_post_sms(&w, 0, "hello", CLINIC, "hi"), 400);
	ck_assert_int_eq(twilio_world_post_sms(&w, 0, "+1555123", CLINIC, "hi"), 400);
	ck_assert_int_eq(twilio_world_post_sms(&w, 0, "12345", CLINIC, "hi"), 400);
	ck_assert_int_eq(twilio_world_post_sms(&w, 0, "+15551110004", "clinic", "hi"), 400);
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/inbound", "application/x-www-form-urlencoded", bad,
	    strlen(bad), &resp), 400);
	ck_assert_msg(strstr(resp, "From is not a phone number") != NULL, "answer: %s", resp);
	free(resp);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages"), last);
	/* The clinic's own short code as To is kept. */
	twilio_world_post_sms(&w, 0, "+15551110005", "24680", "hi");
	wait_q(&w, "SELECT count(*) FROM conversations WHERE patient_number = '+15551110005' "
	    "AND service_number = '24680'", 1);

	/* Staff numbers go through the same rules: entered one way, texting another. */
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "staff", "add", "--name", "Nia Nurse", "--phone",
	    "(555) 111-0009", NULL) == 0, "%s", out);
	ck_assert_msg(strstr(out, "+15551110009") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM staff WHERE phone = '+15551110009'"), 1);
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "oncall", "add", "--phone", "15551110009", "--tier", "primary",
	    "--from", "2099-01-01 00:00", "--to", "2099-01-01 08:00", NULL) == 0, "%s", out);
	free(out);
	sms(&w, "0015551110009", "ACK");
	wait_q(&w, "SELECT count(*) FROM conversations WHERE patient_number = '+15551110009' "
	    "AND kind = 'staff'", 1);
	harness_gw_cli_expect(&w.gw, 2, "not a phone number", "staff", "add", "--name", "X", "--phone",
	    "call me", NULL);
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "staff", "remove", "1 555 111 0009", NULL) == 0, "%s", out);
	free(out);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM staff WHERE active"), 0);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_send_cap_spares_emergencies)
{
	struct twilio_world w;
	char from[32];
	long long queued, sent_2s, held, bypassed;
	double t0;

	world_init(&w, "OUTBOUND_RATE_PER_SEC=5");
	/* A burst: 30 numbers text at once. */
	for (int i = 0; i < 30; i++) {
		snprintf(from, sizeof from, "+1555220%04d", i);
		sms(&w, from, "hi");
	}
	/* An emergency behind the burst goes out at once, not in its turn. */
	sms(&w, "+15552209999", RED_FLAG);
	t0 = harness_now_s();
	while (fake_twilio_count_sent(w.ft, "To", "+15552209999") == 0 && harness_now_s() - t0 < 3)
		harness_sleep_ms(20);
	ck_assert_msg(fake_twilio_count_sent(w.ft, "To", "+15552209999") >= 1,
	    "the emergency text waited behind the capped backlog; see %s", w.gw.log_path);
	wait_q(&w, "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NOT NULL", 31);
	queued = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out'");
	ck_assert_int_ge(queued, 31);
	/* At most a second's worth at once, then 5 a second (and the emergency ones on top). */
	harness_sleep_ms(2000);
	sent_2s = (long long)fake_twilio_count(w.ft);
	ck_assert_msg(sent_2s <= 5 + 5 * 3 + 4, "%lld sends in about 2 s with OUTBOUND_RATE_PER_SEC=5", sent_2s);
	ck_assert_msg(sent_2s < queued, "all %lld sent at once", queued);
	held = metric(&w, "carenav_outbound_rate_held_total");
	ck_assert_msg(held > 0, "held: %lld", held);
	/* All of them go out in the end, none counted as a failed attempt. */
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0,
	    (int)(queued / 5 + 15) * 1000));
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT max(attempts) FROM outbox"), 1);
	ck_assert_int_eq((long long)fake_twilio_count(w.ft), queued);
	bypassed = metric(&w, "carenav_outbound_gate_bypassed_total");
	ck_assert_msg(bypassed >= 0, "no bypass counter");
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_country_allow_list)
{
	struct twilio_world w;

	world_init(&w, NULL);  /* OUTBOUND_COUNTRIES unset: country code 1 only */
	sms(&w, "+447700900123", "hi");
	sms(&w, "+15552300001", "hi");
	/* Every reply to it (the welcome is several texts) fails with the reason. */
	wait_q(&w, "SELECT (count(*) > 0 AND count(*) = count(*) FILTER (WHERE status = 'failed' "
	    "AND error LIKE 'refused: destination country not in OUTBOUND_COUNTRIES=1'))::int "
	    "FROM messages WHERE direction = 'out' AND to_number = '+447700900123'", 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.to_number = '+447700900123' AND (o.state <> 'failed' OR o.last_error NOT LIKE '%country%')"), 0);
	wait_q(&w, "SELECT (count(*) > 0)::int FROM messages WHERE to_number = '+15552300001' "
	    "AND status = 'sent'", 1);
	/* Refused for good: never offered to the provider, not retried. */
	harness_sleep_ms(1000);
	ck_assert_uint_eq(fake_twilio_count_sent(w.ft, "To", "+447700900123"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 0);
	ck_assert_int_ge(metric(&w, "carenav_outbound_country_refused_total"), 1);
	/* An emergency instruction reaches a foreign number all the same. */
	sms(&w, "+447700900124", RED_FLAG);
	wait_q(&w, "SELECT (count(*) > 0)::int FROM messages WHERE to_number = '+447700900124' "
	    "AND status = 'sent'", 1);
	ck_assert_uint_ge(fake_twilio_count_sent(w.ft, "To", "+447700900124"), 1);
	ck_assert_int_ge(metric(&w, "carenav_outbound_gate_bypassed_total"), 1);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_provider_error_redacted)
{
	static const int reject[] = { 400 };
	struct twilio_world w;
	char *error, *body, *fragment, *log = NULL, *line = NULL;
	const char *kv[] = { "MessageSid", "SMnotknown1", "MessageStatus", "undelivered", "ErrorCode",
		"30008 carrier said 15557654321 unreachable" };
	char *form = form_encode(kv, 3);
	size_t cap = 0, len;
	FILE *f;

	world_init(&w, NULL);
	fake_twilio_echo_errors(w.ft, true);
	fake_twilio_script(w.ft, reject, 1);
	sms(&w, "+15552400001", "hi");
	wait_q(&w, "SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'failed'", 1);
	error = harness_query_text(w.pg, "SELECT error FROM messages WHERE direction = 'out' AND status = 'failed'");
	body = harness_query_text(w.pg, "SELECT body FROM messages WHERE direction = 'out' AND status = 'failed'");
	fragment = xstrndup(body, 20);
	/* What the provider said, with its code, but not the number nor the text it quoted. */
	ck_assert_msg(strstr(error, "21617") != NULL, "error: %s", error);
	ck_assert_msg(strstr(error, "5552400001") == NULL, "the number is stored: %s", error);
	ck_assert_msg(strstr(error, fragment) == NULL, "the text is stored: %s", error);
	ck_assert_msg(strstr(error, "[message text]") != NULL, "error: %s", error);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM outbox WHERE last_error LIKE '%5552400001%'"), 0);
	/* Nor in the log. */
	f = fopen(w.gw.log_path, "r");
	ck_assert_ptr_nonnull(f);
	while ((len = (size_t)getline(&line, &cap, f)) != (size_t)-1) {
		ck_assert_msg(strstr(line, "5552400001") == NULL, "log: %s", line);
		ck_assert_msg(strstr(line, fragment) == NULL, "log: %s", line);
	}
	fclose(f);
	free(line);
	/* A delivery report's error text is stored masked too. */
	ck_assert_int_eq(harness_post(w.gw.port, "/sms/status", "application/x-www-form-urlencoded", form,
	    strlen(form), &log), 200);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM delivery_reports WHERE error_code LIKE '30008 %' "
	    "AND error_code NOT LIKE '%5557654321%' AND error_code LIKE '%***4321%'"), 1);
	free(log);
	free(form);
	free(fragment);
	free(body);
	free(error);
	twilio_world_free(&w);
}
END_TEST

/* Runs carenav doctor with env; asserts its exit status and that its report says each of want (NULL-terminated). */
static void
doctor_says(const char *conninfo, const char *const *env, int status, const char *const *want)
{
	struct harness_gw gw;
	char *out = NULL;

	harness_gw_init(&gw, conninfo, env);
	ck_assert_msg(harness_gw_cli(&gw, &out, "doctor", NULL) == status, "%s", out);
	for (; *want != NULL; want++)
		ck_assert_msg(strstr(out, *want) != NULL, "no '%s' in:\n%s", *want, out);
	free(out);
	harness_gw_free(&gw);
}

/* carenav doctor on the send gate's settings and on numbers stored before normalising. */
START_TEST(test_doctor_outbound)
{
	char *conninfo = harness_db_create();
	struct harness_gw gw;
	/* No shifts here: without a fallback, doctor fails on the on-call gap (check_emergency). */
#define FALLBACK "ESCALATION_FALLBACK_NUMBER=+15550009999"
	const char *all[] = { "OUTBOUND_COUNTRIES=*", FALLBACK, NULL };
	const char *none[] = { FALLBACK, NULL };
	const char *foreign[] = { "OUTBOUND_COUNTRIES=44", FALLBACK, NULL };
	const char *good[] = { "OUTBOUND_COUNTRIES=1,52", FALLBACK, NULL };
	const char *bad[] = { "OUTBOUND_COUNTRIES=US", FALLBACK, NULL };
#undef FALLBACK
	PGconn *pg;

	harness_gw_init(&gw, conninfo, all);
	ck_assert_int_eq(harness_gw_cli(&gw, NULL, "migrate", NULL), 0);
	harness_gw_free(&gw);
	doctor_says(conninfo, all, 0, (const char *const[]){
	    "warn  outbound: OUTBOUND_COUNTRIES=* lets texts go to every country",
	    "ok    numbers: every stored number is in E.164", NULL });

	pg = harness_db_connect(conninfo);
	PQclear(PQexec(pg, "INSERT INTO conversations (patient_number, service_number) "
	    "VALUES ('5551110003', '+15550001111')"));
	doctor_says(conninfo, none, 0, (const char *const[]){
	    "warn  outbound: OUTBOUND_COUNTRIES is empty, so texts go to +1",
	    "warn  numbers: 1 conversation(s) and 0 staff", NULL });
	doctor_says(conninfo, foreign, 0, (const char *const[]){
	    "warn  outbound: OUTBOUND_COUNTRIES=44 leaves out +1", NULL });
	doctor_says(conninfo, good, 0, (const char *const[]){
	    "ok    outbound: texts may go to calling code(s) 1,52", NULL });
	doctor_says(conninfo, bad, 1, (const char *const[]){ "FAIL  configuration: OUTBOUND_COUNTRIES", NULL });
	PQfinish(pg);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("numbers", 240, test_one_patient_one_number, test_send_cap_spares_emergencies,
    test_country_allow_list, test_provider_error_redacted, test_doctor_outbound)
