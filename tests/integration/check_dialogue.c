/*
 * check_dialogue.c - the back-pain dialogue through the real webhook, the
 * real gateway and PostgreSQL: a whole conversation, red flags, STOP/START,
 * a flow reload in mid-conversation, and texts that arrive at once.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define WAIT_MS 15000

static const struct twilio_world_opts sandbox = { .sandbox = true };

/* Texts the gateway from patient and returns every reply that step queued (caller frees). */
static char *
text(struct twilio_world *w, const char *patient, const char *body)
{
	long long before = harness_last_message_id(w->pg);

	twilio_world_text(w, patient, CLINIC, body, WAIT_MS);
	return harness_replies(w->pg, patient, before);
}

/* Texts and checks that the replies contain want (case-sensitive). */
static void
expect(struct twilio_world *w, const char *patient, const char *body, const char *want)
{
	char *got = text(w, patient, body);

	ck_assert_msg(strstr(got, want) != NULL, "texted \"%s\": wanted \"%s\" in:\n%s", body, want, got);
	free(got);
}

/* One text and a piece of the replies it must get. */
struct exchange {
	const char *text, *want;
};

/* expect() for each exchange in order, up to the one whose text is NULL. */
static void
expect_all(struct twilio_world *w, const char *patient, const struct exchange *x)
{
	for (; x->text != NULL; x++)
		expect(w, patient, x->text, x->want);
}

static long long
count(struct twilio_world *w, const char *sql)
{
	return harness_query_int(w->pg, sql);
}

/* The world of every test but test_runaway_sender_throttled (twilio_world_run starts and frees it). */
static struct twilio_world world;

START_TEST(test_full_conversation_to_self_care)
{
	const char *p = "+15552000001";

	expect_all(&world, p, (const struct exchange[]){ { "hi, my back hurts", "automated back pain line" },
	    { "no", "Where is the pain" }, { "LOWER BACK, about 4 days", "Noted: 4 days." },
	    { "none", "Lower back self-care" }, { "1", "10-20 minutes" }, { "5", "Core" }, { "10", "call you" },
	    { NULL, NULL } });
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM callbacks WHERE reason = 'booking'"), 1);
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM escalations"), 0);
	/* One step per text, every reply queued once and delivered by the sandbox. */
	ck_assert_int_eq(count(&world, "SELECT version FROM conversations"), 7);
	ck_assert(harness_wait_int(world.pg, "SELECT count(*) FROM outbox WHERE state <> 'done'", 0, WAIT_MS));
}
END_TEST

START_TEST(test_red_flag_anywhere_escalates)
{
	const char *p = "+15552000002";
	char *reason;

	expect_all(&world, p, (const struct exchange[]){ { "hello", "Safety check" }, { "no", "Where is the pain" },
	    /* Mid-question, not at the screen: the red flag still wins. */
	    { "2 and i cant control my bladder since this morning", "911" }, { NULL, NULL } });
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM escalations WHERE status = 'open'"), 1);
	reason = harness_query_text(world.pg, "SELECT reason FROM escalations");
	ck_assert_msg(strstr(reason, "er_bowel_bladder") != NULL, "reason was %s", reason);
	free(reason);
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM conversations WHERE status = 'emergency'"), 1);
	/* A negated symptom is not a red flag: a natural NO at the screen. */
	expect_all(&world, "+15552000003", (const struct exchange[]){ { "hi", "Safety check" },
	    { "no chest pain, no fever, just my lower back", "Noted: lower back." }, { NULL, NULL } });
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM escalations"), 1);
}
END_TEST

START_TEST(test_stop_then_silence_then_start)
{
	const char *p = "+15552000004";
	char *got;

	expect(&world, p, "hi", "Safety check");
	/* Let the greeting leave first: replies still queued at STOP are suppressed (next test). */
	ck_assert(harness_wait_int(world.pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, WAIT_MS));
	expect(&world, p, "STOP", "START");
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM conversations WHERE opted_out"), 1);
	got = text(&world, p, "hello? my back still hurts");
	ck_assert_msg(got[0] == '\0', "an opted-out patient got: %s", got);
	free(got);
	expect(&world, p, "START", "again");
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM conversations WHERE opted_out"), 0);
	/* Every queued message left: nothing suppressed, since nothing was queued while opted out. */
	ck_assert(harness_wait_int(world.pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, WAIT_MS));
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM outbox WHERE state = 'done'"),
	    count(&world, "SELECT count(*) FROM messages WHERE direction = 'out'"));
}
END_TEST

START_TEST(test_stop_suppresses_replies_already_queued)
{
	const char *p = "+15552000005";

	expect(&world, p, "hi", "Safety check");
	ck_assert(harness_wait_int(world.pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, WAIT_MS));
	/* A reply still queued when the patient opts out must not be sent. */
	PQclear(PQexec(world.pg, "UPDATE outbox SET state = 'pending', next_attempt_at = now() + interval '1 hour' "
	    "WHERE id = (SELECT max(id) FROM outbox)"));
	expect(&world, p, "STOP", "START");
	ck_assert(harness_wait_int(world.pg, "SELECT count(*) FROM outbox WHERE state = 'suppressed'", 1, WAIT_MS));
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM messages WHERE status = 'suppressed'"), 1);
	/* One queued after the opt-out (a race with an operator's reply, say) is not sent either. */
	PQclear(PQexec(world.pg, "SELECT carenav_queue_sms(id, 'sandbox', 'queued after STOP', 'operator:test', "
	    "5::smallint, false, NULL) FROM conversations"));
	ck_assert(harness_wait_int(world.pg, "SELECT count(*) FROM outbox WHERE state = 'suppressed'", 2, WAIT_MS));
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM messages WHERE status = 'suppressed'"), 2);
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM messages WHERE status = 'sent' "
	    "AND body = 'queued after STOP'"), 0);
}
END_TEST

/* Writes sql/flows/back_pain.json with the greeting prefixed by marker; returns the path. */
static char *
write_flow_v2(const char *dir, const char *marker)
{
	const char *src = getenv("CARENAV_FLOW_FILE");
	json_error_t err;
	json_t *doc, *nodes, *greeting, *text;
	char *path = xasprintf("%s/back_pain_v2.json", dir), *en;

	ck_assert_ptr_nonnull(src);
	doc = json_load_file(src, 0, &err);
	ck_assert_msg(doc != NULL, "%s: %s", src, err.text);
	nodes = json_object_get(doc, "nodes");
	greeting = json_array_get(nodes, 0);
	text = json_object_get(json_object_get(greeting, "text"), "en");
	en = xasprintf("%s %s", marker, json_string_value(text));
	json_object_set_new(json_object_get(greeting, "text"), "en", json_string(en));
	ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	json_decref(doc);
	free(en);
	return path;
}

START_TEST(test_flow_reload_mid_conversation)
{
	const char *old = "+15552000006", *fresh = "+15552000007";
	char *path, *out = NULL;
	long long v1;

	expect(&world, old, "hi", "Safety check");
	expect(&world, old, "no", "Where is the pain");
	v1 = count(&world, "SELECT flow_version_id FROM conversations");
	path = write_flow_v2(world.gw.var_dir, "[v2]");
	ck_assert_msg(harness_gw_cli(&world.gw, &out, "flow", "load", path, NULL) == 0, "flow load: %s", out);
	ck_assert_msg(strstr(out, "version 2") != NULL, "flow load said: %s", out);
	free(out);
	/* An invalid document is refused and makes no version. */
	ck_assert(harness_gw_cli(&world.gw, &out, "flow", "load", "/dev/null", NULL) != 0);
	free(out);
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM flow_versions"), 2);

	/* The conversation in progress finishes on version 1... */
	expect(&world, old, "2", "Any of these");
	ck_assert_int_eq(count(&world, "SELECT flow_version_id FROM conversations WHERE patient_number = '+15552000006'"), v1);
	expect(&world, old, "RESTART", "automated back pain line");
	/* ...and a new one starts on version 2. */
	expect(&world, fresh, "hi", "[v2] ");
	ck_assert_int_ne(count(&world, "SELECT flow_version_id FROM conversations WHERE patient_number = '+15552000007'"), v1);
	free(path);
}
END_TEST

struct burst {
	int port;
	const char *patient;
	const char *sid;
	const char *body;
};

static void *
burst_post(void *arg)
{
	struct burst *b = arg;

	ck_assert_int_eq(harness_post_sms(b->port, b->sid, b->patient, CLINIC, b->body), 200);
	return NULL;
}

START_TEST(test_concurrent_texts_processed_in_order)
{
	struct harness_gw second;
	const char *p = "+15552000008";
	enum { N = 12 };
	struct burst b[N];
	pthread_t t[N];
	char sids[N][32];

	/* Two gateways on one database, as in a scaled-out deployment. */
	harness_gw_init(&second, world.conninfo, NULL);
	harness_gw_start(&second);
	for (int i = 0; i < N; i++) {
		snprintf(sids[i], sizeof sids[i], "SMburst%03d", i);
		b[i].port = i % 2 ? second.port : world.gw.port;
		b[i].patient = p;
		b[i].sid = sids[i];
		b[i].body = i % 3 == 0 ? "hello" : i % 3 == 1 ? "no" : "3";
		pthread_create(&t[i], NULL, burst_post, &b[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	harness_wait_processed(world.pg, WAIT_MS, world.gw.log_path);
	/* Each text was one step, never two at once: the version counts them. */
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM messages WHERE direction = 'in'"), N);
	ck_assert_int_eq(count(&world, "SELECT version FROM conversations"), N);
	/* Processed in arrival (id) order. */
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM (SELECT processed_at < lag(processed_at) "
	    "OVER (ORDER BY id) AS backwards FROM messages WHERE direction = 'in') x WHERE backwards"), 0);
	/* Every reply belongs to exactly one step: replies were written in id order of their texts. */
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM messages o WHERE o.direction = 'out' AND o.created_at < "
	    "(SELECT min(processed_at) FROM messages WHERE direction = 'in')"), 0);
	harness_gw_free(&second);
}
END_TEST

START_TEST(test_runaway_sender_throttled)
{
	static const char *const env[] = { "RATE_LIMIT_MESSAGES=5", "RATE_LIMIT_WINDOW_S=3600", NULL };
	struct twilio_world w;
	const char *p = "+15552000009";
	char *got;
	long long before;

	twilio_world_start(&w, &(const struct twilio_world_opts){ .sandbox = true, .settings = env });
	expect(&w, p, "hi", "Safety check");
	for (int i = 0; i < 4; i++)
		free(text(&w, p, "AUTO-REPLY: I am out of the office"));
	/* The 6th text in the window gets one notice, the ones after it nothing. */
	expect(&w, p, "AUTO-REPLY: I am out of the office", "many messages");
	before = harness_last_message_id(w.pg);
	for (int i = 0; i < 5; i++)
		free(text(&w, p, "AUTO-REPLY: I am out of the office"));
	got = harness_replies(w.pg, p, before);
	ck_assert_msg(got[0] == '\0', "throttled texts were answered: %s", got);
	free(got);
	ck_assert_int_eq(count(&w, "SELECT count(*) FROM messages WHERE direction = 'in'"), 11);
	/* A red flag is never throttled. */
	expect(&w, p, "now i cant feel my legs and i wet myself", "911");
	ck_assert_int_eq(count(&w, "SELECT count(*) FROM escalations"), 1);
	twilio_world_free(&w);
}
END_TEST

/* Expects the patient's conversation to wait at node and not to be opted out. */
static void
expect_node(struct twilio_world *w, const char *patient, const char *node)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM conversations WHERE patient_number = '%s' "
	    "AND state->>'node' = '%s' AND NOT opted_out", patient, node);
	ck_assert_msg(count(w, sql) == 1, "%s is not waiting at %s", patient, node);
}

/*
 * The misreads of issue #16, through the gateway and the real matcher:
 * natural negatives at the screen, everyday words that typo matching used to
 * turn into commands, and Spanish "alto" (upper) that opted patients out.
 */
START_TEST(test_answers_read_as_meant)
{
	const char *p = "+15552000010", *q = "+15552000011";

	expect_all(&world, p, (const struct exchange[]){ { "hi", "Safety check" }, { "no im fine", "Where is the pain" },
	    { "restart", "Safety check" }, { "none of those", "Where is the pain" }, { "lower", "Any of these" },
	    { NULL, NULL } });
	/* "gone" was read as "none" (NO). */
	expect(&world, p, "my left leg has gone numb", "doctor");
	expect_node(&world, p, "see_doctor");
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM conversations WHERE state->'vars'->>'sd_numb' = 'yes'"),
	    1);
	expect(&world, p, "2", "Lower back self-care");
	/* "dont" was read as "done" (goodbye), "sore" as "core" (a tip). */
	expect(&world, p, "i dont know", "Reply a number");
	expect_node(&world, p, "lower_menu");
	expect(&world, p, "my back is sore", "Reply a number");
	expect_node(&world, p, "lower_menu");

	/* Spanish: a natural NO, then "alto" answers the region question. */
	expect(&world, q, "hola, me duele la espalda", "Por seguridad");
	expect(&world, q, "no, no tengo fiebre ni dolor de pecho", "Donde le duele");
	expect(&world, q, "alto", "Tiene algo de esto");
	expect_node(&world, q, "sd");
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM conversations WHERE state->'vars'->>'region' = 'upper'"),
	    1);
	/* A red flag in an answer wins over the answer. */
	expect(&world, q, "no, pero no puedo controlar la vejiga", "911");
	ck_assert_int_eq(count(&world, "SELECT count(*) FROM escalations"), 1);
}
END_TEST

int
main(void)
{
	return twilio_world_run("dialogue", 120, &world, &sandbox, CHECK_RUN_LIST(test_full_conversation_to_self_care,
	    test_red_flag_anywhere_escalates, test_stop_then_silence_then_start,
	    test_stop_suppresses_replies_already_queued, test_flow_reload_mid_conversation,
	    test_concurrent_texts_processed_in_order, test_answers_read_as_meant),
	    CHECK_RUN_LIST(test_runaway_sender_throttled));
}
