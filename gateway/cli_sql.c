/*
 * cli_sql.c - a CLI command's statements and their failures in words. See cli_sql.h.
 */
#include "cli_sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* A PostgreSQL error in words: the SQLSTATE says what kind, never the server's own text. */
static const char *
cli_sql_plain(const PGresult *res)
{
	const char *state = res == NULL ? NULL : PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (state == NULL)
		return "the database could not be reached";
	if (strcmp(state, "23505") == 0)
		return "that already exists";
	if (strcmp(state, "23503") == 0)
		return "something else still refers to it";
	if (strncmp(state, "23", 2) == 0)
		return "the database's rules do not allow it";
	if (strncmp(state, "22", 2) == 0)
		return "a value is not valid (check dates as YYYY-MM-DD HH:MM and numbers)";
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0)
		return "the database connection was lost; try again";
	if (strcmp(state, "42P01") == 0 || strcmp(state, "42883") == 0)
		return "the database is not up to date (run \"carenav migrate\")";
	return "the database refused it";
}

PGresult *
cli_sql_exec(PGconn *pg, const char *what, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "carenav: could not %s: %s\n", what, cli_sql_plain(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* One line of a listing: value(i) for each column, padded to its width and one space apart. */
static void
cli_sql_line(const struct cli_sql_column *cols, int ncols, const PGresult *res, int row)
{
	for (int i = 0; i < ncols; i++) {
		const char *v = row < 0 ? cols[i].head : PQgetvalue(res, row, i);

		if (i == ncols - 1)
			printf("%s\n", v);
		else
			printf("%-*s ", cols[i].width, v);
	}
}

int
cli_sql_list(PGconn *pg, const char *what, const char *sql, int n, const char *const *params,
    const struct cli_sql_column *cols, int ncols)
{
	PGresult *res = cli_sql_exec(pg, what, sql, n, params);

	if (res == NULL)
		return 1;
	cli_sql_line(cols, ncols, NULL, -1);
	for (int i = 0; i < PQntuples(res); i++)
		cli_sql_line(cols, ncols, res, i);
	PQclear(res);
	return 0;
}

PGresult *
cli_sql_row(PGconn *pg, const char *what, const char *sql, int n, const char *const *params, const char *none,
    ...)
{
	PGresult *res = cli_sql_exec(pg, what, sql, n, params);
	va_list ap;

	if (res == NULL || PQntuples(res) > 0)
		return res;
	PQclear(res);
	fputs("carenav: ", stderr);
	va_start(ap, none);
	vfprintf(stderr, none, ap);
	va_end(ap);
	fputc('\n', stderr);
	return NULL;
}

const char *
cli_sql_get(const PGresult *res, int row, const char *column)
{
	int col = PQfnumber(res, column);

	/* The statements and their readers ship together: a missing name is a bug in this binary. */
	if (col < 0)
		fatalx("the statement's result has no column %s", column);
	return PQgetvalue(res, row, col);
}
