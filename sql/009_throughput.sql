-- 009_throughput.sql - the hot paths made cheap under load (measured by bench/run).
--
-- 1. An outbox claim whose cost does not grow with the backlog.
-- bench/run measured the claim of 002 at 25 ms a call with a few thousand
-- replies pending, two thirds of PostgreSQL's time under load: each call
-- ran DISTINCT ON over every pending row to find each conversation's oldest
-- one, and joined every pending row with its conversation to find opted-out
-- numbers. This version keeps the same rules and results:
--   * suppression starts from the opted-out conversations (a partial index;
--     there are few) rather than from every pending row;
--   * the sendable rows are found by walking pending rows in sending order
--     (priority, then id) through a partial index and keeping those with no
--     older pending row in their conversation (an index probe each), which
--     stops after p_limit rows instead of sorting the whole backlog.

CREATE INDEX conversations_opted_out ON conversations (id) WHERE opted_out;
CREATE INDEX outbox_send_order ON outbox (priority DESC, id) WHERE state = 'pending';

CREATE OR REPLACE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r     record;
    v_n   integer := 0;
BEGIN
    -- Nothing but opt-out/opt-in confirmations goes to an opted-out number.
    WITH s AS (
        UPDATE outbox o SET state = 'suppressed', lease_until = NULL, last_error = 'opted out'
          FROM conversations c
         WHERE c.opted_out AND o.conversation_id = c.id AND o.state = 'pending' AND NOT o.compliance
        RETURNING o.message_id)
    UPDATE messages m SET status = 'suppressed', status_updated_at = now() FROM s WHERE m.id = s.message_id;

    -- A loop rather than one anti-join: a cached plan made while the table
    -- was small (no statistics yet) turned the anti-join into a scan of the
    -- whole backlog per row, seconds per call. Each step here is an index
    -- probe whatever the statistics say.
    FOR r IN SELECT o.id, o.conversation_id FROM outbox o
              WHERE o.state = 'pending' AND o.next_attempt_at <= now()
                AND (o.lease_until IS NULL OR o.lease_until < now())
              ORDER BY o.priority DESC, o.id LOOP
        EXIT WHEN v_n >= p_limit;
        CONTINUE WHEN EXISTS (SELECT 1 FROM outbox e
                               WHERE e.conversation_id = r.conversation_id AND e.state = 'pending'
                                 AND e.id < r.id);
        PERFORM 1 FROM outbox o
          WHERE o.id = r.id AND o.state = 'pending'
            AND (o.lease_until IS NULL OR o.lease_until < now())
            FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        RETURN QUERY
        UPDATE outbox o
           SET lease_until = now() + p_lease_ms * interval '1 millisecond', attempts = o.attempts + 1
          FROM messages m
         WHERE o.id = r.id AND m.id = o.message_id
        RETURNING o.id, o.message_id, o.attempts, m.to_number, m.from_number, m.body;
        v_n := v_n + 1;
    END LOOP;
END $$;

-- 2. Group commit of inbound messages: many webhooks, one transaction.
--
-- The gateway sends the webhooks that arrived while the previous batch was
-- committing as one call, so one WAL flush makes them all durable before
-- any of them is answered 200. Each message goes through the same
-- carenav_inbound_accept as before (stored once per provider id, message
-- ids in arrival order within a conversation). They are taken in order of
-- (From, To, arrival). The existing conversations of the batch are locked
-- first, in id order, the order every batch function here locks them in,
-- so batches (accepts and steps, from any number of gateways) do not
-- deadlock each other; should one still be chosen as a deadlock victim,
-- the gateway retries its messages one by one.
-- The result has one row per input element, by its 1-based position.
--   p_msgs: [{"provider", "sid", "from", "to", "body", "num_media"}, ...] in arrival order
CREATE FUNCTION carenav_inbound_accept_batch(p_msgs jsonb)
RETURNS TABLE (ord integer, message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE plpgsql AS $$
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
                                                    (e.m->>'num_media')::integer);
        ord := e.i;
        message_id := r.message_id;
        conversation_id := r.conversation_id;
        is_new := r.is_new;
        RETURN NEXT;
    END LOOP;
END $$;

-- 3. Dialogue steps in batches: loads (read only) and commits (group commit).
--
-- The gateway keeps at most one job per conversation, so a batch holds one
-- step per conversation. Commits are applied in conversation id order (the
-- lock order of the accept batch above). Each element is exactly
-- carenav_step_commit, with the same outcome ('ok', 'conflict', 'already').
--   p_items (load):   [{"id": conversation id, "window_ms": rate-limit window}, ...]
--   p_items (commit): [{"conversation_id", "version", "message_id", "state" (JSON text),
--                       "flow_version_id" (or null), "language", "status", "provider",
--                       "replies" (JSON text), "actions" (JSON text)}, ...]
CREATE FUNCTION carenav_step_load_batch(p_items jsonb, p_default_flow text)
RETURNS TABLE (ord integer, version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text)
LANGUAGE sql STABLE AS $$
    -- Each item may carry the rate-limit window (006), in ms.
    SELECT x.i::integer, s.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (e, i)
     CROSS JOIN LATERAL carenav_step_load((x.e->>'id')::bigint, p_default_flow,
                                          coalesce((x.e->>'window_ms')::bigint, 60000)) AS s
$$;

CREATE FUNCTION carenav_step_commit_batch(p_items jsonb)
RETURNS TABLE (ord integer, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e record;
BEGIN
    FOR e IN SELECT x.s, x.i::integer AS i
               FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)
              ORDER BY (x.s->>'conversation_id')::bigint, x.i LOOP
        ord := e.i;
        outcome := carenav_step_commit((e.s->>'conversation_id')::bigint,
                                       (e.s->>'version')::bigint,
                                       (e.s->>'message_id')::bigint,
                                       (e.s->>'state')::jsonb,
                                       (e.s->>'flow_version_id')::bigint,
                                       e.s->>'language', e.s->>'status', e.s->>'provider',
                                       (e.s->>'replies')::jsonb, (e.s->>'actions')::jsonb);
        RETURN NEXT;
    END LOOP;
END $$;

-- 4. Outbox 'sent' marks in batches: one transaction for many replies.
--   p_items: [{"id": outbox id, "sid": provider's message id}, ...]
CREATE FUNCTION carenav_outbox_sent_batch(p_items jsonb)
RETURNS TABLE (ord integer, done boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e record;
BEGIN
    FOR e IN SELECT x.s, x.i::integer AS i
               FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)
              ORDER BY (x.s->>'id')::bigint LOOP
        PERFORM carenav_outbox_sent((e.s->>'id')::bigint, e.s->>'sid');
        ord := e.i;
        done := true;
        RETURN NEXT;
    END LOOP;
END $$;
