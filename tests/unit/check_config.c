/*
 * check_config.c - configuration loading, defaults and validation; backoff;
 * the id map.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "backoff.h"
#include "config.h"
#include "idmap.h"

static void
load_fails(const char *const *env, const char *expect_in_cause)
{
	struct config cfg;
	char *cause = NULL;
	bool ok;

	unit_env_set(env);
	ok = config_load(&cfg, unit_env_get, &cause);
	unit_assert_refused(ok, env[0] != NULL ? env[0] : "(empty environment)", cause, expect_in_cause);
}

START_TEST(test_defaults)
{
	static const char *const env[] = { NULL };
	struct config cfg;
	char *cause = NULL, *conninfo;

	unit_env_set(env);
	ck_assert(config_load(&cfg, unit_env_get, &cause));
	ck_assert_str_eq(cfg.sms_provider, "sandbox");
	ck_assert_int_eq(cfg.http_port, 8080);
	ck_assert_int_eq(cfg.max_body_bytes, 16384);
	ck_assert_str_eq(cfg.database_url, "");
	/* The hostile edge's safe defaults. */
	ck_assert_int_eq(cfg.max_connections, 512);
	ck_assert_int_eq(cfg.max_connections_per_client, 64);
	ck_assert_int_eq(cfg.reserved_connections, 32);
	ck_assert_int_eq(cfg.http_idle_timeout_s, 5);
	ck_assert_str_eq(cfg.trusted_proxies, "");
	ck_assert_int_eq(cfg.api_auth_failures_per_minute, 30);
	conninfo = config_database_conninfo(&cfg);
	ck_assert_msg(strstr(conninfo, "/var/pg/run") != NULL && strstr(conninfo, "dbname=carenav"),
	    "conninfo was %s", conninfo);
	free(conninfo);
	config_free(&cfg);
}
END_TEST

START_TEST(test_values)
{
	static const char *const env[] = { "HTTP_PORT", "9090", "DATABASE_URL", "postgresql:///x",
		"SMS_PROVIDER", "twilio", "TWILIO_ACCOUNT_SID", "AC1", "TWILIO_AUTH_TOKEN", "tok",
		"SANDBOX_OUTBOX_LOG", "/tmp/sb.log", NULL };
	struct config cfg;
	char *cause = NULL, *s;

	unit_env_set(env);
	ck_assert(config_load(&cfg, unit_env_get, &cause));
	ck_assert_int_eq(cfg.http_port, 9090);
	ck_assert_str_eq(cfg.twilio_auth_token, "tok");
	s = config_database_conninfo(&cfg);
	ck_assert_str_eq(s, "postgresql:///x");
	free(s);
	s = config_sandbox_log_path(&cfg);
	ck_assert_str_eq(s, "/tmp/sb.log");
	free(s);
	config_free(&cfg);
}
END_TEST

START_TEST(test_bad_values)
{
	static const char *const port_text[] = { "HTTP_PORT", "80a", NULL };
	static const char *const port_range[] = { "HTTP_PORT", "70000", NULL };
	static const char *const provider[] = { "SMS_PROVIDER", "carrier-pigeon", NULL };
	static const char *const twilio[] = { "SMS_PROVIDER", "twilio", NULL };
	static const char *const pool[] = { "DB_POOL_SIZE", "0", NULL };
	static const char *const kannel[] = { "SMS_PROVIDER", "kannel", "KANNEL_USERNAME", "u",
		"KANNEL_PASSWORD", "p", NULL };
	static const char *const kannel_url[] = { "SMS_PROVIDER", "kannel", "KANNEL_USERNAME", "u",
		"KANNEL_PASSWORD", "p", "KANNEL_SHARED_SECRET", "s", "KANNEL_SENDSMS_URL", "ftp://x", NULL };
	static const char *const dlr_mask[] = { "KANNEL_DLR_MASK", "32", NULL };
	static const char *const backoff[] = { "OUTBOX_BACKOFF_BASE_MS", "5000",
		"OUTBOX_BACKOFF_MAX_MS", "1000", NULL };
	static const char *const proxies[] = { "TRUSTED_PROXIES", "10.0.0.0/8, lb.example.org", NULL };
	static const char *const idle[] = { "HTTP_IDLE_TIMEOUT_S", "0", NULL };
	static const char *const service[] = { "TWILIO_MESSAGING_SERVICE_SID", "PN123", NULL };
	static const char *const advanced[] = { "TWILIO_ADVANCED_OPT_OUT", "yes", NULL };

	load_fails(port_text, "HTTP_PORT");
	load_fails(port_range, "out of range");
	load_fails(provider, "SMS_PROVIDER");
	load_fails(twilio, "TWILIO_ACCOUNT_SID");
	load_fails(pool, "DB_POOL_SIZE");
	load_fails(kannel, "KANNEL_SHARED_SECRET");
	load_fails(kannel_url, "KANNEL_SENDSMS_URL");
	load_fails(dlr_mask, "KANNEL_DLR_MASK");
	load_fails(backoff, "OUTBOX_BACKOFF_MAX_MS");
	load_fails(proxies, "TRUSTED_PROXIES: \"lb.example.org\" is not an address");
	load_fails(idle, "HTTP_IDLE_TIMEOUT_S");
	load_fails(service, "TWILIO_MESSAGING_SERVICE_SID");
	load_fails(advanced, "TWILIO_ADVANCED_OPT_OUT");
}
END_TEST

/* A trailing "/" would make every signed webhook 403 and the callback URL "//sms/status". */
START_TEST(test_public_base_url_normalised)
{
	static const char *const slash[] = { "PUBLIC_BASE_URL", "https://clinic.example.org/", NULL };
	static const char *const slashes[] = { "PUBLIC_BASE_URL", "https://clinic.example.org/carenav//",
		"TWILIO_MESSAGING_SERVICE_SID", "MG0123456789abcdef0123456789ABCDEF", NULL };
	struct config cfg;
	char *cause = NULL;

	unit_env_set(slash);
	ck_assert(config_load(&cfg, unit_env_get, &cause));
	ck_assert_str_eq(cfg.public_base_url, "https://clinic.example.org");
	ck_assert_str_eq(cfg.twilio_messaging_service_sid, "");
	ck_assert_int_eq(cfg.twilio_advanced_opt_out, 0);
	config_free(&cfg);
	unit_env_set(slashes);
	ck_assert(config_load(&cfg, unit_env_get, &cause));
	ck_assert_str_eq(cfg.public_base_url, "https://clinic.example.org/carenav");
	ck_assert_str_eq(cfg.twilio_messaging_service_sid, "MG0123456789abcdef0123456789ABCDEF");
	config_free(&cfg);
}
END_TEST

/* Retry-After: delay-seconds or an HTTP-date, capped; anything else leaves our backoff. */
START_TEST(test_retry_after)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example. */
	const int64_t now = (int64_t)784111777 * 1000;

	ck_assert_int_eq(backoff_retry_after_ms("120", now, 600000), 120000);
	ck_assert_int_eq(backoff_retry_after_ms("120", now, 60000), 60000);
	ck_assert_int_eq(backoff_retry_after_ms("99999999999999999999", now, 60000), 60000);
	ck_assert_int_eq(backoff_retry_after_ms("0", now, 60000), 0);
	ck_assert_int_eq(backoff_retry_after_ms(NULL, now, 60000), 0);
	ck_assert_int_eq(backoff_retry_after_ms("", now, 60000), 0);
	ck_assert_int_eq(backoff_retry_after_ms("-5", now, 60000), 0);
	ck_assert_int_eq(backoff_retry_after_ms("soon", now, 60000), 0);
	ck_assert_int_eq(backoff_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now, 60000), 10000);
	ck_assert_int_eq(backoff_retry_after_ms("Sunday, 06-Nov-94 08:49:57 GMT", now, 60000), 20000);
	ck_assert_int_eq(backoff_retry_after_ms("Sun Nov  6 08:50:07 1994", now, 60000), 30000);
	/* In the past, or far ahead. */
	ck_assert_int_eq(backoff_retry_after_ms("Sun, 06 Nov 1994 08:49:27 GMT", now, 60000), 0);
	ck_assert_int_eq(backoff_retry_after_ms("Mon, 07 Nov 1994 08:49:37 GMT", now, 60000), 60000);
	ck_assert_int_eq(backoff_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT trailing", now, 60000), 0);
}
END_TEST

/* DEFAULT_COUNTRY_CODE, OUTBOUND_COUNTRIES, OUTBOUND_RATE_PER_SEC, and the fallback number normalised. */
START_TEST(test_numbers_settings)
{
	static const char *const defaults[] = { NULL };
	static const char *const uk[] = { "DEFAULT_COUNTRY_CODE", "44", "ESCALATION_FALLBACK_NUMBER",
		"07700 900123", "OUTBOUND_COUNTRIES", "44, 353", NULL };
	static const char *const bad_list[] = { "OUTBOUND_COUNTRIES", "US,CA", NULL };
	static const char *const bad_fallback[] = { "ESCALATION_FALLBACK_NUMBER", "nurse desk", NULL };
	struct config cfg;
	char *cause = NULL, *list;

	unit_env_set(defaults);
	ck_assert(config_load(&cfg, unit_env_get, &cause));
	ck_assert_int_eq(cfg.default_country_code, 1);
	ck_assert_int_eq(cfg.outbound_rate_per_sec, 20);
	list = config_outbound_countries(&cfg);
	ck_assert_str_eq(list, "1");  /* "" = the clinic's own country only */
	free(list);
	config_free(&cfg);
	unit_env_set(uk);
	ck_assert(config_load(&cfg, unit_env_get, &cause));
	ck_assert_str_eq(cfg.escalation_fallback_number, "+447700900123");
	list = config_outbound_countries(&cfg);
	ck_assert_str_eq(list, "44, 353");
	free(list);
	config_free(&cfg);
	load_fails(bad_list, "OUTBOUND_COUNTRIES");
	load_fails(bad_fallback, "ESCALATION_FALLBACK_NUMBER is not a phone number");
}
END_TEST

START_TEST(test_backoff_schedule)
{
	/* Equal jitter: the delay lies in [d/2, d] for d = min(max, base * 2^(n-1)). */
	static const int64_t expect[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };

	for (int attempt = 1; attempt <= 8; attempt++) {
		int64_t d = expect[attempt - 1];

		ck_assert_int_eq(backoff_delay_ms(attempt, 1000, 60000, 0), d / 2);
		ck_assert_int_eq(backoff_delay_ms(attempt, 1000, 60000, (uint32_t)(d / 2)), d);
		for (uint32_t r = 0; r < 100000; r += 997) {
			int64_t v = backoff_delay_ms(attempt, 1000, 60000, r * 2654435761u);

			ck_assert(v >= d / 2 && v <= d);
		}
	}
	/* Huge attempt counts must not overflow. */
	ck_assert_int_le(backoff_delay_ms(1000000, 1000, 60000, 12345), 60000);
}
END_TEST

START_TEST(test_idmap)
{
	struct idmap *m = idmap_new();
	static int vals[5000];

	for (int i = 0; i < 5000; i++)
		idmap_put(m, (int64_t)i * 7919, &vals[i]);
	ck_assert_uint_eq(idmap_count(m), 5000);
	for (int i = 0; i < 5000; i += 2)
		idmap_remove(m, (int64_t)i * 7919);
	ck_assert_uint_eq(idmap_count(m), 2500);
	for (int i = 0; i < 5000; i++) {
		void *v = idmap_get(m, (int64_t)i * 7919);

		if (i % 2)
			ck_assert_ptr_eq(v, &vals[i]);
		else
			ck_assert_ptr_null(v);
	}
	idmap_remove(m, 42);  /* absent: no-op */
	ck_assert_uint_eq(idmap_count(m), 2500);
	idmap_free(m);
}
END_TEST

CHECK_RUN_MAIN("config", 30, test_defaults, test_values, test_bad_values, test_numbers_settings,
    test_backoff_schedule, test_public_base_url_normalised, test_retry_after, test_idmap)
