/*
 * store_admin.h - the SQL of the administration commands ("carenav
 * operator", "staff", "oncall", "flow", "doctor") and of the flow seeding, kept in the store layer beside store.c's
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

/* ---- the staff register and the on-call schedule ---- */

/* $1 phone. Row: name, role, language, active; none for a number never registered. */
extern const char store_admin_staff_number_sql[];
/*
 * $1 name, $2 phone, $3 role, $4 language, $5 webhook or NULL; a removed number comes back with
 * these details. Row: id, inserted (t: new, f: re-added); none if the number is active already.
 */
extern const char store_admin_staff_add_sql[];
/* $1 phone. Row: name of the staff member (active or not) with that number. */
extern const char store_admin_staff_owner_sql[];
/*
 * $1 phone; $2 name, $3 new phone, $4 role, $5 language: NULL keeps it; $6 webhook ("" none)
 * applied when $7 is true. Row: id, name, phone, role, language, webhook or "-"; none if no active one.
 */
extern const char store_admin_staff_edit_sql[];
/*
 * Rows: id, name, phone, role, language, webhook (yes/-), tiers on call now (or -), status
 * (ok, or UNREACHABLE since ...); active staff by name.
 */
extern const char store_admin_staff_list_sql[];
/*
 * $1 phone, $2 the number as typed (rows from before normalisation). Marks them inactive (kept
 * for the audit trail). Row: name; none if no active one.
 */
extern const char store_admin_staff_remove_sql[];
/*
 * $1, $2 ms since the epoch. Rows: shift id, staff id, name, tier, start and end (ms), the
 * span in its zone ("YYYY-MM-DD HH:MM to YYYY-MM-DD HH:MM ZONE"): active staff's shifts overlapping [$1, $2).
 */
extern const char store_admin_shifts_sql[];
/* Row: the database's now, ms since the epoch. */
extern const char store_admin_now_ms_sql[];
/* $1 zone name. Row: whether the time zone database knows it. */
extern const char store_admin_zone_exists_sql[];
/*
 * $1 "YYYY-MM-DD HH:MM", $2 zone. Row: the instants (ms) that wall-clock time names there,
 * space separated: none (skipped), one, or two (the clocks go back).
 */
extern const char store_admin_local_instants_sql[];
/* $1 phone. Row: id, name of the active staff member with it; none if no one. */
extern const char store_admin_staff_find_sql[];
/*
 * $1 staff id, $2 tier, $3 and $4 arrays of start and end ms, $5 zone: one shift a pair.
 * Rows: id, start and end in the zone, start and end in UTC ("YYYY-MM-DD HH24:MI").
 */
extern const char store_admin_shift_add_sql[];
/* $1 shift id. Row: phone, tier, zone, start and end in the zone; none if no such shift. */
extern const char store_admin_shift_get_sql[];
/*
 * $1 shift id, $2 staff id, $3 tier, $4 start ms, $5 end ms, $6 zone. Row: start and end in
 * the zone; none if the shift is gone.
 */
extern const char store_admin_shift_edit_sql[];
/* $1 shift id. Row: name, tier, start and end in the zone, zone; none if no such shift. */
extern const char store_admin_shift_remove_sql[];
/*
 * $1 true for past shifts too. Rows: id, name, phone, tier, from, to (in the zone), zone,
 * ON CALL NOW or "".
 */
extern const char store_admin_shift_list_sql[];
/*
 * $1 ms since the epoch. Row: it as "YYYY-MM-DD HH:MM ZONE" in the zone most coming
 * shifts are in (else UTC).
 */
extern const char store_admin_local_time_sql[];

/* ---- flow versions ---- */

/*
 * $1 flow name, $2 document (JSON text), $3 its SHA-256: stored as the flow's
 * next version (the flow row made on its first load). Row: version.
 */
extern const char store_admin_flow_add_sql[];
/*
 * $1 flow name, $2 a SHA-256. Row, none if the flow has no version yet: the
 * newest version, read by these names (store_col_lookup).
 */
enum store_admin_flow_col {
	FLOW_NEWEST_VERSION,      /* version number */
	FLOW_NEWEST_DOCUMENT,     /* its JSON text */
	FLOW_NEWEST_SHA256,       /* its SHA-256 */
	FLOW_NEWEST_SHA_STORED,   /* t when some version of the flow has $2's SHA-256 */
	FLOW_NEWEST_NCOLS
};
extern const char *const store_admin_flow_newest_columns[FLOW_NEWEST_NCOLS + 1];
extern const char store_admin_flow_newest_sql[];

/* ---- carenav doctor's checks ---- */

/* Rows: the name of each applied migration, in order; fails before the first migration. */
extern const char store_admin_migrations_sql[];
/*
 * Rows: name, phone, since when ("YYYY-MM-DD HH24:MI" UTC) and why the provider refused
 * pages to active staff; by name.
 */
extern const char store_admin_staff_unreachable_sql[];
/*
 * Row: the number of gaps of a minute or more in the next 7 days not covered by shifts of
 * active, reachable staff; their spans ("MM-DD HH24:MI..MM-DD HH24:MI", UTC); whether one is now.
 */
extern const char store_admin_oncall_gaps_sql[];
/*
 * Row: archive_mode, WAL segments archived, failures, seconds since the last archived (-1:
 * never), whether the last attempt failed, the WAL segment that failed.
 */
extern const char store_admin_archiving_sql[];
/* $1 flow name. Row: how many versions of it are stored. */
extern const char store_admin_flow_versions_sql[];
/*
 * Row: whether next month's messages partition exists (1, else 0), rows in the default
 * partitions of messages and escalation_events.
 */
extern const char store_admin_partitions_sql[];
/*
 * Row: conversations and active staff whose number is not in E.164 (stored before numbers
 * were normalised).
 */
extern const char store_admin_numbers_sql[];
/* Row: the server version, the database, the user. */
extern const char store_admin_server_sql[];
/* Row, if any migration ran: 1. */
extern const char store_admin_migrated_sql[];

#endif
