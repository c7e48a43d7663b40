-- 021_segments.sql - what each outbound text costs (issue #18): its
-- segments (the parts of a concatenated SMS) and its encoding ('gsm7' or
-- 'ucs2'), as gateway/segment.c counts them.
--
-- SQL does not count them itself (that would be segment.c's GSM 03.38
-- tables written twice); the gateway passes them with each text it knows
-- the body of: a dialogue step's replies (carenav_step_commit's reply JSON
-- gets "segments" and "encoding") and an operator's text (carenav_api_send
-- with two more arguments). Texts rendered in SQL (staff alerts, the ACK
-- confirmations) keep NULL; the gateway still counts their segments in
-- /metrics (carenav_sms_segments_sent_total) when the provider takes them.
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
