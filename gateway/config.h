/*
 * config.h - every setting, read once from the environment at startup.
 *
 * One table in config.c lists each key with its type, default, bounds and
 * help text (tmux options-table.c); .env.example is the same list for people.
 */
#ifndef CARENAV_GATEWAY_CONFIG_H
#define CARENAV_GATEWAY_CONFIG_H

#include <stdbool.h>

#include "attrs.h"

struct config {
	char *database_url;        /* owned; "" = the private cluster under var_dir/pg */
	char *var_dir;             /* owned; state directory (spool, sandbox log, local pg) */
	char *http_host;           /* owned; address the webhook server binds */
	long long http_port;
	long long max_body_bytes;  /* larger webhook bodies get 413 */
	long long max_connections; /* open HTTP connections; past it the oldest idle one is closed, else 503 */
	long long max_connections_per_client; /* the same per client address (0 = no cap; trusted proxies exempt) */
	long long reserved_connections; /* of max_connections, kept for provider webhooks and health checks */
	long long http_idle_timeout_s;  /* a keep-alive connection idle this long is closed */
	char *trusted_proxies;     /* owned; addresses/CIDRs whose X-Forwarded-For is believed ("" = none) */
	char *sms_provider;        /* owned; "sandbox", "twilio" or "kannel" */
	char *twilio_account_sid;  /* owned */
	char *twilio_auth_token;   /* owned; secret, never logged */
	char *twilio_api_base;     /* owned; overridden by tests to a loopback fake */
	char *public_base_url;     /* owned; our URL as the provider sees it, no trailing "/"
	                              ("" = no status callbacks) */
	char *twilio_messaging_service_sid; /* owned; send through this Messaging Service ("" = From) */
	long long twilio_advanced_opt_out;  /* 1: Twilio answers STOP/START itself; we send no confirmation */
	char *sandbox_outbox_log;  /* owned; "" = var_dir/outbox.log */
	char *sandbox_webhook_secret; /* owned; secret: X-Sandbox-Secret the sandbox's webhooks need ("" = loopback peers only) */
	char *kannel_sendsms_url;  /* owned; smsbox's sendsms interface */
	char *kannel_username;     /* owned; a sendsms-user of that smsbox */
	char *kannel_password;     /* owned; secret, never logged */
	char *kannel_shared_secret; /* owned; secret: Kannel's posts to us must carry it ("" = refuse all) */
	char *kannel_smsc;         /* owned; smsc-id to route through ("" = Kannel's routing) */
	long long kannel_dlr_mask; /* delivery reports asked of Kannel (bit mask, 0 = none) */
	long long kannel_max_messages; /* segments smsbox joins into one text (its max-messages) */
	char *kannel_conf;         /* owned; kannel.conf `carenav doctor` checks max-messages in */
	char *sms_alphabet;        /* owned; "gsm7": fold what GSM-7 lacks; "unicode": send as written */
	long long db_pool_size;    /* connections the gateway keeps open */
	long long outbox_batch;    /* replies waiting for the provider at most at once */
	long long outbox_max_attempts;
	long long outbox_backoff_base_ms;
	long long outbox_backoff_max_ms;
	long long outbox_urgent_backoff_max_ms;  /* emergency texts and pages retry at least this often */
	long long sweep_interval_ms;    /* how often due work is looked for in the database */
	long long sweep_min_age_ms;     /* the sweep leaves younger texts to the gateway that took them */
	long long provider_timeout_ms;  /* one provider HTTP request, connect to last byte */
	long long outbox_lease_margin_ms;  /* a claimed reply stays ours this long past the timeout */
	long long idle_reset_hours;     /* idle conversations start over after this */
	char *default_flow;             /* owned; the flow new conversations run */
	char *triage_phrases_file;      /* owned; "" = the compiled-in phrase data */
	char *triage_model_file;        /* owned; "" = the compiled-in text model, "off" = rules only */
	long long rate_limit_messages;   /* texts per window a number is answered for */
	long long rate_limit_window_s;
	long long escalation_ack_timeout_s;   /* unacknowledged this long: next alert round */
	char *escalation_fallback_number;     /* owned; alerted when nobody is on call ("" = none) */
	long long ack_bare_allowed;     /* 1: a bare "ACK" takes the sender's one open alert; 0: the code is required */
	char *operator_tokens;          /* owned; secret: "name:token,..." ("" = operator API off) */
	long long api_rate_per_minute;  /* /api/ requests per operator per minute (0 = no limit) */
	long long operator_token_days;  /* default lifetime of an API token from "operator token" */
	long long session_idle_s;       /* console session ends after this long without a request */
	long long session_max_s;        /* ... and this long after sign-in, whatever */
	long long login_max_failures;   /* consecutive wrong sign-ins that lock one account */
	long long login_lockout_s;      /* for this long */
	long long api_auth_failures_per_minute; /* /api/ requests without a valid token per client address per minute */
	char *log_level;                /* owned */
	char *log_format;               /* owned; "json" (one object a line) or "text" */
	long long retention_days;       /* message bodies older than this are purged (0 = keep forever) */
	long long outbox_keep_days;     /* outbox rows no longer pending are deleted after this (0 = never) */
	long long lifecycle_interval_s; /* how often partitions are made ahead and the purge runs */
	long long default_country_code; /* calling code of numbers written without one (1 = North America) */
	char *outbound_countries;       /* owned; calling codes texts may go to ("1,44", "*" = all, "" = the default code's) */
	long long outbound_rate_per_sec; /* texts per second the outbox sends at most (0 = no cap) */
	char *pgbackrest_stanza;        /* owned; pgBackRest stanza "carenav doctor" checks ("" = no check) */
	char *pgbackrest_config;        /* owned; its pgbackrest.conf ("" = pgBackRest's default) */
	long long backup_max_age_hours; /* doctor warns when the newest backup is older */
};

typedef const char *config_getenv_cb(const char *name);

/* Fills cfg from the environment (through getenv_fn); false + *cause on a bad value. */
bool config_load(struct config *cfg, config_getenv_cb *getenv_fn, char **cause) CN_MUSTCHECK;
void config_free(struct config *cfg);
/* Logs every setting at info level, secrets masked. */
void config_log(const struct config *cfg);
/* Path of the sandbox provider's log, resolved against var_dir; caller frees. */
char *config_sandbox_log_path(const struct config *cfg);
/* The libpq connection string to use, resolving "" to the private cluster; caller frees. */
char *config_database_conninfo(const struct config *cfg);
/* OUTBOUND_COUNTRIES as it applies: "" means DEFAULT_COUNTRY_CODE alone (caller frees). */
char *config_outbound_countries(const struct config *cfg);

#endif
