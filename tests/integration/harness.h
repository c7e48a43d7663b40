/*
 * harness.h - integration test support: a throwaway database per test, the
 * real gateway binary as a child process, HTTP posts, and polling queries.
 *
 * The PostgreSQL cluster is started by the ctest "pg" fixture
 * (deploy/pg-local under the build directory) and named by the environment:
 *   CARENAV_TEST_PGHOST  the cluster's socket directory
 *   CARENAV_BIN          the carenav binary under test
 *   CARENAV_TEST_VARDIR  where each gateway gets its VAR_DIR (and its log, kept for reading failures)
 */
#ifndef CARENAV_TESTS_HARNESS_H
#define CARENAV_TESTS_HARNESS_H

#include <check.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/types.h>

#include "check_run.h"  /* CHECK_RUN_MAIN() for main() */

struct harness_gw {
	pid_t pid;
	int port;
	char *conninfo;  /* owned: the test's database */
	char *var_dir;   /* owned: the gateway's VAR_DIR */
	char *log_path;  /* owned: the gateway's stderr */
	char **env;      /* owned: extra NAME=VALUE settings, NULL-terminated */
};

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int harness_free_port(void);
void harness_sleep_ms(int ms);
/* Seconds on the monotonic clock. */
double harness_now_s(void);
/*
 * A stream length n times CARENAV_FAULTS_SCALE (default 1; only a factor
 * below 1 counts): the sanitizer pass of tests/run runs the same fault and
 * flood scenarios on shorter streams.
 */
int harness_scaled(int n);

/* How harness_spawn starts a child. */
struct harness_spawn_opts {
	const char *log;         /* stdout and stderr, appended; NULL for /dev/null */
	int in_fd;               /* stdin; -1 for /dev/null */
	const char *const *env;  /* NAME=VALUE... NULL, set in the child's environment; may be NULL */
	bool as_postgres;        /* as root, run as "postgres" (for servers that refuse root) */
};
/*
 * Starts argv (argv[0] searched in PATH) as a child that dies with the test
 * process, even when a failed assertion ends it early. Returns its pid.
 */
pid_t harness_spawn(char *const argv[], const struct harness_spawn_opts *opts);

/*
 * Creates a database for this test, already migrated: a copy of the template
 * the pg_start fixture migrates once per run with this build's carenav
 * (tests/CMakeLists.txt), so a gateway's start does not migrate again.
 * Returns its conninfo (caller frees).
 */
char *harness_db_create(void);
/* Creates an empty database (for tests of migrating one); returns its conninfo. */
char *harness_db_create_empty(void);
/*
 * Creates a database from a frozen one (tests/data/upgrade/db-NNN.sql.gz, a
 * gzip'd plain pg_dump) in CARENAV_UPGRADE_DUMPS; returns its conninfo.
 */
char *harness_db_restore(const char *dump_name);
/* A blocking connection for assertions; fails the test if it cannot connect. */
PGconn *harness_db_connect(const char *conninfo);
/* Runs sql (no parameters) and returns the first column of the first row as a number. */
long long harness_query_int(PGconn *pg, const char *sql);
/* Runs sql and returns the first column of the first row as text (caller frees). */
char *harness_query_text(PGconn *pg, const char *sql);
/* Runs sql, which must succeed; else fails the test with PostgreSQL's error. */
void harness_exec(PGconn *pg, const char *sql);
/* Polls sql every 50 ms until it returns expected; false after timeout_ms. */
bool harness_wait_int(PGconn *pg, const char *sql, long long expected, int timeout_ms);
/* Waits up to timeout_ms until every inbound text is processed; else fails the test, naming log_path. */
void harness_wait_processed(PGconn *pg, int timeout_ms, const char *log_path);
/*
 * harness_wait_processed, then waits up to timeout_ms until no reply is
 * pending in the outbox (sent, failed or suppressed); else fails the test.
 * Replies are queued in the transaction that marks their text processed,
 * so none is missed by looking at the outbox second.
 */
void harness_wait_settled(PGconn *pg, int timeout_ms, const char *log_path);
/*
 * The same when texts may still be on their way in (spooled, retried by the
 * provider): waits until exactly `answered` inbound texts are processed,
 * then until no reply is pending.
 */
void harness_wait_answered(PGconn *pg, long answered, int timeout_ms, const char *log_path);

/* Prepares a gateway on a free port with its own VAR_DIR; env is NAME=VALUE... NULL. */
void harness_gw_init(struct harness_gw *gw, const char *conninfo, const char *const *env);
/* Starts it and waits until /healthz answers; fails the test if it does not. */
void harness_gw_start(struct harness_gw *gw);
/* SIGTERM and wait; returns the exit status. */
int harness_gw_stop(struct harness_gw *gw);
/* harness_gw_stop, failing the test (naming the gateway's log) unless it drained and exited 0. */
void harness_gw_stop_clean(struct harness_gw *gw);
/* SIGKILL and wait. */
void harness_gw_kill(struct harness_gw *gw);
void harness_gw_free(struct harness_gw *gw);

/*
 * Runs "carenav ARGS..." with the gateway's database, VAR_DIR and extra
 * settings; returns the exit status, output in *out.
 */
int harness_gw_cli(struct harness_gw *gw, char **out, const char *arg, ...);
/* Runs "carenav ARGS..." as harness_gw_cli does and asserts its exit status and that its output has want. */
void harness_gw_cli_expect(struct harness_gw *gw, int want_status, const char *want, const char *arg, ...);
/* The bodies of outbound messages to patient with id > after_id, joined by "\n--\n" (caller frees). */
char *harness_replies(PGconn *pg, const char *patient, long long after_id);
/* The newest message id (0 when none). */
long long harness_last_message_id(PGconn *pg);
/*
 * What the sandbox provider delivered to number, in order: the bodies of the
 * gateway's VAR_DIR/outbox.log lines sent to it (*n of them; caller frees
 * each and the array). *segments, when not NULL, gets their SMS segments.
 */
char **harness_sandbox_sent(const struct harness_gw *gw, const char *number, size_t *n, size_t *segments);
/*
 * A sandbox log shared by several gateways (SANDBOX_OUTBOX_LOG): its lines,
 * the distinct outbox ids among them (a resend shows as lines > distinct),
 * and the replies delivered out of id order to their number.
 */
void harness_sandbox_log_tally(const char *path, long *lines, long *distinct, long *out_of_order);

/* What the database shows of the inbound texts, for the tests that count each one once. */
struct harness_inbound {
	long stored;    /* distinct provider message ids */
	long rows;      /* inbound rows: more than stored when one was stored twice */
	long answered;  /* inbound rows processed */
	long steps;     /* dialogue steps taken: the patients' conversations' versions, summed */
};
void harness_inbound_tally(PGconn *pg, struct harness_inbound *t);

/*
 * Signs every later form POST with X-Twilio-Signature as Twilio would, for a
 * gateway with TWILIO_AUTH_TOKEN=token and PUBLIC_BASE_URL=public_base.
 * NULL token: stop signing.
 */
void harness_sign_twilio(const char *token, const char *public_base);
/* The signature Twilio would send for a form body posted to public_base + path (caller frees). */
char *harness_twilio_signature(const char *token, const char *public_base, const char *path,
    const char *form_body);

/*
 * Records one fault test's outcome as a row of the table in the file named
 * by CARENAV_RELIABILITY_FILE (BUILD/reliability.md), replacing the row
 * with the same scenario name; tools/update-reliability-doc copies the rows
 * into docs/reliability.md.
 */
void harness_report_row(const char *scenario, long sent, long stored, long answered,
    long duplicates, long lost, const char *notes);

/*
 * Starts a real PgBouncer in transaction pooling (trust authentication,
 * pool_size server connections per database) in front of the server named
 * by server ("host=H port=P"), with its config and log as dir/name.*; waits
 * until it lets user carenav into dbname and returns its pid, its port in
 * *port. It dies with the test process; as root it runs as "postgres".
 */
pid_t harness_pgbouncer_start(const char *dir, const char *name, const char *server, const char *dbname,
    int pool_size, int *port);

/* One HTTP request, as harness_http() sends it. */
struct harness_http {
	const char *host;                /* NULL = 127.0.0.1 */
	int port;
	const char *source;              /* local address to connect from; NULL = any */
	const char *method;              /* NULL = GET, or POST when there is a body */
	const char *path;                /* with the query string */
	const char *const *headers;      /* "Name: value"... NULL; may be NULL */
	const char *content_type;        /* with a body */
	const char *body;                /* NULL = none; form bodies are signed as harness_sign_twilio says */
	size_t body_len;
	char **resp_headers;             /* NULL, or gets the answer's header lines (caller frees) */
};
/* Sends r; returns the HTTP status (0 = no answer). *resp (may be NULL) gets the body. */
long harness_http(const struct harness_http *r, char **resp);
/*
 * Writes data as is on a new loopback connection to port and returns all
 * the gateway wrote back until it closed the connection, or 3 s of silence
 * (caller frees).
 */
char *harness_raw(int port, const char *data, size_t len);
/* A non-loopback IPv4 address of this machine (caller frees), or NULL if it has none. */
char *harness_local_address(void);

/* POSTs body to the gateway; returns the HTTP status (0 = no answer). *resp may be NULL. */
long harness_post(int port, const char *path, const char *content_type, const char *body,
    size_t body_len, char **resp);
/* POSTs a Twilio-style inbound SMS webhook. */
long harness_post_sms(int port, const char *sid, const char *from, const char *to, const char *body);
/* GETs path; returns the HTTP status. */
long harness_get(int port, const char *path, char **resp);
/* Polls GET path every 100 ms until it answers status; false after timeout_ms. */
bool harness_wait_get(int port, const char *path, long status, int timeout_ms);
/*
 * An operator API request: method ("GET", "POST"...), Authorization: Bearer
 * token unless token is NULL, json_body as application/json unless NULL.
 * Returns the HTTP status; *resp (may be NULL) gets the body.
 */
long harness_api(int port, const char *method, const char *path, const char *token,
    const char *json_body, char **resp);

/*
 * harness_api from a given local address (source, e.g. "127.0.0.2": all of
 * 127/8 is loopback, so one machine can play many clients), with more header
 * lines (headers: "Name: value"... NULL; may be NULL).
 */
long harness_api_from(int port, const char *source, const char *const *headers, const char *method,
    const char *path, const char *token, const char *json_body, char **resp);
/* A TCP connection to the gateway on 127.0.0.1:port from source (NULL: any); fails the test if it cannot. */
int harness_connect_from(int port, const char *source);
/*
 * Writes request (a whole HTTP/1.1 request) on fd and reads one answer
 * (headers + Content-Length body), leaving the connection open. Returns
 * the status, 0 if the answer did not come within timeout_ms or the
 * connection closed.
 */
long harness_raw_request(int fd, const char *request, int timeout_ms);
/* True if the peer closed fd (EOF or reset) within timeout_ms. */
bool harness_fd_closed(int fd, int timeout_ms);

#endif
