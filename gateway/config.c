/*
 * config.c - the table of settings and its environment loader. See config.h.
 *
 * Adding a setting means one row here, one field in struct config and one
 * line in .env.example. Values are validated at startup so a typo stops the
 * daemon with the key's name rather than misbehaving later.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "http_client.h"
#include "log.h"
#include "optoken.h"
#include "phone.h"
#include "xmalloc.h"

enum config_type {
	CONFIG_STRING,  /* any text */
	CONFIG_SECRET,  /* text that is masked when logged */
	CONFIG_INT,     /* decimal integer within [min, max] */
};

struct config_entry {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;
	long long min, max;
	const char *const *choices;  /* NULL-terminated allowed values, or NULL */
};

static const char *const config_providers[] = { "sandbox", "twilio", "kannel", NULL };
static const char *const config_alphabets[] = { "gsm7", "unicode", NULL };
static const char *const config_log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const config_log_formats[] = { "json", "text", NULL };

#define STR(key, field, def) { key, CONFIG_STRING, offsetof(struct config, field), def, 0, 0, NULL }
#define SECRET(key, field) { key, CONFIG_SECRET, offsetof(struct config, field), "", 0, 0, NULL }
#define CHOICE(key, field, def, list) { key, CONFIG_STRING, offsetof(struct config, field), def, 0, 0, list }
#define INT(key, field, def, lo, hi) { key, CONFIG_INT, offsetof(struct config, field), def, lo, hi, NULL }

static const struct config_entry config_table[] = {
	STR("DATABASE_URL", database_url, ""),
	STR("VAR_DIR", var_dir, "var"),
	STR("HTTP_HOST", http_host, "127.0.0.1"),
	INT("HTTP_PORT", http_port, "8080", 0, 65535),
	INT("MAX_BODY_BYTES", max_body_bytes, "16384", 1024, 1048576),
	INT("MAX_CONNECTIONS", max_connections, "512", 1, 100000),
	INT("MAX_CONNECTIONS_PER_CLIENT", max_connections_per_client, "64", 0, 100000),
	INT("RESERVED_CONNECTIONS", reserved_connections, "32", 0, 100000),
	INT("HTTP_IDLE_TIMEOUT_S", http_idle_timeout_s, "5", 1, 300),
	STR("TRUSTED_PROXIES", trusted_proxies, ""),
	CHOICE("SMS_PROVIDER", sms_provider, "sandbox", config_providers),
	STR("TWILIO_ACCOUNT_SID", twilio_account_sid, ""),
	SECRET("TWILIO_AUTH_TOKEN", twilio_auth_token),
	STR("TWILIO_API_BASE", twilio_api_base, "https://api.twilio.com"),
	STR("PUBLIC_BASE_URL", public_base_url, ""),
	STR("TWILIO_MESSAGING_SERVICE_SID", twilio_messaging_service_sid, ""),
	INT("TWILIO_ADVANCED_OPT_OUT", twilio_advanced_opt_out, "0", 0, 1),
	STR("SANDBOX_OUTBOX_LOG", sandbox_outbox_log, ""),
	SECRET("SANDBOX_WEBHOOK_SECRET", sandbox_webhook_secret),
	STR("KANNEL_SENDSMS_URL", kannel_sendsms_url, "http://127.0.0.1:13013/cgi-bin/sendsms"),
	STR("KANNEL_USERNAME", kannel_username, ""),
	SECRET("KANNEL_PASSWORD", kannel_password),
	SECRET("KANNEL_SHARED_SECRET", kannel_shared_secret),
	STR("KANNEL_SMSC", kannel_smsc, ""),
	INT("KANNEL_DLR_MASK", kannel_dlr_mask, "31", 0, 31),
	INT("KANNEL_MAX_MESSAGES", kannel_max_messages, "10", 1, 255),
	STR("KANNEL_CONF", kannel_conf, "/etc/kannel/kannel.conf"),
	CHOICE("SMS_ALPHABET", sms_alphabet, "gsm7", config_alphabets),
	INT("DB_POOL_SIZE", db_pool_size, "4", 1, 64),
	INT("OUTBOX_BATCH", outbox_batch, "64", 1, 1000),
	INT("OUTBOX_MAX_ATTEMPTS", outbox_max_attempts, "12", 1, 1000),
	INT("OUTBOX_BACKOFF_BASE_MS", outbox_backoff_base_ms, "1000", 10, 3600000),
	INT("OUTBOX_BACKOFF_MAX_MS", outbox_backoff_max_ms, "300000", 10, 86400000),
	INT("OUTBOX_URGENT_BACKOFF_MAX_MS", outbox_urgent_backoff_max_ms, "10000", 10, 86400000),
	INT("SWEEP_INTERVAL_MS", sweep_interval_ms, "1000", 10, 60000),
	INT("SWEEP_MIN_AGE_MS", sweep_min_age_ms, "5000", 0, 600000),
	INT("PROVIDER_TIMEOUT_MS", provider_timeout_ms, "15000", 100, 300000),
	INT("OUTBOX_LEASE_MARGIN_MS", outbox_lease_margin_ms, "30000", 1000, 600000),
	INT("CONVERSATION_IDLE_HOURS", idle_reset_hours, "24", 1, 8760),
	STR("DEFAULT_FLOW", default_flow, "back_pain"),
	STR("TRIAGE_PHRASES_FILE", triage_phrases_file, ""),
	STR("TRIAGE_MODEL_FILE", triage_model_file, ""),
	INT("RATE_LIMIT_MESSAGES", rate_limit_messages, "20", 1, 100000),
	INT("RATE_LIMIT_WINDOW_S", rate_limit_window_s, "60", 1, 86400),
	INT("ESCALATION_ACK_TIMEOUT", escalation_ack_timeout_s, "300", 1, 86400),
	STR("ESCALATION_FALLBACK_NUMBER", escalation_fallback_number, ""),
	INT("ACK_BARE_ALLOWED", ack_bare_allowed, "0", 0, 1),
	SECRET("OPERATOR_TOKENS", operator_tokens),
	INT("API_RATE_PER_MINUTE", api_rate_per_minute, "600", 0, 1000000),
	INT("API_AUTH_FAILURES_PER_MINUTE", api_auth_failures_per_minute, "30", 0, 1000000),
	INT("OPERATOR_TOKEN_DAYS", operator_token_days, "90", 1, 3660),
	INT("SESSION_IDLE_S", session_idle_s, "1800", 60, 86400),
	INT("SESSION_MAX_S", session_max_s, "43200", 300, 604800),
	INT("LOGIN_MAX_FAILURES", login_max_failures, "5", 1, 1000),
	INT("LOGIN_LOCKOUT_S", login_lockout_s, "900", 1, 86400),
	CHOICE("LOG_LEVEL", log_level, "info", config_log_levels),
	CHOICE("LOG_FORMAT", log_format, "json", config_log_formats),
	INT("RETENTION_DAYS", retention_days, "0", 0, 36500),
	INT("OUTBOX_KEEP_DAYS", outbox_keep_days, "30", 0, 36500),
	INT("LIFECYCLE_INTERVAL_S", lifecycle_interval_s, "3600", 1, 86400),
	INT("DEFAULT_COUNTRY_CODE", default_country_code, "1", 1, 999),
	STR("OUTBOUND_COUNTRIES", outbound_countries, ""),
	INT("OUTBOUND_RATE_PER_SEC", outbound_rate_per_sec, "20", 0, 100000),
	STR("PGBACKREST_STANZA", pgbackrest_stanza, ""),
	STR("PGBACKREST_CONFIG", pgbackrest_config, ""),
	INT("BACKUP_MAX_AGE_HOURS", backup_max_age_hours, "26", 1, 8760),
};

#define CONFIG_NENTRIES (sizeof config_table / sizeof config_table[0])

static bool
config_parse_int(const struct config_entry *e, const char *value, long long *out, char **cause)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0') {
		*cause = xasprintf("%s: \"%s\" is not a whole number", e->name, value);
		return false;
	}
	if (v < e->min || v > e->max) {
		*cause = xasprintf("%s: %lld is out of range %lld..%lld", e->name, v, e->min, e->max);
		return false;
	}
	*out = v;
	return true;
}

static bool
config_check_choice(const struct config_entry *e, const char *value, char **cause)
{
	if (e->choices == NULL)
		return true;
	for (const char *const *c = e->choices; *c != NULL; c++) {
		if (strcmp(*c, value) == 0)
			return true;
	}
	*cause = xasprintf("%s: \"%s\" is not one of the allowed values", e->name, value);
	return false;
}

/* OPERATOR_TOKENS is parsed again by the API; here it is only checked, so a typo stops startup. */
static bool
config_check_tokens(const struct config *cfg, char **cause)
{
	struct optoken_list tokens;

	if (!optoken_parse(cfg->operator_tokens, &tokens, cause))
		return false;
	optoken_list_clear(&tokens);
	return true;
}

/*
 * The numbers settings: the fallback number is stored in the form every
 * other number has (so an alert to it and the staff ACK from it match), and
 * the country list must parse.
 */
static bool
config_check_numbers(struct config *cfg, char **cause)
{
	char norm[PHONE_NORM_MAX];
	const char *why;

	if (!phone_country_list_valid(cfg->outbound_countries, &why)) {
		*cause = xasprintf("OUTBOUND_COUNTRIES: %s", why);
		return false;
	}
	if (cfg->escalation_fallback_number[0] == '\0')
		return true;
	if (!phone_normalize(cfg->escalation_fallback_number, (int)cfg->default_country_code, PHONE_FULL,
	    norm, &why)) {
		*cause = xasprintf("ESCALATION_FALLBACK_NUMBER is not a phone number: %s", why);
		return false;
	}
	free(cfg->escalation_fallback_number);
	cfg->escalation_fallback_number = xstrdup(norm);
	return true;
}

bool
config_load(struct config *cfg, config_getenv_cb *getenv_fn, char **cause)
{
	struct cidr_list proxies;
	char *cause_proxies = NULL;

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < CONFIG_NENTRIES; i++) {
		const struct config_entry *e = &config_table[i];
		const char *value = getenv_fn(e->name);
		char *field = (char *)cfg + e->offset;

		if (value == NULL)
			value = e->def;
		if (e->type == CONFIG_INT) {
			if (!config_parse_int(e, value, (long long *)(void *)field, cause))
				goto fail;
		} else {
			if (!config_check_choice(e, value, cause))
				goto fail;
			*(char **)(void *)field = xstrdup(value);
		}
	}
	/* Twilio signs the URL it calls: "https://x/" + "/sms/inbound" would never match. */
	for (size_t n = strlen(cfg->public_base_url); n > 0 && cfg->public_base_url[n - 1] == '/'; n--)
		cfg->public_base_url[n - 1] = '\0';
	if (cfg->twilio_messaging_service_sid[0] != '\0' &&
	    (strncmp(cfg->twilio_messaging_service_sid, "MG", 2) != 0 ||
	    strspn(cfg->twilio_messaging_service_sid + 2, "0123456789abcdefABCDEF") !=
	    strlen(cfg->twilio_messaging_service_sid + 2) || strlen(cfg->twilio_messaging_service_sid) != 34)) {
		*cause = xasprintf("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hex digits");
		goto fail;
	}
	if (strcmp(cfg->sms_provider, "twilio") == 0 &&
	    (cfg->twilio_account_sid[0] == '\0' || cfg->twilio_auth_token[0] == '\0')) {
		*cause = xasprintf("SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
		goto fail;
	}
	if (strcmp(cfg->sms_provider, "kannel") == 0 &&
	    (cfg->kannel_username[0] == '\0' || cfg->kannel_password[0] == '\0' ||
	    cfg->kannel_shared_secret[0] == '\0')) {
		*cause = xasprintf("SMS_PROVIDER=kannel needs KANNEL_USERNAME, KANNEL_PASSWORD and "
		    "KANNEL_SHARED_SECRET");
		goto fail;
	}
	if (strcmp(cfg->sms_provider, "kannel") == 0 && !http_client_url_ok(cfg->kannel_sendsms_url)) {
		*cause = xasprintf("KANNEL_SENDSMS_URL must start with http:// or https://");
		goto fail;
	}
	if (cfg->outbox_backoff_max_ms < cfg->outbox_backoff_base_ms) {
		*cause = xasprintf("OUTBOX_BACKOFF_MAX_MS must be at least OUTBOX_BACKOFF_BASE_MS");
		goto fail;
	}
	if (!config_check_tokens(cfg, cause))
		goto fail;
	if (!cidr_list_parse(cfg->trusted_proxies, &proxies, &cause_proxies)) {
		*cause = xasprintf("TRUSTED_PROXIES: %s", cause_proxies);
		free(cause_proxies);
		goto fail;
	}
	cidr_list_clear(&proxies);
	if (!config_check_numbers(cfg, cause))
		goto fail;
	return true;
fail:
	config_free(cfg);
	return false;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_NENTRIES; i++) {
		const struct config_entry *e = &config_table[i];
		char **field = (char **)(void *)((char *)cfg + e->offset);

		if (e->type != CONFIG_INT) {
			free(*field);
			*field = NULL;
		}
	}
}

void
config_log(const struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_NENTRIES; i++) {
		const struct config_entry *e = &config_table[i];
		const char *field = (const char *)cfg + e->offset;

		switch (e->type) {
		case CONFIG_INT:
			log_info("config: %s=%lld", e->name, *(const long long *)(const void *)field);
			break;
		case CONFIG_SECRET:
			log_info("config: %s=%s", e->name,
			    (*(char *const *)(const void *)field)[0] ? "(set)" : "(unset)");
			break;
		case CONFIG_STRING:
			/* DATABASE_URL may carry a password: show only whether it is set. */
			if (strcmp(e->name, "DATABASE_URL") == 0)
				log_info("config: %s=%s", e->name,
				    cfg->database_url[0] ? "(set)" : "(private cluster)");
			else
				log_info("config: %s=%s", e->name, *(char *const *)(const void *)field);
			break;
		}
	}
}

/* Makes path absolute against the current directory, so a chdir cannot move it. */
static char *
config_abspath(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

char *
config_sandbox_log_path(const struct config *cfg)
{
	char *rel, *abs;

	if (cfg->sandbox_outbox_log[0] != '\0')
		return config_abspath(cfg->sandbox_outbox_log);
	rel = xasprintf("%s/outbox.log", cfg->var_dir);
	abs = config_abspath(rel);
	free(rel);
	return abs;
}

char *
config_database_conninfo(const struct config *cfg)
{
	char *rel, *abs, *conninfo;

	if (cfg->database_url[0] != '\0')
		return xstrdup(cfg->database_url);
	/* The private cluster made by deploy/pg-local listens only on a Unix socket. */
	rel = xasprintf("%s/pg/run", cfg->var_dir);
	abs = config_abspath(rel);
	conninfo = xasprintf("host=%s dbname=carenav user=carenav", abs);
	free(rel);
	free(abs);
	return conninfo;
}

char *
config_outbound_countries(const struct config *cfg)
{
	if (cfg->outbound_countries[0] == '\0')
		return xasprintf("%lld", cfg->default_country_code);
	return xstrdup(cfg->outbound_countries);
}
