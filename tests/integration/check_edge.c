/*
 * check_edge.c - the hostile edge: what anyone who reaches the HTTP port
 * can and cannot do, through the real gateway and PostgreSQL.
 *
 * Forged texts: with each SMS_PROVIDER, floods of unsigned or wrongly
 * signed webhooks on every provider path (a patient's red flag, a nurse's
 * "ACK 9176", a STOP, a delivery report) are all refused, store nothing and
 * move nothing, while real texts sent among them keep being taken. Also:
 * ambiguous request framing (two Content-Length headers), and 405 answers
 * that say which method is allowed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "twilio_world.h"
#include "metrics_check.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15553000100"
#define NURSE "+15553000001"
#define KANNEL_SECRET "kannel-secret-1234"
#define SANDBOX_SECRET "sandbox-secret-1234"
#define PUBLIC_BASE "https://clinic.example.org"
#define FORM "application/x-www-form-urlencoded"
/* Rounds of the flood: every forged request of a world once, then one real text (harness_scaled). */
#define ROUNDS 200
#define WAIT_MS 15000

struct world {
	struct twilio_world tw;
	const char *secret_header;  /* "X-Sandbox-Secret: ..." real texts carry, or NULL */
};

/*
 * provider: "sandbox", "twilio" or "kannel"; extra: one more NAME=value or
 * NULL; everywhere: listen on every interface, so that a peer that is not
 * loopback can be tried too. Webhooks go unsigned: the forgers sign their own.
 */
static void
world_init_on(struct world *w, const char *provider, const char *extra, bool everywhere)
{
	char *env[8] = { NULL };
	size_t n = 0;

	env[n++] = xasprintf("SMS_PROVIDER=%s", provider);
	if (everywhere)
		env[n++] = xstrdup("HTTP_HOST=0.0.0.0");
	if (strcmp(provider, "kannel") == 0) {
		/* No smsbox: replies wait in the outbox, which this test does not look at. */
		env[n++] = xstrdup("KANNEL_USERNAME=carenav");
		env[n++] = xstrdup("KANNEL_PASSWORD=pw");
		env[n++] = xstrdup("KANNEL_SHARED_SECRET=" KANNEL_SECRET);
		env[n++] = xasprintf("KANNEL_SENDSMS_URL=http://127.0.0.1:%d/cgi-bin/sendsms", harness_free_port());
	}
	if (extra != NULL)
		env[n++] = xstrdup(extra);
	w->secret_header = extra != NULL && strncmp(extra, "SANDBOX_WEBHOOK_SECRET=", 23) == 0 ?
	    "X-Sandbox-Secret: " SANDBOX_SECRET : NULL;
	twilio_world_start(&w->tw, &(const struct twilio_world_opts){ .sandbox = strcmp(provider, "twilio") != 0,
	    .base_url = PUBLIC_BASE, .settings = (const char *const *)env });
	harness_sign_twilio(NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
}

static void
world_init(struct world *w, const char *provider, const char *extra)
{
	world_init_on(w, provider, extra, false);
}

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* What a forger sends: every field a provider reads, with texts that would do harm if taken. */
static const char *const forged_bodies[] = {
	"i lost control of my bladder and my legs are numb",  /* a false emergency */
	"ACK 9176",                                            /* stops a real emergency's alert rounds */
	"STOP",                                                /* opts the patient out */
};

/* One forged request of a flood. */
struct forgery {
	const char *label;
	const char *method;       /* NULL: POST with a body, else GET */
	const char *path;         /* "%d" is replaced by the round */
	const char *headers[3];   /* extra headers */
	bool twilio_form;         /* a Twilio-format form body (else Kannel's text/plain) */
	const char *sign_token;   /* sign it with this Twilio token, or NULL */
	bool remote;              /* from this machine's non-loopback address */
	long want;                /* the status it must get */
};

/* Sends forgery f for round; returns the status. */
static long
forge(struct world *w, const struct forgery *f, int round, const char *remote_host)
{
	const char *from = round % 2 ? NURSE : PATIENT;
	char *path = xasprintf(f->path, round), *body;
	const char *text = forged_bodies[round % 3];
	long status;

	if (f->twilio_form) {
		char *enc_text = xstrdup(text);

		for (char *p = enc_text; *p != '\0'; p++)
			if (*p == ' ')
				*p = '+';
		if (strstr(f->path, "status") != NULL)
			body = xasprintf("MessageSid=SMforged%05d&MessageStatus=undelivered&ErrorCode=30003", round);
		else
			body = xasprintf("MessageSid=SMforged%05d&SmsSid=SMforged%05d&AccountSid=ACtest123"
			    "&From=%%2B%s&To=%%2B%s&Body=%s&NumMedia=0", round, round, from + 1, CLINIC + 1, enc_text);
		free(enc_text);
	} else {
		body = xstrdup(text);
	}
	harness_sign_twilio(f->sign_token, f->sign_token ? PUBLIC_BASE : NULL);
	{
		const char *headers[6] = { f->headers[0], f->headers[1], f->headers[2], NULL };
		char *kf = xasprintf("X-Kannel-From: %s", from), *kt = xasprintf("X-Kannel-To: %s", CLINIC);
		size_t n = 0;

		while (headers[n] != NULL)
			n++;
		headers[n++] = kf;
		headers[n++] = kt;
		headers[n] = NULL;
		status = harness_http(&(struct harness_http){ .host = f->remote ? remote_host : NULL,
		    .port = w->tw.gw.port, .method = f->method, .path = path, .headers = headers,
		    .content_type = f->twilio_form ? FORM : "text/plain; charset=UTF-8",
		    .body = f->method ? NULL : body, .body_len = strlen(body) }, NULL);
		free(kf);
		free(kt);
	}
	harness_sign_twilio(NULL, NULL);
	free(path);
	free(body);
	return status;
}

/*
 * One real text the way the configured provider sends it, from this
 * machine's network address when there is one (else loopback); returns the
 * status.
 */
static long
real_text(struct world *w, const char *provider, int round, const char *remote)
{
	const char *kannel_headers[] = { "X-Kannel-From: " PATIENT, "X-Kannel-To: " CLINIC, NULL };
	const char *headers[] = { w->secret_header, NULL };
	struct harness_http r = { .port = w->tw.gw.port, .path = "/sms/inbound", .headers = headers,
		.content_type = FORM };
	char *path = NULL, *body;
	long status;

	if (strcmp(provider, "kannel") == 0) {
		path = xasprintf("/sms/kannel/inbound?secret=" KANNEL_SECRET "&id=SMreal%05d", round);
		r.path = path;
		r.headers = kannel_headers;
		r.content_type = "text/plain; charset=UTF-8";
		body = xstrdup("my back hurts");
	} else {
		body = xasprintf("MessageSid=SMreal%05d&From=%%2B%s&To=%%2B%s&Body=my+back+hurts&NumMedia=0",
		    round, PATIENT + 1, CLINIC + 1);
	}
	/* The sandbox takes the network only with its secret. */
	if (strcmp(provider, "sandbox") != 0 || w->secret_header != NULL)
		r.host = remote;
	if (strcmp(provider, "twilio") == 0)
		harness_sign_twilio(TWILIO_WORLD_TOKEN, PUBLIC_BASE);
	r.body = body;
	r.body_len = strlen(body);
	status = harness_http(&r, NULL);
	harness_sign_twilio(NULL, NULL);
	free(path);
	free(body);
	return status;
}

/* A world a flood is tried on: the gateway's provider and settings, and the forgeries tried there. */
struct flood_world {
	const char *provider;
	const char *extra;               /* one more NAME=value for the gateway, or NULL */
	struct forgery forgeries[8];     /* up to the first with no label, or all 8 */
};

/*
 * The flood: ROUNDS rounds (harness_scaled) of every forgery, then one real text. Every
 * forgery gets its status, nothing of theirs is stored, every real text is.
 */
static void
flood(const struct flood_world *fw)
{
	const char *provider = fw->provider, *extra = fw->extra;
	const struct forgery *forgeries = fw->forgeries;
	struct world w;
	char *remote = harness_local_address(), *line;
	double start, worst_real = 0, elapsed;
	long sent = 0, rejected = 0;
	size_t n = 0;
	const int rounds = harness_scaled(ROUNDS);

	while (n < sizeof fw->forgeries / sizeof fw->forgeries[0] && forgeries[n].label != NULL)
		n++;
	world_init_on(&w, provider, extra, remote != NULL);
	start = harness_now_s();
	for (int round = 0; round < rounds; round++) {
		double t;

		for (size_t i = 0; i < n; i++) {
			long status;

			if (forgeries[i].remote && remote == NULL)
				continue;  /* no address but loopback here: covered by the proxy-header cases */
			status = forge(&w, &forgeries[i], round, remote);
			ck_assert_msg(status == forgeries[i].want, "%s: %s round %d: got %ld, want %ld", provider,
			    forgeries[i].label, round, status, forgeries[i].want);
			sent++;
			rejected += forgeries[i].want != 404;  /* a path that does not exist is no webhook */
		}
		t = harness_now_s();
		ck_assert_msg(real_text(&w, provider, round, remote) == 200, "%s: real text %d refused during the flood",
		    provider, round);
		if (harness_now_s() - t > worst_real)
			worst_real = harness_now_s() - t;
	}
	elapsed = harness_now_s() - start;
	/* Only the real texts were stored; no report, escalation, opt-out or staff conversation came of the rest. */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), rounds);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE direction = 'in' AND provider_sid "
	    "NOT LIKE 'SMreal%'"), 0);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM delivery_reports"), 0);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM escalations"), 0);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM conversations WHERE patient_number <> "
	    "'" PATIENT "'"), 0);
	harness_wait_processed(w.tw.pg, WAIT_MS, w.tw.gw.log_path);
	/* Each real text was answered: one dialogue step each. */
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT version FROM conversations WHERE patient_number = "
	    "'" PATIENT "'"), rounds);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM conversations WHERE opted_out"), 0);
	line = xasprintf("carenav_inbound_rejected_total %ld\n", rejected);
	metrics_check_has(w.tw.gw.port, (const char *const[]){ line, NULL });
	printf("edge: %s%s%s: %ld forged requests (%zu kinds%s) refused, 0 stored; %d real texts among them all "
	    "stored; %.1f s, %.0f requests/s, slowest real text %.1f ms\n", provider, extra ? " " : "",
	    extra ? extra : "", sent, n, remote ? "" : ", no non-loopback address here", rounds, elapsed,
	    (double)(sent + rounds) / elapsed, worst_real * 1000);
	free(line);
	free(remote);
	twilio_world_free(&w.tw);
}

/* Forgeries for a gateway on another provider: Kannel's webhook paths are not there. */
#define KANNEL_PATHS_ABSENT                                                                                    \
	{ "Kannel's inbound path", NULL, "/sms/kannel/inbound?id=K%d&secret=", { NULL }, false, NULL, false, 404 }, \
	{ "Kannel's status path", "GET", "/sms/kannel/status?id=K%d&type=2", { NULL }, false, NULL, false, 404 }

/* The worlds a flood is tried on (one loop test each), and what is forged in each. */
static const struct flood_world flood_worlds[] = {
	{ "sandbox", NULL, {
		{ "proxied (X-Forwarded-For)", NULL, "/sms/inbound", { "X-Forwarded-For: 203.0.113.9" }, true, NULL,
		  false, 403 },
		{ "proxied (Forwarded)", NULL, "/sms/inbound", { "Forwarded: for=203.0.113.9" }, true, NULL, false, 403 },
		{ "proxied status", NULL, "/sms/status", { "X-Forwarded-For: 203.0.113.9" }, true, NULL, false, 403 },
		{ "from the network", NULL, "/sms/inbound", { NULL }, true, NULL, true, 403 },
		{ "status from the network", NULL, "/sms/status", { NULL }, true, NULL, true, 403 },
		KANNEL_PATHS_ABSENT,
	} },
	{ "sandbox", "SANDBOX_WEBHOOK_SECRET=" SANDBOX_SECRET, {
		{ "no secret", NULL, "/sms/inbound", { NULL }, true, NULL, false, 403 },
		{ "wrong secret", NULL, "/sms/inbound", { "X-Sandbox-Secret: sandbox-secret-123" }, true, NULL, false,
		  403 },
		{ "wrong secret from the network", NULL, "/sms/inbound", { "X-Sandbox-Secret: guess" }, true, NULL, true,
		  403 },
		{ "status without secret", NULL, "/sms/status", { NULL }, true, NULL, false, 403 },
	} },
	{ "twilio", NULL, {
		{ "unsigned", NULL, "/sms/inbound", { NULL }, true, NULL, false, 403 },
		{ "signed with a guessed token", NULL, "/sms/inbound", { NULL }, true, "guess", false, 403 },
		{ "unsigned from the network", NULL, "/sms/inbound", { NULL }, true, NULL, true, 403 },
		{ "unsigned status", NULL, "/sms/status", { NULL }, true, NULL, false, 403 },
		KANNEL_PATHS_ABSENT,
	} },
	{ "kannel", NULL, {
		/* The no-internet deployment took these as Twilio's, unsigned. */
		{ "Twilio's inbound path", NULL, "/sms/inbound", { NULL }, true, NULL, false, 404 },
		{ "Twilio's inbound path from the network", NULL, "/sms/inbound", { NULL }, true, NULL, true, 404 },
		{ "Twilio's status path", NULL, "/sms/status", { NULL }, true, NULL, false, 404 },
		{ "no secret", NULL, "/sms/kannel/inbound?id=K%d", { NULL }, false, NULL, false, 403 },
		{ "wrong secret", NULL, "/sms/kannel/inbound?id=K%d&secret=guess", { NULL }, false, NULL, false, 403 },
		{ "status without secret", "GET", "/sms/kannel/status?id=K%d&type=2", { NULL }, false, NULL, false, 403 },
	} },
};

START_TEST(test_forged_texts)
{
	flood(&flood_worlds[_i]);
}
END_TEST

/* The status line's code of a raw answer (0 if none). */
static int
raw_status(const char *answer)
{
	return strncmp(answer, "HTTP/1.", 7) == 0 ? atoi(answer + 9) : 0;
}

static int
count_answers(const char *answer)
{
	int n = 0;

	for (const char *p = answer; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
		n++;
	return n;
}

START_TEST(test_ambiguous_length_refused)
{
	struct world w;
	const char *body = "MessageSid=SMdup00001&From=%2B15553000100&To=%2B15550001111&Body=hello";
	char *req, *answer;

	world_init(&w, "sandbox", NULL);
	/* Two Content-Length headers: 400, the connection closed, the request hidden behind it never answered. */
	req = xasprintf("POST /sms/inbound HTTP/1.1\r\nHost: x\r\nContent-Type: " FORM "\r\n"
	    "Content-Length: %zu\r\nContent-Length: 5\r\n\r\n%s"
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", strlen(body), body);
	answer = harness_raw(w.tw.gw.port, req, strlen(req));
	ck_assert_msg(raw_status(answer) == 400 && contains(answer, "Content-Length"), "%s", answer);
	ck_assert_msg(count_answers(answer) == 1, "a second request was answered on that connection: %s", answer);
	free(answer);
	free(req);
	/* The same length twice is still two headers. */
	req = xasprintf("POST /sms/inbound HTTP/1.1\r\nHost: x\r\nContent-Type: " FORM "\r\n"
	    "Content-Length: %zu\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), strlen(body), body);
	answer = harness_raw(w.tw.gw.port, req, strlen(req));
	ck_assert_msg(raw_status(answer) == 400, "%s", answer);
	free(answer);
	free(req);
	/* Content-Length beside Transfer-Encoding. */
	req = xasprintf("POST /sms/inbound HTTP/1.1\r\nHost: x\r\nContent-Type: " FORM "\r\n"
	    "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n", strlen(body), body);
	answer = harness_raw(w.tw.gw.port, req, strlen(req));
	ck_assert_msg(raw_status(answer) == 400, "%s", answer);
	free(answer);
	free(req);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages"), 0);
	/* One Content-Length: taken. */
	req = xasprintf("POST /sms/inbound HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " FORM "\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	answer = harness_raw(w.tw.gw.port, req, strlen(req));
	ck_assert_msg(raw_status(answer) == 200, "%s", answer);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 1);
	free(answer);
	free(req);
	twilio_world_free(&w.tw);
}
END_TEST

#define OPERATOR_TOKEN "0123456789abcdef0123"

/* The answer to a raw request with no body, with the operator's token or none; caller frees. */
static char *
raw_request(struct world *w, const char *method, const char *path, bool token)
{
	char *req = xasprintf("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s\r\n", method, path,
	    strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "",
	    token ? "Authorization: Bearer " OPERATOR_TOKEN "\r\n" : "");
	char *answer = harness_raw(w->tw.gw.port, req, strlen(req));

	free(req);
	return answer;
}

/* method path must get 405 with exactly this Allow header. */
static void
expect_allow(struct world *w, const char *method, const char *path, const char *allow)
{
	char *answer = raw_request(w, method, path, true), *want = xasprintf("\r\nAllow: %s\r\n", allow);

	ck_assert_msg(raw_status(answer) == 405 && contains(answer, want), "%s %s: want 405 and %s, got: %s",
	    method, path, want + 2, answer);
	free(want);
	free(answer);
}

START_TEST(test_method_not_allowed_says_allow)
{
	struct world w;
	char *answer;

	world_init(&w, "kannel", "OPERATOR_TOKENS=alice:" OPERATOR_TOKEN);
	expect_allow(&w, "GET", "/sms/kannel/inbound?secret=" KANNEL_SECRET, "POST");
	expect_allow(&w, "POST", "/sms/kannel/status?secret=" KANNEL_SECRET, "GET");
	expect_allow(&w, "POST", "/healthz", "GET");
	expect_allow(&w, "POST", "/metrics", "GET");
	expect_allow(&w, "POST", "/api/conversations", "GET");
	expect_allow(&w, "GET", "/api/escalations/7/ack", "POST");
	/* Without a token the API says 401 and nothing about its routes. */
	answer = raw_request(&w, "POST", "/api/conversations", false);
	ck_assert_msg(raw_status(answer) == 401 && !contains(answer, "\r\nAllow:"), "%s", answer);
	free(answer);
	twilio_world_free(&w.tw);
	world_init(&w, "sandbox", NULL);
	expect_allow(&w, "GET", "/sms/inbound", "POST");
	expect_allow(&w, "GET", "/sms/status", "POST");
	expect_allow(&w, "HEAD", "/sms/inbound", "POST");
	twilio_world_free(&w.tw);
}
END_TEST

/* Runs carenav-sim against w's gateway with "--wait 8 hello"; returns its exit status, output in *out. */
static int
run_sim(struct world *w, const char *secret, char **out)
{
	const char *sim = getenv("CARENAV_SIM");
	char *cmd, buf[4096];
	size_t n;
	FILE *p;
	int status;

	ck_assert_msg(sim != NULL && *sim != '\0', "CARENAV_SIM is not set (run the tests through ctest)");
	cmd = xasprintf("env -u SANDBOX_WEBHOOK_SECRET -u SANDBOX_OUTBOX_LOG HTTP_PORT=%d VAR_DIR='%s' %s%s%s "
	    "'%s' --wait 8 hello 2>&1", w->tw.gw.port, w->tw.gw.var_dir, secret ? "SANDBOX_WEBHOOK_SECRET='" : "",
	    secret ? secret : "", secret ? "'" : "", sim);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	n = fread(buf, 1, sizeof buf - 1, p);
	buf[n] = '\0';
	status = pclose(p);
	*out = xstrdup(buf);
	free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* carenav-sim texts a sandbox gateway on this machine; with a sandbox secret it must send the same one. */
START_TEST(test_simulator)
{
	struct world w;
	char *out = NULL;

	world_init(&w, "sandbox", NULL);
	ck_assert_msg(run_sim(&w, NULL, &out) == 0 && contains(out, "\n< "), "%s", out);
	free(out);
	twilio_world_free(&w.tw);

	world_init(&w, "sandbox", "SANDBOX_WEBHOOK_SECRET=" SANDBOX_SECRET);
	ck_assert_msg(run_sim(&w, NULL, &out) == 1 && contains(out, "HTTP 403") &&
	    contains(out, "SANDBOX_WEBHOOK_SECRET"), "%s", out);
	free(out);
	ck_assert_msg(run_sim(&w, "not-" SANDBOX_SECRET, &out) == 1 && contains(out, "HTTP 403"), "%s", out);
	free(out);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages"), 0);
	ck_assert_msg(run_sim(&w, SANDBOX_SECRET, &out) == 0 && contains(out, "\n< "), "%s", out);
	ck_assert_int_eq(harness_query_int(w.tw.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 1);
	free(out);
	twilio_world_free(&w.tw);
}
END_TEST

int
main(void)
{
	TCase *tc = tcase_create("edge");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_forged_texts, 0, (int)(sizeof flood_worlds / sizeof flood_worlds[0]));
	CHECK_RUN_ADD(tc, test_ambiguous_length_refused, test_method_not_allowed_says_allow, test_simulator);
	return check_run_case("edge", tc);
}
