/*
 * check_ops.c - running it like production: /metrics carries the latency
 * histogram, outcome families and the database-wide gauges; the log is one
 * JSON object a line with no full phone number and no message text; and
 * "carenav doctor" says in plain words what is wrong (bad setting, no
 * database, migrations missing, provider refusing the credentials).
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_twilio.h"
#include "harness.h"
#include "metrics_check.h"
#include "xmalloc.h"

#define PATIENT "+15551230001"
#define CLINIC "+15550001111"
#define WAIT_MS 15000
#define RED_FLAG_TEXT "hi, my back hurts and now i have chest pain and cant breathe"

static bool
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

START_TEST(test_metrics_and_json_log)
{
	/* What /metrics says after five texts and one duplicate, one of them a red flag. */
	static const char *const after_six_posts[] = {
		"carenav_webhook_duration_seconds_count 6\n",
		"carenav_webhook_duration_seconds_bucket{le=\"+Inf\"} 6\n",
		"# TYPE carenav_webhook_duration_seconds histogram",
		"carenav_inbound_messages_total{status=\"stored\"} 5\n",
		"carenav_inbound_messages_total{status=\"duplicate\"} 1\n",
		"carenav_escalations_open 1\n",
		"carenav_escalations_oldest_unacknowledged_seconds ",
		"carenav_outbox_pending ",
		"carenav_outbox_oldest_pending_seconds ",
		"carenav_database_reconnects_total 0\n",
		"carenav_api_rate_limited_total 0\n",
		"carenav_database_up 1\n",
		"carenav_oncall_staff 0\n",
		NULL
	};
	char *conninfo = harness_db_create(), *line = NULL, sid[32];
	struct harness_gw gw;
	PGconn *pg;
	FILE *f;
	size_t cap = 0;
	long lines = 0;

	harness_gw_init(&gw, conninfo, NULL);
	harness_gw_start(&gw);
	pg = harness_db_connect(conninfo);
	for (int i = 0; i < 5; i++) {
		snprintf(sid, sizeof sid, "SMops%03d", i);
		ck_assert_int_eq(harness_post_sms(gw.port, sid, PATIENT, CLINIC, i == 0 ? RED_FLAG_TEXT : "no"), 200);
	}
	ck_assert_int_eq(harness_post_sms(gw.port, "SMops000", PATIENT, CLINIC, RED_FLAG_TEXT), 200);
	harness_wait_processed(pg, WAIT_MS, gw.log_path);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations WHERE status = 'open'"), 1);

	metrics_check_has(gw.port, after_six_posts);
	/* One shift covering now counts; one tomorrow and one of an inactive member do not. */
	ck_assert_int_eq(harness_query_int(pg, "WITH s AS (INSERT INTO staff (name, phone, active) VALUES "
	    "('On', '+15550009001', true), ('Off', '+15550009002', false) RETURNING id, active), "
	    "o AS (INSERT INTO oncall_shifts (staff_id, tier, starts_at, ends_at) "
	    "SELECT id, 'primary', now() - interval '1 hour', now() + interval '1 hour' FROM s UNION ALL "
	    "SELECT id, 'backup', now() + interval '1 day', now() + interval '2 days' FROM s WHERE active "
	    "RETURNING 1) SELECT count(*) FROM o"), 3);
	metrics_check_has(gw.port, (const char *const[]){ "carenav_oncall_staff 1\n", NULL });
	harness_gw_stop_clean(&gw);

	/* Every line of stderr is one JSON object with a level and an event. */
	f = fopen(gw.log_path, "r");
	ck_assert_ptr_nonnull(f);
	while (getline(&line, &cap, f) > 0) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);

		ck_assert_msg(o != NULL, "not JSON (%s): %s", err.text, line);
		ck_assert_msg(json_is_string(json_object_get(o, "level")) && json_is_string(json_object_get(o, "event")) &&
		    json_is_string(json_object_get(o, "ts")), "fields missing: %s", line);
		ck_assert_msg(!contains(line, PATIENT) && !contains(line, "15551230001"), "full number: %s", line);
		ck_assert_msg(!contains(line, "chest pain"), "message text: %s", line);
		json_decref(o);
		lines++;
	}
	ck_assert_int_gt(lines, 10);
	free(line);
	fclose(f);
	PQfinish(pg);
	harness_gw_free(&gw);
	free(conninfo);
}
END_TEST

START_TEST(test_doctor)
{
	char *conninfo = harness_db_create(), *out = NULL, *tw_base;
	struct fake_twilio *ft = fake_twilio_start();
	struct harness_gw gw, nodb, fresh, badcfg, sandbox, kannel;
	const int refuse[] = { 401 };
	struct fake_twilio_request req;
	char *fresh_db = harness_db_create_empty();
	const char *env[7];

	tw_base = xasprintf("TWILIO_API_BASE=http://127.0.0.1:%d", fake_twilio_port(ft));
	env[0] = "SMS_PROVIDER=twilio";
	env[1] = "TWILIO_ACCOUNT_SID=ACtest123";
	env[2] = "TWILIO_AUTH_TOKEN=s3cret";
	env[3] = tw_base;
	env[4] = "PUBLIC_BASE_URL=https://clinic.example.org";
	env[5] = "ESCALATION_FALLBACK_NUMBER=+15550009999";  /* no shifts: without it doctor fails (check_emergency) */
	env[6] = NULL;
	harness_gw_init(&gw, conninfo, env);
	ck_assert_int_eq(harness_gw_cli(&gw, NULL, "migrate", NULL), 0);

	/* Healthy: configuration, database, migrations and Twilio all fine; nothing sent. */
	ck_assert_msg(harness_gw_cli(&gw, &out, "doctor", NULL) == 0, "%s", out);
	ck_assert_msg(contains(out, "no problems found"), "%s", out);
	ck_assert_msg(contains(out, "ok    migrations: all"), "%s", out);
	ck_assert_msg(contains(out, "Twilio accepted"), "%s", out);
	ck_assert_msg(contains(out, "warn  on-call: 1 gap(s) in the next 7 days, nobody now"), "%s", out);
	/* Every webhook path was tried without a credential and refused it. */
	ck_assert_msg(contains(out, "ok    webhooks: POST /sms/inbound refuses requests without the twilio "
	    "credential"), "%s", out);
	ck_assert_msg(contains(out, "ok    webhooks: POST /sms/status refuses requests without the twilio "
	    "credential"), "%s", out);
	ck_assert_uint_eq(fake_twilio_count_sent(ft, "To", PATIENT), 0);
	req = fake_twilio_get(ft, 0);
	ck_assert_msg(contains(req.path, "/Accounts/ACtest123.json"), "doctor asked %s", req.path);
	fake_twilio_request_free(&req);
	free(out);

	/* Twilio refuses the credentials. */
	fake_twilio_script(ft, refuse, 1);
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "doctor", NULL), 1);
	ck_assert_msg(contains(out, "FAIL  provider: Twilio refused the credentials"), "%s", out);
	free(out);

	/* No database there. */
	harness_gw_init(&nodb, "host=127.0.0.1 port=1 dbname=carenav connect_timeout=2", NULL);
	ck_assert_int_ge(harness_gw_cli(&nodb, &out, "doctor", NULL), 1);
	ck_assert_msg(contains(out, "FAIL  database: cannot connect"), "%s", out);
	free(out);

	/* A database nobody migrated. */
	harness_gw_init(&fresh, fresh_db, NULL);
	ck_assert_int_ge(harness_gw_cli(&fresh, &out, "doctor", NULL), 1);
	ck_assert_msg(contains(out, "FAIL  migrations: none applied"), "%s", out);
	free(out);

	/* The sandbox takes unsigned texts (carenav-sim) from this machine only; Kannel needs its secret. */
	{
		/* No shifts: without a fallback, doctor would fail on the on-call gap. */
		const char *fallback[] = { "ESCALATION_FALLBACK_NUMBER=+15550009999", NULL };

		harness_gw_init(&sandbox, conninfo, fallback);
	}
	ck_assert_msg(harness_gw_cli(&sandbox, &out, "doctor", NULL) == 0, "%s", out);
	ck_assert_msg(contains(out, "ok    webhooks: POST /sms/inbound takes unsigned requests from this machine "
	    "only"), "%s", out);
	ck_assert_msg(!contains(out, "FAIL  webhooks"), "%s", out);
	free(out);
	env[0] = "SMS_PROVIDER=kannel";
	env[1] = "KANNEL_USERNAME=carenav";
	env[2] = "KANNEL_PASSWORD=pw";
	env[3] = "KANNEL_SHARED_SECRET=kannel-secret";
	env[4] = NULL;
	harness_gw_init(&kannel, conninfo, env);
	ck_assert_int_ge(harness_gw_cli(&kannel, &out, "doctor", NULL), 1);  /* no smsbox here */
	ck_assert_msg(contains(out, "ok    webhooks: POST /sms/kannel/inbound refuses requests without the kannel "
	    "credential") && contains(out, "ok    webhooks: GET /sms/kannel/status refuses"), "%s", out);
	ck_assert_msg(!contains(out, "FAIL  webhooks"), "%s", out);
	free(out);

	/* A typo in a setting names the key. */
	env[0] = "LOG_LEVEL=verbose";
	env[1] = NULL;
	harness_gw_init(&badcfg, conninfo, env);
	ck_assert_int_eq(harness_gw_cli(&badcfg, &out, "doctor", NULL), 1);
	ck_assert_msg(contains(out, "FAIL  configuration: LOG_LEVEL"), "%s", out);
	free(out);

	harness_gw_free(&gw);
	harness_gw_free(&nodb);
	harness_gw_free(&fresh);
	harness_gw_free(&badcfg);
	harness_gw_free(&sandbox);
	harness_gw_free(&kannel);
	fake_twilio_stop(ft);
	free(tw_base);
	free(fresh_db);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("ops", 90, test_metrics_and_json_log, test_doctor)
