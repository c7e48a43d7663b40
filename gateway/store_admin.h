/*
 * store_admin.h - the SQL of the administration commands ("carenav
 * operator", "staff", "oncall"), kept in the store layer beside store.c's
 * and store_api.c's so that a schema change touches the store files only.
 * The commands run them with blocking libpq (cli_sql.h); each statement
 * says its parameters ($n, as text) and what a row holds.
 */
#ifndef CARENAV_GATEWAY_STORE_ADMIN_H
#define CARENAV_GATEWAY_STORE_ADMIN_H

/* ---- operator accounts ($1 is the operator's name throughout) ---- */

/* $1 action, $2 detail: one audit row by operator "cli". */
extern const char store_admin_audit_sql[];
/* $2 token digest, $3 days valid. Row: expiry, "YYYY-MM-DD HH24:MI" UTC; none if no such operator. */
extern const char store_admin_token_add_sql[];
/* $2 role, $3 language. Row: id; none if the name is taken. */
extern const char store_admin_operator_add_sql[];
/* $2 password hash. Row: id; none if no such operator. */
extern const char store_admin_password_set_sql[];
/* As store_admin_password_set_sql, and unlocks the account and ends its sessions. */
extern const char store_admin_password_reset_sql[];
/* Rows: name, role, language, state, password (yes/no), totp (yes/no), live tokens; by name. */
extern const char store_admin_operator_list_sql[];
/* $2 TOTP secret. Row: id; none if no such operator. */
extern const char store_admin_totp_set_sql[];
/* Turns the second factor off. Row: id; none if no such operator. */
extern const char store_admin_totp_off_sql[];
/* Disables the account and ends its sessions. Row: id; none if no such operator. */
extern const char store_admin_operator_disable_sql[];
/* Row: id; none if no such operator. */
extern const char store_admin_operator_enable_sql[];
/* Revokes every API token of the operator. Row: id; none if no such operator. */
extern const char store_admin_tokens_revoke_sql[];
/* $2 language. Row: carenav_operator_language_set's word (ok, unchanged, not_found, unknown_language). */
extern const char store_admin_language_set_sql[];

#endif
