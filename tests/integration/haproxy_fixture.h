/*
 * haproxy_fixture.h - deploy/haproxy.cfg run for a test: a throwaway
 * certificate, HAProxy on free loopback ports in front of the three
 * gateway entries the file names, its stats page, and provider webhooks
 * posted through it over TLS. Used by check_ha and check_upgrade.
 */
#ifndef CARENAV_HAPROXY_FIXTURE_H
#define CARENAV_HAPROXY_FIXTURE_H

#include <curl/curl.h>
#include <pthread.h>
#include <sys/types.h>

/* deploy/haproxy.cfg names three servers, gw1..gw3. */
#define HAPROXY_SERVERS 3

struct harness_gw;

struct haproxy_fixture {
	char *dir;      /* owned: the test's directory: the certificate, HAProxy's log, the test's own files */
	char *outbox_log;  /* owned: in dir, the sandbox provider's log the gateways share */
	char *cert;     /* owned: certificate + key HAProxy serves, and the clients' CA */
	int tls_port, http_port, stats_port;
	pid_t pid;
};

/* Makes hp->dir (CARENAV_TEST_VARDIR/name-PID), picks free ports and sets libcurl up; nothing runs yet. */
void haproxy_fixture_init(struct haproxy_fixture *hp, const char *name);
/*
 * Starts the n gateways, then HAProxy with server gwK at gateway (K-1) mod n
 * (with two, the third entry is the first gateway again), and waits until it
 * sees all three UP.
 */
void haproxy_fixture_start(struct haproxy_fixture *hp, struct harness_gw *gw, int n);
/* Servers HAProxy's health check has UP (its stats CSV). */
int haproxy_fixture_servers_up(const struct haproxy_fixture *hp);
void haproxy_fixture_wait_up(const struct haproxy_fixture *hp, int want);
/* The stats page's admin action ("maint", "ready") on the named servers ("s=gw1&s=gw3"). */
void haproxy_fixture_admin(const struct haproxy_fixture *hp, const char *servers, const char *action);
/* Stops HAProxy and frees what init allocated (libcurl included). */
void haproxy_fixture_stop(struct haproxy_fixture *hp);
/*
 * Sets up n gateways on conninfo to stand behind HAProxy, and migrates the
 * database once through the first; the caller starts them. Each has
 * LOG_LEVEL=info, HAProxy as TRUSTED_PROXIES, DB_POOL_SIZE=4,
 * SANDBOX_WEBHOOK_SECRET=secret, SANDBOX_OUTBOX_LOG=hp->outbox_log and the
 * NULL-ended extra settings (or NULL).
 */
void haproxy_fixture_gateways(const struct haproxy_fixture *hp, struct harness_gw *gw, int n,
    const char *conninfo, const char *secret, const char *const *extra);
/* haproxy_fixture_stop, then stops each of the n gateways cleanly and frees them. */
void haproxy_fixture_stop_all(struct haproxy_fixture *hp, struct harness_gw *gw, int n);

/* One provider thread's connection to HAProxy's TLS port, sending the given header with each webhook. */
struct haproxy_client {
	CURL *curl;
	struct curl_slist *resolve, *headers;
	const struct haproxy_fixture *hp;
};

void haproxy_client_open(struct haproxy_client *c, const struct haproxy_fixture *hp, const char *header);
void haproxy_client_close(struct haproxy_client *c);
/* One Twilio-form webhook to /sms/inbound; returns the HTTP status (0 = no answer). */
long haproxy_client_post_sms(struct haproxy_client *c, const char *sid, const char *from, const char *to,
    const char *body);

/* Sends patient's text of the given round over c, as the provider would. */
typedef void (*haproxy_stream_cb)(struct haproxy_client *c, int patient, int round, void *arg);

#define HAPROXY_STREAM_MAX_THREADS 8

/*
 * Provider threads sending webhooks through HAProxy, each over its own
 * haproxy_client: thread i sends for patients i, i + nthreads, ..., round
 * by round, so each patient's texts go in order.
 */
struct haproxy_stream {
	const struct haproxy_fixture *hp;
	const char *header;    /* borrowed: sent with every webhook */
	int nthreads, patients, rounds;
	haproxy_stream_cb cb;
	void *arg;             /* borrowed: the callback's */
	struct haproxy_stream_thread {
		struct haproxy_stream *s;
		int index;
		pthread_t tid;
	} threads[HAPROXY_STREAM_MAX_THREADS];
};

/* Starts nthreads provider threads sending rounds texts for each of patients; cb sends each one. */
void haproxy_stream_start(struct haproxy_stream *s, const struct haproxy_fixture *hp, const char *header,
    int nthreads, int patients, int rounds, haproxy_stream_cb cb, void *arg);
/* Waits until every thread has sent its last webhook. */
void haproxy_stream_join(struct haproxy_stream *s);

#endif
