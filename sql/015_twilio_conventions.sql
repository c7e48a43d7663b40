-- 015_twilio_conventions.sql - Twilio's conventions (issue #15).
--
-- 1. Twilio's OptOutType webhook parameter (STOP, START, HELP: the keyword
--    Twilio recognised in the text, by its own or the Messaging Service's
--    Advanced Opt-Out list) is stored with the inbound message and handed
--    to the dialogue step as an explicit keyword. First, so the only table
--    lock this migration takes is the one it needs (no other DDL here).
-- 2. The order of delivery statuses (docs/api.md, "Delivery status"):
--      accepted = scheduled = queued < sending < sent
--        < failed = undelivered = canceled < partially_delivered < delivered < read
--    A report moves a message only forward (or sideways among equals: the
--    later one wins). So a "delivered" after "failed" wins (the carrier
--    retried) and an "undelivered" after "delivered" is ignored. Reaching
--    delivered or read clears the error code. receiving and received are
--    statuses of inbound messages: such a report is stored and answered
--    2xx (a 4xx makes Twilio retry and alert) but moves nothing.
-- 3. The provider's answer to a send may say it only queued the message
--    (Twilio: 201 with status queued, or accepted with a Messaging Service):
--    recorded as that status, not 'sent'; the status callback moves it on.
--    The retention purge keeps the bodies of replies still in our outbox
--    (queued without a provider id), no longer of those the provider took.
-- 4. Twilio error 21610 (the recipient has unsubscribed, e.g. by texting
--    STOP to Twilio itself) on an ordinary dialogue reply: the reply fails
--    and the patient's conversation is marked opted out, which suppresses
--    their queued replies (014's trigger) and makes the dialogue silent.

ALTER TABLE messages ADD COLUMN opt_out_type text
    CHECK (opt_out_type IN ('STOP', 'START', 'HELP'));  -- inbound: the provider's keyword signal, or NULL

-- 2. Status order.
CREATE OR REPLACE FUNCTION carenav_status_rank(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_status
        WHEN 'queued' THEN 1 WHEN 'accepted' THEN 1 WHEN 'scheduled' THEN 1
        WHEN 'sending' THEN 2
        WHEN 'sent' THEN 3
        WHEN 'failed' THEN 4 WHEN 'undelivered' THEN 4 WHEN 'canceled' THEN 4
        WHEN 'partially_delivered' THEN 5
        WHEN 'delivered' THEN 6
        WHEN 'read' THEN 7
        ELSE 0 END
$$;

-- The error a report leaves on a message: none once it arrived, else the
-- report's code, else what was there.
CREATE OR REPLACE FUNCTION carenav_report_error(p_status text, p_error_code text, p_old text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_status IN ('delivered', 'read') THEN NULL
                ELSE coalesce(nullif(p_error_code, ''), p_old) END
$$;

-- As in 012, with the error cleared on delivery; statuses that rank 0
-- (receiving, received, anything unknown) never move a message.
CREATE OR REPLACE FUNCTION carenav_delivery_report(p_provider text, p_sid text, p_status text,
                                                   p_error_code text)
RETURNS boolean
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_found boolean := false;
BEGIN
    INSERT INTO delivery_reports (provider, provider_sid, status, error_code)
    VALUES (p_provider, p_sid, p_status, nullif(p_error_code, ''));
    IF p_provider = 'kannel' AND p_sid ~ '^K[0-9]{1,18}$' THEN
        UPDATE messages m SET status = p_status, provider_sid = p_sid,
                              error = carenav_report_error(p_status, p_error_code, m.error),
                              status_updated_at = now()
          FROM outbox o
         WHERE o.id = substr(p_sid, 2)::bigint AND m.id = o.message_id
           AND m.created_at = o.message_created_at AND m.direction = 'out'
           AND carenav_status_rank(p_status) > 0
           AND carenav_status_rank(p_status) >= carenav_status_rank(m.status);
        v_found := FOUND;
    END IF;
    IF NOT v_found THEN
        UPDATE messages SET status = p_status, error = carenav_report_error(p_status, p_error_code, error),
                            status_updated_at = now()
         WHERE direction = 'out' AND provider_sid = p_sid
           AND carenav_status_rank(p_status) > 0
           AND carenav_status_rank(p_status) >= carenav_status_rank(status);
    END IF;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id,
           CASE WHEN p_status IN ('delivered', 'read') THEN 'alert_delivered' ELSE 'alert_failed' END,
           'provider', m.to_number || ': ' || p_status
      FROM messages m
     WHERE m.direction = 'out' AND m.provider_sid = p_sid AND m.sent_by = 'alert'
       AND p_status IN ('delivered', 'read', 'undelivered', 'failed');
    RETURN EXISTS (SELECT 1 FROM messages WHERE direction = 'out' AND provider_sid = p_sid);
END $$;

-- 3. The provider accepted the reply, saying p_status ('sent', or 'queued',
-- 'accepted', 'scheduled' when it only queued it). As 012's, which stays
-- for gateways not yet upgraded.
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text)
RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_msg    bigint;
    v_at     timestamptz;
    v_status text := CASE WHEN carenav_status_rank(p_status) BETWEEN 1 AND 3 THEN p_status ELSE 'sent' END;
BEGIN
    UPDATE outbox SET state = 'done', lease_until = NULL, last_error = NULL
     WHERE id = p_outbox_id RETURNING message_id, message_created_at INTO v_msg, v_at;
    -- 'queued' ranks with our own outbox's 'queued': the provider id tells them apart.
    UPDATE messages SET status = v_status, provider_sid = nullif(p_provider_sid, ''),
                        status_updated_at = now()
     WHERE id = v_msg AND created_at = v_at AND carenav_status_rank(status) <= carenav_status_rank('sent');
    -- A delivery report that arrived before this commit (008).
    UPDATE messages m SET status = r.status, error = carenav_report_error(r.status, r.error_code, m.error),
                          status_updated_at = now()
      FROM (SELECT status, error_code FROM delivery_reports
             WHERE provider_sid = p_provider_sid ORDER BY id DESC LIMIT 1) r
     WHERE m.id = v_msg AND m.created_at = v_at
       AND carenav_status_rank(r.status) > 0
       AND carenav_status_rank(r.status) >= carenav_status_rank(m.status);
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id, 'alert_sent', 'gateway', m.to_number
      FROM messages m WHERE m.id = v_msg AND m.created_at = v_at AND m.sent_by = 'alert';
END $$;

CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
LANGUAGE sql AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, 'sent');
$$;

-- As 009's, each item may carry the provider's "status".
--   p_items: [{"id": outbox id, "sid": provider's message id, "status": ...}, ...]
CREATE OR REPLACE FUNCTION carenav_outbox_sent_batch(p_items jsonb)
RETURNS TABLE (ord integer, done boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    e record;
BEGIN
    FOR e IN SELECT x.s, x.i::integer AS i
               FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)
              ORDER BY (x.s->>'id')::bigint LOOP
        PERFORM carenav_outbox_sent((e.s->>'id')::bigint, e.s->>'sid', coalesce(e.s->>'status', 'sent'));
        ord := e.i;
        done := true;
        RETURN NEXT;
    END LOOP;
END $$;

-- As 010's, but a reply the provider has taken (it has a provider id) is
-- no longer "not yet sent" even while the provider says queued.
CREATE OR REPLACE FUNCTION carenav_retention_purge(p_days integer, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    IF p_days <= 0 OR NOT pg_try_advisory_xact_lock(727469) THEN
        RETURN 0;
    END IF;
    WITH victims AS (
        SELECT id, created_at FROM messages
         WHERE purged_at IS NULL AND created_at < now() - make_interval(days => p_days)
           AND NOT (direction = 'in' AND processed_at IS NULL)
           AND NOT (direction = 'out' AND status = 'queued' AND provider_sid IS NULL)
         ORDER BY created_at
         LIMIT p_limit)
    UPDATE messages m SET body = '', purged_at = now()
      FROM victims v
     WHERE m.id = v.id AND m.created_at = v.created_at;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

-- 4. A permanent failure because the recipient unsubscribed (Twilio 21610).
-- Recorded as any failure; if the reply was an ordinary dialogue reply to a
-- patient, their conversation is opted out as if they had texted STOP to
-- us: 014's trigger suppresses their queued replies, and the dialogue state
-- says opted out, so the engine stays silent until START (the version bump
-- makes a step loaded before this commit fail with 'conflict' and reload).
-- Staff alerts, the emergency instruction (a conversation in emergency) and
-- compliance texts are left as any failure. Returns whether it opted out.
CREATE OR REPLACE FUNCTION carenav_outbox_unsubscribed(p_outbox_id bigint, p_error text)
RETURNS boolean
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    o outbox%ROWTYPE;
BEGIN
    SELECT * INTO o FROM outbox WHERE id = p_outbox_id;
    PERFORM carenav_outbox_failed(p_outbox_id, p_error);
    IF o.id IS NULL OR o.compliance THEN
        RETURN false;
    END IF;
    UPDATE conversations c
       SET opted_out = true, state = jsonb_set(c.state, '{opted_out}', 'true'), version = c.version + 1
      FROM messages m
     WHERE c.id = o.conversation_id AND m.id = o.message_id AND m.created_at = o.message_created_at
       AND m.sent_by = 'dialogue' AND c.kind = 'patient' AND c.status <> 'emergency'
       AND NOT c.opted_out;
    RETURN FOUND;
END $$;

-- 1. Accepting an inbound message with the provider's keyword signal.
CREATE OR REPLACE FUNCTION carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text,
                                                  p_body text, p_num_media integer,
                                                  p_opt_out_type text)
RETURNS TABLE (message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    v_conv bigint;
    v_msg  bigint;
BEGIN
    SELECT c.id INTO v_conv FROM conversations c
     WHERE c.patient_number = p_from AND c.service_number = p_to FOR UPDATE;
    IF v_conv IS NULL THEN
        INSERT INTO conversations (patient_number, service_number, kind)
        VALUES (p_from, p_to, CASE WHEN carenav_is_staff(p_from) THEN 'staff' ELSE 'patient' END)
        ON CONFLICT (patient_number, service_number) DO NOTHING
        RETURNING id INTO v_conv;
        IF v_conv IS NULL THEN
            SELECT c.id INTO v_conv FROM conversations c
             WHERE c.patient_number = p_from AND c.service_number = p_to FOR UPDATE;
        END IF;
    END IF;
    INSERT INTO inbound_ids AS i (provider, provider_sid, message_id, conversation_id)
    VALUES (p_provider, p_sid, nextval('messages_id_seq'), v_conv)
    ON CONFLICT (provider, provider_sid) DO NOTHING
    RETURNING i.message_id INTO v_msg;
    IF v_msg IS NULL THEN
        RETURN QUERY SELECT i.message_id, i.conversation_id, false FROM inbound_ids i
         WHERE i.provider = p_provider AND i.provider_sid = p_sid;
        RETURN;
    END IF;
    INSERT INTO messages (id, conversation_id, direction, provider, provider_sid, from_number,
                          to_number, body, num_media, status, opt_out_type)
    VALUES (v_msg, v_conv, 'in', p_provider, p_sid, p_from, p_to, p_body, p_num_media, 'received',
            nullif(p_opt_out_type, ''));
    RETURN QUERY SELECT v_msg, v_conv, true;
END $$;

CREATE OR REPLACE FUNCTION carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text,
                                                  p_body text, p_num_media integer)
RETURNS TABLE (message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE sql AS $$
    SELECT * FROM carenav_inbound_accept(p_provider, p_sid, p_from, p_to, p_body, p_num_media, NULL::text);
$$;

-- As 009's, each element may carry "opt_out_type".
CREATE OR REPLACE FUNCTION carenav_inbound_accept_batch(p_msgs jsonb)
RETURNS TABLE (ord integer, message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    e record;
    r record;
BEGIN
    PERFORM 1 FROM conversations c
      WHERE (c.patient_number, c.service_number) IN
            (SELECT x.m->>'from', x.m->>'to' FROM jsonb_array_elements(p_msgs) AS x (m))
      ORDER BY c.id
        FOR UPDATE;
    FOR e IN SELECT x.m, x.i::integer AS i
               FROM jsonb_array_elements(p_msgs) WITH ORDINALITY AS x (m, i)
              ORDER BY x.m->>'from', x.m->>'to', x.i LOOP
        SELECT * INTO r FROM carenav_inbound_accept(e.m->>'provider', e.m->>'sid', e.m->>'from',
                                                    e.m->>'to', e.m->>'body',
                                                    (e.m->>'num_media')::integer,
                                                    e.m->>'opt_out_type');
        ord := e.i;
        message_id := r.message_id;
        conversation_id := r.conversation_id;
        is_new := r.is_new;
        RETURN NEXT;
    END LOOP;
END $$;

-- The step loader of 006 with the message's opt_out_type as a last column.
DROP FUNCTION carenav_step_load_batch(jsonb, text);
DROP FUNCTION carenav_step_load(bigint, text, bigint);

CREATE FUNCTION carenav_step_load(p_conversation_id bigint, p_default_flow text, p_window_ms bigint)
RETURNS TABLE (version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
LANGUAGE sql STABLE AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint,
           CASE WHEN carenav_is_staff(c.patient_number) THEN 'staff' ELSE 'patient' END,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1),
           (SELECT count(*) FROM messages w
             WHERE w.conversation_id = c.id AND w.direction = 'in' AND w.id <= m.id
               AND w.created_at > m.created_at - p_window_ms * interval '1 millisecond'),
           c.status, m.opt_out_type
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
     ORDER BY m.id
     LIMIT 1
$$;

CREATE FUNCTION carenav_step_load_batch(p_items jsonb, p_default_flow text)
RETURNS TABLE (ord integer, version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    SELECT x.i::integer, s.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (e, i)
     CROSS JOIN LATERAL carenav_step_load((x.e->>'id')::bigint, p_default_flow,
                                          coalesce((x.e->>'window_ms')::bigint, 60000)) AS s;
END $$;
