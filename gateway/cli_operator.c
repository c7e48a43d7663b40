/*
 * cli_operator.c - operator accounts. See cli_operator.h.
 *
 *   carenav operator add --name NAME --role viewer|responder|admin [--language en|es]
 *                        [--no-password] [--token] [--token-days N]
 *   carenav operator list
 *   carenav operator disable NAME | enable NAME
 *   carenav operator reset NAME        a new password; unlocks; ends its sessions
 *   carenav operator token NAME [--days N]   a new API token (shown once)
 *   carenav operator revoke NAME       revokes every API token of NAME at once
 *   carenav operator totp NAME [--off] a TOTP second factor: prints the otpauth:// URI
 *   carenav operator language NAME en|es   the console's language for NAME
 *
 * Secrets are printed once and stored only as hashes (opauth.h). Every
 * change is written to the audit trail as operator "cli".
 */
#include "cli_operator.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_sql.h"
#include "config.h"
#include "opauth.h"
#include "store_admin.h"
#include "xmalloc.h"

static const char *const cli_op_roles[] = { "viewer", "responder", "admin", NULL };

#define CLI_OP_NONE "no operator named %s"

static bool
cli_op_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static void
cli_op_audit(PGconn *pg, const char *action, const char *detail)
{
	const char *params[2] = { action, detail };
	PGresult *res = cli_sql_exec(pg, "write the audit trail", store_admin_audit_sql, 2, params);

	PQclear(res);
}

/* Issues a token for NAME valid for days; prints it. */
static bool
cli_op_issue_token(PGconn *pg, const char *name, long days)
{
	char token[OPAUTH_HEX_MAX + sizeof OPAUTH_TOKEN_PREFIX], raw[OPAUTH_HEX_MAX], digest[OPAUTH_HEX_MAX];
	char sdays[24];
	const char *params[3] = { name, digest, sdays };
	PGresult *res;

	opauth_random_hex(raw);
	snprintf(token, sizeof token, "%s%s", OPAUTH_TOKEN_PREFIX, raw);
	opauth_sha256_hex(token, digest);
	snprintf(sdays, sizeof sdays, "%ld", days);
	res = cli_sql_row(pg, "issue the token", store_admin_token_add_sql, 3, params, CLI_OP_NONE, name);
	if (res == NULL)
		return false;
	printf("api token (shown once, expires %s UTC): %s\n", PQgetvalue(res, 0, 0), token);
	PQclear(res);
	cli_op_audit(pg, "operator_token", name);
	return true;
}

/* Sets a fresh password for NAME and prints it. */
static bool
cli_op_new_password(PGconn *pg, const char *name, const char *sql)
{
	char password[21], hash[OPAUTH_HASH_MAX];
	const char *params[2] = { name, hash };
	PGresult *res;

	opauth_random_password(password);
	if (!opauth_password_hash(password, hash)) {
		fprintf(stderr, "carenav: could not hash the password (out of memory?)\n");
		return false;
	}
	if ((res = cli_sql_row(pg, "set the password", sql, 2, params, CLI_OP_NONE, name)) == NULL)
		return false;
	PQclear(res);
	printf("password (shown once): %s\n", password);
	return true;
}

static bool
cli_op_parse_days(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 3660) {
		fprintf(stderr, "carenav: days must be a whole number from 1 to 3660\n");
		return false;
	}
	*out = v;
	return true;
}

static int
cli_op_add(PGconn *pg, const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "role", required_argument, NULL, 'r' },
		{ "language", required_argument, NULL, 'l' }, { "no-password", no_argument, NULL, 'P' },
		{ "token", no_argument, NULL, 't' }, { "token-days", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 } };
	const char *name = NULL, *role = NULL, *language = "en";
	bool password = true, token = false, role_ok = false;
	long days = cfg->operator_token_days;
	const char *params[3];
	PGresult *res;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:r:l:Ptd:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'r': role = optarg; break;
		case 'l': language = optarg; break;
		case 'P': password = false; break;
		case 't': token = true; break;
		case 'd': token = true; if (!cli_op_parse_days(optarg, &days)) return 2; break;
		default: return 2;
		}
	}
	if (name == NULL || role == NULL) {
		fprintf(stderr, "carenav: operator add needs --name and --role\n");
		return 2;
	}
	if (!cli_op_name_valid(name)) {
		fprintf(stderr, "carenav: the name must be 1-32 characters of a-z, 0-9, _ and -\n");
		return 2;
	}
	for (const char *const *r = cli_op_roles; *r != NULL; r++)
		role_ok |= strcmp(*r, role) == 0;
	if (!role_ok) {
		fprintf(stderr, "carenav: --role must be viewer, responder or admin\n");
		return 2;
	}
	if (strcmp(language, "en") != 0 && strcmp(language, "es") != 0) {
		fprintf(stderr, "carenav: --language must be en or es\n");
		return 2;
	}
	if (!password && !token) {
		fprintf(stderr, "carenav: with --no-password, add --token (the account needs a way in)\n");
		return 2;
	}
	params[0] = name;
	params[1] = role;
	params[2] = language;
	res = cli_sql_row(pg, "add the operator", store_admin_operator_add_sql, 3, params,
	    "an operator named %s already exists (operator reset %s gives it a new password)", name, name);
	if (res == NULL)
		return 1;
	PQclear(res);
	printf("added operator %s (%s)\n", name, role);
	cli_op_audit(pg, "operator_add", name);
	if (password && !cli_op_new_password(pg, name, store_admin_password_set_sql))
		return 1;
	if (token && !cli_op_issue_token(pg, name, days))
		return 1;
	return 0;
}

static int
cli_op_list(PGconn *pg)
{
	static const struct cli_sql_column cols[] = { { "NAME", 32 }, { "ROLE", 9 }, { "LANG", 4 },
		{ "STATE", 8 }, { "PASSWORD", 8 }, { "TOTP", 4 }, { "TOKENS", 0 } };

	return cli_sql_list(pg, "list the operators", store_admin_operator_list_sql, 0, NULL, cols,
	    (int)(sizeof cols / sizeof cols[0]));
}

/* Runs sql ($1 = name) that returns a row when NAME exists; audits action. */
static int
cli_op_simple(PGconn *pg, const char *name, const char *sql, const char *action, const char *done)
{
	const char *params[1] = { name };
	PGresult *res = cli_sql_row(pg, "change the operator", sql, 1, params, CLI_OP_NONE, name);

	if (res == NULL)
		return 1;
	PQclear(res);
	cli_op_audit(pg, action, name);
	printf("%s %s\n", done, name);
	return 0;
}

static int
cli_op_totp(PGconn *pg, const struct config *cfg, int argc, char **argv)
{
	const char *params[2];
	char *secret, *uri;
	PGresult *res;

	(void)cfg;
	params[0] = argv[1];
	if (argc >= 3 && strcmp(argv[2], "--off") == 0)
		return cli_op_simple(pg, argv[1], store_admin_totp_off_sql, "operator_totp_off",
		    "second factor off for");
	secret = opauth_totp_secret();
	params[1] = secret;
	res = cli_sql_row(pg, "set the second factor", store_admin_totp_set_sql, 2, params, CLI_OP_NONE, argv[1]);
	if (res == NULL) {
		free(secret);
		return 1;
	}
	PQclear(res);
	cli_op_audit(pg, "operator_totp", argv[1]);
	uri = opauth_totp_uri("carenav", argv[1], secret);
	printf("second factor on for %s; scan or enter this in an authenticator app (shown once):\n%s\n",
	    argv[1], uri);
	free(uri);
	free(secret);
	return 0;
}

/* The SQL function checks the language and audits the change (sql/functions/operators.sql). */
static int
cli_op_language(PGconn *pg, int argc, char **argv)
{
	const char *params[2];
	const char *result;
	PGresult *res;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "carenav: usage: operator language NAME en|es\n");
		return 2;
	}
	params[0] = argv[1];
	params[1] = argv[2];
	res = cli_sql_exec(pg, "set the language", store_admin_language_set_sql, 2, params);
	if (res == NULL)
		return 1;
	result = PQgetvalue(res, 0, 0);
	if (strcmp(result, "unknown_language") == 0) {
		fprintf(stderr, "carenav: the language must be en or es\n");
		rc = 2;
	} else if (strcmp(result, "not_found") == 0) {
		fprintf(stderr, "carenav: " CLI_OP_NONE "\n", argv[1]);
	} else {
		printf("%s: console language %s%s\n", argv[1], argv[2], strcmp(result, "unchanged") == 0 ?
		    " (unchanged)" : " (from the next page load)");
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
cli_operator(PGconn *pg, const struct config *cfg, int argc, char **argv)
{
	const char *cmd = argc >= 1 ? argv[0] : "";
	long days = cfg->operator_token_days;

	if (!opauth_init()) {
		fprintf(stderr, "carenav: libsodium or liboath could not start\n");
		return 1;
	}
	if (strcmp(cmd, "add") == 0)
		return cli_op_add(pg, cfg, argc, argv);
	if (strcmp(cmd, "list") == 0)
		return cli_op_list(pg);
	if (argc < 2) {
		fprintf(stderr, "carenav: usage: operator add|list|disable|enable|reset|token|revoke|totp|language "
		    "NAME\n");
		return 2;
	}
	if (strcmp(cmd, "disable") == 0)
		return cli_op_simple(pg, argv[1], store_admin_operator_disable_sql, "operator_disable",
		    "disabled (its sessions end and its tokens stop working now)");
	if (strcmp(cmd, "enable") == 0)
		return cli_op_simple(pg, argv[1], store_admin_operator_enable_sql, "operator_enable", "enabled");
	if (strcmp(cmd, "revoke") == 0)
		return cli_op_simple(pg, argv[1], store_admin_tokens_revoke_sql, "operator_revoke",
		    "revoked every API token of");
	if (strcmp(cmd, "reset") == 0) {
		if (!cli_op_new_password(pg, argv[1], store_admin_password_reset_sql))
			return 1;
		cli_op_audit(pg, "operator_reset", argv[1]);
		printf("reset %s: unlocked, its sessions ended\n", argv[1]);
		return 0;
	}
	if (strcmp(cmd, "token") == 0) {
		if (argc >= 4 && strcmp(argv[2], "--days") == 0 && !cli_op_parse_days(argv[3], &days))
			return 2;
		return cli_op_issue_token(pg, argv[1], days) ? 0 : 1;
	}
	if (strcmp(cmd, "totp") == 0)
		return cli_op_totp(pg, cfg, argc, argv);
	if (strcmp(cmd, "language") == 0)
		return cli_op_language(pg, argc, argv);
	fprintf(stderr, "carenav: usage: operator add|list|disable|enable|reset|token|revoke|totp|language NAME\n");
	return 2;
}
