/*
 * check_operators.c - operator accounts end to end (issue #21): the real
 * gateway and PostgreSQL, accounts made with "carenav operator ...".
 * Each role's allowed and refused endpoints; API tokens that expire, are
 * revoked or whose account is disabled stop working on the next request
 * without a restart; console sessions (cookie flags, CSRF, sign-out, idle
 * and absolute timeouts); lock-out of one account that leaves the others
 * alone; TOTP; reads, exports and reveals in the audit trail, which
 * cannot be changed; each operator's console language (the API and the CLI).
 */
#include <check.h>
#include <jansson.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define AUTO "automation-token-0123456789"
#define PATIENT "+15553000100"

struct world {
	struct twilio_world tw;
	long long conv;
};

static void
world_init(struct world *w)
{
	static const char *const env[] = { "OPERATOR_TOKENS=auto:" AUTO,
		"PUBLIC_BASE_URL=https://sms.clinic.example", "LOGIN_MAX_FAILURES=3", NULL };

	twilio_world_start(&w->tw, &(const struct twilio_world_opts){ .sandbox = true, .settings = env });
	PQclear(PQexec(w->tw.pg, "INSERT INTO conversations (patient_number, service_number) "
	    "VALUES ('" PATIENT "', '+15550001111')"));
	w->conv = harness_query_int(w->tw.pg, "SELECT id FROM conversations WHERE patient_number = '" PATIENT "'");
	PQclear(PQexec(w->tw.pg, "INSERT INTO messages (conversation_id, direction, provider, from_number, "
	    "to_number, body, status) SELECT id, 'in', 'sandbox', patient_number, service_number, "
	    "'=HYPERLINK(\"x\") my back hurts', 'processed' FROM conversations"));
	/* Acknowledged after 2 minutes, raised today (UTC) even just after midnight: the overview counts it today. */
	PQclear(PQexec(w->tw.pg, "INSERT INTO escalations (code, conversation_id, reason, created_at, status, "
	    "acknowledged_at) SELECT '1234', id, 'er_test', t, 'acknowledged', t + interval '2 minutes' "
	    "FROM conversations, greatest(now() - interval '10 minutes', date_trunc('day', now(), 'UTC')) AS t"));
}

/* The text after marker on its line in out (caller frees), or NULL. */
static char *
after(const char *out, const char *marker)
{
	const char *p = strstr(out, marker);

	if (p == NULL)
		return NULL;
	p += strlen(marker);
	return xstrndup(p, strcspn(p, "\r\n"));
}

/* "carenav operator add": the password and token it printed (either may be NULL). */
static void
op_add(struct world *w, const char *name, const char *role, char **password, char **token)
{
	char *out = NULL;

	ck_assert_msg(harness_gw_cli(&w->tw.gw, &out, "operator", "add", "--name", name, "--role", role,
	    "--token", NULL) == 0, "operator add: %s", out);
	if (password != NULL)
		*password = after(out, "password (shown once): ");
	if (token != NULL) {
		const char *t = strstr(out, "cnt_");

		*token = t ? xstrndup(t, strcspn(t, "\r\n")) : NULL;
	}
	free(out);
}

/* "carenav operator token NAME [--days DAYS]" (days may be NULL): the token it printed (caller frees). */
static char *
op_token(struct world *w, const char *name, const char *days)
{
	char *out = NULL, *token;

	/* With days NULL the argument list ends there. */
	ck_assert_msg(harness_gw_cli(&w->tw.gw, &out, "operator", "token", name, days ? "--days" : NULL, days,
	    NULL) == 0, "operator token: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "cnt_"));
	token = xstrndup(strstr(out, "cnt_"), 68);
	free(out);
	return token;
}

struct call {
	const char *method, *path, *token, *cookie, *csrf, *body;
};

/* One request; returns the status; *resp, *headers may be NULL. */
static long
api(struct world *w, struct call c, char **resp, char **headers)
{
	const char *h[4] = { NULL };
	char *auth = NULL, *cookie = NULL, *csrf = NULL;
	size_t n = 0;
	long status;

	if (c.token != NULL)
		h[n++] = auth = xasprintf("Authorization: Bearer %s", c.token);
	if (c.cookie != NULL)
		h[n++] = cookie = xasprintf("Cookie: carenav_session=%s", c.cookie);
	if (c.csrf != NULL)
		h[n++] = csrf = xasprintf("X-CSRF-Token: %s", c.csrf);
	status = harness_http(&(struct harness_http){ .port = w->tw.gw.port, .method = c.method, .path = c.path,
	    .headers = h, .content_type = "application/json", .body = c.body,
	    .body_len = c.body ? strlen(c.body) : 0, .resp_headers = headers }, resp);
	free(auth);
	free(cookie);
	free(csrf);
	return status;
}

/* Asserts the status of a token request and, for 403, that the message names need. */
static void
expect(struct world *w, long status, const char *method, const char *path, const char *token,
    const char *body, const char *need)
{
	char *resp = NULL;
	long got = api(w, (struct call){ method, path, token, NULL, NULL, body }, &resp, NULL);

	ck_assert_msg(got == status, "%s %s: %ld, not %ld: %s", method, path, got, status, resp);
	if (need != NULL)
		ck_assert_msg(strstr(resp, need) != NULL, "%s %s: %s does not name %s", method, path, resp, need);
	free(resp);
}

START_TEST(test_roles)
{
	struct world w;
	char *vt, *rt, *at, *path, *resp = NULL;

	world_init(&w);
	op_add(&w, "vera", "viewer", NULL, &vt);
	op_add(&w, "rita", "responder", NULL, &rt);
	op_add(&w, "adam", "admin", NULL, &at);
	ck_assert_ptr_nonnull(vt);
	ck_assert_ptr_nonnull(at);
	path = xasprintf("/api/conversations/%lld/handoff", w.conv);

	/* viewer: reads only */
	expect(&w, 200, "GET", "/api/conversations", vt, NULL, NULL);
	expect(&w, 200, "GET", "/api/escalations", vt, NULL, NULL);
	expect(&w, 200, "GET", "/api/callbacks", vt, NULL, NULL);
	expect(&w, 200, "GET", "/api/overview", vt, NULL, NULL);
	expect(&w, 200, "GET", "/api/me", vt, NULL, "\"viewer\"");
	expect(&w, 403, "POST", path, vt, "{\"active\": true}", "responder role");
	expect(&w, 403, "POST", "/api/escalations/1/ack", vt, NULL, "responder role");
	expect(&w, 403, "POST", "/api/escalations/1/resolve", vt, NULL, "responder role");
	expect(&w, 403, "POST", "/api/callbacks/1/done", vt, NULL, "responder role");
	expect(&w, 403, "POST", "/api/conversations/1/messages", vt, "{\"body\": \"hi\"}", "responder role");
	expect(&w, 403, "GET", "/api/audit", vt, NULL, "admin role");
	expect(&w, 403, "GET", "/api/export?kind=messages", vt, NULL, "admin role");
	/* responder: acts, but no audit or export */
	expect(&w, 200, "POST", path, rt, "{\"active\": true}", NULL);
	expect(&w, 409, "POST", "/api/escalations/1/ack", rt, NULL, NULL);
	expect(&w, 404, "POST", "/api/callbacks/99/done", rt, NULL, NULL);
	expect(&w, 403, "GET", "/api/audit", rt, NULL, "admin role");
	expect(&w, 403, "GET", "/api/export?kind=messages", rt, NULL, "admin role");
	/* admin, and OPERATOR_TOKENS (automation) is admin */
	expect(&w, 200, "GET", "/api/audit", at, NULL, "handoff_start");
	expect(&w, 200, "GET", "/api/audit", AUTO, NULL, NULL);
	expect(&w, 200, "POST", path, at, "{\"active\": false}", NULL);
	expect(&w, 400, "GET", "/api/export?kind=nope", at, NULL, NULL);
	expect(&w, 400, "GET", "/api/export?kind=messages&from=2026-02-30", at, NULL, NULL);
	/* accounts: admin only, no secrets; an admin disables an account and its token stops at once */
	expect(&w, 403, "GET", "/api/operators", rt, NULL, "admin role");
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/operators", at, NULL, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"rita\"") != NULL && strstr(resp, "argon2") == NULL && strstr(resp, "cnt_") == NULL,
	    "%s", resp);
	free(resp);
	resp = NULL;
	{
		char *dis = xasprintf("/api/operators/%lld/disable",
		    harness_query_int(w.tw.pg, "SELECT id FROM operators WHERE name = 'rita'"));

		expect(&w, 403, "POST", dis, rt, NULL, "admin role");
		expect(&w, 200, "POST", dis, at, NULL, NULL);
		expect(&w, 401, "GET", "/api/me", rt, NULL, NULL);
		expect(&w, 404, "POST", "/api/operators/9999/disable", at, NULL, NULL);
		free(dis);
	}
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'adam' "
	    "AND action = 'operator_disable' AND detail = 'rita'"), 1);
	/* unknown paths still need a valid credential first */
	expect(&w, 401, "GET", "/api/nothing-here", "cnt_0000000000000000000000000000000000000000000000000000000000000000",
	    NULL, NULL);
	expect(&w, 404, "GET", "/api/nothing-here", vt, NULL, NULL);

	/* the overview counts per day */
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/overview?days=3", vt, NULL, NULL, NULL }, &resp,
	    NULL), 200);
	{
		json_t *doc = json_loads(resp, 0, NULL), *days = json_object_get(doc, "days"), *today;

		ck_assert_int_eq(json_array_size(days), 3);
		today = json_array_get(days, 2);
		ck_assert_int_eq(json_integer_value(json_object_get(today, "texts_in")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(today, "escalations")), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(today, "conversations")), 1);
		ck_assert(json_real_value(json_object_get(today, "ack_median_s")) > 100 ||
		    json_number_value(json_object_get(today, "ack_median_s")) > 100);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "now"),
		    "escalations_in_progress")), 1);
		json_decref(doc);
	}
	free(resp);
	free(path);
	free(vt);
	free(rt);
	free(at);
	twilio_world_stop(&w.tw);
}
END_TEST

START_TEST(test_reads_audited)
{
	struct world w;
	char *vt, *at, *path, *resp = NULL, *headers = NULL;
	PGresult *res;

	world_init(&w);
	op_add(&w, "vera", "viewer", NULL, &vt);
	op_add(&w, "adam", "admin", NULL, &at);
	path = xasprintf("/api/conversations/%lld", w.conv);
	expect(&w, 200, "GET", path, vt, NULL, PATIENT);
	expect(&w, 200, "GET", path, vt, NULL, PATIENT);  /* a console poll: not a second row */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'vera' "
	    "AND action = 'conversation_open' AND client_addr = '127.0.0.1' AND conversation_id = (SELECT id "
	    "FROM conversations WHERE patient_number = '" PATIENT "')"), 1);
	expect(&w, 200, "GET", "/api/conversations?q=555-300-0100", vt, NULL, NULL);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'vera' "
	    "AND action = 'search' AND detail LIKE '%0100' AND detail NOT LIKE '%3000100%'"), 1);
	/* a list without a search shows no patient data: not audited */
	expect(&w, 200, "GET", "/api/conversations", vt, NULL, NULL);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'vera'"), 2);

	/* exports: masked, audited; full=1 audited as a reveal; formulas defused */
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/export?kind=messages", at, NULL, NULL, NULL }, &resp,
	    &headers), 200);
	ck_assert_msg(strstr(headers, "text/csv") != NULL && strstr(headers, "attachment") != NULL, "%s", headers);
	ck_assert_msg(strstr(resp, "***0100") != NULL && strstr(resp, PATIENT) == NULL, "%s", resp);
	ck_assert_msg(strstr(resp, "\"'=HYPERLINK(\"\"x\"\") my back hurts\"") != NULL, "%s", resp);
	free(resp);
	free(headers);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/export?kind=conversations&full=1", at, NULL, NULL,
	    NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, PATIENT) != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/export?kind=escalations&from=2000-01-01", at, NULL,
	    NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"1234\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'adam' "
	    "AND action = 'export'"), 2);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'adam' "
	    "AND action = 'export_reveal' AND detail LIKE 'kind=conversations%full numbers'"), 1);

	/* the admin's audit view has them; nobody can change the trail, not even with SQL */
	expect(&w, 200, "GET", "/api/audit", at, NULL, "export_reveal");
	res = PQexec(w.tw.pg, "UPDATE operator_actions SET operator = 'someone'");
	ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	res = PQexec(w.tw.pg, "DELETE FROM operator_actions");
	ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	ck_assert_int_ge(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions"), 5);
	free(path);
	free(vt);
	free(at);
	twilio_world_stop(&w.tw);
}
END_TEST

START_TEST(test_tokens)
{
	struct world w;
	char *vt, *out = NULL, *t2;

	world_init(&w);
	op_add(&w, "vera", "viewer", NULL, &vt);
	expect(&w, 200, "GET", "/api/me", vt, NULL, "vera");
	/* expiry: no restart */
	PQclear(PQexec(w.tw.pg, "UPDATE operator_tokens SET expires_at = now() - interval '1 second'"));
	expect(&w, 401, "GET", "/api/me", vt, NULL, "expired");
	/* a new token, then revoked at once */
	t2 = op_token(&w, "vera", "1");
	expect(&w, 200, "GET", "/api/conversations", t2, NULL, NULL);
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, NULL, "operator", "revoke", "vera", NULL), 0);
	expect(&w, 401, "GET", "/api/conversations", t2, NULL, NULL);
	free(t2);
	/* a disabled account's tokens stop too */
	t2 = op_token(&w, "vera", NULL);
	expect(&w, 200, "GET", "/api/me", t2, NULL, NULL);
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, NULL, "operator", "disable", "vera", NULL), 0);
	expect(&w, 401, "GET", "/api/me", t2, NULL, NULL);
	/* the CLI says what is wrong */
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "operator", "add", "--name", "Bad Name", "--role", "viewer",
	    NULL), 2);
	ck_assert_msg(strstr(out, "a-z") != NULL, "%s", out);
	free(out);
	harness_gw_cli_expect(&w.tw.gw, 2, "viewer, responder or admin", "operator", "add", "--name", "x",
	    "--role", "boss", NULL);
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "operator", "list", NULL), 0);
	ck_assert_msg(strstr(out, "vera") != NULL && strstr(out, "disabled") != NULL, "%s", out);
	free(out);
	free(t2);
	free(vt);
	twilio_world_stop(&w.tw);
}
END_TEST

/* POST /api/login; returns the status, the session id and CSRF token on success. */
static long
login(struct world *w, const char *name, const char *password, const char *totp, char **sid, char **csrf,
    char **headers_out)
{
	char *body = totp ? xasprintf("{\"name\": \"%s\", \"password\": \"%s\", \"totp\": \"%s\"}", name,
	    password, totp) : xasprintf("{\"name\": \"%s\", \"password\": \"%s\"}", name, password);
	char *resp = NULL, *headers = NULL;
	long status = api(w, (struct call){ "POST", "/api/login", NULL, NULL, NULL, body }, &resp, &headers);

	if (status == 200) {
		json_t *doc = json_loads(resp, 0, NULL);

		*sid = after(headers, "carenav_session=");
		(*sid)[64] = '\0';
		*csrf = xstrdup(json_string_value(json_object_get(doc, "csrf_token")));
		json_decref(doc);
	}
	if (headers_out != NULL)
		*headers_out = headers;
	else
		free(headers);
	free(resp);
	free(body);
	return status;
}

/* RFC 6238 code of a base32 secret at t (the test's own implementation, to check the gateway's). */
static void
totp_code(const char *b32, time_t t, char out[7])
{
	unsigned char key[64], msg[8], mac[20];
	unsigned int maclen = sizeof mac, bits = 0, value = 0;
	size_t klen = 0;
	unsigned long long counter = (unsigned long long)t / 30;
	unsigned int off, code;

	for (const char *p = b32; *p != '\0' && *p != '='; p++) {
		const char *a = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *p);

		value = (value << 5) | (unsigned int)(a - "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
		bits += 5;
		if (bits >= 8) {
			key[klen++] = (unsigned char)(value >> (bits - 8));
			bits -= 8;
		}
	}
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (unsigned char)(counter & 0xff);
	HMAC(EVP_sha1(), key, (int)klen, msg, sizeof msg, mac, &maclen);
	off = mac[19] & 0x0f;
	code = ((mac[off] & 0x7fu) << 24 | (unsigned)mac[off + 1] << 16 | (unsigned)mac[off + 2] << 8 |
	    mac[off + 3]) % 1000000;
	snprintf(out, 7, "%06u", code);
}

START_TEST(test_sessions)
{
	struct world w;
	char *pw, *pw2, *sid = NULL, *csrf = NULL, *headers = NULL, *resp = NULL, *path, *out = NULL, *secret;
	char code[7];
	long st;

	world_init(&w);
	op_add(&w, "nina", "responder", &pw, NULL);
	op_add(&w, "omar", "responder", &pw2, NULL);
	ck_assert_ptr_nonnull(pw);
	path = xasprintf("/api/conversations/%lld/handoff", w.conv);

	ck_assert_int_eq(login(&w, "nina", "wrong-password", NULL, &sid, &csrf, NULL), 401);
	ck_assert_int_eq(login(&w, "nobody", "wrong-password", NULL, &sid, &csrf, NULL), 401);
	ck_assert_int_eq(login(&w, "nina", pw, NULL, &sid, &csrf, &headers), 200);
	ck_assert_msg(strstr(headers, "HttpOnly") != NULL && strstr(headers, "SameSite=Strict") != NULL &&
	    strstr(headers, "Secure") != NULL, "%s", headers);
	free(headers);
	/* only a hash of the session id is stored */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_sessions"), 1);
	{
		char *q = xasprintf("SELECT count(*) FROM operator_sessions WHERE sid_sha256 = '%s'", sid);

		ck_assert_int_eq(harness_query_int(w.tw.pg, q), 0);
		free(q);
	}
	/* the cookie signs in; /api/me gives the CSRF token back */
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, csrf) != NULL && strstr(resp, "\"session\"") != NULL, "%s", resp);
	free(resp);
	/* a change with the cookie needs the session's CSRF token */
	ck_assert_int_eq(api(&w, (struct call){ "POST", path, NULL, sid, NULL, "{}" }, &resp, NULL), 403);
	ck_assert_msg(strstr(resp, "csrf") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(api(&w, (struct call){ "POST", path, NULL, sid,
	    "0000000000000000000000000000000000000000000000000000000000000000", "{}" }, NULL, NULL), 403);
	ck_assert_int_eq(api(&w, (struct call){ "POST", path, NULL, sid, csrf, "{}" }, NULL, NULL), 200);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'nina' "
	    "AND action = 'handoff_start'"), 1);
	/* every write attempt that got past the checks has where it came from */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'nina' "
	    "AND action = 'request' AND detail LIKE 'POST /api/conversations/%/handoff' "
	    "AND client_addr = '127.0.0.1' AND conversation_id IS NOT NULL"), 1);
	/* sign-out ends the session at once */
	ck_assert_int_eq(api(&w, (struct call){ "POST", "/api/logout", NULL, sid, csrf, NULL }, NULL, NULL), 200);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, NULL, NULL), 401);
	free(sid);
	free(csrf);
	/* idle and absolute timeouts */
	ck_assert_int_eq(login(&w, "nina", pw, NULL, &sid, &csrf, NULL), 200);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, NULL, NULL), 200);
	PQclear(PQexec(w.tw.pg, "UPDATE operator_sessions SET last_seen_at = now() - interval '31 minutes' "
	    "WHERE ended_at IS NULL"));
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, NULL, NULL), 401);
	free(sid);
	free(csrf);
	ck_assert_int_eq(login(&w, "nina", pw, NULL, &sid, &csrf, NULL), 200);
	PQclear(PQexec(w.tw.pg, "UPDATE operator_sessions SET created_at = now() - interval '13 hours' "
	    "WHERE ended_at IS NULL"));
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, NULL, NULL), 401);
	free(sid);
	free(csrf);

	/* lock-out: LOGIN_MAX_FAILURES=3 locks nina, even with the right password; omar still signs in */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(login(&w, "nina", "wrong-password", NULL, &sid, &csrf, NULL), 401);
	ck_assert_int_eq(login(&w, "nina", pw, NULL, &sid, &csrf, NULL), 423);
	ck_assert_int_eq(login(&w, "omar", pw2, NULL, &sid, &csrf, NULL), 200);
	free(sid);
	free(csrf);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'nina' "
	    "AND action = 'login_failed'"), 5);
	/* an admin reset unlocks, with a new password */
	free(pw);
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "operator", "reset", "nina", NULL), 0);
	pw = after(out, "password (shown once): ");
	free(out);
	ck_assert_int_eq(login(&w, "nina", pw, NULL, &sid, &csrf, NULL), 200);
	free(sid);
	free(csrf);

	/* TOTP: once on, the password alone is not enough */
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "operator", "totp", "omar", NULL), 0);
	ck_assert_msg(strstr(out, "otpauth://totp/carenav:omar?secret=") != NULL, "%s", out);
	secret = after(out, "secret=");
	secret[strcspn(secret, "&")] = '\0';
	free(out);
	ck_assert_int_eq(login(&w, "omar", pw2, NULL, &sid, &csrf, NULL), 401);
	ck_assert_int_eq(login(&w, "omar", pw2, "000000", &sid, &csrf, NULL) == 401 ||
	    login(&w, "omar", pw2, "999999", &sid, &csrf, NULL) == 401, 1);
	totp_code(secret, time(NULL), code);
	st = login(&w, "omar", pw2, code, &sid, &csrf, NULL);
	ck_assert_int_eq(st, 200);
	free(sid);
	free(csrf);
	free(secret);
	free(path);
	free(pw);
	free(pw2);
	twilio_world_stop(&w.tw);
}
END_TEST

/*
 * The console's language: each operator changes their own (audited, CSRF, 422), an admin with the CLI;
 * escalation reasons and summaries come in the reader's language.
 */
START_TEST(test_language)
{
	struct world w;
	char *pw, *vt, *sid = NULL, *csrf = NULL, *resp = NULL, *out = NULL, *esc;

	world_init(&w);
	op_add(&w, "sofia", "responder", &pw, NULL);
	op_add(&w, "vera", "viewer", NULL, &vt);
	ck_assert_int_eq(login(&w, "sofia", pw, NULL, &sid, &csrf, NULL), 200);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"language\": \"en\"") != NULL || strstr(resp, "\"language\":\"en\"") != NULL,
	    "%s", resp);
	free(resp);
	/* a session needs its CSRF token for this change too */
	ck_assert_int_eq(api(&w, (struct call){ "POST", "/api/me/language", NULL, sid, NULL,
	    "{\"language\": \"es\"}" }, &resp, NULL), 403);
	ck_assert_msg(strstr(resp, "csrf") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operators WHERE language = 'es'"), 0);
	ck_assert_int_eq(api(&w, (struct call){ "POST", "/api/me/language", NULL, sid, csrf,
	    "{\"language\": \"es\"}" }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"changed\": true") != NULL || strstr(resp, "\"changed\":true") != NULL,
	    "%s", resp);
	free(resp);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"es\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'sofia' "
	    "AND action = 'operator_language' AND detail = 'sofia: en -> es' AND client_addr = '127.0.0.1'"), 1);
	/* what she reads of an escalation is in Spanish now: its reasons and its summary */
	PQclear(PQexec(w.tw.pg, "INSERT INTO escalations (code, conversation_id, reason, status) "
	    "SELECT '5678', id, 'er_bowel_bladder,text_model', 'open' FROM conversations"));
	esc = xasprintf("/api/escalations/%lld", harness_query_int(w.tw.pg, "SELECT id FROM escalations "
	    "WHERE code = '5678'"));
	ck_assert_int_eq(api(&w, (struct call){ "GET", esc, NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"Perdió el control de la vejiga o el intestino; señalado por el modelo de "
	    "texto\"") != NULL && strstr(resp, "Habla inglés") != NULL && strstr(resp, "Lost bladder") == NULL,
	    "%s", resp);
	free(resp);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/escalations", NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "Perdió el control") != NULL && strstr(resp, "Lost bladder") == NULL, "%s", resp);
	free(resp);
	/* ... while an English operator reads the same escalation in English */
	expect(&w, 200, "GET", esc, vt, NULL, "\"Lost bladder or bowel control; flagged by the text model\"");
	/* the same again changes nothing and writes no second row */
	ck_assert_int_eq(api(&w, (struct call){ "POST", "/api/me/language", NULL, sid, csrf,
	    "{\"language\": \"es\"}" }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "false") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions "
	    "WHERE action = 'operator_language'"), 1);
	/* unknown languages and bad bodies: 422, nothing changed */
	ck_assert_int_eq(api(&w, (struct call){ "POST", "/api/me/language", NULL, sid, csrf,
	    "{\"language\": \"fr\"}" }, &resp, NULL), 422);
	ck_assert_msg(strstr(resp, "en or es") != NULL, "%s", resp);
	free(resp);
	expect(&w, 422, "POST", "/api/me/language", vt, "{\"language\": 5}", "en or es");
	expect(&w, 422, "POST", "/api/me/language", vt, "{}", "en or es");
	expect(&w, 422, "POST", "/api/me/language", vt, "{\"language\": \"es es es es es es es\"}", "en or es");
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operators WHERE language = 'es'"), 1);
	/* a viewer's token changes the viewer's own language; an OPERATOR_TOKENS name has no account */
	expect(&w, 200, "POST", "/api/me/language", vt, "{\"language\": \"es\"}", "\"vera\"");
	expect(&w, 409, "POST", "/api/me/language", AUTO, "{\"language\": \"es\"}", "no account");
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operators WHERE language = 'es'"), 2);

	/* an admin sets it with the CLI, audited as cli */
	harness_gw_cli_expect(&w.tw.gw, 0, "sofia: console language en", "operator", "language", "sofia", "en",
	    NULL);
	ck_assert_int_eq(api(&w, (struct call){ "GET", "/api/me", NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "\"en\"") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(api(&w, (struct call){ "GET", esc, NULL, sid, NULL, NULL }, &resp, NULL), 200);
	ck_assert_msg(strstr(resp, "Lost bladder or bowel control") != NULL && strstr(resp, "Speaks English") != NULL,
	    "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'cli' "
	    "AND action = 'operator_language' AND detail = 'sofia: es -> en'"), 1);
	harness_gw_cli_expect(&w.tw.gw, 2, "en or es", "operator", "language", "sofia", "fr", NULL);
	harness_gw_cli_expect(&w.tw.gw, 1, "no operator named nobody", "operator", "language", "nobody", "es",
	    NULL);
	harness_gw_cli_expect(&w.tw.gw, 2, "usage", "operator", "language", "sofia", NULL);
	ck_assert_int_eq(harness_gw_cli(&w.tw.gw, &out, "operator", "list", NULL), 0);
	ck_assert_msg(strstr(out, "vera") != NULL && strstr(out, " es ") != NULL, "%s", out);
	free(out);
	free(esc);
	free(sid);
	free(csrf);
	free(vt);
	free(pw);
	twilio_world_stop(&w.tw);
}
END_TEST

CHECK_RUN_MAIN("operators", 120, test_roles, test_reads_audited, test_tokens, test_sessions, test_language)
