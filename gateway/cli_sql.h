/*
 * cli_sql.h - one statement of a CLI command ("carenav staff", "oncall",
 * "operator"), with its failure told in words. Blocking libpq: CLI
 * commands never run in the event loop. No PostgreSQL error text reaches
 * the user: the SQLSTATE's class picks the words.
 */
#ifndef CARENAV_GATEWAY_CLI_SQL_H
#define CARENAV_GATEWAY_CLI_SQL_H

#include <libpq-fe.h>

#include "attrs.h"

/*
 * Runs sql with n text params. On error prints "carenav: could not WHAT:
 * <why in words>" and returns NULL; else the result, which the caller clears.
 */
PGresult *cli_sql_exec(PGconn *pg, const char *what, const char *sql, int n, const char *const *params)
    CN_MUSTCHECK;

/*
 * As cli_sql_exec, but a result without rows is a failure too: prints
 * "carenav: " and the none format with its arguments, and returns NULL.
 */
PGresult *cli_sql_row(PGconn *pg, const char *what, const char *sql, int n, const char *const *params,
    const char *none, ...) CN_MUSTCHECK CN_PRINTF(6, 7);

#endif
