/*
 * check_model_alert.c - the text model as the daemon's second emergency
 * detector, end to end: the real gateway started with a hand-written model
 * (TRIAGE_MODEL_FILE) that calls any text with the made-up word "zzqx" an
 * emergency, PostgreSQL, and a fake Twilio playing the patient and the
 * on-call nurse.
 *
 * Why: triage.c is tested alone in check_triage_model; this shows the
 * combined verdict is the one the dialogue acts on (the patient is told to
 * call 911), and that the staff alert says the text model flagged it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "harness.h"
#include "triage_model.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15553000200"
#define NURSE "+15553000201"
#define WAIT_MS 20000

/* Writes the marker model next to the test's var directory; returns its path (caller frees). */
static char *
marker_model_file(void)
{
	static struct triage_features f;
	const char *var = getenv("CARENAV_TEST_VARDIR");
	char *path;
	FILE *out;

	mkdir(var != NULL ? var : ".", 0755);
	path = xasprintf("%s/marker-model-%d.txt", var != NULL ? var : ".", (int)getpid());
	out = fopen(path, "w");
	ck_assert_msg(out != NULL, "cannot write %s", path);
	triage_model_features("zzqx", 4, &f);
	fprintf(out, "%s\nhash_bits %d\nscale_floor 0\nthreshold_emergency 0.5\nthreshold_see_doctor 0.5\nweights %zu\n"
	    "bias 2 -2 -4\n", TRIAGE_MODEL_MAGIC, TRIAGE_HASH_BITS, f.n);
	for (size_t i = 0; i < f.n; i++)
		fprintf(out, "%u -4 0 12\n", f.id[i]);
	fprintf(out, "end\n");
	ck_assert_int_eq(fclose(out), 0);
	return path;
}

START_TEST(test_model_only_emergency_alerts_staff)
{
	char *conninfo = harness_db_create(), *model = marker_model_file();
	struct fake_twilio *ft = fake_twilio_start();
	char *env[8] = { 0 }, *out = NULL, *from, *to, *body, *reason;
	struct harness_gw gw;
	PGconn *pg;

	env[0] = xstrdup("SMS_PROVIDER=twilio");
	env[1] = xstrdup("TWILIO_ACCOUNT_SID=ACtest123");
	env[2] = xstrdup("TWILIO_AUTH_TOKEN=s3cret");
	env[3] = xasprintf("TWILIO_API_BASE=http://127.0.0.1:%d", fake_twilio_port(ft));
	env[4] = xstrdup("PUBLIC_BASE_URL=https://sms.clinic.example");
	env[5] = xasprintf("TRIAGE_MODEL_FILE=%s", model);
	harness_sign_twilio("s3cret", "https://sms.clinic.example");
	harness_gw_init(&gw, conninfo, (const char *const *)env);
	harness_gw_start(&gw);
	pg = harness_db_connect(conninfo);
	ck_assert_int_eq(harness_gw_cli(&gw, NULL, "staff", "add", "--name", "Nia Nurse", "--phone", NURSE, NULL), 0);
	from = harness_query_text(pg, "SELECT to_char(now() - interval '1 hour', 'YYYY-MM-DD HH24:MI')");
	to = harness_query_text(pg, "SELECT to_char(now() + interval '2 hours', 'YYYY-MM-DD HH24:MI')");
	ck_assert_msg(harness_gw_cli(&gw, &out, "oncall", "add", "--phone", NURSE, "--tier", "primary",
	    "--from", from, "--to", to, "--tz", "UTC", NULL) == 0, "%s", out);

	/* Rules alone see nothing here; the model calls it an emergency. */
	ck_assert_int_eq(harness_post_sms(gw.port, "SMmodel00001", PATIENT, CLINIC, "my back hurts, zzqx"), 200);
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM escalations", 1, WAIT_MS),
	    "no escalation; see %s", gw.log_path);
	reason = harness_query_text(pg, "SELECT reason || ' | ' || coalesce(matched, '') FROM escalations");
	ck_assert_msg(strstr(reason, "text_model") != NULL &&
	    strstr(reason, "flagged by the text model (emergency probability") != NULL, "escalation: %s", reason);
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE to_number = '" PATIENT "' "
	    "AND body LIKE '%911%'", 1, WAIT_MS), "the patient was not told to call 911");
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE to_number = '" NURSE "'", 1,
	    WAIT_MS), "the nurse got no alert; see %s", gw.log_path);
	body = harness_query_text(pg, "SELECT body FROM messages WHERE to_number = '" NURSE "' ORDER BY id LIMIT 1");
	ck_assert_msg(strstr(body, "text_model") != NULL && strstr(body, "flagged by the text model") != NULL,
	    "alert was: %s", body);

	/* The same words without the marker: the model stays quiet, no second escalation. */
	ck_assert_int_eq(harness_post_sms(gw.port, "SMmodel00002", "+15553000202", CLINIC, "my back hurts"), 200);
	ck_assert(harness_wait_int(pg, "SELECT least(count(*), 1) FROM messages WHERE to_number = '+15553000202'", 1, WAIT_MS));
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations"), 1);

	free(body);
	free(reason);
	free(from);
	free(to);
	free(out);
	PQfinish(pg);
	harness_gw_free(&gw);
	fake_twilio_stop(ft);
	unlink(model);
	free(model);
	for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
		free(env[i]);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("model_alert", 120, test_model_only_emergency_alerts_staff)
