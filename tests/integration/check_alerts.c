/*
 * check_alerts.c - escalation to on-call staff end to end: the real gateway
 * (two of them on one database where it matters), PostgreSQL, and a fake
 * Twilio that plays every phone: the patient's, the staff's, the fallback's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "harness.h"
#include "metrics_check.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15553000100"
#define PRIMARY "+15553000001"
#define BACKUP "+15553000002"
#define FALLBACK "+15553000999"
#define WAIT_MS 20000

/* extra: one more NAME=value for the gateways, or NULL. */
static void
world_init_env(struct twilio_world *w, const char *ack_timeout_s, bool staffed, const char *extra)
{
	char *ack = xasprintf("ESCALATION_ACK_TIMEOUT=%s", ack_timeout_s);
	char *webhook = NULL;
	const char *settings[] = { ack, "ESCALATION_FALLBACK_NUMBER=" FALLBACK, extra, NULL };

	twilio_world_start(w, &(struct twilio_world_opts){ .settings = settings });
	free(ack);
	if (!staffed)
		return;
	webhook = xasprintf("http://127.0.0.1:%d", fake_twilio_port(w->ft));
	ck_assert_int_eq(harness_gw_cli(&w->gw, NULL, "staff", "add", "--name", "Pat Primary", "--phone",
	    PRIMARY, NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&w->gw, NULL, "staff", "add", "--name", "Bea Backup", "--phone",
	    BACKUP, "--webhook", webhook, NULL), 0);
	free(webhook);
	twilio_world_on_call(w, PRIMARY, BACKUP, "America/Chicago");
}

static void
world_init(struct twilio_world *w, const char *ack_timeout_s, bool staffed)
{
	world_init_env(w, ack_timeout_s, staffed, NULL);
}

static void
sms(struct twilio_world *w, int port, const char *from, const char *body)
{
	ck_assert_int_eq(twilio_world_post_sms(w, port, from, CLINIC, body), 200);
}

/* The patient texts a red flag; waits until `to` (the first one paged) has been sent the alert. */
static void
red_flag_paged(struct twilio_world *w, const char *text, const char *to)
{
	sms(w, w->gw.port, PATIENT, text);
	twilio_world_wait_sent_to(w, to, 1, WAIT_MS);
}

/* world_init, then red_flag_paged: a world whose patient's red flag has paged `to`. */
static void
world_paged(struct twilio_world *w, const char *ack_timeout_s, bool staffed, const char *text, const char *to)
{
	world_init(w, ack_timeout_s, staffed);
	red_flag_paged(w, text, to);
}

START_TEST(test_primary_then_backup_then_ack)
{
	struct twilio_world w;
	struct harness_gw second;
	char *code, *ack, *body;
	long long alerts;

	world_init(&w, "2", true);
	/* A second gateway on the same database: rounds must still go out once. */
	harness_gw_init(&second, w.conninfo, (const char *const *)w.gw.env);
	harness_gw_start(&second);

	red_flag_paged(&w, "hi, my back hurts and now i have chest pain and cant breathe", PRIMARY);
	ck_assert_uint_eq(fake_twilio_count_sent(w.ft, "To", BACKUP), 0);
	code = harness_query_text(w.pg, "SELECT code FROM escalations");
	ck_assert_int_eq(strlen(code), 4);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_queued' "
	    "AND step = 1 AND staff_id = (SELECT id FROM staff WHERE phone = '" PRIMARY "')"), 1);
	/* The alert: code, reason, matched words, last 4 digits only. */
	body = harness_query_text(w.pg, "SELECT body FROM messages WHERE to_number = '" PRIMARY "' ORDER BY id LIMIT 1");
	ck_assert_msg(strstr(body, code) && strstr(body, "0100") && !strstr(body, PATIENT) &&
	    strstr(body, "chest"), "alert was: %s", body);
	free(body);

	/* No ACK within the timeout: the backup tier, once, also on their webhook. */
	twilio_world_wait_sent_to(&w, BACKUP, 1, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'webhook_sent'",
	    1, WAIT_MS));
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_queued' AND "
	    "step = 2"), 1);

	ack = xasprintf("ACK %s", code);
	sms(&w, second.port, BACKUP, ack);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged' "
	    "AND acknowledged_by = 'Bea Backup' AND next_due_at IS NULL", 1, WAIT_MS));
	/* The patient is told a nurse will call; the backup gets the number to call. */
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PATIENT "' "
	    "AND body LIKE '%nurse%' AND status = 'sent'", 1, WAIT_MS));
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" BACKUP "' "
	    "AND sent_by = 'system' AND body LIKE '%" PATIENT "%' AND status = 'sent'", 1, WAIT_MS));
	/* The ACK never reached the patient dialogue, and no more rounds come. */
	alerts = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'alert'");
	sleep(5);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'alert'"), alerts);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'acknowledged'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM (SELECT step, staff_id FROM escalation_events "
	    "WHERE event = 'alert_queued' GROUP BY 1, 2 HAVING count(*) > 1) dup"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE patient_number = '" BACKUP "' "
	    "AND kind = 'staff' AND state = '{}'"), 1);
	free(ack);
	free(code);
	harness_gw_free(&second);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_restart_between_alert_and_timeout)
{
	struct twilio_world w;

	world_paged(&w, "4", true, "i lost control of my bladder and my legs are numb", PRIMARY);
	/*
	 * Killed once the page is recorded as sent: killed between Twilio's 201
	 * and that record, the gateway sends it again (at least once, by design).
	 */
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PRIMARY "' "
	    "AND status = 'sent'", 1, WAIT_MS));
	harness_gw_kill(&w.gw);
	sleep(1);
	harness_gw_start(&w.gw);
	/* The timer lives in the database: the backup is alerted after the restart... */
	twilio_world_wait_sent_to(&w, BACKUP, 1, WAIT_MS);
	/* ...exactly once for round 2. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_queued' AND "
	    "step = 2"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'alert_queued' AND "
	    "step = 1"), 1);
	ck_assert_uint_eq(fake_twilio_count_sent(w.ft, "To", PRIMARY), 1);
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_ack_from_unknown_number_refused)
{
	struct twilio_world w;
	char *code, *ack;

	world_paged(&w, "30", true, "cant feel my legs and i peed myself", PRIMARY);
	code = harness_query_text(w.pg, "SELECT code FROM escalations");
	ack = xasprintf("ACK %s", code);
	sms(&w, w.gw.port, "+15553000555", ack);
	harness_wait_processed(w.pg, WAIT_MS, w.gw.log_path);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'open'"), 1);
	metrics_check_has(w.gw.port, (const char *const[]){ "carenav_ack_refused_total 1", NULL });
	free(ack);
	free(code);
	twilio_world_free(&w);
}
END_TEST

/*
 * Caller ID can be forged, so by default a bare "ACK", even from the one
 * nurse alerted, takes nothing: the nurse is told to reply "ACK <code>",
 * and that works.
 */
START_TEST(test_bare_ack_needs_code)
{
	struct twilio_world w;
	char *code, *ack, *sql;

	world_paged(&w, "30", true, "cant feel my legs and i peed myself", PRIMARY);
	code = harness_query_text(w.pg, "SELECT code FROM escalations");
	sms(&w, w.gw.port, PRIMARY, "ack");
	/* The refusal is the nurse's second text, after the alert. */
	twilio_world_wait_sent_to(&w, PRIMARY, 2, WAIT_MS);
	sql = xasprintf("SELECT count(*) FROM messages WHERE to_number = '" PRIMARY "' AND body LIKE 'Which alert?%%' "
	    "AND body LIKE '%%Reply ACK and the code%%' AND body LIKE '%%%s%%' AND status = 'sent'", code);
	ck_assert(harness_wait_int(w.pg, sql, 1, WAIT_MS));
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'open' AND next_due_at IS "
	    "NOT NULL"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'acknowledged'"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PATIENT "' AND body "
	    "LIKE '%nurse%'"),
	    0);
	/* With the code it is taken. */
	ack = xasprintf("ACK %s", code);
	sms(&w, w.gw.port, PRIMARY, ack);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged' "
	    "AND acknowledged_by = 'Pat Primary'", 1, WAIT_MS));
	free(sql);
	free(ack);
	free(code);
	twilio_world_free(&w);
}
END_TEST

/* ACK_BARE_ALLOWED=1: a bare ACK takes the sender's one open alert, and only when there is exactly one. */
START_TEST(test_bare_ack_allowed_one_alert_only)
{
	struct twilio_world w;
	long long pages;

	world_init_env(&w, "30", true, "ACK_BARE_ALLOWED=1");
	sms(&w, w.gw.port, PATIENT, "cant feel my legs and i peed myself");
	sms(&w, w.gw.port, "+15553000101", "i lost control of my bladder and my legs are numb");
	/*
	 * The primary is paged about both: one SMS each, or one listing both when
	 * the two rounds fall in the same sweep (a surge; sql/017) — either way.
	 */
	ck_assert(harness_wait_int(w.pg, "SELECT count(DISTINCT escalation_id) FROM escalation_events "
	    "WHERE event = 'alert_queued' AND staff_id = (SELECT id FROM staff WHERE phone = '" PRIMARY "')",
	    2, WAIT_MS));
	pages = harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PRIMARY "'");
	twilio_world_wait_sent_to(&w, PRIMARY, (size_t)pages, WAIT_MS);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'open'"), 2);
	/* Two open alerts: which one? Nothing taken. */
	sms(&w, w.gw.port, PRIMARY, "ack");
	twilio_world_wait_sent_to(&w, PRIMARY, (size_t)pages + 1, WAIT_MS);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PRIMARY "' "
	    "AND body LIKE 'Which alert?%' AND status = 'sent'", 1, WAIT_MS));
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'open'"), 2);
	/* The operator resolves one; now the bare ACK names the other. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT carenav_escalation_ack(min(id), 'op', NULL, 'twilio', "
	    "'{\"en\": \"A nurse will call you.\"}')::int FROM escalations"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'open'"), 1);
	sms(&w, w.gw.port, PRIMARY, "ack");
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged' "
	    "AND acknowledged_by = 'Pat Primary'", 1, WAIT_MS));
	twilio_world_free(&w);
}
END_TEST

START_TEST(test_nobody_on_call_alerts_fallback)
{
	struct twilio_world w;

	world_paged(&w, "30", false, "sudden severe back pain getting worse fast and i feel dizzy", FALLBACK);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'no_oncall'"), 1);
	metrics_check_has(w.gw.port, (const char *const[]){ "carenav_escalation_no_oncall_total 1", NULL });
	twilio_world_free(&w);
}
END_TEST

CHECK_RUN_MAIN("alerts", 120, test_primary_then_backup_then_ack, test_restart_between_alert_and_timeout,
    test_ack_from_unknown_number_refused, test_bare_ack_needs_code, test_bare_ack_allowed_one_alert_only,
    test_nobody_on_call_alerts_fallback)
