/*
 * harness.c - integration test support. See harness.h.
 */
#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "file_text.h"
#include "form.h"
#include "segment.h"
#include "xmalloc.h"

static const char *
harness_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL && *v != '\0', "%s is not set (run the tests through ctest)", name);
	return v;
}

void
harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

double
harness_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
harness_scaled(int n)
{
	const char *env = getenv("CARENAV_FAULTS_SCALE");
	double f = env ? atof(env) : 1.0;

	return f > 0 && f < 1 ? (int)(n * f) : n;
}

/*
 * The environment a child execs with: ours, each NAME=VALUE of sets
 * replacing or adding to it (later ones win); the strings are borrowed.
 * Built before the fork because a test is threaded (fake Twilio, the
 * fault threads): its child may only make async-signal-safe calls until it
 * execs, and under ASan a malloc there can wait forever on a lock another
 * thread held at the fork (seen in CI as a gateway that never started).
 */
static char **
harness_child_env(const char *const *sets)
{
	size_t n = 0, nsets = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (sets != NULL && sets[nsets] != NULL)
		nsets++;
	env = xcalloc(n + nsets + 1, sizeof *env);
	memcpy(env, environ, n * sizeof *env);
	for (size_t i = 0; i < nsets; i++) {
		const char *eq = strchr(sets[i], '=');
		size_t name_len = eq != NULL ? (size_t)(eq - sets[i]) + 1 : 0, j = 0;

		if (eq == NULL)
			continue;
		while (j < n && strncmp(env[j], sets[i], name_len) != 0)
			j++;
		env[j] = (char *)sets[i];
		if (j == n)
			n++;
	}
	return env;
}

pid_t
harness_spawn(char *const argv[], const struct harness_spawn_opts *opts)
{
	char **env = harness_child_env(opts->env);
	struct passwd *pw = opts->as_postgres && geteuid() == 0 ? getpwnam("postgres") : NULL;
	pid_t parent = getpid(), pid;

	ck_assert_msg(!opts->as_postgres || geteuid() != 0 || pw != NULL, "no user \"postgres\"");
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		int fd = opts->log != NULL ? open(opts->log, O_WRONLY | O_CREAT | O_APPEND, 0644) :
		    open("/dev/null", O_WRONLY);
		int in_fd = opts->in_fd >= 0 ? opts->in_fd : open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(in_fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (pw != NULL && (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0))
			_exit(126);
		execvpe(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	return pid;
}

PGconn *
harness_db_connect(const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "cannot connect to %s: %s", conninfo,
	    PQerrorMessage(pg));
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	return pg;
}

/* A new database, a copy of template (of template1 when NULL). */
static char *
harness_db_copy(const char *template)
{
	static int counter;
	char *admin = xasprintf("host=%s dbname=postgres user=carenav", harness_env("CARENAV_TEST_PGHOST"));
	PGconn *pg = harness_db_connect(admin);
	char *name = xasprintf("t_%d_%d_%ld", (int)getpid(), counter++, (long)time(NULL));
	char *sql = template ? xasprintf("CREATE DATABASE %s TEMPLATE %s", name, template) :
	    xasprintf("CREATE DATABASE %s", name);
	PGresult *res = PQexec(pg, sql);
	char *conninfo;

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(pg);
	conninfo = xasprintf("host=%s dbname=%s user=carenav", harness_env("CARENAV_TEST_PGHOST"), name);
	free(admin);
	free(sql);
	free(name);
	return conninfo;
}

char *
harness_db_create(void)
{
	return harness_db_copy("carenav_template");
}

char *
harness_db_create_empty(void)
{
	return harness_db_copy(NULL);
}

char *
harness_db_restore(const char *dump_name)
{
	char *conninfo = harness_db_create_empty();
	char *cmd = xasprintf("gunzip -c '%s/%s' | psql -X -q -v ON_ERROR_STOP=1 -d '%s' >/dev/null",
	    harness_env("CARENAV_UPGRADE_DUMPS"), dump_name, conninfo);

	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	free(cmd);
	return conninfo;
}

char *
harness_query_text(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	char *out;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
	ck_assert_msg(PQntuples(res) > 0, "%s: no rows", sql);
	out = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

long long
harness_query_int(PGconn *pg, const char *sql)
{
	char *text = harness_query_text(pg, sql);
	long long v = strtoll(text, NULL, 10);

	free(text);
	return v;
}

bool
harness_wait_int(PGconn *pg, const char *sql, long long expected, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		PGresult *res = PQexec(pg, sql);
		bool match = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
		    strtoll(PQgetvalue(res, 0, 0), NULL, 10) == expected;

		PQclear(res);
		if (match)
			return true;
		harness_sleep_ms(50);
	}
	return false;
}

void
harness_exec(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
	    "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

void
harness_wait_processed(PGconn *pg, int timeout_ms, const char *log_path)
{
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND processed_at IS NULL", 0, timeout_ms), "texts left unprocessed; see %s", log_path);
}

/* The second half of settling: no reply left pending in the outbox. */
static void
harness_wait_sent(PGconn *pg, int timeout_ms, const char *log_path)
{
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, timeout_ms),
	    "replies left unsent; see %s", log_path);
}

void
harness_wait_settled(PGconn *pg, int timeout_ms, const char *log_path)
{
	harness_wait_processed(pg, timeout_ms, log_path);
	harness_wait_sent(pg, timeout_ms, log_path);
}

void
harness_wait_answered(PGconn *pg, long answered, int timeout_ms, const char *log_path)
{
	char *sql = xasprintf("SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NOT NULL "
	    "HAVING count(*) = %ld", answered);

	ck_assert_msg(harness_wait_int(pg, sql, answered, timeout_ms), "not all %ld texts answered; see %s",
	    answered, log_path);
	free(sql);
	harness_wait_sent(pg, timeout_ms, log_path);
}

int
harness_free_port(void)
{
	static unsigned seed;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (seed == 0)
		seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
	/*
	 * Below the kernel's ephemeral range (32768-60999): a port picked there
	 * can be taken by an outgoing connection between our check and the
	 * server's bind (seen in CI: "cannot listen", "Address already in use").
	 * Random, so concurrent test programs rarely pick the same one.
	 */
	for (int tries = 0; tries < 1000; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), port;

		ck_assert(fd >= 0);
		seed = seed * 1103515245u + 12345u;
		port = 20000 + (int)((seed >> 8) % 12000);
		sa.sin_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			return port;
		}
		close(fd);
	}
	ck_abort_msg("no free port in 20000-31999");
}

/*
 * A gateway's start takes 0.4 s (2.5 s at p99) under the suite's load, ASan
 * included; the deadline is for a machine far busier than that, and stays
 * under the 60 s a test case may take.
 */
#define HARNESS_GW_START_S 30

/* The last lines of a log on stderr, so a failure in CI, where the file is gone, shows its cause. */
static void
harness_log_tail(const char *path)
{
	enum { TAIL_LINES = 25 };
	char *text = file_text_read_if_any(path), *from;
	int lines = 0;

	from = text + strlen(text);
	while (from > text && lines <= TAIL_LINES)
		if (*--from == '\n')
			lines++;
	fprintf(stderr, "--- the end of %s ---\n%s--- end ---\n", path, from == text ? from : from + 1);
	free(text);
}

void
harness_gw_init(struct harness_gw *gw, const char *conninfo, const char *const *env)
{
	size_t n = 0;
	char *tmpl = xasprintf("%s/gw-XXXXXX", harness_env("CARENAV_TEST_VARDIR"));

	memset(gw, 0, sizeof *gw);
	gw->conninfo = xstrdup(conninfo);
	gw->port = harness_free_port();
	mkdir(harness_env("CARENAV_TEST_VARDIR"), 0755);
	ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp %s: %s", tmpl, strerror(errno));
	gw->var_dir = tmpl;
	gw->log_path = xasprintf("%s/gateway.log", gw->var_dir);
	while (env != NULL && env[n] != NULL)
		n++;
	gw->env = xcalloc(n + 1, sizeof *gw->env);
	for (size_t i = 0; i < n; i++)
		gw->env[i] = xstrdup(env[i]);
}

/* Whether a setting the test gave its gateway names its port (a public URL, say): then the port cannot change. */
static bool
harness_gw_env_names_port(const struct harness_gw *gw)
{
	char port[16];

	snprintf(port, sizeof port, "%d", gw->port);
	for (size_t i = 0; gw->env[i] != NULL; i++)
		if (strstr(gw->env[i], port) != NULL)
			return true;
	return false;
}

/*
 * Starts the gateway and waits for /healthz. False when it exited at startup
 * because its port was taken: harness_free_port only saw the port free, and
 * another test program can bind it before the gateway does (seen in CI).
 */
static bool
harness_gw_try_start(struct harness_gw *gw)
{
	char *argv[] = { (char *)harness_env("CARENAV_BIN"), "serve", NULL };
	size_t n = 0, nextra = 0, log_was;
	const char **env;
	struct stat st;

	/* The log is appended to: only what this start writes tells why it failed. */
	log_was = stat(gw->log_path, &st) == 0 ? (size_t)st.st_size : 0;
	while (gw->env[nextra] != NULL)
		nextra++;
	env = xcalloc(9 + nextra + 1, sizeof *env);
	env[n++] = xasprintf("DATABASE_URL=%s", gw->conninfo);
	env[n++] = xasprintf("HTTP_PORT=%d", gw->port);
	env[n++] = xasprintf("VAR_DIR=%s", gw->var_dir);
	/* Each sweep is a query: at 100 ms an idle gateway cost 3 % of a core in PostgreSQL. */
	env[n++] = "SWEEP_INTERVAL_MS=250";
	env[n++] = "SWEEP_MIN_AGE_MS=200";
	env[n++] = "OUTBOX_BACKOFF_BASE_MS=50";
	env[n++] = "OUTBOX_BACKOFF_MAX_MS=400";
	env[n++] = "LOG_LEVEL=debug";
	/* Tests send bursts; the ones about the send cap set their own. */
	env[n++] = "OUTBOUND_RATE_PER_SEC=0";
	/* The test's own settings come last and win. */
	for (size_t i = 0; i < nextra; i++)
		env[n++] = gw->env[i];
	gw->pid = harness_spawn(argv, &(struct harness_spawn_opts){ .log = gw->log_path, .in_fd = -1, .env = env });
	free((char *)env[0]);
	free((char *)env[1]);
	free((char *)env[2]);
	free(env);
	for (double t0 = harness_now_s(); harness_now_s() - t0 < HARNESS_GW_START_S;) {
		int status;

		if (harness_get(gw->port, "/healthz", NULL) == 200)
			return true;
		if (waitpid(gw->pid, &status, WNOHANG) != 0) {
			char *log = file_text_read_if_any(gw->log_path);
			bool port_taken = strlen(log) > log_was && strstr(log + log_was, "cannot listen") != NULL;

			free(log);
			gw->pid = 0;
			if (port_taken && !harness_gw_env_names_port(gw))
				return false;
			harness_log_tail(gw->log_path);
			ck_abort_msg("gateway exited at startup; see %s", gw->log_path);
		}
		harness_sleep_ms(50);
	}
	harness_log_tail(gw->log_path);
	ck_abort_msg("gateway did not answer /healthz in %d s; see %s", HARNESS_GW_START_S, gw->log_path);
}

void
harness_gw_start(struct harness_gw *gw)
{
	for (int tries = 1; !harness_gw_try_start(gw); tries++) {
		fprintf(stderr, "harness: port %d was taken before the gateway bound it; trying another\n", gw->port);
		if (tries == 3) {
			harness_log_tail(gw->log_path);
			ck_abort_msg("gateway could not listen on three ports; see %s", gw->log_path);
		}
		gw->port = harness_free_port();
	}
}

int
harness_gw_stop(struct harness_gw *gw)
{
	int status = 0;

	if (gw->pid <= 0)
		return 0;
	kill(gw->pid, SIGTERM);
	waitpid(gw->pid, &status, 0);
	gw->pid = 0;
	return status;
}

void
harness_gw_stop_clean(struct harness_gw *gw)
{
	ck_assert_msg(harness_gw_stop(gw) == 0, "the gateway on port %d did not drain cleanly; see %s", gw->port,
	    gw->log_path);
}

void
harness_gw_kill(struct harness_gw *gw)
{
	if (gw->pid <= 0)
		return;
	kill(gw->pid, SIGKILL);
	waitpid(gw->pid, NULL, 0);
	gw->pid = 0;
}

void
harness_gw_free(struct harness_gw *gw)
{
	harness_gw_kill(gw);
	for (char **e = gw->env; e != NULL && *e != NULL; e++)
		free(*e);
	free(gw->env);
	free(gw->conninfo);
	free(gw->var_dir);
	free(gw->log_path);
}

static char *harness_sign_token, *harness_sign_base;

void
harness_sign_twilio(const char *token, const char *public_base)
{
	free(harness_sign_token);
	free(harness_sign_base);
	harness_sign_token = token ? xstrdup(token) : NULL;
	harness_sign_base = public_base ? xstrdup(public_base) : NULL;
}

/* Written from Twilio's description, independently of the gateway's code. */
char *
harness_twilio_signature(const char *token, const char *public_base, const char *path,
    const char *form_body)
{
	struct form f;
	char *cause = NULL, *data = xasprintf("%s%s", public_base, path);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *out = xcalloc(1, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1);
	bool *used;

	ck_assert(form_parse(form_body, strlen(form_body), &f, &cause));
	used = xcalloc(f.npairs + 1, sizeof *used);
	/* Selection of the smallest unused name each time: sorted, ties in order. */
	for (size_t round = 0; round < f.npairs; round++) {
		size_t best = f.npairs;
		char *next;

		for (size_t i = 0; i < f.npairs; i++) {
			if (!used[i] && (best == f.npairs || strcmp(f.pairs[i].name, f.pairs[best].name) < 0))
				best = i;
		}
		used[best] = true;
		next = xasprintf("%s%s%s", data, f.pairs[best].name, f.pairs[best].value);
		free(data);
		data = next;
	}
	HMAC(EVP_sha1(), token, (int)strlen(token), (unsigned char *)data, strlen(data), mac, &maclen);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	free(used);
	free(data);
	form_free(&f);
	return out;
}

struct harness_buf {
	char *data;
	size_t len;
};

static size_t
harness_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct harness_buf *buf = userp;
	size_t n = size * nmemb;

	buf->data = xrealloc(buf->data, buf->len + n + 1);
	memcpy(buf->data + buf->len, data, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return n;
}

long
harness_http(const struct harness_http *r, char **resp)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	struct harness_buf buf = { xstrdup(""), 0 }, hbuf = { xstrdup(""), 0 };
	char *url = xasprintf("http://%s:%d%s", r->host ? r->host : "127.0.0.1", r->port, r->path), *ct;
	long status = 0;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, harness_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, harness_write_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hbuf);
	if (r->source != NULL)
		curl_easy_setopt(curl, CURLOPT_INTERFACE, r->source);
	for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
		headers = curl_slist_append(headers, r->headers[i]);
	if (r->body != NULL) {
		ct = xasprintf("Content-Type: %s", r->content_type);
		headers = curl_slist_append(headers, ct);
		headers = curl_slist_append(headers, "Expect:");
		free(ct);
		if (harness_sign_token != NULL && strcmp(r->content_type, "application/x-www-form-urlencoded") == 0 &&
		    strlen(r->body) == r->body_len) {
			char *sig = harness_twilio_signature(harness_sign_token, harness_sign_base, r->path, r->body);
			char *h = xasprintf("X-Twilio-Signature: %s", sig);

			headers = curl_slist_append(headers, h);
			free(h);
			free(sig);
		}
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
	}
	if (r->method != NULL)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(url);
	if (resp != NULL)
		*resp = buf.data;
	else
		free(buf.data);
	if (r->resp_headers != NULL)
		*r->resp_headers = hbuf.data;
	else
		free(hbuf.data);
	return status;
}

/*
 * One request; method NULL means GET, or POST when there is a body. source
 * (the local address to connect from) and header may be NULL; extra is a
 * NULL-terminated list of more header lines, or NULL.
 */
static long
harness_request(int port, const char *source, const char *method, const char *path, const char *header,
    const char *const *extra, const char *content_type, const char *body, size_t body_len, char **resp)
{
	const char *headers[16] = { NULL };
	size_t n = 0;
	long status;

	if (header != NULL)
		headers[n++] = header;
	for (const char *const *e = extra; e != NULL && *e != NULL && n + 1 < sizeof headers / sizeof *headers; e++)
		headers[n++] = *e;
	status = harness_http(&(struct harness_http){ .port = port, .source = source, .method = method,
	    .path = path, .headers = headers, .content_type = content_type, .body = body, .body_len = body_len },
	    resp);
	return status;
}

char *
harness_raw(int port, const char *data, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 3, 0 };
	struct harness_buf buf = { xstrdup(""), 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char chunk[4096];
	ssize_t n;

	ck_assert(fd >= 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ck_assert(write(fd, data, len) == (ssize_t)len);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		harness_write_cb(chunk, 1, (size_t)n, &buf);
	close(fd);
	return buf.data;
}

char *
harness_local_address(void)
{
	struct ifaddrs *ifs, *i;
	char *found = NULL, host[INET_ADDRSTRLEN];

	if (getifaddrs(&ifs) != 0)
		return NULL;
	for (i = ifs; i != NULL && found == NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_UP) == 0 ||
		    (i->ifa_flags & IFF_LOOPBACK) != 0)
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, host, sizeof host))
			found = xstrdup(host);
	}
	freeifaddrs(ifs);
	return found;
}

long
harness_post(int port, const char *path, const char *content_type, const char *body,
    size_t body_len, char **resp)
{
	return harness_request(port, NULL, NULL, path, NULL, NULL, content_type, body, body_len, resp);
}

long
harness_get(int port, const char *path, char **resp)
{
	return harness_request(port, NULL, NULL, path, NULL, NULL, NULL, NULL, 0, resp);
}

bool
harness_wait_get(int port, const char *path, long status, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		if (harness_get(port, path, NULL) == status)
			return true;
		harness_sleep_ms(100);
	}
	return false;
}

long
harness_api(int port, const char *method, const char *path, const char *token, const char *json_body,
    char **resp)
{
	return harness_api_from(port, NULL, NULL, method, path, token, json_body, resp);
}

long
harness_api_from(int port, const char *source, const char *const *headers, const char *method,
    const char *path, const char *token, const char *json_body, char **resp)
{
	char *auth = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	/* A POST without a body still sends Content-Length: 0. */
	const char *body = json_body ? json_body : (method && strcmp(method, "POST") == 0 ? "" : NULL);
	long status = harness_request(port, source, method, path, auth, headers, "application/json", body,
	    body ? strlen(body) : 0, resp);

	free(auth);
	return status;
}

int
harness_connect_from(int port, const char *source)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in local = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	if (source != NULL) {
		ck_assert_msg(inet_pton(AF_INET, source, &local.sin_addr) == 1, "bad source %s", source);
		ck_assert_msg(bind(fd, (struct sockaddr *)&local, sizeof local) == 0, "bind %s: %s", source,
		    strerror(errno));
	}
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
	return fd;
}

long
harness_raw_request(int fd, const char *request, int timeout_ms)
{
	char buf[8192];
	size_t len = 0, want = 0;
	size_t n = strlen(request);
	char *end;

	if (write(fd, request, n) != (ssize_t)n)
		return 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (want > 0 && len >= want)
			break;
		if (poll(&p, 1, timeout_ms) <= 0)
			return 0;
		got = read(fd, buf + len, sizeof buf - 1 - len);
		if (got <= 0)
			return 0;
		len += (size_t)got;
		buf[len] = '\0';
		if (want == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			want = (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (len >= sizeof buf - 1)
			break;
	}
	return len > 12 && strncmp(buf, "HTTP/1.", 7) == 0 ? strtol(buf + 9, NULL, 10) : 0;
}

bool
harness_fd_closed(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

long
harness_post_sms(int port, const char *sid, const char *from, const char *to, const char *body)
{
	const char *kv[] = { "ToCountry", "US", "MessageSid", sid, "SmsSid", sid, "AccountSid", "ACtest",
		"From", from, "To", to, "Body", body, "NumMedia", "0" };
	char *form = form_encode(kv, 8);
	long status = harness_post(port, "/sms/inbound", "application/x-www-form-urlencoded", form,
	    strlen(form), NULL);

	free(form);
	return status;
}

/* harness_gw_cli with the arguments after arg in ap. */
static int
harness_gw_cli_va(struct harness_gw *gw, char **out, const char *arg, va_list ap)
{
	const char *bin = harness_env("CARENAV_BIN");
	char *argv[16], *cmd, *line = NULL, **env;
	const char **sets;
	size_t argc = 0, cap = 0, len = 0, nsets = 0;
	int pipefd[2], status;
	pid_t pid;
	FILE *f;

	argv[argc++] = (char *)bin;
	for (const char *a = arg; a != NULL && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	argv[argc] = NULL;
	/* The gateway's own settings too, so a CLI check sees what the gateway sees. */
	while (gw->env[nsets] != NULL)
		nsets++;
	sets = xcalloc(nsets + 3, sizeof *sets);
	sets[0] = xasprintf("DATABASE_URL=%s", gw->conninfo);
	sets[1] = xasprintf("VAR_DIR=%s", gw->var_dir);
	memcpy(sets + 2, gw->env, nsets * sizeof *sets);
	env = harness_child_env(sets);
	ck_assert(pipe(pipefd) == 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execve(bin, argv, env);
		_exit(127);
	}
	free(env);
	free((char *)sets[0]);
	free((char *)sets[1]);
	free(sets);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	cmd = xstrdup("");
	while (getline(&line, &cap, f) > 0) {
		size_t n = strlen(line);

		cmd = xrealloc(cmd, len + n + 1);
		memcpy(cmd + len, line, n + 1);
		len += n;
	}
	free(line);
	fclose(f);
	waitpid(pid, &status, 0);
	if (out != NULL)
		*out = cmd;
	else
		free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
harness_gw_cli(struct harness_gw *gw, char **out, const char *arg, ...)
{
	va_list ap;
	int status;

	va_start(ap, arg);
	status = harness_gw_cli_va(gw, out, arg, ap);
	va_end(ap);
	return status;
}

void
harness_gw_cli_expect(struct harness_gw *gw, int want_status, const char *want, const char *arg, ...)
{
	va_list ap;
	char *out;
	int status;

	va_start(ap, arg);
	status = harness_gw_cli_va(gw, &out, arg, ap);
	va_end(ap);
	ck_assert_msg(status == want_status && strstr(out, want) != NULL,
	    "carenav %s ... exited %d (want %d) saying:\n%s\n(want \"%s\" in it)", arg, status, want_status, out, want);
	free(out);
}

char *
harness_replies(PGconn *pg, const char *patient, long long after_id)
{
	char after[32];
	const char *params[] = { patient, after };
	PGresult *res;
	char *out;

	snprintf(after, sizeof after, "%lld", after_id);
	res = PQexecParams(pg, "SELECT coalesce(string_agg(body, E'\\n--\\n' ORDER BY id), '') "
	    "FROM messages WHERE direction = 'out' AND to_number = $1 AND id > $2", 2, NULL, params,
	    NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
	out = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

char **
harness_sandbox_sent(const struct harness_gw *gw, const char *number, size_t *n, size_t *segments)
{
	char *path = xasprintf("%s/outbox.log", gw->var_dir), *line = NULL, **out = NULL;
	FILE *f = fopen(path, "r");
	size_t cap = 0;

	*n = 0;
	if (segments != NULL)
		*segments = 0;
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (getline(&line, &cap, f) > 0) {
		json_t *row = json_loads(line, 0, NULL);
		const char *to = json_string_value(json_object_get(row, "to"));
		const char *body = json_string_value(json_object_get(row, "body"));

		ck_assert_msg(row != NULL && to != NULL && body != NULL, "bad sandbox line: %s", line);
		if (strcmp(to, number) == 0) {
			out = xreallocarray(out, *n + 1, sizeof *out);
			out[(*n)++] = xstrdup(body);
			if (segments != NULL)
				*segments += segment_count(body, strlen(body), NULL);
		}
		json_decref(row);
	}
	free(line);
	fclose(f);
	free(path);
	return out;
}

void
harness_inbound_tally(PGconn *pg, struct harness_inbound *t)
{
	t->stored = harness_query_int(pg, "SELECT count(DISTINCT provider_sid) FROM messages WHERE direction = 'in'");
	t->rows = harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in'");
	t->answered = harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND processed_at IS NOT NULL");
	t->steps = harness_query_int(pg, "SELECT coalesce(sum(version), 0) FROM conversations WHERE kind = 'patient'");
}

void
harness_sandbox_log_tally(const char *path, long *lines, long *distinct, long *out_of_order)
{
	FILE *f = fopen(path, "r");
	json_t *last = json_object(), *seen = json_object();
	char *line = NULL;
	size_t cap = 0;

	*lines = *distinct = *out_of_order = 0;
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *sid = json_string_value(json_object_get(o, "sid"));
		const char *to = json_string_value(json_object_get(o, "to"));
		long long id;

		ck_assert_msg(sid != NULL && to != NULL && strncmp(sid, "SB", 2) == 0, "bad sandbox line: %s", line);
		id = atoll(sid + 2);
		(*lines)++;
		if (json_object_get(seen, sid) == NULL) {
			(*distinct)++;
			json_object_set_new(seen, sid, json_true());
		}
		if (json_object_get(last, to) != NULL && json_integer_value(json_object_get(last, to)) > id)
			(*out_of_order)++;
		json_object_set_new(last, to, json_integer(id));
		json_decref(o);
	}
	free(line);
	fclose(f);
	json_decref(last);
	json_decref(seen);
}

long long
harness_last_message_id(PGconn *pg)
{
	return harness_query_int(pg, "SELECT coalesce(max(id), 0) FROM messages");
}

#define HARNESS_REPORT_HEAD \
	"# Reliability rows measured in this build directory (the latest run of each scenario)\n\n" \
	"Written by the fault tests (harness_report_row); `tools/update-reliability-doc` copies the rows\n" \
	"into docs/reliability.md, which explains the columns.\n\n" \
	"| scenario | sent | stored | answered | duplicates | lost | notes |\n" \
	"|---|---|---|---|---|---|---|\n"

void
harness_report_row(const char *scenario, long sent, long stored, long answered, long duplicates,
    long lost, const char *notes)
{
	const char *path = harness_env("CARENAV_RELIABILITY_FILE");
	char *prefix = xasprintf("| %s |", scenario), *line = NULL, *out, *next;
	size_t cap = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	FILE *f;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	/* Tests run in parallel: one writer at a time, each keeping the others' rows. */
	ck_assert_msg(flock(fd, LOCK_EX) == 0, "flock %s: %s", path, strerror(errno));
	f = fdopen(fd, "r+");
	ck_assert_ptr_nonnull(f);
	out = xstrdup(HARNESS_REPORT_HEAD);
	/* Keep the other scenarios' rows, drop this one's old row and the header. */
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == '|' && strncmp(line, prefix, strlen(prefix)) != 0 &&
		    strncmp(line, "| scenario", 10) != 0 && strncmp(line, "|---", 4) != 0) {
			next = xasprintf("%s%s", out, line);
			free(out);
			out = next;
		}
	}
	next = xasprintf("%s| %s | %ld | %ld | %ld | %ld | %ld | %s |\n", out, scenario, sent, stored, answered,
	    duplicates, lost, notes);
	rewind(f);
	ck_assert_msg(ftruncate(fd, 0) == 0 && fputs(next, f) >= 0 && fflush(f) == 0, "write %s: %s", path,
	    strerror(errno));
	fclose(f);	/* releases the lock */
	free(line);
	free(prefix);
	free(out);
	free(next);
}

pid_t
harness_pgbouncer_start(const char *dir, const char *name, const char *server, const char *dbname,
    int pool_size, int *port)
{
	char *cfg = xasprintf("%s/%s.ini", dir, name), *users = xasprintf("%s/%s-users.txt", dir, name);
	char *log = xasprintf("%s/%s.log", dir, name), *conninfo;
	char *argv[] = { "pgbouncer", cfg, NULL };
	pid_t pid;
	FILE *f;

	*port = harness_free_port();
	f = fopen(users, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "\"carenav\" \"\"\n");
	fclose(f);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[databases]\n* = %s\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\n"
	    "unix_socket_dir =\nauth_type = trust\nauth_file = %s\npool_mode = transaction\n"
	    "default_pool_size = %d\nmax_client_conn = 200\nserver_reset_query =\n"
	    "ignore_startup_parameters = extra_float_digits\n", server, *port, users, pool_size);
	fclose(f);
	/* PgBouncer refuses to run as root; the cluster's owner runs it then. */
	pid = harness_spawn(argv, &(struct harness_spawn_opts){ .log = log, .in_fd = -1, .as_postgres = true });
	conninfo = xasprintf("host=127.0.0.1 port=%d dbname=%s user=carenav", *port, dbname);
	for (int waited = 0;; waited += 100) {
		PGconn *pg = PQconnectdb(conninfo);
		bool ok = PQstatus(pg) == CONNECTION_OK;
		int status;

		PQfinish(pg);
		if (ok)
			break;
		ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "pgbouncer exited; see %s", log);
		ck_assert_msg(waited < 10000, "pgbouncer did not answer; see %s", log);
		harness_sleep_ms(100);
	}
	free(conninfo);
	free(cfg);
	free(users);
	free(log);
	return pid;
}
