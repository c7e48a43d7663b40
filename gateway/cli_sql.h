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

/*
 * The value at row of the column named column (as text; "" for NULL).
 * Multi-column results are read by name, so a statement's column order is free to change.
 */
const char *cli_sql_get(const PGresult *res, int row, const char *column);

/* A column of a listing: its heading, and the width it is padded to (0: the last, unpadded). */
struct cli_sql_column {
	const char *head;
	int width;
};

/*
 * Runs a listing and prints it as a table: a line of headings, then a line
 * a row, column i of the result under cols[i] (ncols of them). Returns the
 * process exit status: 0, or 1 when the statement failed (said, as above).
 */
int cli_sql_list(PGconn *pg, const char *what, const char *sql, int n, const char *const *params,
    const struct cli_sql_column *cols, int ncols);

#endif
