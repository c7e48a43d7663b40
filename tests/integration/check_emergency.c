/*
 * check_emergency.c - an emergency survives every failure (issue #17): the
 * real gateway, PostgreSQL, and a fake Twilio API switched per number (a
 * patient who cannot be reached, a dead staff number, a provider outage, a
 * gateway killed mid-send, nobody on call). Every case asserts that the
 * 911 instruction reaches the patient exactly once and that pages stop at
 * the ACK, and records in the build's reliability.md how long the instruction and
 * the first page took from the red flag.
 *
 * The gateways run with the production sweep interval and backoff (1 s,
 * 1 s..300 s), not the harness's fast ones, so the times are realistic.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "harness.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15553000100"
#define PATIENT2 "+15553000101"
#define PRIMARY "+15553000001"
#define BACKUP "+15553000002"
#define FALLBACK "+15553000999"
#define INSTRUCTION "Please call 911 now"
#define TOKEN "ops-token-0123456789abcdef"
#define WAIT_MS 30000
#define RED_FLAG "my back hurts and i lost control of my bladder and my legs are numb"

struct world {
	struct twilio_world tw;
	double t0;  /* when the red flag was posted (harness_now_s) */
};

/* Starts a gateway on Twilio; extra settings (NULL-terminated) win over the defaults here. */
static void
world_init(struct world *w, const char *ack_timeout_s, bool fallback, bool staffed, const char *const *extra)
{
	char *ack = xasprintf("ESCALATION_ACK_TIMEOUT=%s", ack_timeout_s);
	const char *settings[20] = { ack, fallback ? "ESCALATION_FALLBACK_NUMBER=" FALLBACK :
	    "ESCALATION_FALLBACK_NUMBER=", "OPERATOR_TOKENS=ops:" TOKEN, "SWEEP_INTERVAL_MS=1000",
	    "OUTBOX_BACKOFF_BASE_MS=1000", "OUTBOX_BACKOFF_MAX_MS=300000" };
	size_t n = 6;

	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		settings[n++] = extra[i];
	ck_assert_uint_lt(n, sizeof settings / sizeof settings[0]);
	memset(w, 0, sizeof *w);
	twilio_world_start(&w->tw, &(struct twilio_world_opts){ .settings = settings });
	free(ack);
	if (!staffed)
		return;
	ck_assert_int_eq(harness_gw_cli(&w->tw.gw, NULL, "staff", "add", "--name", "Pat Primary", "--phone",
	    PRIMARY, NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&w->tw.gw, NULL, "staff", "add", "--name", "Bea Backup", "--phone",
	    BACKUP, NULL), 0);
	twilio_world_on_call(&w->tw, PRIMARY, BACKUP, "UTC");
}

static void
world_free(struct world *w)
{
	twilio_world_free(&w->tw);
}

static void
sms(struct world *w, const char *from, const char *body)
{
	ck_assert_int_eq(twilio_world_post_sms(&w->tw, 0, from, CLINIC, body), 200);
}

static void
red_flag(struct world *w, const char *from)
{
	w->t0 = harness_now_s();
	sms(w, from, RED_FLAG);
}

/* How many texts to `to` the provider accepted that contain needle. */
static int
count_bodies(struct world *w, const char *to, const char *needle)
{
	char *all = fake_twilio_bodies_to(w->tw.ft, to), *p = all;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	free(all);
	return n;
}

/* Waits until the provider accepted a text to `to` containing needle; seconds since the red flag. */
static double
wait_body(struct world *w, const char *to, const char *needle, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (count_bodies(w, to, needle) > 0)
			return harness_now_s() - w->t0;
		usleep(20 * 1000);
	}
	ck_abort_msg("%s never got \"%s\"; see %s", to, needle, w->tw.gw.log_path);
	return 0;
}

/* Waits until `to` has had at least n message requests (whatever the answer). */
static void
wait_requests_to(struct world *w, const char *to, size_t n, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (fake_twilio_count_to(w->tw.ft, to) >= n)
			return;
		usleep(20 * 1000);
	}
	ck_abort_msg("%s never got %zu requests; see %s", to, n, w->tw.gw.log_path);
}

static char *
escalation_code(struct world *w, const char *patient)
{
	char *sql = xasprintf("SELECT e.code FROM escalations e JOIN conversations c ON c.id = e.conversation_id "
	    "WHERE c.patient_number = '%s' ORDER BY e.id DESC LIMIT 1", patient);
	char *code;

	ck_assert(harness_wait_int(w->tw.pg, "SELECT count(*) FROM escalations", 1, WAIT_MS) ||
	    harness_query_int(w->tw.pg, "SELECT count(*) FROM escalations") > 0);
	code = harness_query_text(w->tw.pg, sql);
	free(sql);
	return code;
}

/* One row of docs/reliability.md: red flags from patients whose numbers match like_pattern. */
static void
report_like(const char *scenario, struct world *w, const char *like_pattern, int red_flags, double t_instruction,
    double t_page, const char *what)
{
	char *notes, *sql;
	long stored, instr_ms, page_ms;
	int delivered = 0;

	/* The times from the database: first red flag stored -> the provider accepted (passed values if none). */
	sql = xasprintf("SELECT coalesce((extract(epoch FROM (SELECT min(status_updated_at) FROM messages "
	    "WHERE direction = 'out' AND body LIKE '" INSTRUCTION "%%' AND to_number LIKE '%s' "
	    "AND status IN ('sent', 'delivered')) - (SELECT min(created_at) FROM messages WHERE direction = 'in' "
	    "AND from_number LIKE '%s')) * 1000)::bigint, -1)", like_pattern, like_pattern);
	instr_ms = harness_query_int(w->tw.pg, sql);
	free(sql);
	sql = xasprintf("SELECT coalesce((extract(epoch FROM (SELECT min(at) FROM escalation_events "
	    "WHERE event = 'alert_sent') - (SELECT min(created_at) FROM messages WHERE direction = 'in' "
	    "AND from_number LIKE '%s')) * 1000)::bigint, -1)", like_pattern);
	page_ms = harness_query_int(w->tw.pg, sql);
	free(sql);
	{
		double ti = instr_ms >= 0 ? instr_ms / 1000.0 : t_instruction, tp = page_ms >= 0 ? page_ms / 1000.0 : t_page;
		char *a = ti >= 0 ? xasprintf("%.2f s", ti) : xstrdup("none"), *b = tp >= 0 ? xasprintf("%.2f s", tp) :
		    xstrdup("none");

		notes = xasprintf("%s; red flag to first delivered instruction %s, to first delivered page %s", what, a, b);
		free(a);
		free(b);
	}
	sql = xasprintf("SELECT count(*) FROM messages WHERE direction = 'in' AND to_number = '" CLINIC "' "
	    "AND from_number LIKE '%s'", like_pattern);
	stored = harness_query_int(w->tw.pg, sql);

	free(sql);
	sql = xasprintf("SELECT DISTINCT patient_number FROM conversations WHERE patient_number LIKE '%s'", like_pattern);
	{
		PGresult *res = PQexec(w->tw.pg, sql);

		for (int i = 0; i < PQntuples(res); i++)
			delivered += count_bodies(w, PQgetvalue(res, i, 0), INSTRUCTION);
		PQclear(res);
	}
	free(sql);
	harness_report_row(scenario, red_flags, stored, delivered > red_flags ? red_flags : delivered,
	    delivered > red_flags ? delivered - red_flags : 0, delivered < red_flags ? red_flags - delivered : 0, notes);
	free(notes);
}

static void
report(const char *scenario, struct world *w, int red_flags, double t_instruction, double t_page, const char *what)
{
	report_like(scenario, w, "+155530001__", red_flags, t_instruction, t_page, what);
}

/*
 * 1. The patient's number is down when the red flag comes, and they text
 * STOP while the instruction waits: it is retried past OUTBOX_MAX_ATTEMPTS
 * and still delivered, once, first; so is "a nurse will call" after the ACK.
 */
START_TEST(test_stop_while_instruction_waits)
{
	static const char *const extra[] = { "OUTBOX_MAX_ATTEMPTS=3", "OUTBOX_URGENT_BACKOFF_MAX_MS=2000", NULL };
	struct world w;
	char *code, *ack, *all;
	double t_page, t_instr, t_back;

	world_init(&w, "5", true, true, extra);
	fake_twilio_number(w.tw.ft, PATIENT, 503, 0);
	red_flag(&w, PATIENT);
	t_page = wait_body(&w, PRIMARY, "ALERT", WAIT_MS);
	wait_requests_to(&w, PATIENT, 1, WAIT_MS);
	sms(&w, PATIENT, "STOP");
	/* Round 2: the backup's page says the 911 text has not arrived, with the number to call. */
	wait_body(&w, BACKUP, "has not reached the patient yet (retrying): call " PATIENT, WAIT_MS);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM conversations WHERE patient_number = '" PATIENT "' "
	    "AND opted_out", 1, WAIT_MS));
	/* More attempts than OUTBOX_MAX_ATTEMPTS, and it is still waiting, not failed or suppressed. */
	wait_requests_to(&w, PATIENT, 5, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.body LIKE '" INSTRUCTION "%' AND o.state = 'pending' AND o.urgent"), 1);
	/* The primary takes it; the patient is still unreachable. */
	code = escalation_code(&w, PATIENT);
	ack = xasprintf("ACK %s", code);
	sms(&w, PRIMARY, ack);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged'", 1, WAIT_MS));
	/* The patient's phone comes back. */
	t_back = harness_now_s() - w.t0;
	fake_twilio_number(w.tw.ft, PATIENT, 0, 0);
	t_instr = wait_body(&w, PATIENT, INSTRUCTION, WAIT_MS);
	wait_body(&w, PATIENT, "A nurse has your message", WAIT_MS);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM outbox o JOIN conversations c ON c.id = o.conversation_id "
	    "WHERE c.patient_number = '" PATIENT "' AND o.state = 'pending'", 0, WAIT_MS));
	all = fake_twilio_bodies_to(w.tw.ft, PATIENT);
	/* Exactly once each, the instruction first; the STOP confirmation; nothing else. */
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 1);
	ck_assert_int_eq(count_bodies(&w, PATIENT, "A nurse has your message"), 1);
	ck_assert_msg(strncmp(all, INSTRUCTION, strlen(INSTRUCTION)) == 0, "patient got: %s", all);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE to_number = '" PATIENT "' AND "
	    "status = 'suppressed'"), 0);
	ck_assert_int_le(count_bodies(&w, PATIENT, "You will not get more texts"), 1);
	report("emergency: patient unreachable, texts STOP while the 911 text waits", &w, 1, t_instr, t_page,
	    "the patient's number answered 503 from the red flag on; they texted STOP; round 2's page told the backup "
	    "the 911 text had not arrived, with the number to call; the primary ACKed, the number came back after "
	    "the 911 text's 5th+ attempt (OUTBOX_MAX_ATTEMPTS=3): 911 text and \"a nurse will call\" each delivered "
	    "once, the 911 text first; 0 suppressed");
	(void)t_back;
	free(all);
	free(ack);
	free(code);
	world_free(&w);
}
END_TEST

/* 1b. The provider refuses the instruction (21610): staff are told at once, with the number to call. */
START_TEST(test_instruction_refused_tells_staff)
{
	struct world w;
	char *resp = NULL;
	double t_page, t_notice;

	world_init(&w, "30", true, true, NULL);
	fake_twilio_number(w.tw.ft, PATIENT, 400, 21610);
	red_flag(&w, PATIENT);
	t_page = wait_body(&w, PRIMARY, "ALERT", WAIT_MS);
	t_notice = wait_body(&w, PRIMARY, PATIENT, WAIT_MS);
	ck_assert_msg(t_notice < 5.0, "the primary heard of the failed 911 text after %.1f s", t_notice);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = "
	    "'patient_unreachable' AND detail LIKE '%" PATIENT "%'"), 1);
	/* The console sees it among the escalation's problems. */
	ck_assert_int_eq(harness_api(w.tw.gw.port, "GET", "/api/escalations", TOKEN, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "patient_unreachable") && strstr(resp, PATIENT), "%s", resp);
	free(resp);
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 0);

	/* A second patient's 911 text is accepted, then reported undelivered: the same. */
	sms(&w, PATIENT2, RED_FLAG);
	wait_body(&w, PATIENT2, INSTRUCTION, WAIT_MS);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM messages WHERE to_number = '" PATIENT2 "' "
	    "AND body LIKE '" INSTRUCTION "%' AND provider_sid IS NOT NULL", 1, WAIT_MS));
	{
		char *sid = harness_query_text(w.tw.pg, "SELECT provider_sid FROM messages WHERE to_number = '" PATIENT2 "' "
		    "AND body LIKE '" INSTRUCTION "%'");
		char *form = xasprintf("MessageSid=%s&MessageStatus=undelivered&ErrorCode=30003", sid);

		ck_assert_int_eq(harness_post(w.tw.gw.port, "/sms/status", "application/x-www-form-urlencoded", form,
		    strlen(form), NULL), 200);
		free(form);
		free(sid);
	}
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'patient_unreachable' "
	    "AND detail LIKE '%" PATIENT2 "%30003%'", 1, WAIT_MS));
	/* Its page (held a moment: the primary was just paged) or a notice carries the number to call. */
	wait_body(&w, PRIMARY, PATIENT2, WAIT_MS);
	report_like("emergency: provider refuses the 911 text (21610)", &w, PATIENT, 1, t_notice, t_page,
	    "the 911 text cannot be delivered (counted lost); the primary got the patient's number to call "
	    "(time in the instruction column: red flag to that notice); a second patient's 911 text reported "
	    "undelivered (30003) by a status callback told the primary the same way");
	world_free(&w);
}
END_TEST

/*
 * 2. The primary's number is dead (21211): the backup is paged within one
 * sweep of the refusal, not after the ACK timeout, and later rounds and
 * escalations skip the dead number; staff list, /metrics, the API and
 * doctor show it; editing the staff member clears it.
 */
START_TEST(test_dead_primary_number)
{
	struct world w;
	char *out = NULL, *resp = NULL, *code, *ack;
	double t_page, t_instr;
	long long gap_ms;

	world_init(&w, "30", true, true, NULL);
	fake_twilio_number(w.tw.ft, PRIMARY, 400, 21211);
	red_flag(&w, PATIENT);
	t_instr = wait_body(&w, PATIENT, INSTRUCTION, WAIT_MS);
	t_page = wait_body(&w, BACKUP, "ALERT", WAIT_MS);
	ck_assert_msg(t_page < 5.0, "backup paged %.1f s after the red flag (ACK timeout 30 s)", t_page);
	gap_ms = harness_query_int(w.tw.pg, "SELECT (extract(epoch FROM "
	    "(SELECT min(at) FROM escalation_events WHERE event = 'alert_sent' AND detail = '" BACKUP "') - "
	    "(SELECT min(at) FROM escalation_events WHERE event = 'staff_unreachable')) * 1000)::bigint");
	ck_assert_msg(gap_ms >= 0 && gap_ms <= 1000, "backup paged %lld ms after the refusal (sweep 1000 ms)", gap_ms);
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "staff", "list", NULL), 0);
	ck_assert_msg(strstr(out, "UNREACHABLE") && strstr(out, "21211"), "%s", out);
	free(out);
	ck_assert_int_eq(harness_get(w.tw.gw.port, "/metrics", &resp), 200);
	ck_assert_msg(strstr(resp, "carenav_staff_unreachable 1") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_api(w.tw.gw.port, "GET", "/api/escalations", TOKEN, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "staff_unreachable") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_ge(harness_gw_cli(&w.tw.gw, &out, "doctor", NULL), 1);
	ck_assert_msg(strstr(out, "FAIL  staff: Pat Primary") != NULL, "%s", out);
	free(out);

	/* The backup takes it; a second patient's round 1 goes straight to the backup. */
	code = escalation_code(&w, PATIENT);
	ack = xasprintf("ACK %s", code);
	sms(&w, BACKUP, ack);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged'", 1, WAIT_MS));
	sms(&w, PATIENT2, RED_FLAG);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_sent'", 2, WAIT_MS));
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalation_events ev JOIN staff s ON s.id = "
	    "ev.staff_id WHERE ev.event = 'alert_queued' AND ev.step = 1 AND s.phone = '" BACKUP "'"), 1);
	ck_assert_uint_eq(fake_twilio_count_to(w.tw.ft, PRIMARY), 1);
	ck_assert_int_eq(count_bodies(&w, PATIENT2, INSTRUCTION), 1);

	/* The number confirmed (or corrected) with staff edit: the mark is gone. */
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, NULL, "staff", "edit", PRIMARY, "--phone", PRIMARY, NULL), 0);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM staff WHERE unreachable_at IS NOT NULL"), 0);
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 1);
	report("emergency: primary's number dead (21211)", &w, 2, t_instr, t_page,
	    "ACK timeout 30 s; the refused page marked the primary unreachable and paged the backup at once (the "
	    "refusal kicks the sweep; asserted within one sweep interval, 1 s); the second escalation skipped the "
	    "dead number");
	free(ack);
	free(code);
	world_free(&w);
}
END_TEST

/*
 * 3. The provider is down for 12 s (4 ACK timeouts): the ladder stays on
 * round 1, and when it comes back the instruction and one page go first;
 * round 2 comes a full timeout after the page was delivered; an ACK
 * cancels the page still queued for the backup.
 */
START_TEST(test_outage_then_recovery)
{
	struct world w;
	char *code, *ack;
	double t_instr, t_page, t_back;

	world_init(&w, "3", true, true, NULL);
	fake_twilio_go_down(w.tw.ft);
	red_flag(&w, PATIENT);
	sleep(12);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT max(step) FROM escalations"), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM outbox WHERE pages IS NOT NULL"), 1);
	t_back = harness_now_s() - w.t0;
	fake_twilio_come_back(w.tw.ft);
	t_instr = wait_body(&w, PATIENT, INSTRUCTION, WAIT_MS);
	t_page = wait_body(&w, PRIMARY, "ALERT", WAIT_MS);
	ck_assert_msg(t_instr - t_back < 11.0 && t_page - t_back < 11.0,
	    "after the provider came back: instruction %.1f s, page %.1f s", t_instr - t_back, t_page - t_back);
	/* Round 2 waits a full timeout after the delivery, and the backup's number now fails. */
	fake_twilio_number(w.tw.ft, BACKUP, 503, 0);
	ck_assert_uint_eq(fake_twilio_count_to(w.tw.ft, BACKUP), 0);
	wait_requests_to(&w, BACKUP, 1, WAIT_MS);
	ck_assert_msg(harness_now_s() - w.t0 - t_page >= 2.5, "round 2 came %.1f s after the page",
	    harness_now_s() - w.t0 - t_page);
	/* The primary ACKs while the backup's page waits for a retry: it is cancelled. */
	code = escalation_code(&w, PATIENT);
	ack = xasprintf("ACK %s", code);
	sms(&w, PRIMARY, ack);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged'", 1, WAIT_MS));
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM outbox WHERE pages IS NOT NULL "
	    "AND state = 'pending'", 0, WAIT_MS));
	fake_twilio_number(w.tw.ft, BACKUP, 0, 0);
	sleep(4);
	ck_assert_int_eq(count_bodies(&w, BACKUP, "ALERT"), 0);
	ck_assert_int_eq(count_bodies(&w, PRIMARY, "ALERT"), 1);
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_queued'"), 2);
	report("emergency: provider down 12 s after the red flag (ACK timeout 3 s)", &w, 1, t_instr, t_page,
	    "the ladder stayed on round 1 through the outage (no pile-up); after the provider came back the 911 "
	    "text and the primary's single page went first, round 2 a full timeout after that page was delivered; "
	    "the ACK cancelled the backup's queued page (0 pages after the ACK)");
	free(ack);
	free(code);
	world_free(&w);
}
END_TEST

/*
 * A red flag whose 911 text and page are both with the provider (3 s delay,
 * then failing: an accepted one would be resent, at-least-once) when the
 * gateway is SIGKILLed; the provider heals and the gateway restarts at once.
 */
static void
kill_mid_send(struct world *w)
{
	fake_twilio_number(w->tw.ft, PATIENT, 503, 0);
	fake_twilio_number(w->tw.ft, PRIMARY, 503, 0);
	fake_twilio_set_delay(w->tw.ft, 3000);
	red_flag(w, PATIENT);
	wait_requests_to(w, PATIENT, 1, WAIT_MS);
	wait_requests_to(w, PRIMARY, 1, WAIT_MS);
	harness_gw_kill(&w->tw.gw);
	fake_twilio_set_delay(w->tw.ft, 0);
	fake_twilio_number(w->tw.ft, PATIENT, 0, 0);
	fake_twilio_number(w->tw.ft, PRIMARY, 0, 0);
	harness_gw_start(&w->tw.gw);
}

/*
 * 4. The gateway is SIGKILLed while the instruction and the page are with
 * the provider (which then fails them): after a restart they go out within
 * the short urgent lease, not the 45 s one, once each.
 */
START_TEST(test_crash_mid_send)
{
	static const char *const extra[] = { "PROVIDER_TIMEOUT_MS=4000", NULL };
	struct world w;
	double t_instr, t_page;

	world_init(&w, "30", true, true, extra);
	kill_mid_send(&w);
	t_instr = wait_body(&w, PATIENT, INSTRUCTION, WAIT_MS);
	t_page = wait_body(&w, PRIMARY, "ALERT", WAIT_MS);
	ck_assert_msg(t_instr < 15.0, "911 text %.1f s after the red flag", t_instr);
	sleep(2);
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 1);
	ck_assert_int_eq(count_bodies(&w, PRIMARY, "ALERT"), 1);
	ck_assert_uint_eq(fake_twilio_count_to(w.tw.ft, BACKUP), 0);
	report("emergency: gateway SIGKILLed mid-send of the 911 text and the page", &w, 1, t_instr, t_page,
	    "PROVIDER_TIMEOUT_MS=4000, both requests in flight (3 s delay, then failing) at the kill; restarted at once: "
	    "urgent rows are leased for the provider timeout + 2 s, not + 30 s; each text delivered once");
	world_free(&w);
}
END_TEST

/*
 * 4b. The gateway dies while the primary's page is with the provider; after
 * the restart the primary ACKs (by code, e.g. from the console's list)
 * before the dead gateway's lease ends: the page is never sent after the
 * ACK, nobody is paged again, and the reply with the number to call is not
 * held behind the stuck page in the primary's conversation.
 */
START_TEST(test_crash_then_ack_cancels_page)
{
	static const char *const extra[] = { "PROVIDER_TIMEOUT_MS=4000", NULL };
	struct world w;
	char *code, *ack;
	double t_ack, t_reply;

	world_init(&w, "30", true, true, extra);
	kill_mid_send(&w);
	code = escalation_code(&w, PATIENT);
	ack = xasprintf("ACK %s", code);
	t_ack = harness_now_s() - w.t0;
	sms(&w, PRIMARY, ack);
	t_reply = wait_body(&w, PRIMARY, PATIENT, WAIT_MS) - t_ack;
	ck_assert_msg(t_reply < 3.0, "the number to call reached the primary %.1f s after the ACK", t_reply);
	wait_body(&w, PATIENT, INSTRUCTION, WAIT_MS);
	wait_body(&w, PATIENT, "A nurse has your message", WAIT_MS);
	/* Past the dead gateway's lease (4 s + 2 s): the primary's page stays cancelled. */
	sleep(7);
	ck_assert_int_eq(count_bodies(&w, PRIMARY, "ALERT"), 0);
	ck_assert_int_eq(count_bodies(&w, BACKUP, "ALERT"), 0);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM outbox WHERE pages IS NOT NULL AND state = "
	    "'suppressed'"), 1);
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 1);
	report("emergency: gateway SIGKILLed mid-send of a page, ACK before its lease ends", &w, 1, -1, -1,
	    "the 911 text and the primary's page were in flight (3 s delay, then 503) at the kill; after the restart "
	    "the primary ACKed by code: the page was cancelled (0 pages after the ACK, none sent at all), the number "
	    "to call reached the primary at once, not behind the stuck page");
	free(ack);
	free(code);
	world_free(&w);
}
END_TEST

/*
 * 5. Nobody on call: the fallback number is paged, can ACK like staff and
 * never gets the patient dialogue. Without a fallback, gaps in the next 7
 * days are a doctor error.
 */
START_TEST(test_fallback_acks_and_doctor)
{
	struct world w;
	struct harness_gw bare;
	const char *bare_env[] = { "ESCALATION_FALLBACK_NUMBER=", NULL };
	char *out = NULL, *from, *to;
	double t_instr, t_page;

	world_init(&w, "30", true, false, NULL);
	red_flag(&w, PATIENT);
	t_instr = wait_body(&w, PATIENT, INSTRUCTION, WAIT_MS);
	t_page = wait_body(&w, FALLBACK, "ALERT", WAIT_MS);
	{
		char *code = harness_query_text(w.tw.pg, "SELECT code FROM escalations"), *ack = xasprintf("ACK %s", code);

		sms(&w, FALLBACK, ack);
		free(ack);
		free(code);
	}
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged' "
	    "AND acknowledged_by = 'Fallback'", 1, WAIT_MS));
	wait_body(&w, PATIENT, "A nurse has your message", WAIT_MS);
	wait_body(&w, FALLBACK, PATIENT, WAIT_MS);
	sms(&w, FALLBACK, "hello, my back hurts");
	harness_wait_processed(w.tw.pg, WAIT_MS, w.tw.gw.log_path);
	wait_body(&w, FALLBACK, "staff line", WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM conversations WHERE patient_number = '" FALLBACK "' "
	    "AND kind = 'staff' AND state = '{}'"), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'ack_refused'"), 0);
	ck_assert_int_eq(count_bodies(&w, PATIENT, INSTRUCTION), 1);
	report("emergency: nobody on call, the fallback ACKs by SMS", &w, 1, t_instr, t_page,
	    "no shifts; ESCALATION_FALLBACK_NUMBER paged, ACKed with ACK and the code, got the number to call and the staff "
	    "help (not the patient dialogue)");

	/* doctor: with the fallback, gaps are a warning; without it, an error, also for a gap later in the week. */
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "doctor", NULL), 0);
	ck_assert_msg(strstr(out, "warn  on-call: 1 gap(s) in the next 7 days, nobody now"), "%s", out);
	free(out);
	harness_gw_init(&bare, w.tw.conninfo, bare_env);
	ck_assert_int_ge(harness_gw_cli(&bare, &out, "doctor", NULL), 1);
	ck_assert_msg(strstr(out, "FAIL  on-call: 1 gap(s) in the next 7 days, nobody now"), "%s", out);
	free(out);
	ck_assert_int_eq(harness_gw_cli(&bare, NULL, "staff", "add", "--name", "Pat Primary", "--phone", PRIMARY,
	    NULL), 0);
	from = harness_query_text(w.tw.pg, "SELECT to_char(now() - interval '1 hour', 'YYYY-MM-DD HH24:MI')");
	to = harness_query_text(w.tw.pg, "SELECT to_char(now() + interval '3 days', 'YYYY-MM-DD HH24:MI')");
	ck_assert_int_eq(harness_gw_cli(&bare, NULL, "oncall", "add", "--phone", PRIMARY, "--tier", "primary",
	    "--from", from, "--to", to, "--tz", "UTC", NULL), 0);
	ck_assert_int_ge(harness_gw_cli(&bare, &out, "doctor", NULL), 1);
	ck_assert_msg(strstr(out, "FAIL  on-call: 1 gap(s) in the next 7 days (UTC"), "%s", out);
	free(out);
	free(from);
	free(to);
	harness_gw_free(&bare);
	world_free(&w);
}
END_TEST

/* How many texts accepted for `to` contain every one of the codes (a grouped page lists them all). */
static int
count_listing_all(struct world *w, const char *to, char **codes, int n)
{
	char *all = fake_twilio_bodies_to(w->tw.ft, to), *line = all, *next;
	int hits = 0;

	for (; line != NULL && *line != '\0'; line = next) {
		bool every = true;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		for (int i = 0; i < n; i++)
			every &= strstr(line, codes[i]) != NULL;
		hits += every;
	}
	free(all);
	return hits;
}

/*
 * 6. A surge: 8 red flags at once. A nurse gets one SMS per round listing
 * the open escalations, not one per patient (round 1 may be split by how
 * the texts arrive, never more than one page per escalation and nurse).
 * Then a reflag with a new symptom is paged to the staff as an update.
 */
START_TEST(test_surge_grouped_and_reflag_update)
{
	enum { N = 8 };
	struct world w;
	char *codes[N], patient[32], *notes;
	double t_instr, t_page;
	int round1, primary_sms, backup_sms;

	world_init(&w, "4", true, true, NULL);
	w.t0 = harness_now_s();
	for (int i = 0; i < N; i++) {
		snprintf(patient, sizeof patient, "+1555300020%d", i);
		sms(&w, patient, RED_FLAG);
	}
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE step >= 1", N, WAIT_MS));
	t_page = wait_body(&w, PRIMARY, "ALERT", WAIT_MS);
	t_instr = wait_body(&w, "+15553000200", INSTRUCTION, WAIT_MS);
	for (int i = 0; i < N; i++) {
		char *sql = xasprintf("SELECT e.code FROM escalations e JOIN conversations c ON c.id = e.conversation_id "
		    "WHERE c.patient_number = '+1555300020%d'", i);

		codes[i] = harness_query_text(w.tw.pg, sql);
		free(sql);
	}
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_sent' "
	    "AND step = 1 AND detail = '" PRIMARY "'", N, WAIT_MS));
	round1 = count_bodies(&w, PRIMARY, "ALERT");
	ck_assert_msg(round1 <= 2, "round 1: the primary got %d SMS for %d escalations", round1, N);
	/*
	 * Rounds 2 and 3 (the first escalation's pulled forward to align with the
	 * rest): lists, not a page per patient. Without grouping, 8 + 8 + 8.
	 */
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_sent' "
	    "AND step = 3 AND detail = '" BACKUP "'", N, WAIT_MS));
	{
		char *timeline = harness_query_text(w.tw.pg, "SELECT string_agg(to_char(at, 'SS.MS') || ' ' || event || "
		    "' e' || escalation_id || ' s' || coalesce(step, 0) || ' ' || coalesce(detail, ''), E'\\n' ORDER BY at, id) "
		    "FROM escalation_events WHERE event IN ('alert_queued', 'alert_sent', 'created')");

		ck_assert_msg(count_bodies(&w, BACKUP, "ALERT") <= 4 && count_bodies(&w, PRIMARY, "ALERT") <= 5 &&
		    count_listing_all(&w, BACKUP, codes, N) >= 2 && count_listing_all(&w, PRIMARY, codes, N) >= 1,
		    "backup %d SMS, primary %d; events:\n%s", count_bodies(&w, BACKUP, "ALERT"),
		    count_bodies(&w, PRIMARY, "ALERT"), timeline);
		free(timeline);
	}
	primary_sms = count_bodies(&w, PRIMARY, "ALERT");
	backup_sms = count_bodies(&w, BACKUP, "ALERT");
	/* At most one page per escalation, nurse and round. */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM (SELECT escalation_id, step, staff_id FROM "
	    "escalation_events WHERE event = 'alert_queued' GROUP BY 1, 2, 3 HAVING count(*) > 1) dup"), 0);

	/* Patient 0 now reports a new red flag: merged, and paged as an update with the new symptom. */
	sms(&w, "+15553000200", "and now i have chest pain and cant breathe");
	wait_body(&w, BACKUP, "UPDATE", WAIT_MS);
	wait_body(&w, PRIMARY, "UPDATE", WAIT_MS);
	ck_assert_int_eq(count_bodies(&w, BACKUP, "UPDATE"), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE to_number = '" BACKUP "' "
	    "AND body LIKE '%UPDATE%chest%'"), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalations"), N);
	/* Only patient 0's escalation gained the new symptom's rule. */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE reason LIKE "
	    "'%er_chest_breath_dizzy%'"), 1);
	for (int i = 0; i < N; i++) {
		snprintf(patient, sizeof patient, "+1555300020%d", i);
		ck_assert_int_eq(count_bodies(&w, patient, INSTRUCTION), 1);
		free(codes[i]);
	}
	notes = xasprintf("pages grouped per nurse: by the end of round 3 the primary had %d SMS and the backup %d "
	    "for 8 escalations (16 each with a page per patient), the primary %d in round 1 (the first page at once, "
	    "the rest as one list); at most one page per escalation, nurse and round; a reflag with a new symptom was merged and "
	    "paged as an update (stored counts it); each patient got the 911 text once", primary_sms, backup_sms, round1);
	report_like("emergency: 8 red flags at once (ACK timeout 4 s)", &w, "+155530002__", N, t_instr, t_page, notes);
	free(notes);
	world_free(&w);
}
END_TEST

CHECK_RUN_MAIN("emergency", 180, test_stop_while_instruction_waits, test_instruction_refused_tells_staff,
    test_dead_primary_number, test_outage_then_recovery, test_crash_mid_send,
    test_crash_then_ack_cancels_page, test_fallback_acks_and_doctor, test_surge_grouped_and_reflag_update)
