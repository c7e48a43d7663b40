/*
 * store_admin.c - the administration commands' SQL. See store_admin.h.
 */
#include "store_admin.h"

#include <stddef.h>

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

const char store_admin_staff_number_sql[] = "SELECT name, role, language, active FROM staff WHERE phone = $1";

const char store_admin_staff_add_sql[] = "INSERT INTO staff (name, phone, role, language, webhook_url) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name, "
    "role = EXCLUDED.role, language = EXCLUDED.language, webhook_url = EXCLUDED.webhook_url, "
    "active = true, unreachable_at = NULL, unreachable_reason = NULL WHERE NOT staff.active "
    "RETURNING id, (xmax = 0) AS inserted";

const char store_admin_staff_owner_sql[] = "SELECT name FROM staff WHERE phone = $1";

const char store_admin_staff_edit_sql[] =
    "UPDATE staff SET name = coalesce($2, name), phone = coalesce($3, phone), role = coalesce($4, role), "
    "language = coalesce($5, language), "
    "webhook_url = CASE WHEN $7::boolean THEN nullif($6, '') ELSE webhook_url END, "
    /* A new number is a fresh chance: a refused page no longer marks them unreachable. */
    "unreachable_at = CASE WHEN $3 IS NULL THEN unreachable_at END, "
    "unreachable_reason = CASE WHEN $3 IS NULL THEN unreachable_reason END "
    "WHERE phone = $1 AND active RETURNING id, name, phone, role, language, "
    "coalesce(webhook_url, '-') AS webhook";

const char store_admin_staff_list_sql[] = "SELECT s.id, s.name, s.phone, s.role, s.language, "
    "CASE WHEN s.webhook_url IS NULL THEN '-' ELSE 'yes' END, "
    "coalesce((SELECT string_agg(DISTINCT o.tier, ',') FROM oncall_shifts o WHERE o.staff_id = s.id "
    "AND o.starts_at <= now() AND o.ends_at > now()), '-'), "
    "CASE WHEN s.unreachable_at IS NULL THEN 'ok' ELSE 'UNREACHABLE since ' || "
    "to_char(s.unreachable_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC: ' || "
    "left(coalesce(s.unreachable_reason, ''), 80) END "
    "FROM staff s WHERE s.active ORDER BY s.name";

const char store_admin_staff_remove_sql[] =
    "UPDATE staff SET active = false WHERE phone IN ($1, $2) AND active RETURNING name";

const char store_admin_shifts_sql[] = "SELECT o.id, o.staff_id, s.name, o.tier, "
    "(extract(epoch FROM o.starts_at) * 1000)::bigint AS starts_ms, "
    "(extract(epoch FROM o.ends_at) * 1000)::bigint AS ends_ms, "
    "to_char(o.starts_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') || ' to ' || "
    "to_char(o.ends_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') || ' ' || o.time_zone AS span "
    "FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
    "WHERE s.active AND o.ends_at > to_timestamp($1::bigint / 1000.0) "
    "AND o.starts_at < to_timestamp($2::bigint / 1000.0) ORDER BY o.starts_at, o.id";

const char store_admin_now_ms_sql[] = "SELECT (extract(epoch FROM now()) * 1000)::bigint";

const char store_admin_zone_exists_sql[] = "SELECT carenav_zone_exists($1)";

const char store_admin_local_instants_sql[] =
    "SELECT array_to_string(carenav_local_instants($1::timestamp, $2), ' ')";

const char store_admin_staff_find_sql[] = "SELECT id, name FROM staff WHERE phone = $1 AND active";

const char store_admin_shift_add_sql[] = "INSERT INTO oncall_shifts (staff_id, tier, starts_at, ends_at, time_zone) "
    "SELECT $1::bigint, $2, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), $5 "
    "FROM unnest($3::bigint[], $4::bigint[]) AS x (s, e) "
    "RETURNING id, to_char(starts_at AT TIME ZONE time_zone, 'YYYY-MM-DD HH24:MI') AS starts_local, "
    "to_char(ends_at AT TIME ZONE time_zone, 'YYYY-MM-DD HH24:MI') AS ends_local, "
    "to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS starts_utc, "
    "to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS ends_utc";

const char store_admin_shift_get_sql[] =
    "SELECT s.phone, o.tier, o.time_zone, "
    "to_char(o.starts_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') AS starts_local, "
    "to_char(o.ends_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') AS ends_local "
    "FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id WHERE o.id = $1::bigint";

const char store_admin_shift_edit_sql[] =
    "UPDATE oncall_shifts SET staff_id = $2::bigint, tier = $3, starts_at = to_timestamp($4::bigint / 1000.0), "
    "ends_at = to_timestamp($5::bigint / 1000.0), time_zone = $6 WHERE id = $1::bigint "
    "RETURNING to_char(starts_at AT TIME ZONE time_zone, 'YYYY-MM-DD HH24:MI') AS starts_local, "
    "to_char(ends_at AT TIME ZONE time_zone, 'YYYY-MM-DD HH24:MI') AS ends_local";

const char store_admin_shift_remove_sql[] =
    "DELETE FROM oncall_shifts o USING staff s WHERE o.id = $1::bigint AND s.id = o.staff_id "
    "RETURNING s.name, o.tier, to_char(o.starts_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') AS starts_local, "
    "to_char(o.ends_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI') AS ends_local, o.time_zone";

const char store_admin_shift_list_sql[] = "SELECT o.id, s.name, s.phone, o.tier, "
    "to_char(o.starts_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI'), "
    "to_char(o.ends_at AT TIME ZONE o.time_zone, 'YYYY-MM-DD HH24:MI'), o.time_zone, "
    "CASE WHEN o.starts_at <= now() AND o.ends_at > now() THEN 'ON CALL NOW' ELSE '' END "
    "FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
    "WHERE s.active AND ($1::boolean OR o.ends_at > now()) ORDER BY o.starts_at, o.tier";

const char store_admin_local_time_sql[] = "WITH z AS (SELECT coalesce((SELECT time_zone FROM oncall_shifts "
    "WHERE ends_at > now() GROUP BY time_zone ORDER BY count(*) DESC, time_zone LIMIT 1), 'UTC') AS tz) "
    "SELECT to_char(to_timestamp($1::bigint / 1000.0) AT TIME ZONE z.tz, 'YYYY-MM-DD HH24:MI') || ' ' || z.tz "
    "FROM z";

const char store_admin_flow_add_sql[] = "WITH f AS (INSERT INTO flows (name) VALUES ($1) "
    "  ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id) "
    "INSERT INTO flow_versions (flow_id, version, document, sha256) "
    "SELECT f.id, coalesce((SELECT max(version) FROM flow_versions v WHERE v.flow_id = f.id), 0) + 1, "
    "       $2::jsonb, $3 FROM f RETURNING version";

const char *const store_admin_flow_newest_columns[FLOW_NEWEST_NCOLS + 1] = {
	"version", "document", "sha256", "sha_stored", NULL
};

const char store_admin_flow_newest_sql[] = "SELECT v.version, v.document::text AS document, v.sha256, "
    "  EXISTS (SELECT 1 FROM flow_versions o WHERE o.flow_id = f.id AND o.sha256 = $2) AS sha_stored "
    "FROM flow_versions v JOIN flows f ON f.id = v.flow_id WHERE f.name = $1 "
    "ORDER BY v.version DESC LIMIT 1";

const char store_admin_migrations_sql[] = "SELECT name FROM schema_migrations ORDER BY name";

const char store_admin_staff_unreachable_sql[] = "SELECT name, phone, "
    "to_char(unreachable_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS since, "
    "coalesce(unreachable_reason, '') AS reason "
    "FROM staff WHERE active AND unreachable_at IS NOT NULL ORDER BY name";

const char store_admin_oncall_gaps_sql[] = "WITH g AS (SELECT r FROM unnest("
    "tstzmultirange(tstzrange(now(), now() + interval '7 days')) - coalesce("
    "(SELECT range_agg(tstzrange(o.starts_at, o.ends_at)) FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
    "WHERE s.active AND s.unreachable_at IS NULL AND o.ends_at > now()), '{}'::tstzmultirange)) AS r "
    "WHERE upper(r) - lower(r) >= interval '1 minute') "
    "SELECT count(*) AS gaps, coalesce(string_agg(to_char(lower(r) AT TIME ZONE 'UTC', 'MM-DD HH24:MI') || '..' || "
    "to_char(upper(r) AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), ', ' ORDER BY lower(r)) "
    "FILTER (WHERE lower(r) < now() + interval '7 days'), '') AS spans, "
    "bool_or(lower(r) <= now() + interval '1 minute') AS uncovered_now FROM g";

const char store_admin_archiving_sql[] = "SELECT current_setting('archive_mode') AS archive_mode, "
    "archived_count, failed_count, "
    "coalesce(extract(epoch FROM now() - last_archived_time)::bigint, -1) AS archived_age_s, "
    "last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time) "
    "AS last_failed, coalesce(last_failed_wal, '') AS last_failed_wal FROM pg_stat_archiver";

const char store_admin_flow_versions_sql[] = "SELECT count(*) FROM flow_versions v JOIN flows f ON f.id = v.flow_id "
    "WHERE f.name = $1";

const char store_admin_partitions_sql[] = "SELECT "
    "(SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "  WHERE i.inhparent = 'messages'::regclass AND c.relname = 'messages_y' || "
    "  to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month', 'YYYY\"m\"MM')) AS next_month, "
    "(SELECT count(*) FROM messages_default) + (SELECT count(*) FROM escalation_events_default) AS in_default";

/* Not an E.164 number, with or without a channel prefix ("whatsapp:", phone.h). */
#define STORE_ADMIN_NOT_E164 " !~ '^([a-z]+:)?[+][1-9][0-9]{6,14}$'"

const char store_admin_numbers_sql[] = "SELECT "
    "(SELECT count(*) FROM conversations WHERE patient_number" STORE_ADMIN_NOT_E164 ") AS conversations, "
    "(SELECT count(*) FROM staff WHERE active AND phone" STORE_ADMIN_NOT_E164 ") AS staff";

const char store_admin_server_sql[] = "SELECT current_setting('server_version') AS version, "
    "current_database() AS database, current_user AS role";

const char store_admin_migrated_sql[] = "SELECT 1 FROM schema_migrations LIMIT 1";
