/*
 * haproxy_fixture.c - HAProxy from deploy/haproxy.cfg in front of test
 * gateways (see haproxy_fixture.h). The configuration file is the one a
 * clinic deploys; only its ports, certificate and servers come from the
 * environment, as the file documents.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "haproxy_fixture.h"
#include "http_discard.h"
#include "xmalloc.h"

void
haproxy_fixture_init(struct haproxy_fixture *hp, const char *name)
{
	const char *vardir = getenv("CARENAV_TEST_VARDIR");

	memset(hp, 0, sizeof *hp);
	/* Before the test's client threads use libcurl (init is not thread-safe in older libcurls). */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ck_assert_msg(vardir != NULL, "CARENAV_TEST_VARDIR is not set (run through ctest)");
	hp->dir = xasprintf("%s/%s-%d", vardir, name, (int)getpid());
	ck_assert(mkdir(vardir, 0755) == 0 || errno == EEXIST);
	ck_assert(mkdir(hp->dir, 0755) == 0 || errno == EEXIST);
	hp->cert = xasprintf("%s/carenav.pem", hp->dir);
	hp->outbox_log = xasprintf("%s/outbox.log", hp->dir);
	hp->tls_port = harness_free_port();
	hp->http_port = harness_free_port();
	hp->stats_port = harness_free_port();
}

static void
make_certificate(const struct haproxy_fixture *hp)
{
	char *cmd = xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 "
	    "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1 && cat %s/cert.pem %s/key.pem > %s",
	    hp->dir, hp->dir, hp->dir, hp->dir, hp->cert);

	ck_assert_msg(system(cmd) == 0, "openssl could not make a test certificate");
	free(cmd);
}

void
haproxy_fixture_start(struct haproxy_fixture *hp, struct harness_gw *gw, int n_gw)
{
	char *log = xasprintf("%s/haproxy.log", hp->dir), *env[4 + HAPROXY_SERVERS + 1] = { NULL };
	const char *cfg = getenv("CARENAV_HAPROXY_CFG");
	char *argv[] = { "haproxy", "-db", "-f", (char *)cfg, NULL };
	size_t n = 0;

	ck_assert_msg(cfg != NULL, "CARENAV_HAPROXY_CFG is not set (run through ctest)");
	for (int i = 0; i < n_gw; i++)
		harness_gw_start(&gw[i]);
	make_certificate(hp);
	env[n++] = xasprintf("CARENAV_TLS_BIND=127.0.0.1:%d", hp->tls_port);
	env[n++] = xasprintf("CARENAV_HTTP_BIND=127.0.0.1:%d", hp->http_port);
	env[n++] = xasprintf("CARENAV_STATS_BIND=127.0.0.1:%d", hp->stats_port);
	env[n++] = xasprintf("CARENAV_TLS_CERT=%s", hp->cert);
	for (int i = 0; i < HAPROXY_SERVERS; i++)
		env[n++] = xasprintf("CARENAV_GW%d=127.0.0.1:%d", i + 1, gw[i % n_gw].port);
	hp->pid = harness_spawn(argv, &(struct harness_spawn_opts){ .log = log, .in_fd = -1,
	    .env = (const char *const *)env });
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	for (int waited = 0; haproxy_fixture_servers_up(hp) < HAPROXY_SERVERS; waited += 100) {
		int status;

		ck_assert_msg(waitpid(hp->pid, &status, WNOHANG) == 0, "haproxy exited; see %s", log);
		ck_assert_msg(waited < 20000, "HAProxy never saw its servers up; see %s", log);
		harness_sleep_ms(100);
	}
	free(log);
}

int
haproxy_fixture_servers_up(const struct haproxy_fixture *hp)
{
	char *body = NULL, *p;
	int up = 0;

	if (harness_http(&(struct harness_http){ .port = hp->stats_port, .path = "/stats;csv" }, &body) == 200) {
		for (p = body; (p = strstr(p, "carenav_gateways,gw")) != NULL; p++) {
			char *eol = strchr(p, '\n');

			if (eol != NULL)
				*eol = '\0';
			up += strstr(p, ",UP,") != NULL;
			if (eol != NULL)
				*eol = '\n';
		}
	}
	free(body);
	return up;
}

void
haproxy_fixture_wait_up(const struct haproxy_fixture *hp, int want)
{
	for (int waited = 0; haproxy_fixture_servers_up(hp) < want; waited += 100) {
		ck_assert_msg(waited < 20000, "HAProxy never saw %d servers up", want);
		harness_sleep_ms(100);
	}
}

void
haproxy_fixture_admin(const struct haproxy_fixture *hp, const char *servers, const char *action)
{
	char *form = xasprintf("%s&action=%s&b=carenav_gateways", servers, action);
	long status = harness_http(&(struct harness_http){ .port = hp->stats_port, .path = "/stats",
	    .content_type = "application/x-www-form-urlencoded", .body = form, .body_len = strlen(form) }, NULL);

	ck_assert_msg(status == 303 || status == 200, "stats admin %s: %ld", action, status);
	free(form);
}

void
haproxy_fixture_stop(struct haproxy_fixture *hp)
{
	if (hp->pid > 0) {
		kill(hp->pid, SIGTERM);
		waitpid(hp->pid, NULL, 0);
	}
	free(hp->dir);
	free(hp->cert);
	free(hp->outbox_log);
	memset(hp, 0, sizeof *hp);
	curl_global_cleanup();
}

void
haproxy_fixture_gateways(const struct haproxy_fixture *hp, struct harness_gw *gw, int n, const char *conninfo,
    const char *secret, const char *const *extra)
{
	enum { COMMON = 5, MAX_EXTRA = 8 };
	const char *env[COMMON + MAX_EXTRA + 1] = { "LOG_LEVEL=info", "TRUSTED_PROXIES=127.0.0.1", "DB_POOL_SIZE=4" };
	char *secret_env = xasprintf("SANDBOX_WEBHOOK_SECRET=%s", secret);
	char *log_env = xasprintf("SANDBOX_OUTBOX_LOG=%s", hp->outbox_log);
	size_t k = COMMON;

	env[3] = secret_env;
	env[4] = log_env;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		ck_assert_uint_lt(k, COMMON + MAX_EXTRA);
		env[k++] = extra[i];
	}
	for (int i = 0; i < n; i++)
		harness_gw_init(&gw[i], conninfo, env);
	ck_assert_int_eq(harness_gw_cli(&gw[0], NULL, "migrate", NULL), 0);
	free(secret_env);
	free(log_env);
}

void
haproxy_fixture_stop_all(struct haproxy_fixture *hp, struct harness_gw *gw, int n)
{
	haproxy_fixture_stop(hp);
	for (int i = 0; i < n; i++) {
		harness_gw_stop_clean(&gw[i]);
		harness_gw_free(&gw[i]);
	}
}

void
haproxy_client_open(struct haproxy_client *c, const struct haproxy_fixture *hp, const char *header)
{
	char entry[64];

	memset(c, 0, sizeof *c);
	c->hp = hp;
	c->curl = curl_easy_init();
	/* The certificate names "localhost"; pin it to IPv4 loopback, where HAProxy listens. */
	snprintf(entry, sizeof entry, "localhost:%d:127.0.0.1", hp->tls_port);
	c->resolve = curl_slist_append(NULL, entry);
	c->headers = curl_slist_append(NULL, header);
	curl_easy_setopt(c->curl, CURLOPT_RESOLVE, c->resolve);
	curl_easy_setopt(c->curl, CURLOPT_CAINFO, hp->cert);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, http_discard_cb);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
}

void
haproxy_client_close(struct haproxy_client *c)
{
	curl_slist_free_all(c->resolve);
	curl_slist_free_all(c->headers);
	curl_easy_cleanup(c->curl);
	memset(c, 0, sizeof *c);
}

long
haproxy_client_post_sms(struct haproxy_client *c, const char *sid, const char *from, const char *to,
    const char *body)
{
	char *ef = curl_easy_escape(c->curl, from, 0), *et = curl_easy_escape(c->curl, to, 0);
	char *eb = curl_easy_escape(c->curl, body, 0);
	char *form = xasprintf("MessageSid=%s&From=%s&To=%s&Body=%s&NumMedia=0", sid, ef, et, eb);
	char *url = xasprintf("https://localhost:%d/sms/inbound", c->hp->tls_port);
	long status = 0;

	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, form);
	if (curl_easy_perform(c->curl) == CURLE_OK)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_free(ef);
	curl_free(et);
	curl_free(eb);
	free(form);
	free(url);
	return status;
}

static void *
haproxy_stream_thread(void *arg)
{
	struct haproxy_stream_thread *t = arg;
	struct haproxy_stream *s = t->s;
	struct haproxy_client client;

	haproxy_client_open(&client, s->hp, s->header);
	for (int round = 0; round < s->rounds; round++) {
		for (int p = t->index; p < s->patients; p += s->nthreads)
			s->cb(&client, p, round, s->arg);
	}
	haproxy_client_close(&client);
	return NULL;
}

void
haproxy_stream_start(struct haproxy_stream *s, const struct haproxy_fixture *hp, const char *header,
    int nthreads, int patients, int rounds, haproxy_stream_cb cb, void *arg)
{
	ck_assert_int_le(nthreads, HAPROXY_STREAM_MAX_THREADS);
	*s = (struct haproxy_stream){ .hp = hp, .header = header, .nthreads = nthreads, .patients = patients,
		.rounds = rounds, .cb = cb, .arg = arg };
	for (int i = 0; i < nthreads; i++) {
		s->threads[i].s = s;
		s->threads[i].index = i;
		ck_assert_int_eq(pthread_create(&s->threads[i].tid, NULL, haproxy_stream_thread, &s->threads[i]), 0);
	}
}

void
haproxy_stream_join(struct haproxy_stream *s)
{
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i].tid, NULL);
}
