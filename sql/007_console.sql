-- 007_console.sql - the operator API: reads as JSON documents, operator
-- actions as single statements, and the audit trail of those actions.
--
-- Every read returns one jsonb document the gateway passes through, so a
-- page of conversations is one round trip. Every action is one function
-- that checks the row's state under a row lock, changes it, and records
-- who did it (the operator token's name) in operator_actions in the same
-- transaction: an action that happened is always audited, and one refused
-- ('conflict', 'not_found') changes nothing.
--
-- Phone numbers leave these functions masked (carenav_mask_phone) except
-- in carenav_api_conversation, the one conversation an operator opened.

CREATE TABLE operator_actions (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    operator        text NOT NULL,     -- the token's name from OPERATOR_TOKENS
    action          text NOT NULL,     -- escalation_ack, escalation_resolve, callback_done,
                                       -- message_sent, handoff_start, handoff_end
    conversation_id bigint REFERENCES conversations (id),
    escalation_id   bigint REFERENCES escalations (id),
    callback_id     bigint REFERENCES callbacks (id),
    message_id      bigint REFERENCES messages (id),
    detail          text               -- never a message body or a full phone number
);
CREATE INDEX operator_actions_at ON operator_actions (at DESC);

CREATE INDEX escalations_conversation ON escalations (conversation_id, id);
CREATE INDEX callbacks_open ON callbacks (created_at) WHERE status = 'open';

-- The last four digits only, as in the gateway's logs ("***0100").
CREATE FUNCTION carenav_mask_phone(p_phone text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(p_phone) <= 4 THEN '***' ELSE '***' || right(p_phone, 4) END
$$;

-- Microseconds since the epoch: the exact key of keyset pagination.
CREATE FUNCTION carenav_epoch_us(p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM p_at) * 1000000)::bigint
$$;

-- One page of patient conversations, newest activity first.
--   p_status: '' (all), 'active', 'emergency', 'closed', 'handoff', 'escalated'
--   p_q: '' or text to find in the number (digits) or in any message
--   p_after_us/p_after_id: the cursor (NULL for the first page): rows strictly after
--   (last_activity_at, id) in the order, so a page never repeats a row of an
--   earlier page even while new messages move conversations to the top.
-- Returns {"conversations": [...], "next_cursor": "us.id" | null}.
CREATE FUNCTION carenav_api_conversations(p_status text, p_q text, p_limit integer,
                                          p_after_us bigint, p_after_id bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH page AS (
        SELECT c.*
          FROM conversations c
         WHERE c.kind = 'patient'
           AND (p_after_us IS NULL
                OR (c.last_activity_at, c.id) <
                   (timestamptz 'epoch' + p_after_us * interval '1 microsecond', p_after_id))
           AND CASE p_status
                 WHEN '' THEN true
                 WHEN 'handoff' THEN c.handoff
                 WHEN 'escalated' THEN EXISTS (SELECT 1 FROM escalations e
                                                WHERE e.conversation_id = c.id AND e.status = 'open')
                 ELSE c.status = p_status END
           AND (p_q = ''
                OR (regexp_replace(p_q, '[^0-9]', '', 'g') <> ''
                    AND c.patient_number LIKE '%' || regexp_replace(p_q, '[^0-9]', '', 'g') || '%')
                OR EXISTS (SELECT 1 FROM messages m
                            WHERE m.conversation_id = c.id
                              AND strpos(lower(m.body), lower(p_q)) > 0))
         ORDER BY c.last_activity_at DESC, c.id DESC
         LIMIT p_limit),
    items AS (
        SELECT p.last_activity_at, p.id, jsonb_build_object(
                   'id', p.id,
                   'patient', carenav_mask_phone(p.patient_number),
                   'status', p.status,
                   'language', p.language,
                   'handoff', p.handoff,
                   'opted_out', p.opted_out,
                   'created_at', p.created_at,
                   'last_activity_at', p.last_activity_at,
                   'message_count', (SELECT count(*) FROM messages m WHERE m.conversation_id = p.id),
                   'last_message', (SELECT jsonb_build_object('direction', m.direction,
                                               'preview', left(m.body, 80), 'at', m.created_at)
                                      FROM messages m WHERE m.conversation_id = p.id
                                     ORDER BY m.id DESC LIMIT 1),
                   'open_escalation', (SELECT jsonb_build_object('id', e.id, 'code', e.code,
                                                  'reason', e.reason, 'created_at', e.created_at)
                                         FROM escalations e
                                        WHERE e.conversation_id = p.id AND e.status = 'open'
                                        ORDER BY e.id DESC LIMIT 1)) AS doc
          FROM page p)
    SELECT jsonb_build_object(
        'conversations', coalesce((SELECT jsonb_agg(doc ORDER BY last_activity_at DESC, id DESC)
                                     FROM items), '[]'),
        'next_cursor', (SELECT carenav_epoch_us(last_activity_at)::text || '.' || id::text
                          FROM items
                         WHERE (SELECT count(*) FROM items) = p_limit
                         ORDER BY last_activity_at ASC, id ASC LIMIT 1))
$$;

-- One conversation with its full number, dialogue state, every message,
-- its escalations (with their audit trail) and call-back requests; NULL if unknown.
CREATE FUNCTION carenav_api_conversation(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id,
        'patient', c.patient_number,
        'patient_masked', carenav_mask_phone(c.patient_number),
        'service_number', c.service_number,
        'kind', c.kind,
        'status', c.status,
        'language', c.language,
        'handoff', c.handoff,
        'opted_out', c.opted_out,
        'version', c.version,
        'state', c.state,
        'flow_version_id', c.flow_version_id,
        'created_at', c.created_at,
        'last_activity_at', c.last_activity_at,
        'messages', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'id', m.id, 'direction', m.direction, 'body', m.body, 'status', m.status,
                        'sent_by', m.sent_by, 'error', m.error, 'num_media', m.num_media,
                        'created_at', m.created_at, 'status_updated_at', m.status_updated_at,
                        'escalation_id', m.escalation_id) ORDER BY m.id)
                    FROM messages m WHERE m.conversation_id = c.id), '[]'),
        'escalations', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'id', e.id, 'code', e.code, 'status', e.status, 'reason', e.reason,
                        'matched', e.matched, 'message_id', e.message_id, 'created_at', e.created_at,
                        'acknowledged_at', e.acknowledged_at, 'acknowledged_by', e.acknowledged_by,
                        'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by,
                        'resolution_note', e.resolution_note,
                        'events', coalesce((SELECT jsonb_agg(jsonb_build_object('at', ev.at,
                                        'event', ev.event, 'actor', ev.actor, 'step', ev.step)
                                        ORDER BY ev.id)
                                   FROM escalation_events ev WHERE ev.escalation_id = e.id), '[]'))
                        ORDER BY e.id)
                    FROM escalations e WHERE e.conversation_id = c.id), '[]'),
        'callbacks', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'id', b.id, 'reason', b.reason, 'status', b.status, 'created_at', b.created_at,
                        'done_at', b.done_at, 'done_by', b.done_by) ORDER BY b.id)
                    FROM callbacks b WHERE b.conversation_id = c.id), '[]'))
      FROM conversations c WHERE c.id = p_id
$$;

-- Escalations, open ones first then newest; p_open_only limits to open ones.
CREATE FUNCTION carenav_api_escalations(p_open_only boolean, p_limit integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('escalations', coalesce(jsonb_agg(doc ORDER BY ord, created_at DESC, id DESC), '[]'))
      FROM (SELECT e.id, e.created_at, CASE e.status WHEN 'open' THEN 0 ELSE 1 END AS ord,
                   jsonb_build_object(
                       'id', e.id, 'code', e.code, 'status', e.status,
                       'conversation_id', e.conversation_id,
                       'patient', carenav_mask_phone(c.patient_number),
                       'language', c.language,
                       'reason', e.reason, 'matched', e.matched,
                       'alert_rounds', e.step,
                       'created_at', e.created_at,
                       'age_seconds', floor(extract(epoch FROM now() - e.created_at))::bigint,
                       'acknowledged_at', e.acknowledged_at, 'acknowledged_by', e.acknowledged_by,
                       'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by) AS doc
              FROM escalations e JOIN conversations c ON c.id = e.conversation_id
             WHERE NOT p_open_only OR e.status = 'open'
             ORDER BY CASE e.status WHEN 'open' THEN 0 ELSE 1 END, e.created_at DESC, e.id DESC
             LIMIT p_limit) x
$$;

-- Call-back requests, oldest open first; p_status '' (all), 'open' or 'done'.
CREATE FUNCTION carenav_api_callbacks(p_status text, p_limit integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('callbacks', coalesce(jsonb_agg(doc ORDER BY ord, created_at, id), '[]'))
      FROM (SELECT b.id, b.created_at, CASE b.status WHEN 'open' THEN 0 ELSE 1 END AS ord,
                   jsonb_build_object(
                       'id', b.id, 'conversation_id', b.conversation_id,
                       'patient', carenav_mask_phone(c.patient_number),
                       'reason', b.reason, 'status', b.status, 'created_at', b.created_at,
                       'age_seconds', floor(extract(epoch FROM now() - b.created_at))::bigint,
                       'done_at', b.done_at, 'done_by', b.done_by) AS doc
              FROM callbacks b JOIN conversations c ON c.id = b.conversation_id
             WHERE p_status = '' OR b.status = p_status
             ORDER BY CASE b.status WHEN 'open' THEN 0 ELSE 1 END, b.created_at, b.id
             LIMIT p_limit) x
$$;

-- An operator acknowledges an open escalation: as a staff ACK (alert rounds
-- stop, the patient is told a nurse will call, p_texts is the flow's
-- ack_patient map), attributed to 'operator:<name>'.
-- Returns 'ok', 'not_found' or 'conflict' (not open any more).
CREATE FUNCTION carenav_api_escalation_ack(p_id bigint, p_operator text, p_provider text,
                                           p_texts jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    e escalations%ROWTYPE;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF NOT carenav_escalation_ack(p_id, 'operator:' || p_operator, NULL, p_provider, p_texts) THEN
        RETURN 'conflict';
    END IF;
    INSERT INTO operator_actions (operator, action, conversation_id, escalation_id, detail)
    VALUES (p_operator, 'escalation_ack', e.conversation_id, e.id, 'code ' || e.code);
    RETURN 'ok';
END $$;

-- Resolves an open or acknowledged escalation (no more alert rounds).
-- Returns 'ok', 'not_found' or 'conflict' (already resolved).
CREATE FUNCTION carenav_api_escalation_resolve(p_id bigint, p_operator text, p_note text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    e escalations%ROWTYPE;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF e.status = 'resolved' THEN
        RETURN 'conflict';
    END IF;
    UPDATE escalations SET status = 'resolved', resolved_at = now(),
           resolved_by = 'operator:' || p_operator, resolution_note = nullif(p_note, ''),
           next_due_at = NULL
     WHERE id = e.id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    VALUES (e.id, 'resolved', 'operator:' || p_operator, nullif(p_note, ''));
    INSERT INTO operator_actions (operator, action, conversation_id, escalation_id, detail)
    VALUES (p_operator, 'escalation_resolve', e.conversation_id, e.id, 'code ' || e.code);
    RETURN 'ok';
END $$;

-- Marks an open call-back request done. Returns 'ok', 'not_found' or 'conflict'.
CREATE FUNCTION carenav_api_callback_done(p_id bigint, p_operator text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    b callbacks%ROWTYPE;
BEGIN
    SELECT * INTO b FROM callbacks WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF b.status <> 'open' THEN
        RETURN 'conflict';
    END IF;
    UPDATE callbacks SET status = 'done', done_at = now(), done_by = 'operator:' || p_operator
     WHERE id = b.id;
    INSERT INTO operator_actions (operator, action, conversation_id, callback_id, detail)
    VALUES (p_operator, 'callback_done', b.conversation_id, b.id, b.reason);
    RETURN 'ok';
END $$;

-- An operator texts the patient: a message sent_by 'operator:<name>' through
-- the outbox (priority 5, ahead of automated replies). Returns
-- {"result": "ok", "message_id": n}, or {"result": "not_found" | "opted_out" | "staff"}.
CREATE FUNCTION carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text,
                                 p_body text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    c     conversations%ROWTYPE;
    v_msg bigint;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('result', 'not_found');
    END IF;
    IF c.kind <> 'patient' THEN
        RETURN jsonb_build_object('result', 'staff');
    END IF;
    IF c.opted_out THEN
        RETURN jsonb_build_object('result', 'opted_out');
    END IF;
    v_msg := carenav_queue_sms(c.id, p_provider, p_body, 'operator:' || p_operator, 5::smallint,
                               false, NULL);
    UPDATE conversations SET last_activity_at = now() WHERE id = c.id;
    INSERT INTO operator_actions (operator, action, conversation_id, message_id, detail)
    VALUES (p_operator, 'message_sent', c.id, v_msg, length(p_body)::text || ' characters');
    RETURN jsonb_build_object('result', 'ok', 'message_id', v_msg);
END $$;

-- Starts (p_active) or ends an operator handoff. While it lasts the dialogue
-- sends no automated replies (STOP/START and the emergency path still work).
-- The version bump makes a dialogue step loaded before the change conflict
-- and reload, so no step commits with the old setting.
-- Returns 'ok', 'unchanged' or 'not_found'.
CREATE FUNCTION carenav_api_handoff(p_conversation_id bigint, p_operator text, p_active boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF c.handoff = p_active THEN
        RETURN 'unchanged';
    END IF;
    UPDATE conversations SET handoff = p_active, version = version + 1 WHERE id = c.id;
    INSERT INTO operator_actions (operator, action, conversation_id)
    VALUES (p_operator, CASE WHEN p_active THEN 'handoff_start' ELSE 'handoff_end' END, c.id);
    RETURN 'ok';
END $$;

-- The newest operator actions, for the console's audit view.
CREATE FUNCTION carenav_api_audit(p_limit integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('actions', coalesce(jsonb_agg(jsonb_build_object(
               'id', a.id, 'at', a.at, 'operator', a.operator, 'action', a.action,
               'conversation_id', a.conversation_id, 'escalation_id', a.escalation_id,
               'callback_id', a.callback_id, 'message_id', a.message_id, 'detail', a.detail)
               ORDER BY a.id DESC), '[]'))
      FROM (SELECT * FROM operator_actions ORDER BY id DESC LIMIT p_limit) a
$$;
