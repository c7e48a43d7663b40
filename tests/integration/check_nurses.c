/*
 * check_nurses.c - handling an emergency as a team (#19), end to end: the
 * real gateway, PostgreSQL and a fake Twilio playing every phone. Once
 * someone has an escalation (an SMS ACK, a console ACK, a console resolve)
 * everyone else paged for it is told so, once, in their language; the
 * operator API shows who was paged, who has it and how it ended.
 */
#include <check.h>
#include <jansson.h>
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
#define PRIMARY "+15553000001"   /* Pat, Spanish */
#define BACKUP "+15553000002"    /* Bea, English */
#define ALICE "alice-token-0123456789"
#define WAIT_MS 20000

struct world {
	struct twilio_world tw;
	char *code;      /* the open escalation's ACK code */
	long long esc;   /* ... and its id */
};

static void
world_init(struct world *w, const char *ack_timeout_s)
{
	char *ack = xasprintf("ESCALATION_ACK_TIMEOUT=%s", ack_timeout_s);
	const char *settings[] = { ack, "OPERATOR_TOKENS=alice:" ALICE, NULL };

	memset(w, 0, sizeof *w);
	twilio_world_start(&w->tw, &(struct twilio_world_opts){ .settings = settings });
	free(ack);
	ck_assert_int_eq(harness_gw_cli(&w->tw.gw, NULL, "staff", "add", "--name", "Pat Primary", "--phone", PRIMARY,
	    "--language", "es", NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&w->tw.gw, NULL, "staff", "add", "--name", "Bea Backup", "--phone", BACKUP,
	    NULL), 0);
	twilio_world_on_call(&w->tw, PRIMARY, BACKUP, "UTC");
}

static void
world_free(struct world *w)
{
	twilio_world_free(&w->tw);
	free(w->code);
}

static void
sms(struct world *w, const char *from, const char *body)
{
	ck_assert_int_eq(twilio_world_post_sms(&w->tw, 0, from, CLINIC, body), 200);
}

/* A red flag from the patient; waits for the primary's alert (and the backup's if both). */
static void
emergency(struct world *w, bool both)
{
	sms(w, PATIENT, "my back hurts and i lost control of my bladder, my legs are numb");
	twilio_world_wait_sent_to(&w->tw, PRIMARY, 1, WAIT_MS);
	if (both)
		twilio_world_wait_sent_to(&w->tw, BACKUP, 1, WAIT_MS);
	w->code = harness_query_text(w->tw.pg, "SELECT code FROM escalations");
	w->esc = harness_query_int(w->tw.pg, "SELECT id FROM escalations");
}

/* Waits until n stand-down texts have been sent. */
static void
wait_stand_downs_sent(struct world *w, long long n)
{
	ck_assert_msg(harness_wait_int(w->tw.pg, "SELECT count(*) FROM messages WHERE sent_by = 'stand_down' "
	    "AND status = 'sent'", n, WAIT_MS), "never %lld stand-downs sent; see %s", n, w->tw.gw.log_path);
}

/* The stand-down texts sent to phone, as one string (bodies joined by " | "). */
static char *
stand_downs(struct world *w, const char *phone)
{
	char *sql = xasprintf("SELECT coalesce(string_agg(body, ' | ' ORDER BY id), '') FROM messages "
	    "WHERE to_number = '%s' AND sent_by = 'stand_down'", phone);
	char *out = harness_query_text(w->tw.pg, sql);

	free(sql);
	return out;
}

static void
api_ok(struct world *w, const char *action, const char *body)
{
	char *path = xasprintf("/api/escalations/%lld/%s", w->esc, action), *resp = NULL;

	ck_assert_msg(harness_api(w->tw.gw.port, "POST", path, ALICE, body, &resp) == 200, "%s: %s", path, resp);
	free(resp);
	free(path);
}

START_TEST(test_stand_down_after_sms_ack)
{
	struct world w;
	char *ack, *pat, *bea, *want;

	world_init(&w, "2");
	emergency(&w, true);
	ack = xasprintf("ACK %s", w.code);
	sms(&w, BACKUP, ack);
	/* Pat, paged first, is told in Spanish that Bea has it; Bea gets her ACK reply, no stand-down. */
	twilio_world_wait_sent_to(&w.tw, PRIMARY, 2, WAIT_MS);
	wait_stand_downs_sent(&w, 1);
	pat = stand_downs(&w, PRIMARY);
	bea = stand_downs(&w, BACKUP);
	want = xasprintf("%s la atiende Bea Backup. No hace falta actuar.", w.code);
	ck_assert_str_eq(pat, want);
	ck_assert_str_eq(bea, "");
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'stood_down' "
	    "AND staff_id = (SELECT id FROM staff WHERE phone = '" PRIMARY "')"), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalation_events WHERE event = 'stood_down'"), 1);
	/* Resolving it later stands nobody down again. */
	api_ok(&w, "resolve", "{\"note\": \"called\"}");
	sleep(1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE sent_by = 'stand_down'"), 1);
	/* Texts rendered in SQL (pages, the stand-down, the ACK replies) record what they cost once sent (#18). */
	ck_assert_int_gt(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND sent_by IN ('alert', 'stand_down') AND segments >= 1 AND encoding IN ('gsm7', 'ucs2')"), 1);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND provider_sid IS NOT NULL AND (segments IS NULL OR encoding IS NULL)"), 0);
	free(want);
	free(pat);
	free(bea);
	free(ack);
	world_free(&w);
}
END_TEST

START_TEST(test_stand_down_after_console_ack_and_resolve)
{
	struct world w;
	char *pat, *bea, *want;

	/* A console ACK: both paged are told, each in their language. */
	world_init(&w, "2");
	emergency(&w, true);
	api_ok(&w, "ack", NULL);
	wait_stand_downs_sent(&w, 2);
	pat = stand_downs(&w, PRIMARY);
	bea = stand_downs(&w, BACKUP);
	want = xasprintf("%s taken by alice. No need to act.", w.code);
	ck_assert_str_eq(bea, want);
	free(want);
	want = xasprintf("%s la atiende alice. No hace falta actuar.", w.code);
	ck_assert_str_eq(pat, want);
	free(want);
	free(pat);
	free(bea);
	world_free(&w);

	/* A console resolve with no ACK: only the primary was paged, only she is told. */
	world_init(&w, "60");
	emergency(&w, false);
	api_ok(&w, "resolve", "{\"note\": \"false alarm\"}");
	wait_stand_downs_sent(&w, 1);
	pat = stand_downs(&w, PRIMARY);
	want = xasprintf("%s cerrada por alice. No hace falta actuar.", w.code);
	ck_assert_str_eq(pat, want);
	ck_assert_uint_eq(fake_twilio_count_sent(w.tw.ft, "To", BACKUP), 0);
	free(want);
	free(pat);
	world_free(&w);
}
END_TEST

static json_t *
api_get(struct world *w, const char *path)
{
	char *resp = NULL;
	json_t *doc;

	ck_assert_msg(harness_api(w->tw.gw.port, "GET", path, ALICE, NULL, &resp) == 200, "%s: %s", path, resp);
	doc = json_loads(resp, 0, NULL);
	ck_assert_msg(doc != NULL, "%s", resp);
	free(resp);
	return doc;
}

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

START_TEST(test_timeline_words_and_outcome)
{
	struct world w;
	json_t *doc, *e, *pages, *timeline, *v;
	char *ack, *body, *resp = NULL, *path;
	bool stood_down = false, acked = false;

	world_init(&w, "2");
	emergency(&w, true);
	/* Alerts name the reason by its title in the staff member's language, never by rule id. */
	body = harness_query_text(w.tw.pg, "SELECT body FROM messages WHERE to_number = '" PRIMARY "' "
	    "AND sent_by = 'alert' ORDER BY id LIMIT 1");
	ck_assert_msg(strstr(body, "Perdió el control de la vejiga o el intestino") && !strstr(body, "er_") &&
	    !strstr(body, "doc_"), "alert: %s", body);
	free(body);
	body = harness_query_text(w.tw.pg, "SELECT body FROM messages WHERE to_number = '" BACKUP "' "
	    "AND sent_by = 'alert' ORDER BY id LIMIT 1");
	ck_assert_msg(strstr(body, "Lost bladder or bowel control") && !strstr(body, "er_"), "alert: %s", body);
	free(body);

	ack = xasprintf("ACK %s", w.code);
	sms(&w, BACKUP, ack);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged'", 1, WAIT_MS));
	/* The one who took it gets the summary and the number to call. */
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM messages WHERE to_number = '" BACKUP "' "
	    "AND sent_by = 'brief' AND status = 'sent'", 1, WAIT_MS));
	body = harness_query_text(w.tw.pg, "SELECT body FROM messages WHERE to_number = '" BACKUP "' AND sent_by = 'brief'");
	ck_assert_msg(strstr(body, w.code) && strstr(body, "Lost bladder or bowel control") &&
	    strstr(body, "Call the patient at " PATIENT) && strstr(body, "Speaks English"), "brief: %s", body);
	free(body);

	/* Acknowledged is in progress, not gone: with its owner, pages, stand-down. */
	doc = api_get(&w, "/api/escalations?status=open");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "escalations")), 0);
	json_decref(doc);
	doc = api_get(&w, "/api/escalations?status=active");
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "escalations")), 1);
	json_decref(doc);
	doc = api_get(&w, "/api/escalations?status=in_progress");
	e = json_array_get(json_object_get(doc, "escalations"), 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(str(e, "state"), "in_progress");
	ck_assert_str_eq(str(e, "owner"), "Bea Backup");
	ck_assert_str_eq(str(e, "ack_via"), "sms");
	ck_assert_msg(strstr(str(e, "reason_text"), "Lost bladder or bowel control") != NULL, "%s", str(e, "reason_text"));
	ck_assert_msg(strstr(str(json_object_get(e, "summary"), "text"), "Lost bladder") != NULL, "summary");
	pages = json_object_get(e, "pages");
	ck_assert_uint_ge(json_array_size(pages), 2);
	v = json_array_get(pages, 0);
	ck_assert_str_eq(str(v, "staff"), "Pat Primary");
	ck_assert_str_eq(str(v, "tier"), "primary");
	ck_assert_str_eq(str(v, "channel"), "sms");
	ck_assert_msg(strcmp(str(v, "delivery"), "sent") == 0 || strcmp(str(v, "delivery"), "delivered") == 0,
	    "delivery %s", str(v, "delivery"));
	v = json_array_get(pages, 1);
	ck_assert_str_eq(str(v, "staff"), "Bea Backup");
	ck_assert_str_eq(str(v, "tier"), "backup");
	timeline = json_object_get(e, "timeline");
	for (size_t i = 0; i < json_array_size(timeline); i++) {
		v = json_array_get(timeline, i);
		if (strcmp(str(v, "event"), "acknowledged") == 0)
			acked = strcmp(str(v, "staff"), "Bea Backup") == 0 && strcmp(str(v, "via"), "sms") == 0;
		if (strcmp(str(v, "event"), "stood_down") == 0)
			stood_down = strcmp(str(v, "staff"), "Pat Primary") == 0;
	}
	ck_assert_msg(acked && stood_down, "timeline lacks the ACK or the stand-down");
	ck_assert(json_is_integer(json_object_get(json_object_get(doc, "today"), "median_ack_seconds")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "today"), "in_progress")), 1);
	json_decref(doc);

	/* /metrics: escalations opened by reason, the time-to-ACK histogram. */
	ck_assert_int_eq(harness_get(w.tw.gw.port, "/metrics", &resp), 200);
	ck_assert_msg(strstr(resp, "carenav_escalations_created_total{reason=\"er_bowel_bladder\"} 1\n") &&
	    strstr(resp, "# TYPE carenav_escalation_ack_seconds histogram\n") &&
	    strstr(resp, "carenav_escalation_ack_seconds_bucket{le=\"30\"} 1\n") &&
	    strstr(resp, "carenav_escalation_ack_seconds_bucket{le=\"+Inf\"} 1\n") &&
	    strstr(resp, "carenav_escalation_ack_seconds_count 1\n") && strstr(resp, "carenav_escalations_open 0\n"),
	    "%s", resp);
	free(resp);

	/* Resolve: the outcome from the list, tries only for no answer. */
	path = xasprintf("/api/escalations/%lld/resolve", w.esc);
	ck_assert_int_eq(harness_api(w.tw.gw.port, "POST", path, ALICE, "{\"outcome\": \"fine\"}", &resp), 422);
	free(resp);
	ck_assert_int_eq(harness_api(w.tw.gw.port, "POST", path, ALICE, "{\"outcome\": \"false_alarm\", \"tries\": 2}",
	    &resp), 422);
	free(resp);
	ck_assert_int_eq(harness_api(w.tw.gw.port, "GET", "/api/escalations?status=maybe", ALICE, NULL, &resp), 400);
	free(resp);
	api_ok(&w, "resolve", "{\"outcome\": \"no_answer\", \"tries\": 3, \"note\": \"voicemail twice\"}");
	doc = api_get(&w, "/api/escalations?status=resolved");
	e = json_array_get(json_object_get(doc, "escalations"), 0);
	ck_assert_str_eq(str(e, "state"), "resolved");
	ck_assert_str_eq(str(e, "outcome"), "no_answer");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "outcome_tries")), 3);
	ck_assert_str_eq(str(e, "resolution_note"), "voicemail twice");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "today"), "resolved")), 1);
	json_decref(doc);
	free(path);
	free(ack);
	world_free(&w);
}
END_TEST

/* A patient text, answered (processed) before the next. */
static void
patient_says(struct world *w, const char *body)
{
	sms(w, PATIENT, body);
	harness_wait_processed(w->tw.pg, WAIT_MS, w->tw.gw.log_path);
}

START_TEST(test_summary_for_the_callback_nurse)
{
	struct world w;
	char *ack, *body, *want;
	json_t *doc, *e;

	/* Before the red flag the patient said where and how long, then answered the screen and the signs. */
	world_init(&w, "60");
	patient_says(&w, "hi my lower back hurts, 3 days now");
	patient_says(&w, "no");
	patient_says(&w, "2");
	patient_says(&w, "now i cant control my bladder");
	twilio_world_wait_sent_to(&w.tw, PRIMARY, 1, WAIT_MS);
	w.code = harness_query_text(w.tw.pg, "SELECT code FROM escalations");
	w.esc = harness_query_int(w.tw.pg, "SELECT id FROM escalations");

	/* The console: the summary heads the escalation. */
	doc = api_get(&w, "/api/escalations?status=open");
	e = json_object_get(json_array_get(json_object_get(doc, "escalations"), 0), "summary");
	ck_assert_str_eq(str(e, "region"), "Lower back");
	ck_assert_str_eq(str(e, "duration"), "3 days");
	ck_assert_str_eq(str(e, "language"), "en");
	/* The signs question is multi-select: only the sign chosen (2) is an answer. */
	ck_assert_uint_eq(json_array_size(json_object_get(e, "answers")), 1);
	ck_assert_msg(strstr(str(e, "text"), "Lower back for 3 days. numbness/tingling: yes. "
	    "Speaks English") != NULL, "%s", str(e, "text"));
	json_decref(doc);

	/* Pat (Spanish) takes it by text: the brief is in Spanish, with the number to call. */
	ack = xasprintf("ack %s", w.code);
	sms(&w, PRIMARY, ack);
	ck_assert(harness_wait_int(w.tw.pg, "SELECT count(*) FROM messages WHERE to_number = '" PRIMARY "' "
	    "AND sent_by = 'brief' AND status = 'sent'", 1, WAIT_MS));
	body = harness_query_text(w.tw.pg, "SELECT body FROM messages WHERE to_number = '" PRIMARY "' AND sent_by = 'brief'");
	want = xasprintf("%s: Perdió el control de la vejiga o el intestino", w.code);
	ck_assert_msg(strstr(body, want) && strstr(body, "Espalda baja desde hace 3 days") &&
	    strstr(body, "entumecimiento/hormigueo: sí") && strstr(body, "Habla inglés") &&
	    strstr(body, "Llame al paciente al " PATIENT), "brief: %s", body);
	/* Bea was never paged (the backup round had not come): nobody to stand down. */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE sent_by = 'stand_down'"), 0);
	free(want);
	free(body);
	free(ack);
	world_free(&w);
}
END_TEST

CHECK_RUN_MAIN("nurses", 120, test_stand_down_after_sms_ack, test_stand_down_after_console_ack_and_resolve,
    test_timeline_words_and_outcome, test_summary_for_the_callback_nurse)
