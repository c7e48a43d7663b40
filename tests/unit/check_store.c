/*
 * check_store.c - reading results by column name (store_col_lookup): a
 * column is found wherever the statement puts it, a missing one is named,
 * and NULL reads as 0 / false / "". The results are built in memory with
 * libpq's own PGresult calls, so no database is needed.
 */
#include <check.h>
#include <libpq-fe.h>
#include <string.h>

#include "check_run.h"
#include "store.h"

/* A one-row result with the given columns (all text) and values (NULL: SQL NULL). */
static PGresult *
result_new(int n, const char *const *names, const char *const *values)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc attrs[16];

	ck_assert_int_le(n, 16);
	memset(attrs, 0, sizeof attrs);
	for (int i = 0; i < n; i++) {
		attrs[i].name = (char *)names[i];
		attrs[i].typid = 25;  /* text */
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ck_assert(PQsetResultAttrs(res, n, attrs));
	for (int i = 0; i < n; i++) {
		if (values[i] != NULL)
			ck_assert(PQsetvalue(res, 0, i, (char *)values[i], (int)strlen(values[i])));
		else
			ck_assert(PQsetvalue(res, 0, i, NULL, -1));
	}
	return res;
}

START_TEST(test_columns_by_name_in_any_order)
{
	/* The claim's columns, not in the order of enum store_claim_col, plus one it does not read. */
	static const char *const names[] = { "body", "escalation_open", "extra", "urgent", "from_number",
		"to_number", "attempts", "message_id", "outbox_id" };
	static const char *const values[] = { "hello", "f", "x", "t", "+15550001111", "+15550002222", "3",
		"70", "42" };
	PGresult *res = result_new(9, names, values);
	const char *missing = NULL;
	int col[CLAIM_NCOLS];

	ck_assert(store_col_lookup(res, store_claim_columns, col, &missing));
	ck_assert_int_eq(store_col_int64(res, 0, col[CLAIM_ID]), 42);
	ck_assert_int_eq(store_col_int64(res, 0, col[CLAIM_MESSAGE_ID]), 70);
	ck_assert_int_eq(store_col_int64(res, 0, col[CLAIM_ATTEMPTS]), 3);
	ck_assert_str_eq(store_col_text(res, 0, col[CLAIM_TO]), "+15550002222");
	ck_assert_str_eq(store_col_text(res, 0, col[CLAIM_FROM]), "+15550001111");
	ck_assert_str_eq(store_col_text(res, 0, col[CLAIM_BODY]), "hello");
	ck_assert(store_col_bool(res, 0, col[CLAIM_URGENT]));
	ck_assert(!store_col_bool(res, 0, col[CLAIM_ESCALATION_OPEN]));
	PQclear(res);
}
END_TEST

START_TEST(test_missing_column_is_named)
{
	static const char *const names[] = { "message_id", "is_new" };
	static const char *const values[] = { "7", "t" };
	PGresult *res = result_new(2, names, values);
	const char *missing = NULL;
	int col[ACCEPT_NCOLS];

	ck_assert(!store_col_lookup(res, store_accept_columns, col, &missing));
	ck_assert_ptr_nonnull(missing);
	ck_assert_str_eq(missing, "conversation_id");
	PQclear(res);
}
END_TEST

START_TEST(test_null_reads_as_zero)
{
	static const char *const names[] = { "message_id", "conversation_id", "is_new" };
	static const char *const values[] = { NULL, NULL, NULL };
	PGresult *res = result_new(3, names, values);
	const char *missing = NULL;
	int col[ACCEPT_NCOLS];

	ck_assert(store_col_lookup(res, store_accept_columns, col, &missing));
	ck_assert_int_eq(store_col_int64(res, 0, col[ACCEPT_MESSAGE_ID]), 0);
	ck_assert(!store_col_bool(res, 0, col[ACCEPT_IS_NEW]));
	ck_assert_str_eq(store_col_text(res, 0, col[ACCEPT_CONVERSATION_ID]), "");
	PQclear(res);
}
END_TEST

START_TEST(test_every_listed_column_is_selected)
{
	/* Each batch statement names the columns its callbacks read, and ord first. */
	const struct store_batch *const batches[] = { &store_step_load_batch, &store_step_commit_batch,
		&store_staff_step_batch, &store_inbound_accept_batch, &store_outbox_sent_batch };

	for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
		const char *sql = batches[b]->sql;

		ck_assert_msg(strstr(sql, "SELECT *") == NULL, "%s", sql);
		ck_assert_msg(strstr(sql, " ord") != NULL, "%s", sql);
		for (size_t i = 0; batches[b]->columns[i] != NULL; i++)
			ck_assert_msg(strstr(sql, batches[b]->columns[i]) != NULL, "%s lacks %s", sql,
			    batches[b]->columns[i]);
	}
}
END_TEST

CHECK_RUN_MAIN("store", 10, test_columns_by_name_in_any_order, test_missing_column_is_named,
    test_null_reads_as_zero, test_every_listed_column_is_selected)
