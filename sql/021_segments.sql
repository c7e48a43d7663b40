-- 021_segments.sql - what each outbound text costs (issue #18): its
-- segments (the parts of a concatenated SMS) and its encoding ('gsm7' or
-- 'ucs2'), as gateway/segment.c counts them.
--
-- SQL does not count them itself (that would be segment.c's GSM 03.38
-- tables written twice); the gateway passes them with each text it knows
-- the body of: a dialogue step's replies (carenav_step_commit's reply JSON
-- gets "segments" and "encoding") and an operator's text (carenav_api_send
-- with two more arguments). Texts rendered in SQL (staff alerts, the ACK
-- confirmations, stand-downs) get theirs when the provider takes them: the
-- gateway counts every text it sends and the 'sent' mark fills what is
-- still NULL (carenav_outbox_sent), and /metrics counts them
-- (carenav_sms_segments_sent_total).
--
-- Rolling upgrade: the old signatures stay and give NULL, so a gateway
-- still running the previous release keeps working while this commits.

ALTER TABLE messages ADD COLUMN segments smallint
    CHECK (segments IS NULL OR segments >= 0);
ALTER TABLE messages ADD COLUMN encoding text
    CHECK (encoding IS NULL OR encoding IN ('gsm7', 'ucs2'));

-- The one place an outbound message is made (012's definition, plus the two
-- columns).
CREATE OR REPLACE FUNCTION carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text,
                                             p_sent_by text, p_priority smallint, p_compliance boolean,
                                             p_escalation_id bigint, p_segments smallint,
                                             p_encoding text)
RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c     conversations%ROWTYPE;
    v_msg bigint;
    v_at  timestamptz;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id;
    INSERT INTO messages (conversation_id, direction, provider, from_number, to_number, body,
                          status, sent_by, escalation_id, segments, encoding)
    VALUES (c.id, 'out', p_provider, c.service_number, c.patient_number, p_body, 'queued',
            p_sent_by, p_escalation_id, p_segments, p_encoding)
    RETURNING id, created_at INTO v_msg, v_at;
    INSERT INTO outbox (message_id, message_created_at, conversation_id, priority, compliance)
    VALUES (v_msg, v_at, c.id, p_priority, p_compliance);
    RETURN v_msg;
END $$;

-- The callers that do not know the count (texts rendered in SQL).
CREATE OR REPLACE FUNCTION carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text,
                                             p_sent_by text, p_priority smallint, p_compliance boolean,
                                             p_escalation_id bigint)
RETURNS bigint
LANGUAGE sql SET plan_cache_mode = force_generic_plan AS $$
    SELECT carenav_queue_sms(p_conversation_id, p_provider, p_body, p_sent_by, p_priority,
                             p_compliance, p_escalation_id, NULL::smallint, NULL::text);
$$;

-- 017's step commit (the emergency instruction urgent, a reflag paged as an
-- update; 012's plan_cache_mode), each reply queued with the segments and
-- encoding the gateway counted for it.
CREATE OR REPLACE FUNCTION carenav_step_commit(p_conversation_id bigint, p_version bigint,
                                               p_message_id bigint, p_state jsonb,
                                               p_flow_version_id bigint, p_language text,
                                               p_status text, p_provider text, p_replies jsonb,
                                               p_actions jsonb)
RETURNS text
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c       conversations%ROWTYPE;
    v_done  timestamptz;
    v_opted boolean;
    v_esc   bigint;
    v_msg   bigint;
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
                PERFORM carenav_escalation_update(v_esc, a->>'reason', a->>'detail', p_provider);
            END IF;
        WHEN 'callback' THEN
            INSERT INTO callbacks (conversation_id, reason) VALUES (c.id, a->>'reason');
        ELSE
            RAISE EXCEPTION 'unknown dialogue action %', a->>'kind';
        END CASE;
    END LOOP;
    FOR r IN SELECT * FROM jsonb_array_elements(p_replies) LOOP
        IF v_esc IS NOT NULL THEN
            -- The emergency instruction (017): urgent, never held back by a STOP.
            v_msg := carenav_queue_urgent(c.id, p_provider, r->>'body', 'dialogue', 30::smallint, v_esc,
                                          NULL, NULL, NULL);
            UPDATE messages SET segments = (r->>'segments')::smallint, encoding = r->>'encoding'
             WHERE id = v_msg;
        ELSE
            PERFORM carenav_queue_sms(c.id, p_provider, r->>'body', 'dialogue', 0::smallint,
                                      coalesce((r->>'compliance')::boolean, false), NULL,
                                      (r->>'segments')::smallint, r->>'encoding');
        END IF;
    END LOOP;
    UPDATE conversations
       SET state = p_state, flow_version_id = p_flow_version_id, language = p_language,
           status = p_status, opted_out = v_opted, version = version + 1, last_activity_at = now()
     WHERE id = c.id;
    UPDATE messages SET status = 'processed', processed_at = now() WHERE id = p_message_id;
    RETURN 'ok';
END $$;

-- 007's operator text, with its segments and encoding.
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

CREATE OR REPLACE FUNCTION carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text,
                                            p_body text)
RETURNS jsonb
LANGUAGE sql AS $$
    SELECT carenav_api_send(p_conversation_id, p_operator, p_provider, p_body, NULL::smallint,
                            NULL::text);
$$;

-- The 'sent' mark. As in 015 (the provider's status when it only queued the
-- text), plus (issue #17): a
-- delivered page restarts the clock of every round it stands for (and is
-- recorded in each escalation's audit trail), and any urgent text the
-- provider accepted for a staff member clears their unreachable mark.
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text,
                                               p_segments smallint, p_encoding text)
RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_msg    bigint;
    v_at     timestamptz;
    v_pages  jsonb;
    v_staff  bigint;
    v_round  bigint;
    v_status text := CASE WHEN carenav_status_rank(p_status) BETWEEN 1 AND 3 THEN p_status ELSE 'sent' END;
BEGIN
    UPDATE outbox SET state = 'done', lease_until = NULL, last_error = NULL
     WHERE id = p_outbox_id
    RETURNING message_id, message_created_at, pages, staff_id, round_ms
         INTO v_msg, v_at, v_pages, v_staff, v_round;
    -- 'queued' ranks with our own outbox's 'queued': the provider id tells them apart (015).
    -- What the text cost, as the gateway counted it when sending (for texts rendered in
    -- SQL, such as staff alerts; the dialogue's and operators' texts have it already, 021).
    UPDATE messages SET status = v_status, provider_sid = nullif(p_provider_sid, ''),
                        segments = coalesce(segments, p_segments), encoding = coalesce(encoding, p_encoding),
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
    INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
    SELECT coalesce((p->>'e')::bigint, m.escalation_id), 'alert_sent', (p->>'s')::integer, v_staff, 'gateway',
           m.to_number
      FROM messages m
      LEFT JOIN jsonb_array_elements(v_pages) p ON true
     WHERE m.id = v_msg AND m.created_at = v_at AND m.sent_by = 'alert';
    IF v_pages IS NOT NULL AND v_round IS NOT NULL THEN
        UPDATE escalations e SET next_due_at = now() + v_round * interval '1 millisecond'
          FROM jsonb_array_elements(v_pages) p
         WHERE e.id = (p->>'e')::bigint AND e.status = 'open' AND e.step = (p->>'s')::integer;
    END IF;
    IF v_staff IS NOT NULL THEN
        UPDATE staff SET unreachable_at = NULL, unreachable_reason = NULL
         WHERE id = v_staff AND unreachable_at IS NOT NULL;
    END IF;
END $$;

-- The shorter forms, for gateways of an earlier release during a rolling upgrade.
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text)
RETURNS void
LANGUAGE sql AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, p_status, NULL::smallint, NULL::text);
$$;

CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
LANGUAGE sql AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, 'sent', NULL::smallint, NULL::text);
$$;

-- As 015's, each item may also carry the "segments" and "encoding" the gateway counted.
--   p_items: [{"id": outbox id, "sid": ..., "status": ..., "segments": n, "encoding": "gsm7"}, ...]
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
        PERFORM carenav_outbox_sent((e.s->>'id')::bigint, e.s->>'sid', coalesce(e.s->>'status', 'sent'),
                                    (e.s->>'segments')::smallint, e.s->>'encoding');
        ord := e.i;
        done := true;
        RETURN NEXT;
    END LOOP;
END $$;
