-- 005_escalation_functions.sql - escalation steps, staff ACKs, and the
-- audit events that outbox results add to alerts.

-- A number texting us is staff when it is a registered, active staff phone.
CREATE FUNCTION carenav_is_staff(p_phone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM staff WHERE phone = p_phone AND active)
$$;

CREATE OR REPLACE FUNCTION carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text,
                                                  p_body text, p_num_media integer)
RETURNS TABLE (message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE plpgsql AS $$
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
    INSERT INTO messages (conversation_id, direction, provider, provider_sid, from_number,
                          to_number, body, num_media, status)
    VALUES (v_conv, 'in', p_provider, p_sid, p_from, p_to, p_body, p_num_media, 'received')
    ON CONFLICT (provider, provider_sid) WHERE direction = 'in' DO NOTHING
    RETURNING id INTO v_msg;
    IF v_msg IS NOT NULL THEN
        RETURN QUERY SELECT v_msg, v_conv, true;
    ELSE
        RETURN QUERY SELECT m.id, m.conversation_id, false FROM messages m
         WHERE m.provider = p_provider AND m.provider_sid = p_sid AND m.direction = 'in';
    END IF;
END $$;

-- As in 003, but 'kind' says whether the sender is staff now, so a staff
-- member registered after their first text is still kept out of the dialogue.
CREATE OR REPLACE FUNCTION carenav_step_load(p_conversation_id bigint, p_default_flow text)
RETURNS TABLE (version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint,
           CASE WHEN carenav_is_staff(c.patient_number) THEN 'staff' ELSE 'patient' END,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1)
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
     ORDER BY m.id
     LIMIT 1
$$;

-- Queues one outbound SMS: the messages row and its outbox row. Returns the message id.
CREATE FUNCTION carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text,
                                  p_sent_by text, p_priority smallint, p_compliance boolean,
                                  p_escalation_id bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    c     conversations%ROWTYPE;
    v_msg bigint;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id;
    INSERT INTO messages (conversation_id, direction, provider, from_number, to_number, body,
                          status, sent_by, escalation_id)
    VALUES (c.id, 'out', p_provider, c.service_number, c.patient_number, p_body, 'queued',
            p_sent_by, p_escalation_id)
    RETURNING id INTO v_msg;
    INSERT INTO outbox (message_id, conversation_id, priority, compliance)
    VALUES (v_msg, c.id, p_priority, p_compliance);
    RETURN v_msg;
END $$;

-- The staff member's own conversation with the clinic's number (alerts and ACKs live there).
CREATE FUNCTION carenav_staff_conversation(p_phone text, p_service_number text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_conv bigint;
BEGIN
    INSERT INTO conversations (patient_number, service_number, kind)
    VALUES (p_phone, p_service_number, 'staff')
    ON CONFLICT (patient_number, service_number) DO UPDATE SET kind = 'staff'
    RETURNING id INTO v_conv;
    RETURN v_conv;
END $$;

-- A text from one language map: the conversation's language, else English,
-- else any; {name} placeholders replaced from p_vars.
CREATE FUNCTION carenav_render(p_map jsonb, p_lang text, p_vars jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_text text := coalesce(p_map->>p_lang, p_map->>'en',
                            (SELECT value FROM jsonb_each_text(p_map) LIMIT 1), '');
    k text;
    v text;
BEGIN
    FOR k, v IN SELECT * FROM jsonb_each_text(coalesce(p_vars, '{}')) LOOP
        v_text := replace(v_text, '{' || k || '}', coalesce(v, ''));
    END LOOP;
    RETURN v_text;
END $$;

-- As in 002, except that a red flag in a conversation that already has an
-- open escalation adds to it ('reflagged') instead of opening a second one.
CREATE OR REPLACE FUNCTION carenav_step_commit(p_conversation_id bigint, p_version bigint,
                                               p_message_id bigint, p_state jsonb,
                                               p_flow_version_id bigint, p_language text,
                                               p_status text, p_provider text, p_replies jsonb,
                                               p_actions jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c       conversations%ROWTYPE;
    v_done  timestamptz;
    v_opted boolean;
    v_esc   bigint;
    a       jsonb;
    r       jsonb;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND OR c.version <> p_version THEN
        RETURN 'conflict';
    END IF;
    SELECT processed_at INTO v_done FROM messages WHERE id = p_message_id FOR UPDATE;
    IF v_done IS NOT NULL THEN
        RETURN 'already';
    END IF;
    v_opted := c.opted_out;
    FOR a IN SELECT * FROM jsonb_array_elements(p_actions) LOOP
        CASE a->>'kind'
        WHEN 'opt_out' THEN v_opted := true;
        WHEN 'opt_in' THEN v_opted := false;
        WHEN 'escalate' THEN
            SELECT id INTO v_esc FROM escalations
             WHERE conversation_id = c.id AND status = 'open' ORDER BY id DESC LIMIT 1;
            IF v_esc IS NULL THEN
                INSERT INTO escalations (code, conversation_id, message_id, reason, matched)
                VALUES (carenav_escalation_code(), c.id, p_message_id, a->>'reason', a->>'detail')
                RETURNING id INTO v_esc;
                INSERT INTO escalation_events (escalation_id, event, actor, detail)
                VALUES (v_esc, 'created', 'gateway', a->>'reason');
            ELSE
                INSERT INTO escalation_events (escalation_id, event, actor, detail)
                VALUES (v_esc, 'reflagged', 'gateway', a->>'reason');
            END IF;
        WHEN 'callback' THEN
            INSERT INTO callbacks (conversation_id, reason) VALUES (c.id, a->>'reason');
        ELSE
            RAISE EXCEPTION 'unknown dialogue action %', a->>'kind';
        END CASE;
    END LOOP;
    FOR r IN SELECT * FROM jsonb_array_elements(p_replies) LOOP
        PERFORM carenav_queue_sms(c.id, p_provider, r->>'body', 'dialogue', 0::smallint,
                                  coalesce((r->>'compliance')::boolean, false), NULL);
    END LOOP;
    UPDATE conversations
       SET state = p_state, flow_version_id = p_flow_version_id, language = p_language,
           status = p_status, opted_out = v_opted, version = version + 1, last_activity_at = now()
     WHERE id = c.id;
    UPDATE messages SET status = 'processed', processed_at = now() WHERE id = p_message_id;
    RETURN 'ok';
END $$;

-- Open escalations whose next alert round is due, with what the alert needs.
CREATE FUNCTION carenav_escalation_due(p_limit integer, p_default_flow text)
RETURNS TABLE (escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT e.id, e.code, e.step,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1)
      FROM escalations e
     WHERE e.status = 'open' AND e.next_due_at <= now()
     ORDER BY e.next_due_at
     LIMIT p_limit
$$;

-- Shifts that touch the day around now, for the on-call resolver.
CREATE FUNCTION carenav_oncall_window()
RETURNS TABLE (staff_id bigint, name text, phone text, language text, webhook_url text,
               tier text, starts_ms bigint, ends_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.name, s.phone, s.language, coalesce(s.webhook_url, ''), o.tier,
           (extract(epoch FROM o.starts_at) * 1000)::bigint, (extract(epoch FROM o.ends_at) * 1000)::bigint
      FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id
     WHERE s.active AND o.ends_at > now() - interval '1 day' AND o.starts_at < now() + interval '1 day'
     ORDER BY o.starts_at
$$;

-- Commits one alert round, if the escalation is still open at the step the
-- caller saw; otherwise {"result": "conflict"} (another gateway did it, or a
-- human acknowledged). p_alerts: [{"staff_id": n|null, "phone": text,
-- "language": text}]; each gets p_template (the flow's alert_staff map)
-- rendered in their language. No alert with a staff_id means nobody was on
-- call: recorded as no_oncall. Returns {"result": "ok", "alerts":
-- [{"staff_id": n, "body": text}]} so the caller can also post webhooks.
CREATE FUNCTION carenav_escalation_advance(p_escalation_id bigint, p_expected_step integer,
                                           p_alerts jsonb, p_template jsonb, p_next_due_ms bigint,
                                           p_provider text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e      escalations%ROWTYPE;
    c      conversations%ROWTYPE;
    v_conv bigint;
    v_body text;
    v_out  jsonb := '[]';
    a      jsonb;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_escalation_id FOR UPDATE;
    IF NOT FOUND OR e.status <> 'open' OR e.step <> p_expected_step THEN
        RETURN jsonb_build_object('result', 'conflict');
    END IF;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    FOR a IN SELECT * FROM jsonb_array_elements(p_alerts) LOOP
        v_conv := carenav_staff_conversation(a->>'phone', c.service_number);
        v_body := carenav_render(p_template, a->>'language', jsonb_build_object(
            'code', e.code, 'reason', e.reason, 'matched', coalesce(e.matched, ''),
            'patient', right(c.patient_number, 4)));
        PERFORM carenav_queue_sms(v_conv, p_provider, v_body, 'alert', 10::smallint, true, e.id);
        INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
        VALUES (e.id, 'alert_queued', p_expected_step + 1, (a->>'staff_id')::bigint, 'gateway',
                right(a->>'phone', 4));
        v_out := v_out || jsonb_build_object('staff_id', a->'staff_id', 'body', v_body);
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_alerts) x
                    WHERE x->>'staff_id' IS NOT NULL) THEN
        INSERT INTO escalation_events (escalation_id, event, step, actor, detail)
        VALUES (e.id, 'no_oncall', p_expected_step + 1, 'gateway',
                CASE WHEN jsonb_array_length(p_alerts) = 0 THEN 'no fallback number configured'
                     ELSE 'fallback number alerted' END);
    END IF;
    UPDATE escalations SET step = step + 1,
           next_due_at = now() + p_next_due_ms * interval '1 millisecond'
     WHERE id = e.id;
    RETURN jsonb_build_object('result', 'ok', 'alerts', v_out);
END $$;

-- One audit event from the gateway (webhook results, refused ACKs).
CREATE FUNCTION carenav_escalation_event(p_escalation_id bigint, p_event text, p_staff_id bigint,
                                         p_detail text)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO escalation_events (escalation_id, event, staff_id, actor, detail)
    VALUES (p_escalation_id, p_event, p_staff_id, 'gateway', p_detail);
$$;

-- Acknowledges an open escalation: recorded with who did it, no more alert
-- rounds, and the patient told (in their language) that a nurse will call.
-- p_texts is the flow's "ack_patient" language map. Returns false if it was not open.
CREATE FUNCTION carenav_escalation_ack(p_escalation_id bigint, p_actor text, p_staff_id bigint,
                                       p_provider text, p_texts jsonb)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    e escalations%ROWTYPE;
    c conversations%ROWTYPE;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_escalation_id FOR UPDATE;
    IF NOT FOUND OR e.status <> 'open' THEN
        RETURN false;
    END IF;
    UPDATE escalations SET status = 'acknowledged', acknowledged_at = now(),
           acknowledged_by = p_actor, next_due_at = NULL
     WHERE id = e.id;
    INSERT INTO escalation_events (escalation_id, event, staff_id, actor)
    VALUES (e.id, 'acknowledged', p_staff_id, p_actor);
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    PERFORM carenav_queue_sms(c.id, p_provider, carenav_render(p_texts, c.language, NULL),
                              'system', 5::smallint, false, e.id);
    RETURN true;
END $$;

-- Handles one text from a staff phone (never fed into the patient dialogue).
-- p_is_ack: the text was an ACK; p_code: its code, '' for a bare ACK.
-- p_texts: {"ack_ok", "ack_unknown", "ack_which", "staff_help", "ack_patient"} language maps.
-- Returns 'conflict' / 'already' like carenav_step_commit, else what happened:
-- 'acknowledged', 'unknown', 'which' or 'help'.
CREATE FUNCTION carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint,
                                   p_is_ack boolean, p_code text, p_provider text, p_texts jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c        conversations%ROWTYPE;
    s        staff%ROWTYPE;
    v_done   timestamptz;
    v_esc    bigint;
    v_count  integer;
    v_codes  text;
    v_result text;
    v_reply  text;
    v_vars   jsonb;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND OR c.version <> p_version THEN
        RETURN 'conflict';
    END IF;
    SELECT processed_at INTO v_done FROM messages WHERE id = p_message_id FOR UPDATE;
    IF v_done IS NOT NULL THEN
        RETURN 'already';
    END IF;
    SELECT * INTO s FROM staff WHERE phone = c.patient_number AND active;
    SELECT count(*), coalesce(string_agg(code, ', ' ORDER BY id), '-') INTO v_count, v_codes
      FROM escalations WHERE status = 'open';
    v_vars := jsonb_build_object('staff', s.name, 'code', p_code, 'codes', v_codes,
                                 'count', v_count::text);
    IF NOT p_is_ack THEN
        v_result := 'help';
    ELSIF p_code = '' THEN
        -- A bare ACK names the one open escalation this person was alerted about.
        SELECT count(*), min(e.id) INTO v_count, v_esc FROM escalations e
         WHERE e.status = 'open' AND EXISTS (
               SELECT 1 FROM escalation_events ev
                WHERE ev.escalation_id = e.id AND ev.event = 'alert_queued' AND ev.staff_id = s.id);
        v_result := CASE WHEN v_count = 1 THEN 'acknowledged' ELSE 'which' END;
    ELSE
        SELECT id INTO v_esc FROM escalations WHERE status = 'open' AND code = p_code;
        v_result := CASE WHEN v_esc IS NULL THEN 'unknown' ELSE 'acknowledged' END;
    END IF;
    IF v_result = 'acknowledged' THEN
        PERFORM carenav_escalation_ack(v_esc, s.name, s.id, p_provider, p_texts->'ack_patient');
        SELECT v_vars || jsonb_build_object('code', e.code, 'patient', pc.patient_number)
          INTO v_vars
          FROM escalations e JOIN conversations pc ON pc.id = e.conversation_id WHERE e.id = v_esc;
    END IF;
    v_reply := carenav_render(p_texts->(CASE v_result WHEN 'acknowledged' THEN 'ack_ok'
                                                     WHEN 'unknown' THEN 'ack_unknown'
                                                     WHEN 'which' THEN 'ack_which'
                                                     ELSE 'staff_help' END),
                              s.language, v_vars);
    PERFORM carenav_queue_sms(c.id, p_provider, v_reply, 'system', 10::smallint, true, v_esc);
    UPDATE conversations SET kind = 'staff', version = version + 1, last_activity_at = now()
     WHERE id = c.id;
    UPDATE messages SET status = 'processed', processed_at = now() WHERE id = p_message_id;
    RETURN v_result;
END $$;

-- Outbox results of alert SMS (sent_by 'alert') go into their escalation's audit trail.
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_msg bigint;
BEGIN
    UPDATE outbox SET state = 'done', lease_until = NULL, last_error = NULL
     WHERE id = p_outbox_id RETURNING message_id INTO v_msg;
    UPDATE messages SET status = 'sent', provider_sid = nullif(p_provider_sid, ''),
                        status_updated_at = now()
     WHERE id = v_msg AND carenav_status_rank(status) <= carenav_status_rank('sent');
    UPDATE messages m SET status = r.status, error = coalesce(r.error_code, m.error),
                          status_updated_at = now()
      FROM (SELECT status, error_code FROM delivery_reports
             WHERE provider_sid = p_provider_sid ORDER BY id DESC LIMIT 1) r
     WHERE m.id = v_msg AND carenav_status_rank(r.status) >= carenav_status_rank(m.status);
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id, 'alert_sent', 'gateway', m.to_number
      FROM messages m WHERE m.id = v_msg AND m.sent_by = 'alert';
END $$;

CREATE OR REPLACE FUNCTION carenav_outbox_failed(p_outbox_id bigint, p_error text) RETURNS void
LANGUAGE sql AS $$
    UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = p_error WHERE id = p_outbox_id;
    UPDATE messages m SET status = 'failed', error = p_error, status_updated_at = now()
      FROM outbox o WHERE o.id = p_outbox_id AND m.id = o.message_id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id, 'alert_failed', 'gateway', m.to_number || ': ' || p_error
      FROM outbox o JOIN messages m ON m.id = o.message_id
     WHERE o.id = p_outbox_id AND m.sent_by = 'alert';
$$;

CREATE OR REPLACE FUNCTION carenav_delivery_report(p_provider text, p_sid text, p_status text,
                                                   p_error_code text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_reports (provider, provider_sid, status, error_code)
    VALUES (p_provider, p_sid, p_status, nullif(p_error_code, ''));
    UPDATE messages SET status = p_status, error = coalesce(nullif(p_error_code, ''), error),
                        status_updated_at = now()
     WHERE direction = 'out' AND provider_sid = p_sid
       AND carenav_status_rank(p_status) >= carenav_status_rank(status);
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id,
           CASE WHEN p_status IN ('delivered', 'read') THEN 'alert_delivered' ELSE 'alert_failed' END,
           'provider', m.to_number || ': ' || p_status
      FROM messages m
     WHERE m.direction = 'out' AND m.provider_sid = p_sid AND m.sent_by = 'alert'
       AND p_status IN ('delivered', 'read', 'undelivered', 'failed');
    RETURN EXISTS (SELECT 1 FROM messages WHERE direction = 'out' AND provider_sid = p_sid);
END $$;
