/*
 * check_provider.c - the webhook doors of each provider, as "carenav doctor"
 * probes them (provider_webhook_open): a well-formed request without a
 * credential must be refused by every provider, with or without its
 * credential configured; the sandbox takes it from loopback only.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "config.h"
#include "provider.h"

static void
load(struct config *cfg, const char *const *env)
{
	char *cause = NULL;

	unit_env_set(env);
	ck_assert_msg(config_load(cfg, unit_env_get, &cause), "%s", cause);
}

/* Neither inbound nor status is open, from loopback or elsewhere. */
static void
assert_closed(const char *provider, const struct config *cfg)
{
	const struct provider_ops *ops = provider_find(provider);

	ck_assert_ptr_nonnull(ops);
	for (int is_status = 0; is_status < 2; is_status++) {
		ck_assert_msg(!provider_webhook_open(ops, cfg, is_status, false), "%s %s open to the network",
		    provider, is_status ? "status" : "inbound");
		ck_assert_msg(!provider_webhook_open(ops, cfg, is_status, true), "%s %s open to loopback",
		    provider, is_status ? "status" : "inbound");
	}
}

START_TEST(test_no_credential_refuses_everything)
{
	static const char *const env[] = { NULL };
	struct config cfg;

	/* Nothing configured: the Twilio and Kannel checks have no token or secret to check against. */
	load(&cfg, env);
	ck_assert_str_eq(cfg.twilio_auth_token, "");
	ck_assert_str_eq(cfg.kannel_shared_secret, "");
	assert_closed("twilio", &cfg);
	assert_closed("kannel", &cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(test_credentials_configured_still_closed)
{
	static const char *const env[] = { "SMS_PROVIDER", "kannel", "KANNEL_USERNAME", "u",
		"KANNEL_PASSWORD", "p", "KANNEL_SHARED_SECRET", "k-secret", "TWILIO_AUTH_TOKEN", "t-token",
		"TWILIO_ACCOUNT_SID", "AC1", "SANDBOX_WEBHOOK_SECRET", "s-secret", NULL };
	struct config cfg;

	load(&cfg, env);
	assert_closed("twilio", &cfg);
	assert_closed("kannel", &cfg);
	assert_closed("sandbox", &cfg);
	config_free(&cfg);
}
END_TEST

START_TEST(test_sandbox_loopback_only)
{
	static const char *const env[] = { NULL };
	const struct provider_ops *ops = provider_find("sandbox");
	struct config cfg;

	load(&cfg, env);
	ck_assert_ptr_nonnull(ops);
	for (int is_status = 0; is_status < 2; is_status++) {
		ck_assert(provider_webhook_open(ops, &cfg, is_status, true));
		ck_assert(!provider_webhook_open(ops, &cfg, is_status, false));
	}
	config_free(&cfg);
}
END_TEST

/* Parsers that accept every request unchecked: an open provider. */
static enum provider_parse
open_inbound(const struct config *cfg, const struct provider_request *req, struct provider_message *out,
    char **cause)
{
	(void)cfg, (void)req, (void)out, (void)cause;
	return PROVIDER_PARSE_OK;
}

static enum provider_parse
open_status(const struct config *cfg, const struct provider_request *req, struct provider_report *out,
    char **cause)
{
	(void)cfg, (void)req, (void)out, (void)cause;
	return PROVIDER_PARSE_OK;
}

/* A provider that checks nothing is reported open; one with no webhooks is not. */
START_TEST(test_open_provider_detected)
{
	static const char *const env[] = { NULL };
	const struct provider_ops open_ops = { .name = "open", .inbound_path = "/in", .inbound_method = "POST",
		.status_path = "/st", .status_method = "GET", .parse_inbound = open_inbound,
		.parse_status = open_status };
	const struct provider_ops none_ops = { .name = "none" };
	struct config cfg;

	load(&cfg, env);
	ck_assert(provider_webhook_open(&open_ops, &cfg, false, false));
	ck_assert(provider_webhook_open(&open_ops, &cfg, true, false));
	ck_assert(!provider_webhook_open(&none_ops, &cfg, false, false));
	config_free(&cfg);
}
END_TEST

/* Only the configured provider's paths are webhooks. */
START_TEST(test_paths_of_configured_provider_only)
{
	bool is_status = false;

	ck_assert_ptr_nonnull(provider_for_path("kannel", "/sms/kannel/inbound", &is_status));
	ck_assert(!is_status);
	ck_assert_ptr_nonnull(provider_for_path("kannel", "/sms/kannel/status", &is_status));
	ck_assert(is_status);
	ck_assert_ptr_null(provider_for_path("kannel", "/sms/inbound", &is_status));
	ck_assert_ptr_null(provider_for_path("kannel", "/sms/status", &is_status));
	ck_assert_ptr_null(provider_for_path("twilio", "/sms/kannel/inbound", &is_status));
	ck_assert_ptr_null(provider_for_path("sandbox", "/sms/kannel/status", &is_status));
	ck_assert_ptr_nonnull(provider_for_path("sandbox", "/sms/inbound", &is_status));
	ck_assert_ptr_nonnull(provider_for_path("twilio", "/sms/status", &is_status));
	ck_assert(is_status);
	ck_assert_ptr_null(provider_for_path("nosuch", "/sms/inbound", &is_status));
	ck_assert_str_eq(provider_path_method(provider_find("kannel"), true), "GET");
	ck_assert_str_eq(provider_path_method(provider_find("kannel"), false), "POST");
	ck_assert_str_eq(provider_path_method(provider_find("twilio"), true), "POST");
}
END_TEST

CHECK_RUN_MAIN("provider", 10, test_no_credential_refuses_everything,
    test_credentials_configured_still_closed, test_sandbox_loopback_only, test_open_provider_detected,
    test_paths_of_configured_provider_only)
