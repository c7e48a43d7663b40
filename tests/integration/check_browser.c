/*
 * check_browser.c - the operator console in headless Chromium against the
 * real gateway: seeded conversations with 4 open escalations must show
 * (on a desktop and on a 390x844 phone: sizes, tap targets, contrast),
 * clicking Acknowledge must acknowledge one in the database under the
 * operator's name and keep it in the band as in progress, Resolve must
 * record an outcome, a new red flag must change the page title, and the
 * reply box counts SMS segments, shows the API's refusal of a text too long
 * for one message and sends one that fits. The browser part is tests/browser/console.mjs
 * (playwright-core driving Debian's /usr/bin/chromium; tests/browser/setup
 * installs both). Screenshots go to the build folder:
 * browser/console.png (before the ACK), browser/console-acked.png and
 * browser/console-phone.png (390x844, a conversation open).
 *
 * The admin side (tests/browser/admin.mjs, issue #21): sign-in with a
 * password and a TOTP code, the overview's charts against SQL counts, a
 * CSV export (rows, masked numbers) that shows in the audit view, and a
 * viewer who sees no admin controls and reads the API's 403; a browser in
 * Spanish gets the sign-in page in Spanish, and an operator who picks
 * Español sees no English label, Spanish reasons and the API's refusals
 * in Spanish. Screenshots browser/admin.png (1280x800), admin-audit.png,
 * admin-phone.png (390x844) and admin-es.png.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15553000100"
#define TOKEN "nurse-console-token-0123456789"
#define STAFF_PHONE "+15550001001"
#define WAIT_MS 15000

static const char *
env_or_fail(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL && *v != '\0', "%s is not set (run through ctest)", name);
	return v;
}

static void
text(struct harness_gw *gw, PGconn *pg, const char *sid, const char *from, const char *body)
{
	ck_assert_int_eq(harness_post_sms(gw->port, sid, from, CLINIC, body), 200);
	harness_wait_processed(pg, WAIT_MS, gw->log_path);
}

START_TEST(test_console_shows_and_acks)
{
	const char *script = env_or_fail("CARENAV_BROWSER_SCRIPT");
	const char *outdir = env_or_fail("CARENAV_BROWSER_OUT");
	const char *env[] = { "OPERATOR_TOKENS=nurse:" TOKEN, NULL };
	struct harness_gw gw;
	char *conninfo = harness_db_create(), *code, *code2, *url, *sms_url, *shot, *shot2, *shot3, *cmd;
	char *out = NULL, *password;
	PGconn *pg;
	int status;

	harness_gw_init(&gw, conninfo, env);
	harness_gw_start(&gw);
	pg = harness_db_connect(conninfo);
	/* A nurse on call now, so the red flags below page her (and the console's ACK stands her down). */
	{
		time_t now = time(NULL), later = now + 20 * 3600, before = now - 3600;
		char from[32], to[32];

		strftime(from, sizeof from, "%Y-%m-%d %H:%M", gmtime(&before));
		strftime(to, sizeof to, "%Y-%m-%d %H:%M", gmtime(&later));
		ck_assert_int_eq(harness_gw_cli(&gw, NULL, "staff", "add", "--name", "Pat Primary", "--phone",
		    STAFF_PHONE, NULL), 0);
		ck_assert_int_eq(harness_gw_cli(&gw, NULL, "oncall", "add", "--phone", STAFF_PHONE, "--tier", "primary",
		    "--from", from, "--to", to, "--tz", "UTC", NULL), 0);
	}
	/* Seed: some quiet conversations, then one that raises a red flag. */
	text(&gw, pg, "SMbr001", "+15553000201", "my lower back hurts");
	text(&gw, pg, "SMbr002", "+15553000202", "hi");
	text(&gw, pg, "SMbr003", PATIENT, "my back hurts since yesterday");
	text(&gw, pg, "SMbr004", PATIENT, "now i have chest pain and feel dizzy");
	/* Three more at once: a busy night. */
	text(&gw, pg, "SMbr005", "+15553000301", "i lost control of my bladder and my back hurts");
	text(&gw, pg, "SMbr006", "+15553000302", "sudden severe back pain getting worse fast");
	text(&gw, pg, "SMbr007", "+15553000303", "my legs are suddenly weak and my back hurts");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations WHERE status = 'open'"), 4);
	ck_assert(harness_wait_int(pg, "SELECT count(DISTINCT escalation_id) FROM escalation_events "
	    "WHERE event = 'alert_queued'", 4, 15000));
	code = harness_query_text(pg, "SELECT e.code FROM escalations e JOIN conversations c ON c.id = e.conversation_id "
	    "WHERE c.patient_number = '" PATIENT "'");
	code2 = harness_query_text(pg, "SELECT e.code FROM escalations e JOIN conversations c ON c.id = e.conversation_id "
	    "WHERE c.patient_number = '+15553000301'");
	/* The retention purge has blanked the patient's first text (as after RETENTION_DAYS). */
	PQclear(PQexec(pg, "UPDATE messages SET body = '', purged_at = now() WHERE provider_sid = 'SMbr003'"));
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE purged_at IS NOT NULL"), 1);

	/* An operator account (issue #21): the console signs in with its password. */
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "operator", "add", "--name", "nurse", "--role", "responder",
	    NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "password (shown once): "));
	password = xstrndup(strstr(out, "password (shown once): ") + 23, 20);
	free(out);

	mkdir(outdir, 0755);
	url = xasprintf("http://127.0.0.1:%d/console/", gw.port);
	shot = xasprintf("%s/console.png", outdir);
	shot2 = xasprintf("%s/console-acked.png", outdir);
	shot3 = xasprintf("%s/console-phone.png", outdir);
	sms_url = xasprintf("http://127.0.0.1:%d/sms/inbound", gw.port);
	cmd = xasprintf("CONSOLE_URL='%s' CONSOLE_TOKEN='%s' CONSOLE_OPERATOR=nurse CONSOLE_PASSWORD='%s' "
	    "ESC_CODE='%s' ESC_CODE2='%s' OPEN_COUNT=4 PATIENT_LAST4=0100 SMS_URL='%s' SCREENSHOT='%s' "
	    "SCREENSHOT_DETAIL='%s' SCREENSHOT_MOBILE='%s' node '%s'", url, TOKEN, password, code, code2, sms_url, shot,
	    shot2, shot3, script);
	status = system(cmd);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the console test in Chromium failed (exit %d); see its output above", WEXITSTATUS(status));

	/* The click reached the database, under the token's name. */
	ck_assert(harness_wait_int(pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged' "
	    "AND acknowledged_by = 'operator:nurse'", 1, WAIT_MS));
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions "
	    "WHERE operator = 'nurse' AND action = 'escalation_ack'"), 1);
	/* Resolved with the outcome picked in the dialog; the new red flag arrived while the page was open. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations WHERE status = 'resolved' "
	    "AND outcome = 'no_answer' AND outcome_tries = 3 AND resolution_note = 'voicemail, left a message' "
	    "AND resolved_by = 'operator:nurse'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations"), 5);
	/* The reply box: the text over the limit was refused, nothing queued; the one that fits went. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:nurse'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:nurse' "
	    "AND body = 'Hola, soy la enfermera. ¿Puedo llamarle?' AND segments = 1 AND encoding = 'gsm7'"), 1);
	ck_assert(access(shot, R_OK) == 0);
	/* The nurse paged about the acknowledged escalation was told it is taken (the console shows it too). */
	ck_assert(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE sent_by = 'stand_down' "
	    "AND to_number = '" STAFF_PHONE "' AND body LIKE '%' || (SELECT code FROM escalations e "
	    "JOIN conversations c ON c.id = e.conversation_id WHERE c.patient_number = '" PATIENT "') || ' taken by nurse%'",
	    1, 15000));
	/* Signed in with the password, opened the conversation (audited once, not once per poll), signed out. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions "
	    "WHERE operator = 'nurse' AND action IN ('login', 'conversation_open', 'logout')"), 3);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions "
	    "WHERE operator = 'nurse' AND action = 'conversation_open' AND client_addr = '127.0.0.1'"), 1);
	free(password);
	harness_gw_stop_clean(&gw);
	free(cmd);
	free(shot);
	free(shot2);
	free(shot3);
	free(sms_url);
	free(url);
	free(code);
	free(code2);
	PQfinish(pg);
	harness_gw_free(&gw);
	free(conninfo);
}
END_TEST

/* The text after marker in out, to the end of its line (caller frees). */
static char *
after(const char *out, const char *marker)
{
	const char *p = strstr(out, marker);

	ck_assert_msg(p != NULL, "no \"%s\" in: %s", marker, out);
	p += strlen(marker);
	return xstrndup(p, strcspn(p, "\r\n&"));
}

/* tests/browser/NAME beside the script ctest names. */
static char *
browser_script(const char *name)
{
	const char *script = env_or_fail("CARENAV_BROWSER_SCRIPT"), *slash = strrchr(script, '/');

	return xasprintf("%.*s/%s", slash ? (int)(slash - script) : 1, slash ? script : ".", name);
}

/* Per chart of the overview, {day: count} straight from the tables (UTC days). */
#define CHART_DAYS(key, from_where) \
	"'" key "', (SELECT coalesce(json_object_agg(d, n), '{}') FROM (SELECT (created_at AT TIME ZONE 'UTC')" \
	"::date::text AS d, count(*) AS n FROM " from_where " GROUP BY 1) x)"

START_TEST(test_admin_console)
{
	const char *outdir = env_or_fail("CARENAV_BROWSER_OUT");
	struct harness_gw gw;
	char *conninfo = harness_db_create(), *out = NULL, *admin_pw, *secret, *viewer_pw, *spanish_pw, *chart;
	char *patients;
	char *url, *shot, *cmd, *script = browser_script("admin.mjs");
	PGconn *pg;
	int status;

	harness_gw_init(&gw, conninfo, NULL);
	harness_gw_start(&gw);
	pg = harness_db_connect(conninfo);
	text(&gw, pg, "SMad001", "+15553000401", "my lower back hurts");
	text(&gw, pg, "SMad002", "+15553000402", "now i have chest pain and feel dizzy");
	text(&gw, pg, "SMad003", "+15553000403", "i lost control of my bladder and my back hurts");
	text(&gw, pg, "SMad004", "+15553000404", "hi");
	text(&gw, pg, "SMad005", "+15553000401", "it still hurts");
	/* One conversation began three days ago: the charts have two days with bars. */
	PQclear(PQexec(pg, "UPDATE messages SET created_at = created_at - interval '3 days' "
	    "WHERE conversation_id = (SELECT id FROM conversations WHERE patient_number = '+15553000401')"));
	PQclear(PQexec(pg, "UPDATE conversations SET created_at = created_at - interval '3 days' "
	    "WHERE patient_number = '+15553000401'"));
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) "
	    "FROM messages WHERE direction = 'in'"), 2);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations WHERE message_id IS NOT NULL"), 2);
	chart = harness_query_text(pg, "SELECT json_build_object("
	    CHART_DAYS("texts_in", "messages WHERE direction = 'in'") ", "
	    CHART_DAYS("conversations", "conversations WHERE kind = 'patient'") ", "
	    CHART_DAYS("red_flags", "escalations WHERE message_id IS NOT NULL") ", "
	    CHART_DAYS("escalations", "escalations") ", "
	    CHART_DAYS("callbacks", "callbacks") ")::text");
	patients = harness_query_text(pg, "SELECT string_agg(patient_number, ',' ORDER BY id) FROM conversations "
	    "WHERE kind = 'patient'");
	ck_assert_str_eq(patients, "+15553000401,+15553000402,+15553000403,+15553000404");

	/* An admin with a second factor, and a viewer. */
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "operator", "add", "--name", "ada", "--role", "admin", NULL), 0);
	admin_pw = after(out, "password (shown once): ");
	free(out);
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "operator", "totp", "ada", NULL), 0);
	secret = after(out, "secret=");
	free(out);
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "operator", "add", "--name", "vic", "--role", "viewer", NULL), 0);
	viewer_pw = after(out, "password (shown once): ");
	free(out);
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "operator", "add", "--name", "sofia", "--role", "responder",
	    NULL), 0);
	spanish_pw = after(out, "password (shown once): ");
	free(out);

	mkdir(outdir, 0755);
	url = xasprintf("http://127.0.0.1:%d/console/", gw.port);
	shot = xasprintf("%s/admin.png", outdir);
	cmd = xasprintf("CONSOLE_URL='%s' ADMIN_NAME=ada ADMIN_PASSWORD='%s' ADMIN_TOTP_SECRET='%s' VIEWER_NAME=vic "
	    "VIEWER_PASSWORD='%s' SPANISH_NAME=sofia SPANISH_PASSWORD='%s' EXPECT_CHART='%s' EXPORT_PATIENTS='%s' "
	    "SCREENSHOT='%s' node '%s'", url, admin_pw, secret, viewer_pw, spanish_pw, chart, patients, shot, script);
	status = system(cmd);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the admin console test in Chromium failed (exit %d); see its output above", WEXITSTATUS(status));

	/* What the browser did is in the audit trail, under each name. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions WHERE operator = 'ada' "
	    "AND action = 'export' AND detail LIKE 'kind=conversations%' AND client_addr = '127.0.0.1'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions WHERE operator = 'ada' "
	    "AND action = 'login_failed'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions WHERE action = 'login' "
	    "AND operator IN ('ada', 'vic')"), 2);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions WHERE operator = 'vic' "
	    "AND action LIKE 'export%'"), 0);
	/* sofia chose Spanish in the console: kept on her account, audited with where from. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operators WHERE name = 'sofia' "
	    "AND language = 'es'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions WHERE operator = 'sofia' "
	    "AND action = 'operator_language' AND detail = 'sofia: en -> es' AND client_addr = '127.0.0.1'"), 1);
	/* Her wrong password counted; the text too long for one message was refused whole. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM operator_actions WHERE operator = 'sofia' "
	    "AND action = 'login_failed'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:sofia'"), 0);
	ck_assert(access(shot, R_OK) == 0);
	harness_gw_stop_clean(&gw);
	free(cmd);
	free(shot);
	free(url);
	free(spanish_pw);
	free(patients);
	free(chart);
	free(viewer_pw);
	free(secret);
	free(admin_pw);
	free(script);
	PQfinish(pg);
	harness_gw_free(&gw);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("browser", 90, test_console_shows_and_acks, test_admin_console)
