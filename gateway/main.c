/*
 * main.c - the carenav command: startup order, signals, graceful drain.
 *
 *   carenav [serve]          run the gateway (the default)
 *   carenav migrate          apply database migrations and exit
 *   carenav flow load FILE   validate a flow document and store it as a new version
 *   carenav flow list        the stored flows and their versions
 *   carenav doctor           check configuration, database, migrations, provider; say what is wrong
 *   carenav purge            partitions ahead + retention purge + outbox trim, once (the gateway does it hourly)
 *   carenav staff add|edit|list|remove, carenav oncall add|edit|remove|list|check   (see cli_staff.c)
 *   carenav operator add|list|disable|enable|reset|token|revoke|totp|language   (see cli_operator.c)
 *
 * Startup: configuration from the environment, migrations (blocking, before
 * the loop), then the event loop with the database pool, the provider, the
 * outbox and inbound workers and the HTTP server. SIGTERM/SIGINT start a
 * drain: stop accepting webhooks, answer the ones received, let dialogue
 * steps and sends in flight finish, then exit (pgbouncer's shutdown modes).
 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <curl/curl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_operator.h"
#include "cli_staff.h"
#include "cli_triage.h"
#include "config.h"
#include "db.h"
#include "doctor.h"
#include "embedded.h"
#include "escalation.h"
#include "evloop.h"
#include "flow_admin.h"
#include "flows.h"
#include "http_client.h"
#include "http_server.h"
#include "inbound.h"
#include "intake.h"
#include "lifecycle.h"
#include "log.h"
#include "migrate.h"
#include "outbox.h"
#include "provider.h"
#include "redflag.h"
#include "spool.h"
#include "store.h"
#include "timeutil.h"
#include "triage.h"
#include "triage_model.h"
#include "xmalloc.h"

/* How long a drain may take before the gateway exits anyway. */
#define MAIN_DRAIN_MAX_MS 15000
#define MAIN_DRAIN_POLL_MS 50
/* How long CLI commands wait for PostgreSQL (the local cluster may be booting). */
#define MAIN_DB_WAIT_SECONDS 30
/* How long the gateway waits before it starts without it, spooling webhooks. */
#define MAIN_DB_STARTUP_WAIT_SECONDS 5
/* How often a gateway that started without PostgreSQL tries its migrations again. */
#define MAIN_MIGRATE_RETRY_MS 2000

/* Everything the running gateway owns. */
struct gateway {
	struct config cfg;
	struct event_base *base;
	struct db *db;
	struct http_client *http;
	struct provider provider;
	struct flows *flows;
	struct redflag_rules *rules;
	struct triage_model *model;  /* NULL: TRIAGE_MODEL_FILE=off */
	struct triage triage;        /* borrows rules and model */
	struct outbox *outbox;
	struct escalation *escalation;
	struct inbound *inbound;
	struct spool *spool;
	struct intake *intake;
	struct lifecycle *lifecycle;
	struct http_ctx ctx;
	struct http_server *server;
	struct event sigterm, sigint, drain;
	int drain_ms;  /* time spent draining so far */
	struct event migrate_timer;  /* while started without PostgreSQL */
	pid_t migrate_pid;           /* a "carenav migrate" child running, or 0 */
};

static const char *
main_getenv(const char *name)
{
	return getenv(name);
}

/* Reads a whole stream into a new NUL-terminated buffer; NULL on a read error. */
static char *
main_read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *buf = xmalloc(cap);

	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0)
			buf = xrealloc(buf, cap *= 2);
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
main_load_config(struct config *cfg)
{
	char *cause = NULL;
	enum log_level level;

	if (!config_load(cfg, main_getenv, &cause))
		fatalx("configuration: %s", cause);
	if (log_level_parse(cfg->log_level, &level))
		log_set_level(level);
	log_set_json(strcmp(cfg->log_format, "text") != 0);
	if (mkdir(cfg->var_dir, 0750) != 0 && access(cfg->var_dir, W_OK) != 0)
		fatalx("VAR_DIR %s is not a writable directory", cfg->var_dir);
}

/*
 * Blocking, before the loop: migrations and the compiled-in flows. False
 * (logged) if PostgreSQL does not answer within wait_s.
 */
static bool
main_prepare_database(const struct config *cfg, int wait_s)
{
	char *conninfo = config_database_conninfo(cfg), *cause = NULL;
	PGconn *pg = migrate_connect(conninfo, wait_s, &cause);

	free(conninfo);
	if (pg == NULL) {
		log_error("%s", cause);
		free(cause);
		return false;
	}
	if (!migrate_apply(pg, &cause))
		fatalx("migrations failed: %s", cause);
	if (!flow_admin_seed(pg, &cause))
		fatalx("flows: %s", cause);
	PQfinish(pg);
	return true;
}

/*
 * Started without PostgreSQL: run "carenav migrate" as a child (blocking
 * libpq never runs in the loop) until it succeeds, then let the intake
 * replay what it spooled.
 */
static void
main_migrate_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;
	char *argv[] = { "carenav", "migrate", NULL };
	int status;

	(void)fd;
	(void)what;
	if (gw->migrate_pid == 0) {
		posix_spawn_file_actions_t fa;

		/* The child keeps stdin, stdout and stderr only: not our sockets (gateway/evloop.h). */
		if (posix_spawn_file_actions_init(&fa) != 0)
			return;
		if (posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1) != 0 ||
		    posix_spawn(&gw->migrate_pid, "/proc/self/exe", &fa, NULL, argv, environ) != 0)
			gw->migrate_pid = 0;
		posix_spawn_file_actions_destroy(&fa);
		return;
	}
	if (waitpid(gw->migrate_pid, &status, WNOHANG) != gw->migrate_pid)
		return;
	gw->migrate_pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("startup: PostgreSQL answers and is migrated; replaying the spool");
		event_del(&gw->migrate_timer);
		intake_set_ready(gw->intake, true);
	}
}

/* A blocking connection for CLI commands, with migrations applied. */
static PGconn *
main_connect_migrated(const struct config *cfg)
{
	char *conninfo = config_database_conninfo(cfg), *cause = NULL;
	PGconn *pg = migrate_connect(conninfo, MAIN_DB_WAIT_SECONDS, &cause);

	free(conninfo);
	if (pg == NULL)
		fatalx("%s (is PostgreSQL running? with no DATABASE_URL, start it with deploy/pg-local start)",
		    cause);
	if (!migrate_apply(pg, &cause))
		fatalx("migrations failed: %s", cause);
	return pg;
}

/*
 * The text of a triage data file ("phrases", "model"): the file at path,
 * else the compiled-in sql/triage/<name>. *owned is the text read from path
 * (the caller frees it), else NULL. A file that cannot be read stops the program.
 */
static const char *
main_triage_text(const char *what, const char *path, const char *name, size_t *len, char **owned)
{
	const struct embedded_file *builtin;

	*owned = NULL;
	if (path != NULL) {
		FILE *f = fopen(path, "r");

		if (f == NULL || (*owned = main_read_all(f, len)) == NULL)
			fatalx("triage %s %s: cannot read it", what, path);
		fclose(f);
		return *owned;
	}
	if ((builtin = embedded_find(embedded_triage, name)) == NULL)
		fatalx("no compiled-in triage %s", what);
	*len = builtin->len;
	return builtin->data;
}

/*
 * The red-flag phrase data: path (the triage command's --phrases), else
 * TRIAGE_PHRASES_FILE, else the compiled-in sql/triage/phrases.json.
 */
static struct redflag_rules *
main_load_rules(const struct config *cfg, const char *path)
{
	struct redflag_rules *rules;
	const char *data;
	char *text, *cause = NULL;
	size_t len = 0;

	if (path == NULL && cfg->triage_phrases_file[0] != '\0')
		path = cfg->triage_phrases_file;
	data = main_triage_text("phrases", path, "phrases.json", &len, &text);
	rules = redflag_rules_load(data, len, &cause);
	if (rules == NULL)
		fatalx("triage phrases: %s", cause);
	log_info("triage: %zu red-flag rules loaded", redflag_rules_count(rules));
	free(text);
	return rules;
}

/*
 * The text model: path (the triage command's --model), else
 * TRIAGE_MODEL_FILE, else the compiled-in sql/triage/model.txt; "off" means
 * none (phrase rules only). A damaged file stops the program, naming it.
 */
static struct triage_model *
main_load_model(const struct config *cfg, const char *path)
{
	struct triage_model *model;
	const char *data;
	char *text, *cause = NULL;
	size_t len = 0;

	if (path == NULL && cfg->triage_model_file[0] != '\0')
		path = cfg->triage_model_file;
	if (path != NULL && strcmp(path, "off") == 0) {
		log_warn("triage: text model off; phrase rules only");
		return NULL;
	}
	data = main_triage_text("model", path, "model.txt", &len, &text);
	model = triage_model_load(data, len, &cause);
	if (model == NULL)
		fatalx("triage model %s: %s", path != NULL ? path : "(compiled-in sql/triage/model.txt)", cause);
	log_info("triage: text model with %zu features loaded (emergency at p >= %.3f)",
	    triage_model_size(model), triage_model_threshold(model, TRIAGE_EMERGENCY));
	free(text);
	return model;
}

static void
main_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;
	struct timeval tv = { 0, MAIN_DRAIN_POLL_MS * 1000 };

	(void)fd;
	(void)what;
	gw->drain_ms += MAIN_DRAIN_POLL_MS;
	/* Webhooks first: a held request may still kick a dialogue step. */
	if (gw->ctx.held == 0) {
		inbound_stop(gw->inbound);
		escalation_stop(gw->escalation);
		lifecycle_stop(gw->lifecycle);
		if (inbound_active(gw->inbound) == 0 && !escalation_busy(gw->escalation))
			outbox_stop(gw->outbox);
	}
	if ((gw->ctx.held == 0 && !intake_replaying(gw->intake) && inbound_active(gw->inbound) == 0 &&
	    !escalation_busy(gw->escalation) && outbox_in_flight(gw->outbox) == 0 &&
	    !lifecycle_busy(gw->lifecycle)) ||
	    gw->drain_ms >= MAIN_DRAIN_MAX_MS) {
		if (gw->drain_ms >= MAIN_DRAIN_MAX_MS)
			log_warn("shutdown: drain timed out; exiting with work in flight");
		event_base_loopbreak(gw->base);
		return;
	}
	evtimer_add(&gw->drain, &tv);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)what;
	if (evtimer_pending(&gw->drain, NULL) || gw->drain_ms > 0)
		return;
	log_info("shutdown: signal %d, draining", (int)sig);
	http_server_stop_accepting(gw->server);
	main_drain_timer(-1, 0, gw);
}

static int
main_serve(void)
{
	struct gateway gw;
	struct provider_env penv;
	char *conninfo, *cause = NULL, *spool_dir;
	struct timeval retry = timeutil_tv(MAIN_MIGRATE_RETRY_MS);
	bool db_ready;

	memset(&gw, 0, sizeof gw);
	main_load_config(&gw.cfg);
	config_log(&gw.cfg);
	gw.rules = main_load_rules(&gw.cfg, NULL);
	gw.model = main_load_model(&gw.cfg, NULL);
	gw.triage.rules = gw.rules;
	gw.triage.model = gw.model;
	db_ready = main_prepare_database(&gw.cfg, MAIN_DB_STARTUP_WAIT_SECONDS);
	if (!db_ready)
		log_error("startup: PostgreSQL is unreachable; starting anyway: webhooks are spooled to "
		    "disk and answered once it is back");

	gw.base = evloop_new();
	if (gw.base == NULL)
		fatalx("cannot make an event loop");
	conninfo = config_database_conninfo(&gw.cfg);
	gw.db = db_new(gw.base, conninfo, (size_t)gw.cfg.db_pool_size);
	free(conninfo);
	gw.http = http_client_new(gw.base, (long)gw.cfg.outbox_batch);
	penv.base = gw.base;
	penv.http = gw.http;
	penv.cfg = &gw.cfg;
	if (!provider_open(&gw.provider, &penv, &cause))
		fatalx("%s", cause);
	gw.flows = flows_new(gw.db);
	gw.outbox = outbox_new(gw.base, gw.db, &gw.provider, &gw.cfg);
	gw.escalation = escalation_new(gw.base, gw.db, gw.flows, gw.http, gw.outbox, &gw.cfg);
	gw.inbound = inbound_new(gw.base, gw.db, gw.outbox, gw.escalation, gw.flows, &gw.triage, &gw.cfg);
	spool_dir = xasprintf("%s/spool", gw.cfg.var_dir);
	gw.spool = spool_open(spool_dir, &cause);
	if (gw.spool == NULL)
		fatalx("spool: %s", cause);
	free(spool_dir);
	if (spool_pending_records(gw.spool) > 0)
		log_warn("spool: %zu messages from an earlier outage wait for the database",
		    spool_pending_records(gw.spool));
	gw.intake = intake_new(gw.base, gw.db, gw.inbound, gw.spool, &gw.cfg);
	intake_set_ready(gw.intake, db_ready);
	event_assign(&gw.migrate_timer, gw.base, -1, EV_PERSIST, main_migrate_timer, &gw);
	if (!db_ready)
		event_add(&gw.migrate_timer, &retry);
	gw.lifecycle = lifecycle_new(gw.base, gw.db, &gw.cfg);
	gw.ctx.cfg = &gw.cfg;
	gw.ctx.db = gw.db;
	gw.ctx.inbound = gw.inbound;
	gw.ctx.intake = gw.intake;
	gw.ctx.outbox = gw.outbox;
	gw.ctx.escalation = gw.escalation;
	gw.ctx.flows = gw.flows;
	gw.server = http_server_new(gw.base, &gw.ctx, &cause);
	if (gw.server == NULL)
		fatalx("%s", cause);

	evsignal_assign(&gw.sigterm, gw.base, SIGTERM, main_signal_cb, &gw);
	evsignal_assign(&gw.sigint, gw.base, SIGINT, main_signal_cb, &gw);
	evsignal_add(&gw.sigterm, NULL);
	evsignal_add(&gw.sigint, NULL);
	evtimer_assign(&gw.drain, gw.base, main_drain_timer, &gw);
	log_info("carenav ready: provider=%s", gw.cfg.sms_provider);

	event_base_dispatch(gw.base);

	evsignal_del(&gw.sigterm);
	evsignal_del(&gw.sigint);
	event_del(&gw.migrate_timer);
	if (gw.migrate_pid > 0) {
		kill(gw.migrate_pid, SIGTERM);
		waitpid(gw.migrate_pid, NULL, 0);
	}
	evtimer_del(&gw.drain);
	http_server_free(gw.server);
	lifecycle_free(gw.lifecycle);
	intake_free(gw.intake);
	spool_close(gw.spool);
	inbound_free(gw.inbound);
	escalation_free(gw.escalation);
	outbox_free(gw.outbox);
	flows_free(gw.flows);
	redflag_rules_free(gw.rules);
	triage_model_free(gw.model);
	provider_close(&gw.provider);
	http_client_free(gw.http);
	db_free(gw.db);
	event_base_free(gw.base);
	config_free(&gw.cfg);
	log_info("shutdown: done");
	return 0;
}

static int
main_cmd_migrate(void)
{
	struct config cfg;

	main_load_config(&cfg);
	if (!main_prepare_database(&cfg, MAIN_DB_WAIT_SECONDS))
		return 1;
	config_free(&cfg);
	return 0;
}

static int
main_cmd_flow_load(const char *path)
{
	struct config cfg;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *doc, *name = NULL, *cause = NULL;
	size_t len;
	int version;
	PGconn *pg;

	if (f == NULL || (doc = main_read_all(f, &len)) == NULL) {
		fprintf(stderr, "carenav: cannot read %s\n", path);
		return 1;
	}
	if (f != stdin)
		fclose(f);
	main_load_config(&cfg);
	pg = main_connect_migrated(&cfg);
	if (!flow_admin_load(pg, doc, len, &version, &name, &cause)) {
		fprintf(stderr, "carenav: %s: %s\n", path, cause);
		return 1;
	}
	printf("loaded flow %s version %d; new conversations use it, those in progress keep theirs\n",
	    name, version);
	free(name);
	free(doc);
	PQfinish(pg);
	config_free(&cfg);
	return 0;
}

static int
main_cmd_flow_list(void)
{
	struct config cfg;
	PGconn *pg;
	PGresult *res;
	const char *missing;
	int col[FLOWS_NCOLS];

	main_load_config(&cfg);
	pg = main_connect_migrated(&cfg);
	res = PQexec(pg, store_flow_list_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "carenav: %s", PQresultErrorMessage(res));
		return 1;
	}
	if (!store_col_lookup(res, store_flow_list_columns, col, &missing))
		fatalx("flow list: the result has no column %s", missing);
	printf("%-16s %7s  %-12s  %-19s  %s\n", "flow", "version", "sha256", "loaded", "conversations");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-16s %7s  %.12s  %-19s  %s\n", PQgetvalue(res, i, col[FLOWS_NAME]),
		    PQgetvalue(res, i, col[FLOWS_VERSION]), PQgetvalue(res, i, col[FLOWS_SHA256]),
		    PQgetvalue(res, i, col[FLOWS_LOADED]), PQgetvalue(res, i, col[FLOWS_CONVERSATIONS]));
	PQclear(res);
	PQfinish(pg);
	config_free(&cfg);
	return 0;
}

/* The outcome of carenav purge's run. */
struct main_purge {
	struct event_base *base;
	struct lifecycle_totals totals;
	char *error;  /* owned, or NULL */
};

static void
main_purge_done(const struct lifecycle_totals *totals, const char *error, void *arg)
{
	struct main_purge *p = arg;

	p->totals = *totals;
	p->error = error != NULL ? xstrdup(error) : NULL;
	event_base_loopbreak(p->base);
}

/* carenav purge: the lifecycle worker's run (lifecycle.c), once, now (cron, or after changing RETENTION_DAYS). */
static int
main_cmd_purge(void)
{
	struct config cfg;
	struct main_purge p = { 0 };
	struct lifecycle *lc;
	struct db *db;
	char *conninfo;

	main_load_config(&cfg);
	PQfinish(main_connect_migrated(&cfg));
	/* The run's own progress lines are for the gateway's log; this command prints its totals. */
	log_set_level(LOG_WARN);
	p.base = evloop_new();
	if (p.base == NULL)
		fatalx("cannot make an event loop");
	conninfo = config_database_conninfo(&cfg);
	db = db_new(p.base, conninfo, 1);
	free(conninfo);
	lc = lifecycle_once(p.base, db, &cfg, main_purge_done, &p);
	event_base_dispatch(p.base);
	lifecycle_free(lc);
	db_free(db);
	event_base_free(p.base);
	if (p.error != NULL) {
		fprintf(stderr, "carenav: purge: %s\n", p.error);
		free(p.error);
		config_free(&cfg);
		return 1;
	}
	printf("partitions created: %lld\n", (long long)p.totals.partitions_created);
	if (cfg.retention_days == 0)
		printf("RETENTION_DAYS is 0: message bodies are kept forever; nothing purged\n");
	else
		printf("message bodies purged: %lld, dialogue states cleared: %lld (older than %lld days)\n",
		    (long long)p.totals.bodies_purged, (long long)p.totals.states_cleared, cfg.retention_days);
	if (cfg.outbox_keep_days == 0)
		printf("OUTBOX_KEEP_DAYS is 0: outbox rows are kept forever; nothing trimmed\n");
	else
		printf("outbox rows trimmed: %lld (no longer pending, older than %lld days)\n",
		    (long long)p.totals.outbox_trimmed, cfg.outbox_keep_days);
	config_free(&cfg);
	return 0;
}

/* Runs a staff/oncall command on a migrated database connection. */
static int
main_cmd_db(int (*fn)(PGconn *, const struct config *, int, char **), int argc, char **argv)
{
	struct config cfg;
	PGconn *pg;
	int rc;

	main_load_config(&cfg);
	pg = main_connect_migrated(&cfg);
	rc = fn(pg, &cfg, argc, argv);
	PQfinish(pg);
	config_free(&cfg);
	return rc;
}

/* carenav triage: no database; the detectors as the gateway would load them. */
static int
main_cmd_triage(int argc, char **argv)
{
	struct config cfg;
	struct triage t;
	struct redflag_rules *rules;
	struct triage_model *model;
	const char *path = NULL, *model_path = NULL;
	char *cause = NULL;
	int rc;

	if (argc > 1 && strcmp(argv[1], "train") == 0)
		return cli_triage_train(argc - 1, argv + 1);
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--phrases") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--model") == 0)
			model_path = argv[i + 1];
	}
	if (!config_load(&cfg, main_getenv, &cause))
		fatalx("configuration: %s", cause);
	log_set_level(LOG_WARN);
	rules = main_load_rules(&cfg, path);
	model = main_load_model(&cfg, model_path);
	t.rules = rules;
	t.model = model;
	rc = cli_triage(&t, argc, argv);
	redflag_rules_free(rules);
	triage_model_free(model);
	config_free(&cfg);
	return rc;
}

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: carenav [command]\n"
	    "  serve            run the SMS gateway (default)\n"
	    "  migrate          apply database migrations and exit\n"
	    "  doctor           check configuration, database, migrations and provider credentials\n"
	    "  purge            make partitions ahead and purge bodies older than RETENTION_DAYS, now\n"
	    "  flow load FILE   validate a flow document (JSON) and store it as a new version\n"
	    "  flow list        stored flows, their versions and conversations on each\n"
	    "  staff add --name NAME --phone NUMBER [--role R] [--language en|es] [--webhook URL]\n"
	    "  staff edit NUMBER [--name N] [--phone NEW] [--role R] [--language en|es] [--webhook URL]\n"
	    "  staff list | staff remove NUMBER\n"
	    "  oncall add --phone NUMBER --tier primary|backup --from \"YYYY-MM-DD HH:MM\"\n"
	    "             --to \"YYYY-MM-DD HH:MM\" [--tz ZONE] [--days N] [--fold earlier|later]\n"
	    "  oncall edit ID [--phone P] [--tier T] [--from ..] [--to ..] [--tz ZONE] [--fold ..]\n"
	    "  oncall remove ID | oncall list [--all] | oncall check [--days N]\n"
	    "  operator add --name NAME --role viewer|responder|admin [--language en|es] [--no-password]\n"
	    "               [--token] [--token-days N]\n"
	    "  operator list | disable NAME | enable NAME | reset NAME | token NAME [--days N]\n"
	    "  operator revoke NAME | totp NAME [--off] | language NAME en|es\n"
	    "  triage [--jsonl] [--phrases FILE] [--model FILE|off] < texts   red-flag levels as JSON Lines\n"
	    "  triage train --out FILE [--data DIR]   train the text model on labelled JSON Lines\n"
	    "Configuration comes from the environment; see .env.example.\n");
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "serve";

	signal(SIGPIPE, SIG_IGN);
	log_capture_libevent();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	if (strcmp(cmd, "serve") == 0)
		return main_serve();
	if (strcmp(cmd, "migrate") == 0)
		return main_cmd_migrate();
	if (strcmp(cmd, "purge") == 0)
		return main_cmd_purge();
	if (strcmp(cmd, "doctor") == 0) {
		int problems = doctor_run(main_getenv, stdout);

		return problems > 100 ? 100 : problems;
	}
	if (strcmp(cmd, "flow") == 0 && argc == 4 && strcmp(argv[2], "load") == 0)
		return main_cmd_flow_load(argv[3]);
	if (strcmp(cmd, "flow") == 0 && argc == 3 && strcmp(argv[2], "list") == 0)
		return main_cmd_flow_list();
	if (strcmp(cmd, "triage") == 0)
		return main_cmd_triage(argc - 1, argv + 1);
	if (strcmp(cmd, "staff") == 0)
		return main_cmd_db(cli_staff, argc - 2, argv + 2);
	if (strcmp(cmd, "oncall") == 0)
		return main_cmd_db(cli_oncall, argc - 2, argv + 2);
	if (strcmp(cmd, "operator") == 0)
		return main_cmd_db(cli_operator, argc - 2, argv + 2);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		main_usage(stdout);
		return 0;
	}
	fprintf(stderr, "carenav: unknown command \"%s\"\n", cmd);
	main_usage(stderr);
	return 2;
}
