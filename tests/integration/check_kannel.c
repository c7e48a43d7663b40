/*
 * check_kannel.c - the Kannel provider end to end with real processes on
 * loopback: Debian's bearerbox and smsbox with a generated configuration,
 * fakesmsc (from kannel-extras) as the phone network in interactive mode
 * (one message a line on its stdin; what the network delivers is logged as
 * "Got message N: <from to type data>"), the real gateway and PostgreSQL.
 *
 * What fakesmsc prints for a message depends on its coding: "text" raw,
 * "data" URL-encoded bytes, "ucs-2" URL-encoded UTF-16BE, and concatenated
 * parts as "udh <header> data <bytes>". kannel_phone_messages() turns that
 * back into whole UTF-8 texts, joining parts by their concatenation header,
 * so the test compares exactly what a handset would show. One quirk of the
 * fake network: it writes 7-bit text raw, so a newline in a reply shows up
 * as a line of its own; such lines are joined back onto their message.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_text.h"
#include "harness.h"
#include "xmalloc.h"

#define BEARERBOX "/usr/sbin/bearerbox"
#define SMSBOX "/usr/sbin/smsbox"
#define FAKESMSC "/usr/lib/kannel/test/fakesmsc"
#define SECRET "kannel-shared-s3cret"
#define OPERATOR "nurse-token-0123456789abcdef"
#define CLINIC "+15550001111"
#define PATIENT "+15554000100"
#define PRIMARY "+15554000001"
#define WAIT_MS 20000
#define MAX_MSGS 256

struct kannel {
	char *dir;              /* owned: config, store and logs */
	char *conf;             /* owned: kannel.conf path */
	int admin_port, box_port, smsc_port, sendsms_port;
	pid_t bearerbox, smsbox, fakesmsc;
	int fake_in;            /* fakesmsc's stdin, -1 when not running */
	char *fake_log;         /* owned: fakesmsc's output */
};

/* One text as the phone network delivered it. */
struct phone_msg {
	char *from, *to;        /* owned */
	char *text;             /* owned, UTF-8, parts joined */
};

struct world {
	char *conninfo;
	PGconn *pg;
	struct harness_gw gw;
	struct kannel k;
	char *env[12];
};

static bool
port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
		.sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;

	close(fd);
	return ok;
}

/* Starts argv with output to log (appended); stdin from in_fd, or /dev/null when -1. */
static pid_t
spawn(char *const argv[], const char *log, int in_fd)
{
	return harness_spawn(argv, &(struct harness_spawn_opts){ .log = log, .in_fd = in_fd });
}

static void
reap(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static void
kannel_write_conf(struct kannel *k, int gw_port)
{
	FILE *f = fopen(k->conf, "w");

	ck_assert(f != NULL);
	fprintf(f,
	    "group = core\n"
	    "admin-port = %d\nadmin-interface = 127.0.0.1\nadmin-password = adm\n"
	    "smsbox-port = %d\nbox-allow-ip = 127.0.0.1\n"
	    "log-file = \"%s/bearerbox.log\"\nlog-level = 0\n"
	    "dlr-storage = internal\n"
	    "store-type = file\nstore-location = \"%s/bearerbox.store\"\n\n"
	    "group = smsc\nsmsc = fake\nsmsc-id = phone\nport = %d\nconnect-allow-ip = 127.0.0.1\n\n"
	    "group = smsbox\nbearerbox-host = 127.0.0.1\nbearerbox-port = %d\n"
	    "sendsms-port = %d\nsendsms-interface = 127.0.0.1\n"
	    "log-file = \"%s/smsbox.log\"\nlog-level = 0\n"
	    "mo-recode = true\nhttp-request-retry = 1000\nhttp-queue-delay = 1\n\n"
	    "group = sendsms-user\nusername = carenav\npassword = pw\nmax-messages = 10\n"
	    "concatenation = true\n\n"
	    "group = sms-service\nkeyword = default\ncatch-all = true\n"
	    "post-url = \"http://127.0.0.1:%d/sms/kannel/inbound?secret=" SECRET "&id=%%I\"\n"
	    "send-sender = true\nmax-messages = 0\nomit-empty = true\n",
	    k->admin_port, k->box_port, k->dir, k->dir, k->smsc_port, k->box_port, k->sendsms_port,
	    k->dir, gw_port);
	fclose(f);
}

static bool
log_contains(const char *path, const char *needle)
{
	char *data = file_text_read_if_any(path);
	bool found = strstr(data, needle) != NULL;

	free(data);
	return found;
}

static void
kannel_start_smsbox(struct kannel *k)
{
	char *log = xasprintf("%s/smsbox.out", k->dir);
	char *argv[] = { SMSBOX, k->conf, NULL };

	k->smsbox = spawn(argv, log, -1);
	free(log);
	for (int waited = 0; waited < WAIT_MS; waited += 50) {
		if (port_open(k->sendsms_port))
			return;
		harness_sleep_ms(50);
	}
	ck_abort_msg("smsbox did not open its sendsms port; see %s", k->dir);
}

static void
kannel_start(struct kannel *k, int gw_port)
{
	char *tmpl = xasprintf("%s/kannel-XXXXXX", getenv("CARENAV_TEST_VARDIR"));
	char *bblog, *bbout;
	char *bbargv[] = { BEARERBOX, NULL, NULL };
	int pipefd[2];
	char port[16];
	char *fakeargv[] = { FAKESMSC, "-H", "127.0.0.1", "-r", port, NULL };

	memset(k, 0, sizeof *k);
	mkdir(getenv("CARENAV_TEST_VARDIR"), 0755);
	ck_assert(mkdtemp(tmpl) != NULL);
	k->dir = tmpl;
	k->conf = xasprintf("%s/kannel.conf", k->dir);
	k->fake_log = xasprintf("%s/fakesmsc.log", k->dir);
	k->admin_port = harness_free_port();
	k->box_port = harness_free_port();
	k->smsc_port = harness_free_port();
	k->sendsms_port = harness_free_port();
	k->fake_in = -1;
	kannel_write_conf(k, gw_port);
	bbargv[1] = k->conf;
	bblog = xasprintf("%s/bearerbox.log", k->dir);
	bbout = xasprintf("%s/bearerbox.out", k->dir);
	k->bearerbox = spawn(bbargv, bbout, -1);
	for (int waited = 0; !port_open(k->smsc_port) || !port_open(k->box_port); waited += 50) {
		ck_assert_msg(waited < WAIT_MS, "bearerbox did not start; see %s", k->dir);
		harness_sleep_ms(50);
	}
	kannel_start_smsbox(k);
	/* The phone network: fakesmsc reads one message a line from its stdin. */
	snprintf(port, sizeof port, "%d", k->smsc_port);
	ck_assert(pipe(pipefd) == 0);
	k->fakesmsc = spawn(fakeargv, k->fake_log, pipefd[0]);
	close(pipefd[0]);
	k->fake_in = pipefd[1];
	for (int waited = 0; !log_contains(bblog, "Fakesmsc client connected"); waited += 50) {
		ck_assert_msg(waited < WAIT_MS, "fakesmsc did not connect; see %s", k->dir);
		harness_sleep_ms(50);
	}
	free(bblog);
	free(bbout);
}

static void
kannel_stop(struct kannel *k)
{
	if (k->fake_in >= 0)
		close(k->fake_in);
	reap(&k->fakesmsc, SIGKILL);
	reap(&k->smsbox, SIGKILL);
	reap(&k->bearerbox, SIGKILL);
	free(k->dir);
	free(k->conf);
	free(k->fake_log);
}

/* The patient's phone sends a text (plain characters only: fakesmsc's "text" type). */
static void
phone_send(struct kannel *k, const char *from, const char *body)
{
	char *line = xasprintf("%s %s text %s\n", from, CLINIC, body);

	ck_assert(write(k->fake_in, line, strlen(line)) == (ssize_t)strlen(line));
	free(line);
}

static void
url_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char *o = xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned int v;

		if (s[i] == '%' && i + 2 < len && sscanf(s + i + 1, "%2x", &v) == 1) {
			o[n++] = (char)v;
			i += 2;
		} else {
			o[n++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
}

static size_t
put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* UTF-16BE (UCS-2 with surrogate pairs, as Kannel sends emoji) to UTF-8. */
static char *
ucs2_to_utf8(const unsigned char *s, size_t len)
{
	char *o = xmalloc(2 * len + 1);
	size_t n = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned long u = (unsigned long)s[i] << 8 | s[i + 1];

		if (u >= 0xD800 && u < 0xDC00 && i + 3 < len) {
			unsigned long lo = (unsigned long)s[i + 2] << 8 | s[i + 3];

			u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
			i += 2;
		}
		n += put_utf8(o + n, u);
	}
	o[n] = '\0';
	return o;
}

/* Bytes of a "data" payload: UTF-16BE when they hold a NUL (Latin text in UCS-2 always does). */
static char *
payload_text(const char *bytes, size_t len, bool ucs2)
{
	if (ucs2 || memchr(bytes, '\0', len) != NULL)
		return ucs2_to_utf8((const unsigned char *)bytes, len);
	return xstrndup(bytes, len);
}

/* Whether a delivered line starts "<number> <number> <type> ", i.e. a new message. */
static bool
kannel_line_is_message(const char *s)
{
	static const char *const types[] = { "text ", "data ", "ucs-2 ", "ucs2 ", "udh ", NULL };

	for (int field = 0; field < 2; field++) {
		size_t n = strspn(s, "+0123456789");

		if (n < 3 || s[n] != ' ')
			return false;
		s += n + 1;
	}
	for (const char *const *t = types; *t != NULL; t++) {
		if (strncmp(s, *t, strlen(*t)) == 0)
			return true;
	}
	return false;
}

/*
 * Everything the network delivered so far, in order, whole texts (caller
 * frees each). Concatenated parts (UDH 05 00 03 ref total seq) are joined
 * when the last one has arrived.
 */
static size_t
kannel_phone_messages(struct kannel *k, struct phone_msg *out, size_t max)
{
	char *log = file_text_read_if_any(k->fake_log), *save = NULL, *line, *next;
	char *part_bytes = NULL;
	size_t part_len = 0, n = 0;

	for (line = strtok_r(log, "\n", &save); line != NULL && n < max; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, "Got message "), *from, *to, *type, *rest, *end, *bytes;
		size_t blen;
		bool ucs2 = false, last = true;

		if (p == NULL || (p = strchr(p, '<')) == NULL || (end = strrchr(p, '>')) == NULL)
			continue;
		*end = '\0';
		from = p + 1;
		if (!kannel_line_is_message(from)) {
			/* smsc_fake writes 7-bit text raw: a newline in it starts a new "message". */
			ck_assert_msg(n > 0 && part_bytes == NULL, "stray line %s", line);
			next = xasprintf("%s\n%s", out[n - 1].text, from);
			free(out[n - 1].text);
			out[n - 1].text = next;
			continue;
		}
		to = strchr(from, ' ');
		*to++ = '\0';
		type = strchr(to, ' ');
		*type++ = '\0';
		rest = strchr(type, ' ');
		*rest++ = '\0';
		if (strcmp(type, "udh") == 0) {
			char *udh;
			size_t ulen;
			char *sp = strchr(rest, ' ');

			ck_assert(sp != NULL);
			url_decode(rest, (size_t)(sp - rest), &udh, &ulen);
			ck_assert_msg(ulen >= 6 && udh[1] == 0, "unexpected UDH in %s", line);
			last = udh[4] == udh[5];
			free(udh);
			type = sp + 1;
			rest = strchr(type, ' ');
			ck_assert(rest != NULL);
			*rest++ = '\0';
		}
		if (strcmp(type, "text") == 0) {
			bytes = xstrdup(rest);
			blen = strlen(rest);
		} else {
			ucs2 = strcmp(type, "ucs-2") == 0 || strcmp(type, "ucs2") == 0;
			url_decode(rest, strlen(rest), &bytes, &blen);
		}
		part_bytes = xrealloc(part_bytes, part_len + blen + 1);
		memcpy(part_bytes + part_len, bytes, blen);
		part_len += blen;
		free(bytes);
		if (!last)
			continue;
		out[n].from = xstrdup(from);
		out[n].to = xstrdup(to);
		out[n].text = payload_text(part_bytes, part_len, ucs2);
		n++;
		free(part_bytes);
		part_bytes = NULL;
		part_len = 0;
	}
	free(part_bytes);
	free(log);
	return n;
}

static void
phone_msgs_free(struct phone_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].from);
		free(m[i].to);
		free(m[i].text);
	}
}

/* The texts the network delivered to number, joined by "\n--\n" (caller frees). */
static char *
delivered_to(struct world *w, const char *number, size_t *count)
{
	struct phone_msg *m = xcalloc(MAX_MSGS, sizeof *m);
	size_t n = kannel_phone_messages(&w->k, m, MAX_MSGS), got = 0;
	char *all = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *next;

		if (strcmp(m[i].to, number) != 0)
			continue;
		ck_assert_str_eq(m[i].from, CLINIC);
		next = xasprintf("%s%s%s", all, got ? "\n--\n" : "", m[i].text);
		free(all);
		all = next;
		got++;
	}
	phone_msgs_free(m, n);
	free(m);
	if (count != NULL)
		*count = got;
	return all;
}

/*
 * Waits until every reply to number left the outbox and the network
 * delivered exactly those texts, in the order carenav queued them, once.
 */
static void
expect_delivered_all(struct world *w, const char *number)
{
	char *sql = xasprintf("SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.to_number = '%s' AND o.state = 'pending'", number);
	char *want = NULL, *got = NULL;

	ck_assert_msg(harness_wait_int(w->pg, sql, 0, WAIT_MS), "replies still pending; see %s",
	    w->gw.log_path);
	free(sql);
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		free(want);
		free(got);
		want = harness_replies(w->pg, number, 0);
		got = delivered_to(w, number, NULL);
		if (strcmp(want, got) == 0)
			break;
		harness_sleep_ms(100);
	}
	ck_assert_msg(strcmp(want, got) == 0, "queued:\n%s\n\nbut the phone got:\n%s\n(see %s)", want, got,
	    w->k.dir);
	free(want);
	free(got);
}

static void
wait_processed(struct world *w, long long n_in)
{
	char *sql = xasprintf("SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at "
	    "IS NOT NULL AND from_number = '%s'", PATIENT);

	ck_assert_msg(harness_wait_int(w->pg, sql, n_in, WAIT_MS), "%lld texts not processed; see %s",
	    n_in, w->gw.log_path);
	free(sql);
}

/* The patient texts through the network; waits until every reply reached the phone. */
static void
converse(struct world *w, const char *body, long long *n_in)
{
	phone_send(&w->k, PATIENT, body);
	wait_processed(w, ++*n_in);
	expect_delivered_all(w, PATIENT);
}

static void
world_init(struct world *w)
{
	memset(w, 0, sizeof *w);
	w->conninfo = harness_db_create();
	w->env[0] = xstrdup("SMS_PROVIDER=kannel");
	w->env[1] = xstrdup("KANNEL_USERNAME=carenav");
	w->env[2] = xstrdup("KANNEL_PASSWORD=pw");
	w->env[3] = xstrdup("KANNEL_SHARED_SECRET=" SECRET);
	/* smsbox is down for 10 s in one test: keep retrying well past that. */
	w->env[4] = xstrdup("OUTBOX_MAX_ATTEMPTS=1000");
	w->env[5] = xstrdup("PROVIDER_TIMEOUT_MS=3000");
	harness_gw_init(&w->gw, w->conninfo, NULL);
	kannel_start(&w->k, w->gw.port);
	w->env[6] = xasprintf("KANNEL_SENDSMS_URL=http://127.0.0.1:%d/cgi-bin/sendsms", w->k.sendsms_port);
	/* Texts as written, accents and all: Kannel's UCS-2 path (SMS_ALPHABET=gsm7 is the default). */
	w->env[7] = xstrdup("SMS_ALPHABET=unicode");
	w->env[8] = xstrdup("OPERATOR_TOKENS=nurse:" OPERATOR);
	for (size_t i = 0; w->env[i] != NULL; i++) {
		size_t n = 0;

		while (w->gw.env[n] != NULL)
			n++;
		w->gw.env = xrealloc(w->gw.env, (n + 2) * sizeof *w->gw.env);
		w->gw.env[n] = xstrdup(w->env[i]);
		w->gw.env[n + 1] = NULL;
	}
	harness_gw_start(&w->gw);
	w->pg = harness_db_connect(w->conninfo);
}

static void
world_free(struct world *w)
{
	harness_gw_free(&w->gw);
	kannel_stop(&w->k);
	PQfinish(w->pg);
	for (size_t i = 0; i < sizeof w->env / sizeof w->env[0]; i++)
		free(w->env[i]);
	free(w->conninfo);
}

/* A long text: n parts, each before, its number from 0, then after (caller frees). */
static char *
numbered_parts(const char *before, const char *after, int n)
{
	char *text = xstrdup("");

	for (int i = 0; i < n; i++) {
		char *next = xasprintf("%s%s%d%s", text, before, i, after);

		free(text);
		text = next;
	}
	return text;
}

START_TEST(test_spanish_conversation_outages_and_reports)
{
	static const char *const walk[] = { "no", "3", "3 dias" };
	struct world w;
	long long n_in = 0;
	char *got, *conv, *sql, *longtext, *path, *body, *twice, *resp = NULL;
	long status;

	world_init(&w);
	converse(&w, "hola", &n_in);
	got = delivered_to(&w, PATIENT, NULL);
	ck_assert_msg(strstr(got, "¡Hola!") != NULL, "got:\n%s", got);
	free(got);
	for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++)
		converse(&w, walk[i], &n_in);

	/* smsbox dies mid-conversation; the patient texts; it is back 10 s later. */
	reap(&w.k.smsbox, SIGKILL);
	phone_send(&w.k, PATIENT, "no");
	harness_sleep_ms(2000);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), n_in);
	harness_sleep_ms(8000);
	kannel_start_smsbox(&w.k);
	wait_processed(&w, ++n_in);
	expect_delivered_all(&w, PATIENT);

	/* The gateway is killed; the patient texts; Kannel retries the post until it is back. */
	harness_gw_kill(&w.gw);
	phone_send(&w.k, PATIENT, "no");
	harness_sleep_ms(3000);
	harness_gw_start(&w.gw);
	wait_processed(&w, ++n_in);
	expect_delivered_all(&w, PATIENT);
	got = delivered_to(&w, PATIENT, NULL);
	ck_assert_msg(strstr(got, "Espalda baja. Responda un n") != NULL, "got:\n%s", got);
	free(got);
	converse(&w, "8", &n_in);
	got = delivered_to(&w, PATIENT, NULL);
	ck_assert_msg(strstr(got, "debo volver y qu") && strstr(got, "Preguntas para su m"), "got:\n%s", got);
	free(got);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), n_in);

	/* An operator's text with accents and an emoji, and one too long for one SMS. */
	conv = harness_query_text(w.pg, "SELECT id FROM conversations WHERE patient_number = '" PATIENT "'");
	sql = xasprintf("SELECT count(*) FROM (SELECT carenav_queue_sms(%s, 'kannel', 'Así es 👍', "
	    "'system', 0::smallint, false, NULL)) x", conv);
	ck_assert_int_eq(harness_query_int(w.pg, sql), 1);
	free(sql);
	longtext = numbered_parts("Así es 👍 paso ", ", ¿bien? ", 12);
	sql = xasprintf("SELECT count(*) FROM (SELECT carenav_queue_sms(%s, 'kannel', '%s', "
	    "'system', 0::smallint, false, NULL)) x", conv, longtext);
	ck_assert_int_eq(harness_query_int(w.pg, sql), 1);
	free(sql);
	expect_delivered_all(&w, PATIENT);
	got = delivered_to(&w, PATIENT, NULL);
	ck_assert_msg(strstr(got, "\n--\nAsí es 👍\n--\n") != NULL, "got:\n%s", got);
	ck_assert_msg(strstr(got, longtext) != NULL, "long text not joined:\n%s", got);
	ck_assert_msg(log_contains(w.k.fake_log, " udh "), "the long text was not concatenated");
	free(got);
	free(longtext);

	/*
	 * An operator's long text through the API goes as one concatenated SMS
	 * (8 UCS-2 segments, within the 10 Kannel joins); one past 10 segments is
	 * refused whole with the counts, and nothing is queued.
	 */
	longtext = numbered_parts("Llamada ", ": así es 👍, ¿bien? ", 18);
	path = xasprintf("/api/conversations/%s/messages", conv);
	body = xasprintf("{\"body\": \"%s\"}", longtext);
	status = harness_api(w.gw.port, "POST", path, OPERATOR, body, &resp);
	ck_assert_msg(status == 201, "%ld %s", status, resp);
	free(resp);
	free(body);
	expect_delivered_all(&w, PATIENT);
	got = delivered_to(&w, PATIENT, NULL);
	ck_assert_msg(strstr(got, longtext) != NULL, "operator text not whole:\n%s", got);
	free(got);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:nurse' "
	    "AND segments = 8 AND encoding = 'ucs2'"), 1);
	twice = xasprintf("%s%s", longtext, longtext);
	body = xasprintf("{\"body\": \"%s\"}", twice);
	status = harness_api(w.gw.port, "POST", path, OPERATOR, body, &resp);
	ck_assert_msg(status == 400 && strstr(resp, "\"too_long\"") && strstr(resp, "too long for one message: ")
	    && strstr(resp, " segments, the limit with kannel is 10 segments (1530 GSM-7 or 670 Unicode "
	    "characters)"), "%ld %s", status, resp);
	free(resp);
	free(body);
	free(twice);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:nurse'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions "
	    "WHERE action = 'message_sent'"), 1);
	free(path);
	free(longtext);
	free(conv);

	/* Delivery reports: every reply ends delivered, by its K<outbox id>. */
	if (!harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'delivered'", 0, WAIT_MS)) {
		char *st = harness_query_text(w.pg, "SELECT string_agg(id || ':' || status || ':' || "
		    "coalesce(provider_sid, '-'), ' ' ORDER BY id) FROM messages WHERE direction = 'out'");

		ck_abort_msg("not all delivered: %s; see %s", st, w.gw.log_path);
	}
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages m JOIN outbox o ON o.message_id = m.id "
	    "WHERE m.provider_sid <> 'K' || o.id"), 0);
	/* Each reply's 'sent' report too: Kannel posts it beside the 'delivered' one, so it may land after it. */
	ck_assert_msg(harness_wait_int(w.pg, "SELECT count(*) FROM messages m WHERE m.direction = 'out' AND NOT EXISTS "
	    "(SELECT 1 FROM delivery_reports r WHERE r.provider = 'kannel' AND r.status = 'sent' "
	    "AND r.provider_sid = m.provider_sid)", 0, WAIT_MS), "a reply has no 'sent' report; see %s", w.gw.log_path);
	world_free(&w);
}
END_TEST

/* POSTs a Kannel-style inbound text; secret NULL leaves it out. */
static long
post_inbound(int port, const char *secret, const char *id, const char *body)
{
	static const char *const headers[] = { "X-Kannel-From: " PATIENT, "X-Kannel-To: " CLINIC,
		"X-Kannel-Coding: 0", NULL };
	char *path = secret ? xasprintf("/sms/kannel/inbound?secret=%s&id=%s", secret, id) :
	    xasprintf("/sms/kannel/inbound?id=%s", id);
	long status = harness_http(&(struct harness_http){ .port = port, .path = path, .headers = headers,
	    .content_type = "text/plain; charset=\"UTF-8\"", .body = body, .body_len = strlen(body) }, NULL);

	free(path);
	return status;
}

START_TEST(test_secret_and_dedupe)
{
	struct world w;
	char path[160];

	world_init(&w);
	ck_assert_int_eq(post_inbound(w.gw.port, NULL, "u-1", "hola"), 403);
	ck_assert_int_eq(post_inbound(w.gw.port, "wrong", "u-1", "hola"), 403);
	ck_assert_int_eq(post_inbound(w.gw.port, SECRET "x", "u-1", "hola"), 403);
	ck_assert_int_eq(post_inbound(w.gw.port, "", "u-1", "hola"), 403);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages"), 0);
	snprintf(path, sizeof path, "/sms/kannel/status?secret=nope&id=K1&type=1");
	ck_assert_int_eq(harness_get(w.gw.port, path, NULL), 403);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM delivery_reports"), 0);

	/* Kannel retrying a post it got no answer for: stored once, answered once. */
	ck_assert_int_eq(post_inbound(w.gw.port, SECRET, "u-2", "hola"), 200);
	ck_assert_int_eq(post_inbound(w.gw.port, SECRET, "u-2", "hola"), 200);
	wait_processed(&w, 1);
	expect_delivered_all(&w, PATIENT);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 1);
	world_free(&w);
}
END_TEST

START_TEST(test_red_flag_alerts_staff_through_kannel)
{
	struct world w;
	char *from, *to, *out = NULL, *got;
	size_t n = 0;
	long long n_in = 0;

	world_init(&w);
	ck_assert_int_eq(harness_gw_cli(&w.gw, NULL, "staff", "add", "--name", "Pat Primary", "--phone",
	    PRIMARY, NULL), 0);
	from = harness_query_text(w.pg, "SELECT to_char(now() AT TIME ZONE 'UTC' - interval '1 hour', "
	    "'YYYY-MM-DD HH24:MI')");
	to = harness_query_text(w.pg, "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 hours', "
	    "'YYYY-MM-DD HH24:MI')");
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "oncall", "add", "--phone", PRIMARY, "--tier", "primary",
	    "--from", from, "--to", to, "--tz", "UTC", NULL) == 0, "%s", out);
	free(out);
	free(from);
	free(to);

	converse(&w, "my back hurts and now i have chest pain and cant breathe", &n_in);
	got = delivered_to(&w, PATIENT, NULL);
	ck_assert_msg(strstr(got, "911") != NULL, "no emergency instruction:\n%s", got);
	free(got);
	/* The first page is queued by the escalation sweep, which may come after the patient's replies. */
	ck_assert_msg(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PRIMARY "'", 1,
	    WAIT_MS), "the primary was never paged; see %s", w.gw.log_path);
	expect_delivered_all(&w, PRIMARY);
	got = delivered_to(&w, PRIMARY, &n);
	ck_assert_int_ge(n, 1);
	ck_assert_msg(strstr(got, "0100") != NULL && strstr(got, PATIENT) == NULL, "alert:\n%s", got);
	free(got);
	world_free(&w);
}
END_TEST

CHECK_RUN_MAIN("kannel", 180, test_spanish_conversation_outages_and_reports, test_secret_and_dedupe,
    test_red_flag_alerts_staff_through_kannel)
