/*
 * store_admin.c - the administration commands' SQL. See store_admin.h.
 */
#include "store_admin.h"

/* Ends every session of the operator named $1 (a CTE to prefix an UPDATE of operators). */
#define STORE_ADMIN_END_SESSIONS \
	"WITH o AS (SELECT id FROM operators WHERE name = $1), " \
	"s AS (UPDATE operator_sessions SET ended_at = now() WHERE operator_id IN (SELECT id FROM o) " \
	"      AND ended_at IS NULL RETURNING 1) "

const char store_admin_audit_sql[] = "SELECT carenav_audit('cli', $1, NULL, $2, NULL)";

const char store_admin_token_add_sql[] = "INSERT INTO operator_tokens (operator_id, token_sha256, expires_at) "
    "SELECT id, $2, now() + make_interval(days => $3::int) FROM operators WHERE name = $1 "
    "RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')";

const char store_admin_operator_add_sql[] = "INSERT INTO operators (name, role, language) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) DO NOTHING RETURNING id";

const char store_admin_password_set_sql[] = "UPDATE operators SET password_hash = $2 WHERE name = $1 RETURNING id";

const char store_admin_password_reset_sql[] = STORE_ADMIN_END_SESSIONS
    "UPDATE operators SET password_hash = $2, failed_logins = 0, locked_until = NULL "
    "WHERE name = $1 RETURNING id";

const char store_admin_operator_list_sql[] = "SELECT o.name, o.role, o.language, CASE WHEN o.disabled THEN 'disabled' "
    "WHEN o.locked_until > now() THEN 'locked' ELSE 'active' END, "
    "CASE WHEN o.password_hash IS NULL THEN 'no' ELSE 'yes' END, "
    "CASE WHEN o.totp_secret IS NULL THEN 'no' ELSE 'yes' END, "
    "(SELECT count(*) FROM operator_tokens t WHERE t.operator_id = o.id AND t.revoked_at IS NULL "
    "  AND t.expires_at > now()) "
    "FROM operators o ORDER BY o.name";

const char store_admin_totp_set_sql[] = "UPDATE operators SET totp_secret = $2 WHERE name = $1 RETURNING id";

const char store_admin_totp_off_sql[] = "UPDATE operators SET totp_secret = NULL WHERE name = $1 RETURNING id";

const char store_admin_operator_disable_sql[] = STORE_ADMIN_END_SESSIONS
    "UPDATE operators SET disabled = true WHERE name = $1 RETURNING id";

const char store_admin_operator_enable_sql[] = "UPDATE operators SET disabled = false WHERE name = $1 RETURNING id";

const char store_admin_tokens_revoke_sql[] = "WITH o AS (SELECT id FROM operators WHERE name = $1), "
    "t AS (UPDATE operator_tokens SET revoked_at = now() WHERE operator_id IN (SELECT id FROM o) "
    "AND revoked_at IS NULL RETURNING 1) SELECT id FROM o";

const char store_admin_language_set_sql[] = "SELECT carenav_operator_language_set($1, $2, 'cli', NULL)";
