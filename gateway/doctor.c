/*
 * doctor.c - "carenav doctor": a pre-flight check an operator (or a
 * systemd ExecStartPre, or a deploy script) runs to learn in plain words
 * what would stop the gateway from working.
 *
 * Every check prints one line starting with "ok", "warn" or "FAIL" and
 * carries on, so one run shows every problem; the exit status is the
 * number of FAIL lines (capped), 0 when all is well. Nothing is changed:
 * migrations are compared, not applied; the spool is read, never opened for
 * writing (a running gateway owns it); provider credentials are checked
 * with a request that sends no SMS (Twilio: GET the account resource;
 * Kannel: a sendsms call without a receiver, which smsbox refuses with 403
 * only when the username or password is wrong). The webhooks are checked
 * in-process: each of the configured provider's paths is handed a
 * well-formed request without a credential, and one it would take is an
 * open door (anyone who reaches the port could text as any patient or
 * nurse) and a FAIL. With PGBACKREST_STANZA set, the newest backup's age
 * comes from "pgbackrest info --output=json" and whether WAL archiving works
 * from the database's pg_stat_archiver; without it both are skipped.
 */
#include "doctor.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "cli_sql.h"
#include "cli_staff.h"
#include "embedded.h"
#include "flow_admin.h"
#include "http_discard.h"
#include "kannel_conf.h"
#include "migrate.h"
#include "phone.h"
#include "provider.h"
#include "spool.h"
#include "store.h"
#include "store_admin.h"
#include "xmalloc.h"

/* Seconds the database and the provider get to answer. */
#define DOCTOR_TIMEOUT_S "5"
#define DOCTOR_TIMEOUT_S_INT 5L
/* Bytes of kannel.conf read (a real one is a few kilobytes). */
#define DOCTOR_CONF_MAX (1 << 20)

struct doctor {
	FILE *out;
	int problems;
	int warnings;
};

static void doctor_say(struct doctor *d, const char *tag, const char *fmt, ...) CN_PRINTF(3, 4);

static void
doctor_say(struct doctor *d, const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(tag, "FAIL") == 0)
		d->problems++;
	else if (strcmp(tag, "warn") == 0)
		d->warnings++;
	fprintf(d->out, "%-4s  ", tag);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

/* The first line of a libpq message, without its newline (caller frees). */
static char *
doctor_first_line(const char *msg)
{
	char *s = xstrdup(msg ? msg : "");

	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void
doctor_state_dir(struct doctor *d, const struct config *cfg)
{
	char *probe = xasprintf("%s/.doctor-%d", cfg->var_dir, (int)getpid());
	char *spool = xasprintf("%s/spool/inbound.spool", cfg->var_dir);
	FILE *f = fopen(probe, "w");
	struct stat st;

	if (f == NULL) {
		doctor_say(d, "FAIL", "state directory: cannot write in VAR_DIR=%s (%s); the spool that keeps "
		    "texts during a database outage lives there", cfg->var_dir, strerror(errno));
	} else {
		fclose(f);
		unlink(probe);
		doctor_say(d, "ok", "state directory: VAR_DIR=%s is writable", cfg->var_dir);
	}
	if (stat(spool, &st) == 0 && st.st_size > 0) {
		FILE *sf = fopen(spool, "rb");
		char *buf = xmalloc((size_t)st.st_size + 1);
		size_t n = sf ? fread(buf, 1, (size_t)st.st_size, sf) : 0, records = 0;

		spool_count(buf, n, &records);
		doctor_say(d, records ? "warn" : "ok", "spool: %zu text(s) wait in %s for the database%s", records,
		    spool, records ? "; a running gateway replays them once PostgreSQL answers" : "");
		free(buf);
		if (sf != NULL)
			fclose(sf);
	} else {
		doctor_say(d, "ok", "spool: empty");
	}
	free(probe);
	free(spool);
}

/* Runs sql, returning its result or NULL after reporting the failure as what. */
static PGresult *
doctor_query(struct doctor *d, PGconn *pg, const char *what, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	char *msg;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	msg = doctor_first_line(PQresultErrorMessage(res));
	doctor_say(d, "FAIL", "%s: the query failed: %s", what, msg);
	free(msg);
	PQclear(res);
	return NULL;
}

static void
doctor_migrations(struct doctor *d, PGconn *pg)
{
	PGresult *res = PQexec(pg, store_admin_migrations_sql);
	size_t known = 0, missing = 0;
	char *first_missing = NULL;
	int unknown = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		doctor_say(d, "FAIL", "migrations: none applied (no schema_migrations table); run \"carenav migrate\" "
		    "or start the gateway once");
		PQclear(res);
		return;
	}
	for (const struct embedded_file *m = embedded_migrations; m->name != NULL; m++) {
		bool found = false;

		known++;
		for (int i = 0; i < PQntuples(res) && !found; i++)
			found = strcmp(PQgetvalue(res, i, 0), m->name) == 0;
		if (!found && missing++ == 0)
			first_missing = xstrdup(m->name);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		bool found = false;

		for (const struct embedded_file *m = embedded_migrations; m->name != NULL && !found; m++)
			found = strcmp(PQgetvalue(res, i, 0), m->name) == 0;
		unknown += !found;
	}
	if (missing > 0)
		doctor_say(d, "FAIL", "migrations: %zu of %zu not applied yet (first: %s); run \"carenav migrate\"",
		    missing, known, first_missing);
	else
		doctor_say(d, "ok", "migrations: all %zu applied", known);
	if (unknown > 0)
		doctor_say(d, "warn", "migrations: the database has %d migration(s) this binary does not know; "
		    "a newer carenav ran against it", unknown);
	free(first_missing);
	PQclear(res);
}

/*
 * On-call coverage over the next 7 days, counting only staff whose number
 * works: a gap with no ESCALATION_FALLBACK_NUMBER means a red flag there
 * would page no one, which is an error, not a warning. Staff whose pages
 * the provider refused for good are named.
 */
static void
doctor_oncall(struct doctor *d, PGconn *pg, const struct config *cfg)
{
	bool fallback = cfg->escalation_fallback_number[0] != '\0';
	PGresult *res;

	res = doctor_query(d, pg, "staff", store_admin_staff_unreachable_sql);
	if (res != NULL) {
		for (int i = 0; i < PQntuples(res); i++)
			doctor_say(d, "FAIL", "staff: %s (%s) is unreachable: the provider refused a page to them "
			    "at %s UTC (%.120s); fix the number with \"carenav staff edit PHONE --phone NEW\"", cli_sql_get(res, i, "name"),
			    cli_sql_get(res, i, "phone"), cli_sql_get(res, i, "since"), cli_sql_get(res, i, "reason"));
		if (PQntuples(res) == 0)
			doctor_say(d, "ok", "staff: no staff number has been refused by the provider");
		PQclear(res);
	}
	/* Gaps of a minute or more: the next 7 days minus the shifts of active, reachable staff. */
	res = doctor_query(d, pg, "on-call", store_admin_oncall_gaps_sql);
	if (res == NULL)
		return;
	if (atoi(cli_sql_get(res, 0, "gaps")) == 0)
		doctor_say(d, "ok", "on-call: reachable staff cover the next 7 days");
	else if (fallback)
		doctor_say(d, "warn", "on-call: %s gap(s) in the next 7 days%s (UTC: %.200s); red-flag alerts go to "
		    "ESCALATION_FALLBACK_NUMBER only then", cli_sql_get(res, 0, "gaps"),
		    cli_sql_get(res, 0, "uncovered_now")[0] == 't' ? ", nobody now" : "", cli_sql_get(res, 0, "spans"));
	else
		doctor_say(d, "FAIL", "on-call: %s gap(s) in the next 7 days%s (UTC: %.200s) and "
		    "ESCALATION_FALLBACK_NUMBER is empty: a red flag then would alert no one (add shifts with "
		    "\"carenav oncall add\", or set the fallback)", cli_sql_get(res, 0, "gaps"),
		    cli_sql_get(res, 0, "uncovered_now")[0] == 't' ? ", nobody now" : "", cli_sql_get(res, 0, "spans"));
	PQclear(res);
}

static void
doctor_oncall_say(void *arg, const char *line)
{
	doctor_say(arg, "warn", "on-call: %s", line);
}

/* The schedule's gaps and double primaries over the next week (carenav oncall check). */
static void
doctor_oncall_check(struct doctor *d, PGconn *pg)
{
	int problems = cli_oncall_problems(pg, 7, doctor_oncall_say, d);

	if (problems == 0)
		doctor_say(d, "ok", "on-call: a primary is on call all of the next 7 days, never two at once");
}

/* PGBACKREST_STANZA set: WAL archiving must be on and its last attempt must have worked. */
static void
doctor_archiving(struct doctor *d, PGconn *pg)
{
	PGresult *res = doctor_query(d, pg, "WAL archiving", store_admin_archiving_sql);

	if (res == NULL)
		return;
	if (strcmp(cli_sql_get(res, 0, "archive_mode"), "off") == 0)
		doctor_say(d, "FAIL", "WAL archiving: archive_mode is off, so no backup can be restored to a point "
		    "in time (start the private cluster with PGBACKREST_STANZA set, or see docs/operations.md)");
	else if (strcmp(cli_sql_get(res, 0, "last_failed"), "t") == 0)
		doctor_say(d, "FAIL", "WAL archiving: the last attempt failed (WAL %s; %s failure(s) so far): "
		    "point-in-time restore stops there and pg_wal grows until the disk is full; see the "
		    "PostgreSQL log", cli_sql_get(res, 0, "last_failed_wal"), cli_sql_get(res, 0, "failed_count"));
	else if (atoll(cli_sql_get(res, 0, "archived_age_s")) < 0)
		doctor_say(d, "warn", "WAL archiving: on, but no WAL segment archived yet (deploy/pg-backup check)");
	else
		doctor_say(d, "ok", "WAL archiving: works (%s segment(s) archived, the last %s s ago)",
		    cli_sql_get(res, 0, "archived_count"), cli_sql_get(res, 0, "archived_age_s"));
	PQclear(res);
}

/* A flow edited here is kept at an upgrade: say when a newer shipped one exists. */
static void
doctor_shipped_flows(struct doctor *d, PGconn *pg)
{
	for (const struct embedded_file *f = embedded_flows; f->name != NULL; f++) {
		struct flow_admin_status st;
		char *cause = NULL;

		if (!flow_admin_shipped(pg, f, &st, &cause)) {
			doctor_say(d, "warn", "flows: cannot compare the stored flow with the shipped %s: %s", f->name,
			    cause);
			free(cause);
			continue;
		}
		if (st.state == FLOW_SHIPPED_EDITED_NEWER)
			doctor_say(d, "warn", "flows: %s version %d was edited here, and a newer shipped flow exists "
			    "(sql/flows/%s); it stays on yours: merge your changes into the new one and load it "
			    "with \"carenav flow load FILE\"", st.name, st.version, f->name);
		else if (st.state == FLOW_SHIPPED_UPGRADE)
			doctor_say(d, "ok", "flows: %s version %d is an unmodified earlier shipped flow; the gateway "
			    "loads the new shipped one when it starts", st.name, st.version);
	}
}

static void
doctor_database_content(struct doctor *d, PGconn *pg, const struct config *cfg)
{
	const char *params[] = { cfg->default_flow };
	const char *missing;
	int col[GAUGE_NCOLS];
	PGresult *res;

	res = PQexecParams(pg, store_admin_flow_versions_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && atoi(PQgetvalue(res, 0, 0)) > 0)
		doctor_say(d, "ok", "flows: DEFAULT_FLOW=%s has %s version(s)", cfg->default_flow,
		    PQgetvalue(res, 0, 0));
	else
		doctor_say(d, "warn", "flows: no stored version of DEFAULT_FLOW=%s; the gateway stores the compiled-in "
		    "one when it starts, or load one with \"carenav flow load FILE\"", cfg->default_flow);
	PQclear(res);
	doctor_shipped_flows(d, pg);

	doctor_oncall(d, pg, cfg);
	doctor_oncall_check(d, pg);
	res = PQexec(pg, store_admin_partitions_sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (strcmp(cli_sql_get(res, 0, "next_month"), "1") != 0)
			doctor_say(d, "warn", "partitions: next month's messages partition is missing; a running gateway "
			    "makes it within LIFECYCLE_INTERVAL_S, or run \"carenav purge\"");
		else if (strcmp(cli_sql_get(res, 0, "in_default"), "0") != 0)
			doctor_say(d, "warn", "partitions: %s row(s) sit in a default partition (a month had no partition "
			    "when they arrived); see docs/data-lifecycle.md", cli_sql_get(res, 0, "in_default"));
		else
			doctor_say(d, "ok", "partitions: monthly partitions are ready ahead");
	}
	PQclear(res);
	/* Numbers stored before they were normalised (018 leaves them: see there). */
	res = doctor_query(d, pg, "numbers", store_admin_numbers_sql);
	if (res != NULL) {
		if (strcmp(cli_sql_get(res, 0, "conversations"), "0") != 0 || strcmp(cli_sql_get(res, 0, "staff"), "0") != 0)
			doctor_say(d, "warn", "numbers: %s conversation(s) and %s staff member(s) have a number not in "
			    "E.164 (stored before numbers were normalised); texts from those phones now match the "
			    "E.164 form: give such staff their E.164 number with \"carenav staff edit PHONE --phone NEW\"",
			    cli_sql_get(res, 0, "conversations"), cli_sql_get(res, 0, "staff"));
		else
			doctor_say(d, "ok", "numbers: every stored number is in E.164");
		PQclear(res);
	}
	res = doctor_query(d, pg, "backlog", store_gauges_sql);
	if (res != NULL && !store_col_lookup(res, store_gauge_columns, col, &missing)) {
		doctor_say(d, "FAIL", "backlog: the query has no column %s", missing);
		PQclear(res);
		res = NULL;
	}
	if (res != NULL) {
		const char *pending = PQgetvalue(res, 0, col[GAUGE_OUTBOX_PENDING]);
		long long age = llround(strtod(PQgetvalue(res, 0, col[GAUGE_OUTBOX_OLDEST_S]), NULL));

		doctor_say(d, age > 300 ? "warn" : "ok", "backlog: %s repl%s waiting to be sent (oldest %lld s), "
		    "%s escalation(s) not acknowledged", pending, strcmp(pending, "1") == 0 ? "y" : "ies", age,
		    PQgetvalue(res, 0, col[GAUGE_ESCALATIONS_OPEN]));
		PQclear(res);
	}
}

static void
doctor_database(struct doctor *d, const struct config *cfg)
{
	char *conninfo = config_database_conninfo(cfg), *cause = NULL;
	PGconn *pg;
	PGresult *res;

	/* The gateway's own way in (the host that takes writes), without waiting; a short timeout unless the URL sets one. */
	setenv("PGCONNECT_TIMEOUT", DOCTOR_TIMEOUT_S, 1);
	setenv("PGAPPNAME", "carenav-doctor", 1);
	pg = migrate_connect(conninfo, 0, &cause);
	if (pg == NULL) {
		doctor_say(d, "FAIL", "database: %s%s", cause,
		    cfg->database_url[0] ? "" : " (DATABASE_URL is empty, so the private cluster under "
		    "VAR_DIR/pg is used: start it with deploy/pg-local start)");
		free(cause);
		goto done;
	}
	res = doctor_query(d, pg, "database", store_admin_server_sql);
	if (res == NULL)
		goto done;
	doctor_say(d, "ok", "database: PostgreSQL %s, database %s as %s, read-write (%s:%s)",
	    cli_sql_get(res, 0, "version"), cli_sql_get(res, 0, "database"), cli_sql_get(res, 0, "role"), PQhost(pg),
	    PQport(pg));
	PQclear(res);
	if (cfg->pgbackrest_stanza[0] != '\0')
		doctor_archiving(d, pg);
	doctor_migrations(d, pg);
	res = PQexec(pg, store_admin_migrated_sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		doctor_database_content(d, pg, cfg);
	PQclear(res);
done:
	PQfinish(pg);
	free(conninfo);
}

/* The stdout of "pgbackrest info --output=json" (caller frees), or NULL with *cause set. */
static char *
doctor_pgbackrest_info(const struct config *cfg, char **cause)
{
	/* pgbackrest reads a relative --config from "/": make it absolute. */
	char *abs = realpath(cfg->pgbackrest_config, NULL);
	char *conf = xasprintf("--config=%s", abs != NULL ? abs : cfg->pgbackrest_config);
	char *stanza = xasprintf("--stanza=%s", cfg->pgbackrest_stanza);
	char *argv[6], *out = xstrdup(""), buf[4096];
	size_t len = 0, a = 0;
	ssize_t n;
	int fds[2], status = 0;
	pid_t pid;

	free(abs);
	argv[a++] = "pgbackrest";
	if (cfg->pgbackrest_config[0] != '\0')
		argv[a++] = conf;
	argv[a++] = stanza;
	argv[a++] = "--output=json";
	argv[a++] = "info";
	argv[a] = NULL;
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		*cause = xasprintf("cannot run pgbackrest: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(fds[1], STDOUT_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		close(fds[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		out = xrealloc(out, len + (size_t)n + 1);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		goto done;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		*cause = xstrdup("pgbackrest is not installed (apt-get install pgbackrest)");
	else
		*cause = xasprintf("\"pgbackrest --stanza=%s info\" failed (exit %d): check PGBACKREST_CONFIG "
		    "and that this user may read the repository", cfg->pgbackrest_stanza,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
fail:
	free(out);
	out = NULL;
done:
	free(conf);
	free(stanza);
	return out;
}

/* PGBACKREST_STANZA set: the newest backup and its age. */
static void
doctor_backups(struct doctor *d, const struct config *cfg)
{
	char *cause = NULL, *text = doctor_pgbackrest_info(cfg, &cause);
	json_t *info, *stanza = NULL, *backups, *last;
	json_error_t err;
	size_t i;
	long long stop, age;

	if (text == NULL) {
		doctor_say(d, "FAIL", "backups: %s", cause);
		free(cause);
		return;
	}
	info = json_loads(text, 0, &err);
	free(text);
	json_array_foreach(info, i, stanza) {
		if (json_is_string(json_object_get(stanza, "name")) &&
		    strcmp(json_string_value(json_object_get(stanza, "name")), cfg->pgbackrest_stanza) == 0)
			break;
		stanza = NULL;
	}
	backups = json_object_get(stanza, "backup");
	last = json_array_get(backups, json_array_size(backups) - 1);
	if (stanza == NULL)
		doctor_say(d, "FAIL", "backups: pgbackrest knows no stanza %s (deploy/pg-backup init)",
		    cfg->pgbackrest_stanza);
	else if (last == NULL) {
		const char *why = json_string_value(json_object_get(json_object_get(stanza, "status"), "message"));

		doctor_say(d, "FAIL", "backups: stanza %s has no backup yet (%s; deploy/pg-backup init, then full)",
		    cfg->pgbackrest_stanza, why != NULL ? why : "no status");
	} else {
		stop = json_integer_value(json_object_get(json_object_get(last, "timestamp"), "stop"));
		age = (long long)time(NULL) - stop;
		doctor_say(d, age > cfg->backup_max_age_hours * 3600 ? "warn" : "ok",
		    "backups: the newest (%s, %s) finished %lld h %lld min ago%s; %zu backup(s) in stanza %s",
		    json_string_value(json_object_get(last, "type")), json_string_value(json_object_get(last, "label")),
		    age / 3600, age % 3600 / 60,
		    age > cfg->backup_max_age_hours * 3600 ? ", older than BACKUP_MAX_AGE_HOURS" : "",
		    json_array_size(backups), cfg->pgbackrest_stanza);
	}
	json_decref(info);
}

/* A blocking GET; returns the HTTP status, 0 with *err set when nothing answered. */
static long
doctor_http_get(const char *url, const char *userpwd, char *err)
{
	CURL *h = curl_easy_init();
	long status = 0;

	err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, DOCTOR_TIMEOUT_S_INT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_discard_cb);
	if (userpwd != NULL)
		curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

static void
doctor_twilio(struct doctor *d, const struct config *cfg)
{
	char err[CURL_ERROR_SIZE];
	size_t n = strlen(cfg->twilio_api_base);
	char *url, *userpwd;
	long status;

	if (n > 0 && cfg->twilio_api_base[n - 1] == '/')
		n--;
	url = xasprintf("%.*s/2010-04-01/Accounts/%s.json", (int)n, cfg->twilio_api_base, cfg->twilio_account_sid);
	userpwd = xasprintf("%s:%s", cfg->twilio_account_sid, cfg->twilio_auth_token);
	status = doctor_http_get(url, userpwd, err);
	if (status >= 200 && status < 300)
		doctor_say(d, "ok", "provider: Twilio accepted TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (nothing sent)");
	else if (status == 401 || status == 403 || status == 404)
		doctor_say(d, "FAIL", "provider: Twilio refused the credentials (HTTP %ld): check TWILIO_ACCOUNT_SID "
		    "and TWILIO_AUTH_TOKEN", status);
	else if (status == 0)
		doctor_say(d, "FAIL", "provider: cannot reach TWILIO_API_BASE=%s: %s", cfg->twilio_api_base, err);
	else
		doctor_say(d, "warn", "provider: Twilio answered HTTP %ld to a credentials check", status);
	if (cfg->public_base_url[0] == '\0')
		doctor_say(d, "FAIL", "provider: PUBLIC_BASE_URL is empty: Twilio signs the public URL it posts "
		    "to, so every webhook would be refused as badly signed (and no delivery reports come back)");
	free(url);
	free(userpwd);
}

static void
doctor_kannel(struct doctor *d, const struct config *cfg)
{
	char err[CURL_ERROR_SIZE];
	CURL *h = curl_easy_init();
	char *user = curl_easy_escape(h, cfg->kannel_username, 0);
	char *pass = curl_easy_escape(h, cfg->kannel_password, 0);
	char *url = xasprintf("%s%susername=%s&password=%s", cfg->kannel_sendsms_url,
	    strchr(cfg->kannel_sendsms_url, '?') ? "&" : "?", user, pass);
	long status = doctor_http_get(url, NULL, err);

	if (status == 403)
		doctor_say(d, "FAIL", "provider: Kannel refused KANNEL_USERNAME/KANNEL_PASSWORD (HTTP 403)");
	else if (status == 0)
		doctor_say(d, "FAIL", "provider: cannot reach KANNEL_SENDSMS_URL=%s: %s (is smsbox running?)",
		    cfg->kannel_sendsms_url, err);
	else
		doctor_say(d, "ok", "provider: Kannel's sendsms answers and accepts the credentials (HTTP %ld to a "
		    "request with no receiver; nothing sent)", status);
	curl_free(user);
	curl_free(pass);
	curl_easy_cleanup(h);
	free(url);
}

/*
 * smsbox sends at most its sendsms-user's max-messages segments of a text
 * and drops the rest without an error, and joins them only with
 * concatenation = true: the gateway refuses an operator's text over
 * KANNEL_MAX_MESSAGES, so Kannel must take at least that many. Skipped
 * quietly when KANNEL_CONF cannot be read (Kannel on another host).
 */
static void
doctor_kannel_conf(struct doctor *d, const struct config *cfg)
{
	struct kannel_conf_user u;
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(cfg->kannel_conf, "r");

	if (f == NULL)
		return;
	text = xcalloc(1, DOCTOR_CONF_MAX + 1);
	len = fread(text, 1, DOCTOR_CONF_MAX, f);
	fclose(f);
	text[len] = '\0';
	if (!kannel_conf_sendsms_user(text, cfg->kannel_username, &u)) {
		doctor_say(d, "warn", "provider: %s has no sendsms-user with username = %s (KANNEL_USERNAME)",
		    cfg->kannel_conf, cfg->kannel_username);
	} else if (u.max_messages < 0) {
		doctor_say(d, "warn", "provider: the sendsms-user %s in %s sets no max-messages (Kannel then "
		    "sends one SMS and drops the rest of a longer text); set max-messages = %lld",
		    cfg->kannel_username, cfg->kannel_conf, cfg->kannel_max_messages);
	} else if (u.max_messages < cfg->kannel_max_messages) {
		doctor_say(d, "warn", "provider: the sendsms-user %s in %s has max-messages = %ld, lower than "
		    "KANNEL_MAX_MESSAGES=%lld: Kannel drops the rest of a longer text; raise it or lower "
		    "KANNEL_MAX_MESSAGES", cfg->kannel_username, cfg->kannel_conf, u.max_messages,
		    cfg->kannel_max_messages);
	} else if (u.concatenation != 1) {
		doctor_say(d, "warn", "provider: the sendsms-user %s in %s does not set concatenation = true: "
		    "a long text arrives as separate SMS, not one", cfg->kannel_username, cfg->kannel_conf);
	} else {
		doctor_say(d, "ok", "provider: %s lets %s send texts of up to %ld concatenated segments "
		    "(KANNEL_MAX_MESSAGES=%lld)", cfg->kannel_conf, cfg->kannel_username, u.max_messages,
		    cfg->kannel_max_messages);
	}
	free(text);
}

static void
doctor_sandbox(struct doctor *d, const struct config *cfg)
{
	char *path = config_sandbox_log_path(cfg);
	FILE *f = fopen(path, "a");

	if (f == NULL) {
		doctor_say(d, "FAIL", "provider: sandbox log %s cannot be written (%s)", path, strerror(errno));
	} else {
		fclose(f);
		doctor_say(d, "warn", "provider: SMS_PROVIDER=sandbox: replies go to %s, not to phones", path);
	}
	free(path);
}

/*
 * Whether the gateway sits behind a proxy cannot be seen from here, so an
 * empty TRUSTED_PROXIES is fine; a list that covers much of the internet is
 * not: any client could then name its own address in X-Forwarded-For.
 */
static void
doctor_trusted_proxies(struct doctor *d, const struct config *cfg)
{
	struct cidr_list list;
	char *cause = NULL, broad[CIDR_ADDR_MAX + 8];

	if (!cidr_list_parse(cfg->trusted_proxies, &list, &cause)) {
		/* config_load refuses it first; kept so this check stands on its own. */
		doctor_say(d, "FAIL", "proxies: TRUSTED_PROXIES: %s", cause);
		free(cause);
		return;
	}
	if (cidr_list_too_broad(&list, broad, sizeof broad) != NULL)
		doctor_say(d, "warn", "proxies: TRUSTED_PROXIES contains %s, which trusts X-Forwarded-For from "
		    "(nearly) any address: any client could pick the address its rate limit is counted under; "
		    "list only your load balancers", broad);
	else if (list.n == 0)
		doctor_say(d, "ok", "proxies: TRUSTED_PROXIES is empty (X-Forwarded-For is ignored; set it "
		    "to the load balancer's address behind HAProxy)");
	else
		doctor_say(d, "ok", "proxies: X-Forwarded-For believed from %zu address(es)/network(s)", list.n);
	cidr_list_clear(&list);
}

/* Every webhook path of SMS_PROVIDER must refuse a request that carries no credential. */
static void
doctor_webhooks(struct doctor *d, const struct config *cfg)
{
	const struct provider_ops *ops = provider_find(cfg->sms_provider);

	for (int is_status = 0; ops != NULL && is_status < 2; is_status++) {
		const char *path = is_status ? ops->status_path : ops->inbound_path;
		const char *method = provider_path_method(ops, is_status);

		if (path == NULL)
			continue;
		if (provider_webhook_open(ops, cfg, is_status, false))
			doctor_say(d, "FAIL", "webhooks: %s %s is open: it takes requests without a signature or secret "
			    "from anyone who reaches the port (forged patient or staff texts)", method, path);
		else if (provider_webhook_open(ops, cfg, is_status, true))
			doctor_say(d, "ok", "webhooks: %s %s takes unsigned requests from this machine only (carenav-sim); "
			    "set SANDBOX_WEBHOOK_SECRET to take them from elsewhere", method, path);
		else
			doctor_say(d, "ok", "webhooks: %s %s refuses requests without the %s credential", method, path,
			    ops->name);
	}
}

/* OUTBOUND_COUNTRIES and OUTBOUND_RATE_PER_SEC: what may leave, how fast. */
static void
doctor_outbound(struct doctor *d, const struct config *cfg)
{
	char *countries = config_outbound_countries(cfg);
	char home[32];

	/* A number of the clinic's own country, to see whether the list lets it through. */
	snprintf(home, sizeof home, "+%lld0000000000", cfg->default_country_code);
	if (strchr(countries, '*') != NULL)
		doctor_say(d, "warn", "outbound: OUTBOUND_COUNTRIES=%s lets texts go to every country; texts to "
		    "premium-rate foreign numbers are the usual SMS toll fraud: list the calling codes you serve "
		    "(e.g. OUTBOUND_COUNTRIES=%lld)", countries, cfg->default_country_code);
	else if (cfg->outbound_countries[0] == '\0')
		doctor_say(d, "warn", "outbound: OUTBOUND_COUNTRIES is empty, so texts go to +%lld "
		    "(DEFAULT_COUNTRY_CODE) only and any other country is refused; set it explicitly "
		    "(e.g. OUTBOUND_COUNTRIES=%lld)", cfg->default_country_code, cfg->default_country_code);
	else if (!phone_country_allowed(home, countries))
		doctor_say(d, "warn", "outbound: OUTBOUND_COUNTRIES=%s leaves out +%lld (DEFAULT_COUNTRY_CODE): "
		    "replies to the clinic's own patients are refused", countries, cfg->default_country_code);
	else
		doctor_say(d, "ok", "outbound: texts may go to calling code(s) %s", countries);
	if (cfg->outbound_rate_per_sec == 0)
		doctor_say(d, "warn", "outbound: OUTBOUND_RATE_PER_SEC=0: no cap on how fast texts are sent");
	else
		doctor_say(d, "ok", "outbound: at most %lld text(s) a second per gateway (OUTBOUND_RATE_PER_SEC)",
		    cfg->outbound_rate_per_sec);
	free(countries);
}

static void
doctor_settings(struct doctor *d, const struct config *cfg)
{
	doctor_outbound(d, cfg);
	if (cfg->operator_tokens[0] == '\0')
		doctor_say(d, "ok", "operator API: no automation tokens (OPERATOR_TOKENS); operators sign in with "
		    "accounts (carenav operator add)");
	else
		doctor_say(d, "ok", "operator API: automation tokens set (admin role); people should use accounts");
	if (cfg->retention_days == 0)
		doctor_say(d, "warn", "retention: RETENTION_DAYS=0 keeps message bodies forever");
	else
		doctor_say(d, "ok", "retention: message bodies are purged after %lld days", cfg->retention_days);
	doctor_trusted_proxies(d, cfg);
	if (strcmp(cfg->http_host, "0.0.0.0") == 0 || strcmp(cfg->http_host, "::") == 0)
		doctor_say(d, "warn", "http: HTTP_HOST=%s listens on every interface; put TLS (deploy/haproxy.cfg) "
		    "in front and bind 127.0.0.1", cfg->http_host);
}

int
doctor_run(doctor_getenv_cb *getenv_fn, FILE *out)
{
	struct doctor d = { out, 0, 0 };
	struct config cfg;
	char *cause = NULL;

	if (!config_load(&cfg, getenv_fn, &cause)) {
		doctor_say(&d, "FAIL", "configuration: %s", cause);
		free(cause);
		fprintf(out, "1 problem: fix the configuration first (see .env.example)\n");
		return 1;
	}
	doctor_say(&d, "ok", "configuration: every setting is valid (SMS_PROVIDER=%s)", cfg.sms_provider);
	doctor_settings(&d, &cfg);
	doctor_webhooks(&d, &cfg);
	doctor_state_dir(&d, &cfg);
	doctor_database(&d, &cfg);
	if (cfg.pgbackrest_stanza[0] != '\0')
		doctor_backups(&d, &cfg);
	if (strcmp(cfg.sms_provider, "twilio") == 0) {
		doctor_twilio(&d, &cfg);
	} else if (strcmp(cfg.sms_provider, "kannel") == 0) {
		doctor_kannel(&d, &cfg);
		doctor_kannel_conf(&d, &cfg);
	} else {
		doctor_sandbox(&d, &cfg);
	}
	if (d.problems == 0)
		fprintf(out, "no problems found (%d warning%s)\n", d.warnings, d.warnings == 1 ? "" : "s");
	else
		fprintf(out, "%d problem%s found: the gateway will not work until %s fixed\n", d.problems,
		    d.problems == 1 ? "" : "s", d.problems == 1 ? "it is" : "they are");
	config_free(&cfg);
	return d.problems;
}
