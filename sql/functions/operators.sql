-- operators.sql - operator accounts, sessions and the append-only audit
-- (handlers/api_operators.c, carenav operator).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

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

-- Who did it, as staff see it: a staff name, or the operator's token name.
CREATE OR REPLACE FUNCTION carenav_actor_name(p_actor text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_actor LIKE 'operator:%' THEN substr(p_actor, 10) ELSE coalesce(p_actor, '?') END
$$;

CREATE OR REPLACE FUNCTION carenav_operator_actions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_actions is an audit trail: rows cannot be changed or deleted';
END $$;

CREATE OR REPLACE TRIGGER operator_actions_immutable BEFORE UPDATE OR DELETE ON operator_actions
    FOR EACH ROW EXECUTE FUNCTION carenav_operator_actions_immutable();

CREATE OR REPLACE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON operator_actions
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

-- ---- An operator's console language (POST /api/me/language, carenav operator language) ----

-- The console languages: the ones operators.language accepts (022's CHECK).
CREATE OR REPLACE FUNCTION carenav_console_language_known(p_lang text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_lang IN ('en', 'es')
$$;

-- Sets p_name's language to p_lang for p_by (an operator's name, or "cli"):
-- 'ok', 'unchanged' (already so), 'not_found' or 'unknown_language'. A
-- change is audited as operator_language, detail "NAME: old -> new".
CREATE OR REPLACE FUNCTION carenav_operator_language_set(p_name text, p_lang text, p_by text,
                                                         p_client_addr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o operators;
BEGIN
    IF NOT carenav_console_language_known(p_lang) THEN
        RETURN 'unknown_language';
    END IF;
    SELECT * INTO o FROM operators WHERE name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF o.language = p_lang THEN
        RETURN 'unchanged';
    END IF;
    UPDATE operators SET language = p_lang WHERE id = o.id;
    PERFORM carenav_audit(p_by, 'operator_language', NULL, o.name || ': ' || o.language || ' -> ' || p_lang,
                          p_client_addr);
    RETURN 'ok';
END $$;
