-- 022_operators.sql - operator accounts, roles, sessions, API tokens, and
-- an audit trail that covers reads and cannot be rewritten.
--
-- Secrets are never stored: passwords as Argon2id strings (libsodium's
-- crypto_pwhash_str, computed by the gateway), API tokens and session ids
-- as SHA-256 hex digests of 32 random bytes. Every API request with such a
-- credential looks it up here (carenav_operator_auth), so disabling an
-- operator or revoking a token takes effect on the next request, on every
-- gateway, without a restart.
--
-- Lock-out is per account (failed_logins, locked_until): repeated wrong
-- passwords for one name never lock out another operator.
--
-- operator_actions (007) becomes the audit of reads too: who, when, what,
-- from which client address. A trigger refuses UPDATE and DELETE on it.

CREATE TABLE operators (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    role           text NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    password_hash  text,                 -- Argon2id string; NULL: token-only account
    totp_secret    text,                 -- base32 RFC 6238 secret; NULL: no second factor
    language       text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es')),
    disabled       boolean NOT NULL DEFAULT false,
    failed_logins  integer NOT NULL DEFAULT 0,   -- consecutive, reset by a good login
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operator_tokens (
    id           bigserial PRIMARY KEY,
    operator_id  bigint NOT NULL REFERENCES operators (id),
    token_sha256 text NOT NULL UNIQUE,   -- hex digest of the token; the token itself is shown once
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operator_sessions (
    id           bigserial PRIMARY KEY,
    operator_id  bigint NOT NULL REFERENCES operators (id),
    sid_sha256   text NOT NULL UNIQUE,   -- hex digest of the cookie's value
    csrf         text NOT NULL,          -- X-CSRF-Token of this session (not a login secret)
    client_addr  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);

ALTER TABLE operator_actions ADD COLUMN client_addr text;

CREATE OR REPLACE FUNCTION carenav_operator_actions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_actions is an audit trail: rows cannot be changed or deleted';
END $$;

DROP TRIGGER IF EXISTS operator_actions_immutable ON operator_actions;
CREATE TRIGGER operator_actions_immutable BEFORE UPDATE OR DELETE ON operator_actions
    FOR EACH ROW EXECUTE FUNCTION carenav_operator_actions_immutable();
DROP TRIGGER IF EXISTS operator_actions_no_truncate ON operator_actions;
CREATE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON operator_actions
    FOR EACH STATEMENT EXECUTE FUNCTION carenav_operator_actions_immutable();

-- One audited action or read (detail: never a message body or a full number).
-- The console polls an open conversation every few seconds: a repeat of the
-- same read (conversation_open, search) by the same operator within 5
-- minutes of the last such row is not written again; everything else is.
CREATE OR REPLACE FUNCTION carenav_audit(p_operator text, p_action text, p_conversation_id bigint,
                                         p_detail text, p_client_addr text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO operator_actions (operator, action, conversation_id, detail, client_addr)
    SELECT p_operator, p_action, (SELECT id FROM conversations WHERE id = p_conversation_id),
           p_detail, nullif(p_client_addr, '')
     WHERE p_action NOT IN ('conversation_open', 'search')
        OR NOT EXISTS (SELECT 1 FROM operator_actions a
                        WHERE a.at > now() - interval '5 minutes'
                          AND a.operator = p_operator AND a.action = p_action
                          AND a.conversation_id IS NOT DISTINCT FROM p_conversation_id
                          AND a.detail IS NOT DISTINCT FROM p_detail
                          AND a.client_addr IS NOT DISTINCT FROM nullif(p_client_addr, ''))
$$;
CREATE INDEX IF NOT EXISTS operator_actions_operator_at ON operator_actions (operator, at DESC);

-- Who a credential belongs to: p_kind 'token' or 'session', p_sha256 the
-- hex digest of what the client presented. A session idle for longer than
-- p_idle_s or older than p_absolute_s ends here. Returns one row
-- (name, role, csrf, language) or none. last_used_at / last_seen_at are
-- written at most every 10 s, so a polling console does not write a row
-- per request (the idle timeout is that much coarser).
CREATE OR REPLACE FUNCTION carenav_operator_auth(p_kind text, p_sha256 text, p_idle_s integer,
                                                 p_absolute_s integer)
RETURNS TABLE (name text, role text, csrf text, language text)
LANGUAGE plpgsql AS $$
DECLARE
    s operator_sessions;
    t operator_tokens;
BEGIN
    IF p_kind = 'token' THEN
        SELECT * INTO t FROM operator_tokens
         WHERE token_sha256 = p_sha256 AND revoked_at IS NULL AND expires_at > now();
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF t.last_used_at IS NULL OR t.last_used_at < now() - interval '10 seconds' THEN
            UPDATE operator_tokens SET last_used_at = now() WHERE id = t.id;
        END IF;
        RETURN QUERY SELECT o.name, o.role, NULL::text, o.language
                       FROM operators o WHERE o.id = t.operator_id AND NOT o.disabled;
        RETURN;
    END IF;
    SELECT * INTO s FROM operator_sessions WHERE sid_sha256 = p_sha256 AND ended_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF s.last_seen_at < now() - make_interval(secs => p_idle_s)
       OR s.created_at < now() - make_interval(secs => p_absolute_s) THEN
        UPDATE operator_sessions SET ended_at = now() WHERE id = s.id AND ended_at IS NULL;
        RETURN;
    END IF;
    IF s.last_seen_at < now() - interval '10 seconds' THEN
        UPDATE operator_sessions SET last_seen_at = now() WHERE id = s.id;
    END IF;
    RETURN QUERY SELECT o.name, o.role, s.csrf, o.language
                   FROM operators o WHERE o.id = s.operator_id AND NOT o.disabled;
END $$;

-- A sign-in's first half: what the gateway needs to check the password.
-- status: 'ok', 'unknown' (no such enabled account with a password), 'locked'.
CREATE OR REPLACE FUNCTION carenav_operator_login_get(p_name text)
RETURNS TABLE (status text, password_hash text, totp_secret text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN o.id IS NULL OR o.disabled OR o.password_hash IS NULL THEN 'unknown'
                WHEN o.locked_until > now() THEN 'locked'
                ELSE 'ok' END,
           o.password_hash, o.totp_secret
      FROM (SELECT 1) one
      LEFT JOIN operators o ON o.name = p_name
$$;

-- A sign-in's second half. On success: a new session (p_sid_sha256, p_csrf)
-- and the failure count reset; on failure: the count goes up and reaching
-- p_max_failures locks this account (only) for p_lockout_s. Audited either
-- way. Returns 'ok', 'failed', 'locked' or 'unknown'.
CREATE OR REPLACE FUNCTION carenav_operator_login_result(p_name text, p_ok boolean, p_max_failures integer,
                                                         p_lockout_s integer, p_sid_sha256 text,
                                                         p_csrf text, p_client_addr text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o operators;
BEGIN
    SELECT * INTO o FROM operators WHERE name = p_name AND NOT disabled FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM carenav_audit(left(p_name, 32), 'login_failed', NULL, 'unknown account', p_client_addr);
        RETURN 'unknown';
    END IF;
    IF o.locked_until > now() THEN
        PERFORM carenav_audit(o.name, 'login_failed', NULL, 'account locked', p_client_addr);
        RETURN 'locked';
    END IF;
    IF NOT p_ok THEN
        UPDATE operators SET failed_logins = CASE WHEN failed_logins + 1 >= p_max_failures THEN 0
                                                  ELSE failed_logins + 1 END,
               locked_until = CASE WHEN failed_logins + 1 >= p_max_failures
                                   THEN now() + make_interval(secs => p_lockout_s) END
         WHERE id = o.id;
        PERFORM carenav_audit(o.name, 'login_failed', NULL, 'wrong password or code', p_client_addr);
        RETURN 'failed';
    END IF;
    UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE id = o.id;
    INSERT INTO operator_sessions (operator_id, sid_sha256, csrf, client_addr)
    VALUES (o.id, p_sid_sha256, p_csrf, nullif(p_client_addr, ''));
    PERFORM carenav_audit(o.name, 'login', NULL, NULL, p_client_addr);
    RETURN 'ok';
END $$;

-- Ends a session (sign-out).
CREATE OR REPLACE FUNCTION carenav_operator_logout(p_sid_sha256 text, p_client_addr text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    who text;
BEGIN
    UPDATE operator_sessions s SET ended_at = now()
      FROM operators o
     WHERE s.sid_sha256 = p_sid_sha256 AND s.ended_at IS NULL AND o.id = s.operator_id
    RETURNING o.name INTO who;
    IF who IS NOT NULL THEN
        PERFORM carenav_audit(who, 'logout', NULL, NULL, p_client_addr);
    END IF;
END $$;

-- The audit trail for admins: newest first, with where each came from.
CREATE OR REPLACE FUNCTION carenav_api_audit(p_limit integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('actions', coalesce(jsonb_agg(jsonb_build_object(
               'id', a.id, 'at', a.at, 'operator', a.operator, 'action', a.action,
               'conversation_id', a.conversation_id, 'escalation_id', a.escalation_id,
               'callback_id', a.callback_id, 'message_id', a.message_id, 'detail', a.detail,
               'client_addr', a.client_addr)
               ORDER BY a.id DESC), '[]'))
      FROM (SELECT * FROM operator_actions ORDER BY id DESC LIMIT p_limit) a
$$;

-- One CSV field: quoted, quotes doubled, and a leading = + - @ (a formula
-- to a spreadsheet) defused with an apostrophe.
CREATE OR REPLACE FUNCTION carenav_csv(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '"' || replace(CASE WHEN p ~ '^[=+@\t\r-]' THEN '''' || p ELSE coalesce(p, '') END,
                          '"', '""') || '"'
$$;

-- An export as CSV text (header line first). p_kind: conversations,
-- messages or escalations; rows created in [p_from, p_to); numbers masked
-- unless p_full. At most p_limit rows.
CREATE OR REPLACE FUNCTION carenav_api_export(p_kind text, p_from timestamptz, p_to timestamptz,
                                              p_full boolean, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    out text;
BEGIN
    IF p_kind = 'conversations' THEN
        SELECT 'id,patient,status,language,handoff,opted_out,created_at,last_activity_at' || E'\n' ||
               coalesce(string_agg(concat_ws(',', c.id,
                   carenav_csv(CASE WHEN p_full THEN c.patient_number
                                    ELSE carenav_mask_phone(c.patient_number) END),
                   carenav_csv(c.status), carenav_csv(c.language), c.handoff, c.opted_out,
                   carenav_csv(c.created_at::text), carenav_csv(c.last_activity_at::text)), E'\n'
                   ORDER BY c.id) || E'\n', '')
          INTO out
          FROM (SELECT * FROM conversations
                 WHERE kind = 'patient' AND created_at >= p_from AND created_at < p_to
                 ORDER BY id LIMIT p_limit) c;
    ELSIF p_kind = 'messages' THEN
        SELECT 'id,conversation_id,direction,from,to,status,sent_by,created_at,body' || E'\n' ||
               coalesce(string_agg(concat_ws(',', m.id, m.conversation_id, carenav_csv(m.direction),
                   carenav_csv(CASE WHEN p_full THEN m.from_number ELSE carenav_mask_phone(m.from_number) END),
                   carenav_csv(CASE WHEN p_full THEN m.to_number ELSE carenav_mask_phone(m.to_number) END),
                   carenav_csv(m.status), carenav_csv(m.sent_by), carenav_csv(m.created_at::text),
                   carenav_csv(m.body)), E'\n' ORDER BY m.id) || E'\n', '')
          INTO out
          FROM (SELECT * FROM messages
                 WHERE created_at >= p_from AND created_at < p_to
                 ORDER BY id LIMIT p_limit) m;
    ELSIF p_kind = 'escalations' THEN
        SELECT 'id,code,conversation_id,patient,reason,status,created_at,acknowledged_at,acknowledged_by,'
               'resolved_at,resolved_by' || E'\n' ||
               coalesce(string_agg(concat_ws(',', e.id, carenav_csv(e.code), e.conversation_id,
                   carenav_csv(CASE WHEN p_full THEN c.patient_number
                                    ELSE carenav_mask_phone(c.patient_number) END),
                   carenav_csv(e.reason), carenav_csv(e.status), carenav_csv(e.created_at::text),
                   carenav_csv(e.acknowledged_at::text), carenav_csv(e.acknowledged_by),
                   carenav_csv(e.resolved_at::text), carenav_csv(e.resolved_by)), E'\n'
                   ORDER BY e.id) || E'\n', '')
          INTO out
          FROM (SELECT * FROM escalations
                 WHERE created_at >= p_from AND created_at < p_to
                 ORDER BY id LIMIT p_limit) e
          JOIN conversations c ON c.id = e.conversation_id;
    ELSE
        RETURN NULL;
    END IF;
    RETURN out;
END $$;

-- The overview: per day (UTC) for the last p_days days, texts in and out,
-- new conversations, red flags (escalations raised by a patient's text),
-- escalations, call-back requests, and the median and 90th percentile of
-- seconds to acknowledge; plus what is open or in progress now.
CREATE OR REPLACE FUNCTION carenav_api_overview(p_days integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH days AS (
        SELECT d::date AS day
          FROM generate_series((now() AT TIME ZONE 'UTC')::date - (p_days - 1),
                               (now() AT TIME ZONE 'UTC')::date, interval '1 day') d),
    bounds AS (SELECT (min(day)::timestamp AT TIME ZONE 'UTC') AS since FROM days),
    msg AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
               count(*) FILTER (WHERE direction = 'in') AS texts_in,
               count(*) FILTER (WHERE direction = 'out') AS texts_out
          FROM messages, bounds WHERE created_at >= bounds.since GROUP BY 1),
    conv AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
          FROM conversations, bounds WHERE kind = 'patient' AND created_at >= bounds.since GROUP BY 1),
    esc AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n,
               count(*) FILTER (WHERE message_id IS NOT NULL) AS red_flags,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at))
                   FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at))
                   FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_p90
          FROM escalations, bounds WHERE created_at >= bounds.since GROUP BY 1),
    cb AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
          FROM callbacks, bounds WHERE created_at >= bounds.since GROUP BY 1)
    SELECT jsonb_build_object(
        'days', (SELECT jsonb_agg(jsonb_build_object(
                     'day', d.day,
                     'texts_in', coalesce(msg.texts_in, 0),
                     'texts_out', coalesce(msg.texts_out, 0),
                     'conversations', coalesce(conv.n, 0),
                     'red_flags', coalesce(esc.red_flags, 0),
                     'escalations', coalesce(esc.n, 0),
                     'callbacks', coalesce(cb.n, 0),
                     'ack_median_s', round(esc.ack_p50::numeric, 1),
                     'ack_p90_s', round(esc.ack_p90::numeric, 1)) ORDER BY d.day)
                   FROM days d
                   LEFT JOIN msg ON msg.day = d.day
                   LEFT JOIN conv ON conv.day = d.day
                   LEFT JOIN esc ON esc.day = d.day
                   LEFT JOIN cb ON cb.day = d.day),
        'now', jsonb_build_object(
            'escalations_open', (SELECT count(*) FROM escalations WHERE status = 'open'),
            'escalations_in_progress', (SELECT count(*) FROM escalations WHERE status = 'acknowledged'),
            'callbacks_open', (SELECT count(*) FROM callbacks WHERE status = 'open'),
            'conversations_active', (SELECT count(*) FROM conversations
                                      WHERE kind = 'patient' AND status IN ('active', 'emergency')),
            'handoffs', (SELECT count(*) FROM conversations WHERE kind = 'patient' AND handoff)))
$$;

-- Operator accounts for admins (no secret leaves): name, role, state, tokens, last seen.
CREATE OR REPLACE FUNCTION carenav_api_operators() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('operators', coalesce(jsonb_agg(jsonb_build_object(
               'id', o.id, 'name', o.name, 'role', o.role, 'language', o.language,
               'state', CASE WHEN o.disabled THEN 'disabled'
                             WHEN o.locked_until > now() THEN 'locked' ELSE 'active' END,
               'password', o.password_hash IS NOT NULL,
               'totp', o.totp_secret IS NOT NULL,
               'tokens', (SELECT count(*) FROM operator_tokens t WHERE t.operator_id = o.id
                             AND t.revoked_at IS NULL AND t.expires_at > now()),
               'last_seen_at', greatest((SELECT max(last_seen_at) FROM operator_sessions s
                                          WHERE s.operator_id = o.id),
                                        (SELECT max(last_used_at) FROM operator_tokens t
                                          WHERE t.operator_id = o.id)),
               'created_at', o.created_at) ORDER BY o.name), '[]'))
      FROM operators o
$$;

-- An admin disables an account from the API: its sessions end and its
-- tokens stop at once. 'ok', 'unchanged' or 'not_found'; audited.
CREATE OR REPLACE FUNCTION carenav_api_operator_disable(p_id bigint, p_by text, p_client_addr text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o operators;
BEGIN
    SELECT * INTO o FROM operators WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF o.disabled THEN
        RETURN 'unchanged';
    END IF;
    UPDATE operators SET disabled = true WHERE id = o.id;
    UPDATE operator_sessions SET ended_at = now() WHERE operator_id = o.id AND ended_at IS NULL;
    PERFORM carenav_audit(p_by, 'operator_disable', NULL, o.name, p_client_addr);
    RETURN 'ok';
END $$;
