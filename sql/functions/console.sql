-- console.sql - the operator console and API reads and actions, metrics
-- (handlers/api_*.c).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

-- The last four digits only, as in the gateway's logs ("***0100").
CREATE OR REPLACE FUNCTION carenav_mask_phone(p_phone text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(p_phone) <= 4 THEN '***' ELSE '***' || right(p_phone, 4) END
$$;

-- Microseconds since the epoch: the exact key of keyset pagination.
CREATE OR REPLACE FUNCTION carenav_epoch_us(p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM p_at) * 1000000)::bigint
$$;

-- One page of patient conversations, newest activity first.
--   p_status: '' (all), 'active', 'emergency', 'closed', 'handoff', 'escalated'
--   p_q: '' or text to find in the number (digits) or in any message
--   p_after_us/p_after_id: the cursor (NULL for the first page): rows strictly after
--   (last_activity_at, id) in the order, so a page never repeats a row of an
--   earlier page even while new messages move conversations to the top.
-- An acknowledged escalation still counts as one: the 'escalated' filter and
-- open_escalation (with its status and owner) keep a conversation someone
-- is handling until it is resolved.
-- Returns {"conversations": [...], "next_cursor": "us.id" | null}.
CREATE OR REPLACE FUNCTION carenav_api_conversations(p_status text, p_q text, p_limit integer,
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
                                                WHERE e.conversation_id = c.id AND e.status <> 'resolved')
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
                                                  'reason', e.reason, 'created_at', e.created_at,
                                                  'status', e.status,
                                                  'owner', carenav_actor_name(e.acknowledged_by))
                                         FROM escalations e
                                        WHERE e.conversation_id = p.id AND e.status <> 'resolved'
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

-- One conversation with its full number, dialogue state, every message
-- (with purged_at: NULL while the body is as written), its escalations with
-- their audit trail (events with detail and staff id, so problems show:
-- staff whose number was refused, an emergency text that did not reach the
-- patient; carenav_api_escalation_doc lists them too) and call-back
-- requests; NULL if unknown (docs/api.md).
CREATE OR REPLACE FUNCTION carenav_api_conversation(p_id bigint) RETURNS jsonb
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
                        'escalation_id', m.escalation_id, 'purged_at', m.purged_at) ORDER BY m.id)
                    FROM messages m WHERE m.conversation_id = c.id), '[]'),
        'escalations', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'id', e.id, 'code', e.code, 'status', e.status, 'reason', e.reason,
                        'matched', e.matched, 'message_id', e.message_id, 'created_at', e.created_at,
                        'acknowledged_at', e.acknowledged_at, 'acknowledged_by', e.acknowledged_by,
                        'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by,
                        'resolution_note', e.resolution_note,
                        'events', coalesce((SELECT jsonb_agg(jsonb_build_object('at', ev.at,
                                        'event', ev.event, 'actor', ev.actor, 'step', ev.step,
                                        'detail', ev.detail, 'staff_id', ev.staff_id)
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
CREATE OR REPLACE FUNCTION carenav_api_escalations(p_open_only boolean, p_limit integer) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION carenav_api_callbacks(p_status text, p_limit integer) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION carenav_api_escalation_ack(p_id bigint, p_operator text, p_provider text,
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

-- Resolves an open or acknowledged escalation (no more alert rounds), with
-- no outcome: the signature of gateways before carenav_api_escalation_close.
-- Returns 'ok', 'not_found' or 'conflict' (already resolved).
CREATE OR REPLACE FUNCTION carenav_api_escalation_resolve(p_id bigint, p_operator text, p_note text)
RETURNS text
LANGUAGE sql AS $$
    SELECT carenav_api_escalation_close(p_id, p_operator, p_note, '', NULL)
$$;

-- Marks an open call-back request done. Returns 'ok', 'not_found' or 'conflict'.
CREATE OR REPLACE FUNCTION carenav_api_callback_done(p_id bigint, p_operator text) RETURNS text
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
CREATE OR REPLACE FUNCTION carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text,
                                            p_body text)
RETURNS jsonb
LANGUAGE sql AS $$
    SELECT carenav_api_send(p_conversation_id, p_operator, p_provider, p_body, NULL::smallint,
                            NULL::text);
$$;

-- Starts (p_active) or ends an operator handoff. While it lasts the dialogue
-- sends no automated replies (STOP/START and the emergency path still work).
-- The version bump makes a dialogue step loaded before the change conflict
-- and reload, so no step commits with the old setting.
-- Returns 'ok', 'unchanged' or 'not_found'.
CREATE OR REPLACE FUNCTION carenav_api_handoff(p_conversation_id bigint, p_operator text, p_active boolean)
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

-- One escalation as the console shows it: who was paged (tier, when, by
-- what, delivered or not), who has it and how they took it (SMS or
-- console), who was stood down, how it ended, and the triage summary.
-- "state" is open (nobody has it), in_progress (acknowledged) or resolved.
CREATE OR REPLACE FUNCTION carenav_api_escalation_doc(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id, 'code', e.code, 'status', e.status,
        'state', CASE e.status WHEN 'acknowledged' THEN 'in_progress' ELSE e.status END,
        'conversation_id', e.conversation_id,
        'patient', carenav_mask_phone(c.patient_number),
        'language', c.language,
        'reason', e.reason, 'reason_text', carenav_reason_text(e.reason, 'en'), 'matched', e.matched,
        'alert_rounds', e.step,
        'created_at', e.created_at,
        'age_seconds', floor(extract(epoch FROM now() - e.created_at))::bigint,
        'acknowledged_at', e.acknowledged_at, 'acknowledged_by', e.acknowledged_by,
        'owner', CASE WHEN e.acknowledged_by IS NOT NULL THEN carenav_actor_name(e.acknowledged_by) END,
        'ack_via', CASE WHEN e.acknowledged_by LIKE 'operator:%' THEN 'console'
                        WHEN e.acknowledged_by IS NOT NULL THEN 'sms' END,
        'owned_seconds', floor(extract(epoch FROM now() - e.acknowledged_at))::bigint,
        'ack_seconds', floor(extract(epoch FROM e.acknowledged_at - e.created_at))::bigint,
        'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by,
        'outcome', e.outcome, 'outcome_tries', e.outcome_tries, 'resolution_note', e.resolution_note,
        'summary', carenav_escalation_summary(e.id, 'en'),
        -- What staff must see at once (017): a dead staff number, a 911 text that did not arrive.
        'problems', coalesce((SELECT jsonb_agg(jsonb_build_object('at', ev.at, 'event', ev.event,
                                 'step', ev.step, 'staff_id', ev.staff_id, 'detail', ev.detail) ORDER BY ev.id)
                                FROM escalation_events ev
                               WHERE ev.escalation_id = e.id
                                 AND ev.event IN ('staff_unreachable', 'patient_unreachable')), '[]'),
        'pages', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'at', ev.at, 'step', ev.step,
                     'tier', CASE ev.step WHEN 1 THEN 'primary' WHEN 2 THEN 'backup' ELSE 'everyone' END,
                     'staff', st.name, 'staff_id', ev.staff_id, 'phone', carenav_mask_phone(st.phone),
                     'channel', CASE WHEN ev.event LIKE 'webhook%' THEN 'webhook' ELSE 'sms' END,
                     'delivery', CASE WHEN ev.event = 'webhook_sent' THEN 'sent'
                                      WHEN ev.event = 'webhook_failed' THEN 'failed'
                                      ELSE coalesce((SELECT m.status FROM messages m
                                                      WHERE m.escalation_id = e.id AND m.sent_by = 'alert'
                                                        AND m.to_number = st.phone AND m.created_at = ev.at
                                                      ORDER BY m.id LIMIT 1), 'queued') END)
                     ORDER BY ev.id)
                   FROM escalation_events ev LEFT JOIN staff st ON st.id = ev.staff_id
                  WHERE ev.escalation_id = e.id
                    AND ev.event IN ('alert_queued', 'webhook_sent', 'webhook_failed')), '[]'),
        'timeline', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'at', ev.at, 'event', ev.event, 'step', ev.step,
                     'staff', st.name,
                     'actor', CASE WHEN ev.actor IN ('gateway', 'provider') THEN ev.actor
                                   ELSE carenav_actor_name(ev.actor) END,
                     'via', CASE WHEN ev.event NOT IN ('acknowledged', 'resolved') THEN NULL
                                 WHEN ev.actor LIKE 'operator:%' THEN 'console' ELSE 'sms' END,
                     'detail', CASE WHEN ev.event = 'resolved' THEN ev.detail END)
                     ORDER BY ev.id)
                    FROM escalation_events ev
                   LEFT JOIN staff st ON st.id = coalesce(ev.staff_id,
                        CASE WHEN ev.event LIKE 'alert%' THEN
                             (SELECT s2.id FROM staff s2 WHERE s2.phone = split_part(ev.detail, ':', 1)) END)
                  WHERE ev.escalation_id = e.id), '[]'))
      FROM escalations e JOIN conversations c ON c.id = e.conversation_id
     WHERE e.id = p_id
$$;

-- Escalations for the console, open first, then in progress, then resolved,
-- newest first within each. p_state: '' (all), 'active' (not resolved),
-- 'open', 'in_progress' or 'resolved'. "today" counts since midnight UTC and
-- the median time to the first ACK of today's escalations.
CREATE OR REPLACE FUNCTION carenav_api_escalation_list(p_state text, p_limit integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'escalations', coalesce((SELECT jsonb_agg(carenav_api_escalation_doc(x.id) ORDER BY x.ord, x.created_at DESC, x.id DESC)
                                   FROM (SELECT e.id, e.created_at,
                                                CASE e.status WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END AS ord
                                           FROM escalations e
                                          WHERE CASE p_state
                                                  WHEN '' THEN true
                                                  WHEN 'active' THEN e.status <> 'resolved'
                                                  WHEN 'open' THEN e.status = 'open'
                                                  WHEN 'in_progress' THEN e.status = 'acknowledged'
                                                  ELSE e.status = 'resolved' END
                                          ORDER BY 3, e.created_at DESC, e.id DESC
                                          LIMIT p_limit) x), '[]'),
        'today', (SELECT jsonb_build_object(
                      'open', (SELECT count(*) FROM escalations WHERE status = 'open'),
                      'in_progress', (SELECT count(*) FROM escalations WHERE status = 'acknowledged'),
                      'resolved', (SELECT count(*) FROM escalations
                                    WHERE status = 'resolved' AND resolved_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
                      'median_ack_seconds', (SELECT floor(percentile_cont(0.5) WITHIN GROUP (
                                                        ORDER BY extract(epoch FROM acknowledged_at - created_at)))::bigint
                                               FROM escalations
                                              WHERE acknowledged_at IS NOT NULL
                                                AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))))
$$;

-- Resolves an open or acknowledged escalation with an outcome (one of the
-- escalations.outcome list, or '' for none), the number of tries for
-- 'no_answer' (else NULL) and a note. Returns 'ok', 'not_found' or 'conflict'.
CREATE OR REPLACE FUNCTION carenav_api_escalation_close(p_id bigint, p_operator text, p_note text,
                                                        p_outcome text, p_tries integer)
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
           outcome = nullif(p_outcome, ''), outcome_tries = p_tries, next_due_at = NULL
     WHERE id = e.id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    VALUES (e.id, 'resolved', 'operator:' || p_operator,
            nullif(concat_ws(': ', nullif(p_outcome, ''), nullif(p_note, '')), ''));
    INSERT INTO operator_actions (operator, action, conversation_id, escalation_id, detail)
    VALUES (p_operator, 'escalation_resolve', e.conversation_id, e.id,
            'code ' || e.code || coalesce(', ' || nullif(p_outcome, ''), ''));
    RETURN 'ok';
END $$;

-- Prometheus text for /metrics, from the table so every gateway reports the
-- same: escalations opened by reason (one with two reasons counts under
-- each) and the time from opening to the first ACK as a histogram (s).
CREATE OR REPLACE FUNCTION carenav_metrics_escalations() RETURNS text
LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT btrim(x) AS reason, count(*) AS n
                 FROM escalations, unnest(string_to_array(reason, ',')) x
                WHERE btrim(x) <> '' GROUP BY 1),
         a AS (SELECT extract(epoch FROM acknowledged_at - created_at)::float8 AS s
                 FROM escalations WHERE acknowledged_at IS NOT NULL),
         b AS (SELECT le, (SELECT count(*) FROM a WHERE a.s <= le) AS n
                 FROM unnest(ARRAY[30, 60, 120, 300, 600, 900, 1800, 3600]::float8[]) le)
    SELECT '# HELP carenav_escalations_created_total Escalations opened, by red-flag reason' || E'\n'
        || '# TYPE carenav_escalations_created_total counter' || E'\n'
        || coalesce((SELECT string_agg(format('carenav_escalations_created_total{reason="%s"} %s',
                                              replace(replace(reason, '\', '\\'), '"', '\"'), n),
                                       E'\n' ORDER BY reason) || E'\n' FROM r), '')
        || '# HELP carenav_escalation_ack_seconds Time from an escalation opening to its acknowledgement' || E'\n'
        || '# TYPE carenav_escalation_ack_seconds histogram' || E'\n'
        || (SELECT string_agg(format('carenav_escalation_ack_seconds_bucket{le="%s"} %s', le, n), E'\n' ORDER BY le)
              FROM b) || E'\n'
        || format('carenav_escalation_ack_seconds_bucket{le="+Inf"} %s', (SELECT count(*) FROM a)) || E'\n'
        || format('carenav_escalation_ack_seconds_sum %s', (SELECT round(coalesce(sum(s), 0)::numeric, 3) FROM a)) || E'\n'
        || format('carenav_escalation_ack_seconds_count %s', (SELECT count(*) FROM a)) || E'\n'
$$;

-- An operator texts the patient: a message sent_by 'operator:<name>' through
-- the outbox (priority 5, ahead of automated replies), with the segments and
-- encoding the gateway counted. Returns {"result": "ok", "message_id": n},
-- or {"result": "not_found" | "opted_out" | "staff"}.
CREATE OR REPLACE FUNCTION carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text,
                                            p_body text, p_segments smallint, p_encoding text)
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
                               false, NULL, p_segments, p_encoding);
    UPDATE conversations SET last_activity_at = now() WHERE id = c.id;
    INSERT INTO operator_actions (operator, action, conversation_id, message_id, detail)
    VALUES (p_operator, 'message_sent', c.id, v_msg, length(p_body)::text || ' characters');
    RETURN jsonb_build_object('result', 'ok', 'message_id', v_msg);
END $$;

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

-- ---- What the console shows of an escalation, in the operator's language ----

-- An escalation's reason as the console shows it: the rule titles in p_lang
-- (carenav_reason_text), and the text model named in words. Alerts keep the
-- id "text_model" beside the model's own words (check_model_alert), so its
-- words live here rather than in titles.json.
CREATE OR REPLACE FUNCTION carenav_console_reason_text(p_text text, p_lang text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(p_text, 'text_model', CASE p_lang WHEN 'es' THEN 'señalado por el modelo de texto'
                                                      ELSE 'flagged by the text model' END)
$$;

-- One escalation document (carenav_api_escalation_doc) with its reason and
-- triage summary in p_lang; NULL stays NULL.
CREATE OR REPLACE FUNCTION carenav_escalation_doc_in(p_doc jsonb, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT p_doc || jsonb_build_object(
               'reason_text', carenav_console_reason_text(carenav_reason_text(p_doc->>'reason', p_lang), p_lang),
               'summary', s || jsonb_build_object(
                   'reasons', carenav_console_reason_text(s->>'reasons', p_lang),
                   'text', carenav_console_reason_text(s->>'text', p_lang)))
      FROM (SELECT carenav_escalation_summary((p_doc->>'id')::bigint, p_lang) AS s) x
     WHERE p_doc IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION carenav_api_escalation_doc(p_id bigint, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT carenav_escalation_doc_in(carenav_api_escalation_doc(p_id), p_lang)
$$;

CREATE OR REPLACE FUNCTION carenav_api_escalation_list(p_state text, p_limit integer, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT l || jsonb_build_object('escalations', coalesce((
               SELECT jsonb_agg(carenav_escalation_doc_in(x.doc, p_lang) ORDER BY x.n)
                 FROM jsonb_array_elements(l->'escalations') WITH ORDINALITY AS x (doc, n)), '[]'))
      FROM (SELECT carenav_api_escalation_list(p_state, p_limit) AS l) y
$$;
