-- 002_functions.sql - each durable operation of the gateway as one function.
--
-- The gateway calls one function per operation, so each operation is a
-- single statement: one round trip, atomic in autocommit, and safe behind a
-- transaction-pooling PgBouncer. Row locks inside serialise the work on one
-- conversation across any number of gateway processes.

-- Order of delivery statuses; a late report never moves a message backwards.
CREATE FUNCTION carenav_status_rank(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_status
        WHEN 'queued' THEN 1 WHEN 'accepted' THEN 1 WHEN 'scheduled' THEN 1
        WHEN 'sending' THEN 2
        WHEN 'sent' THEN 3
        WHEN 'delivered' THEN 4 WHEN 'undelivered' THEN 4 WHEN 'failed' THEN 4
        WHEN 'read' THEN 5
        ELSE 0 END
$$;

-- Stores one inbound SMS (once per provider id) and finds or creates its
-- conversation. Locking the conversation makes message ids follow commit
-- order within a conversation, which the dialogue relies on for ordering.
CREATE FUNCTION carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text,
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
        INSERT INTO conversations (patient_number, service_number) VALUES (p_from, p_to)
        ON CONFLICT (patient_number, service_number) DO NOTHING
        RETURNING id INTO v_conv;
        IF v_conv IS NULL THEN  -- a concurrent first message won the insert
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

-- The next unprocessed inbound message of a conversation with the state the
-- dialogue step needs; no row when the conversation has nothing to do.
CREATE FUNCTION carenav_step_load(p_conversation_id bigint)
RETURNS TABLE (version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text)
LANGUAGE sql STABLE AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint, c.kind
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
     ORDER BY m.id
     LIMIT 1
$$;

-- A 4-digit escalation code not used by any open escalation.
CREATE FUNCTION carenav_escalation_code() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_code text;
BEGIN
    LOOP
        v_code := (1000 + floor(random() * 9000))::int::text;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM escalations WHERE code = v_code AND status = 'open');
    END LOOP;
    RETURN v_code;
END $$;

-- Commits one dialogue step: the conversation's new state, the replies as
-- outbox rows, the actions (escalations, callbacks, opt-out) and the inbound
-- message's processed mark, all or nothing. Returns 'ok', 'conflict' (the
-- state changed since it was loaded: load again) or 'already' (another
-- process handled this message).
--   p_replies: [{"body": text, "compliance": bool}, ...] in sending order
--   p_actions: [{"kind": "escalate"|"callback"|"opt_out"|"opt_in", "reason": text, "detail": text}, ...]
CREATE FUNCTION carenav_step_commit(p_conversation_id bigint, p_version bigint, p_message_id bigint,
                                    p_state jsonb, p_flow_version_id bigint, p_language text,
                                    p_status text, p_provider text, p_replies jsonb, p_actions jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c       conversations%ROWTYPE;
    v_done  timestamptz;
    v_opted boolean;
    a       jsonb;
    r       jsonb;
    v_msg   bigint;
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
            INSERT INTO escalations (code, conversation_id, message_id, reason, matched)
            VALUES (carenav_escalation_code(), c.id, p_message_id, a->>'reason', a->>'detail');
        WHEN 'callback' THEN
            INSERT INTO callbacks (conversation_id, reason) VALUES (c.id, a->>'reason');
        ELSE
            RAISE EXCEPTION 'unknown dialogue action %', a->>'kind';
        END CASE;
    END LOOP;
    FOR r IN SELECT * FROM jsonb_array_elements(p_replies) LOOP
        INSERT INTO messages (conversation_id, direction, provider, from_number, to_number, body,
                              status, sent_by)
        VALUES (c.id, 'out', p_provider, c.service_number, c.patient_number, r->>'body',
                'queued', 'dialogue')
        RETURNING id INTO v_msg;
        INSERT INTO outbox (message_id, conversation_id, compliance)
        VALUES (v_msg, c.id, coalesce((r->>'compliance')::boolean, false));
    END LOOP;
    UPDATE conversations
       SET state = p_state, flow_version_id = p_flow_version_id, language = p_language,
           status = p_status, opted_out = v_opted, version = version + 1, last_activity_at = now()
     WHERE id = c.id;
    UPDATE messages SET status = 'processed', processed_at = now() WHERE id = p_message_id;
    RETURN 'ok';
END $$;

-- Claims up to p_limit sendable outbox rows for p_lease_ms. Only the oldest
-- pending row of each conversation is sendable, so replies leave in order
-- even while an earlier one waits for a retry. SKIP LOCKED lets several
-- gateways claim side by side without sending a row twice.
CREATE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    -- Nothing but opt-out/opt-in confirmations goes to an opted-out number.
    WITH s AS (
        UPDATE outbox o SET state = 'suppressed', lease_until = NULL, last_error = 'opted out'
          FROM conversations c
         WHERE o.state = 'pending' AND c.id = o.conversation_id AND c.opted_out AND NOT o.compliance
        RETURNING o.message_id)
    UPDATE messages m SET status = 'suppressed', status_updated_at = now() FROM s WHERE m.id = s.message_id;

    RETURN QUERY
    WITH heads AS (
        SELECT DISTINCT ON (o.conversation_id) o.id
          FROM outbox o WHERE o.state = 'pending'
         ORDER BY o.conversation_id, o.id),
    ready AS (
        SELECT o.id FROM outbox o JOIN heads h ON h.id = o.id
         WHERE o.state = 'pending' AND o.next_attempt_at <= now()
           AND (o.lease_until IS NULL OR o.lease_until < now())
         ORDER BY o.priority DESC, o.id
         LIMIT p_limit
           FOR UPDATE OF o SKIP LOCKED)
    UPDATE outbox o
       SET lease_until = now() + p_lease_ms * interval '1 millisecond', attempts = o.attempts + 1
      FROM ready, messages m
     WHERE o.id = ready.id AND m.id = o.message_id
    RETURNING o.id, o.message_id, o.attempts, m.to_number, m.from_number, m.body;
END $$;

-- The provider accepted the message. Applies a delivery report that raced ahead of us.
CREATE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
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
END $$;

-- A temporary failure: try again after p_delay_ms.
CREATE FUNCTION carenav_outbox_retry(p_outbox_id bigint, p_delay_ms bigint, p_error text) RETURNS void
LANGUAGE sql AS $$
    UPDATE outbox SET lease_until = NULL, last_error = p_error,
                      next_attempt_at = now() + p_delay_ms * interval '1 millisecond'
     WHERE id = p_outbox_id;
$$;

-- A permanent failure (rejected, or out of attempts): recorded, never retried.
CREATE FUNCTION carenav_outbox_failed(p_outbox_id bigint, p_error text) RETURNS void
LANGUAGE sql AS $$
    UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = p_error WHERE id = p_outbox_id;
    UPDATE messages m SET status = 'failed', error = p_error, status_updated_at = now()
      FROM outbox o WHERE o.id = p_outbox_id AND m.id = o.message_id;
$$;

-- Records a delivery report and applies it to its message; false when no
-- sent message has that id yet (carenav_outbox_sent applies it later).
CREATE FUNCTION carenav_delivery_report(p_provider text, p_sid text, p_status text, p_error_code text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_reports (provider, provider_sid, status, error_code)
    VALUES (p_provider, p_sid, p_status, nullif(p_error_code, ''));
    UPDATE messages SET status = p_status, error = coalesce(nullif(p_error_code, ''), error),
                        status_updated_at = now()
     WHERE direction = 'out' AND provider_sid = p_sid
       AND carenav_status_rank(p_status) >= carenav_status_rank(status);
    RETURN FOUND OR EXISTS (SELECT 1 FROM messages WHERE direction = 'out' AND provider_sid = p_sid);
END $$;
