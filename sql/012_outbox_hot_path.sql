-- 012_outbox_hot_path.sql - the outbox's statements made cheap under a
-- backlog. Measured with `BENCH_PROFILE=1 bench/run` (5,000 patients, tens
-- of thousands of replies queued): PostgreSQL spent most of its time on
-- work that did nothing useful. See docs/scaling.md.
--
-- 1. Every reply's messages row was updated by id alone. Since 010 the
--    messages key is (id, created_at), so such an update probes every
--    monthly partition, and its plan cannot be narrowed to one: PostgreSQL
--    re-planned the 'sent' update for a third of its calls (0.38 ms a plan,
--    85 % of its cost). The outbox row now carries its message's
--    created_at (message_created_at, the partition key), written by
--    carenav_queue_sms in the same statement that makes the message, and
--    every update of a reply's message names it (with a generic plan, 4).
-- 2. Each claim joined every pending row with the opted-out conversations to
--    suppress replies to opted-out numbers (1.9 ms a call with a large
--    backlog, even with no one opted out). Now the replies already queued
--    are suppressed when the patient opts out (a trigger on the
--    conversation, in 014: creating it here would take the conversations
--    lock while holding the outbox one, and deadlock with a step that
--    takes them the other way), and the claim checks each reply it takes
--    (one primary-key probe) for those queued later. A reply to an
--    opted-out number is still never sent. And the claim locks each row by
--    its primary key (see below).
-- 3. carenav_step_load_batch was an inlined SQL function, so every call was
--    planned from scratch with the whole dialogue load in it (1.6 ms a
--    call). As PL/pgSQL its plan is cached per connection.
-- 4. Every function on a text's path runs with plan_cache_mode =
--    force_generic_plan. Their statements find rows by key, and the best
--    plan does not depend on the key's value; but PostgreSQL's choice
--    between a generic and a per-call ("custom") plan follows table
--    statistics, and under load it kept switching to custom plans: the
--    profile showed the same statements planned on 25-55 % of their calls
--    (0.3-1.7 ms a plan), more than they took to run. A generic plan is
--    made once per connection; on the partitioned messages table it still
--    prunes to one partition when it runs, where the month is given
--    ("Subplans Removed" in EXPLAIN). Set on the functions the gateway
--    calls; the functions they call inherit it. The price, on PostgreSQL
--    15: a generic plan still locks every partition of messages each time
--    it runs (pruning skips scanning them, not locking them), about two
--    locks per monthly partition kept; past 16 the locks leave the fast
--    path. Years of partitions should be detached and archived
--    (docs/data-lifecycle.md); PostgreSQL 18 prunes before locking.

-- 1. The message's month on its outbox row. Only the pending rows get it
-- here (through the partial index of pending rows): this runs at a
-- gateway's start with the outbox locked, and rewriting every row ever
-- sent would stop the queue for as long as that takes. The rows already
-- sent keep NULL; nothing but a late Kannel delivery report looks them up,
-- and that falls back to the provider id. A pending row must have it: a
-- step still running the old carenav_queue_sms when this commits fails the
-- check and is retried by its gateway with the new one, rather than
-- queueing a row no update could find. (NOT VALID: the rows not pending
-- satisfy it anyway, and validating would scan the whole table.)
ALTER TABLE outbox ADD COLUMN message_created_at timestamptz;
UPDATE outbox o SET message_created_at = m.created_at
  FROM messages m WHERE o.state = 'pending' AND m.id = o.message_id;
-- (An outbox row without its message cannot exist: both come from one
-- function in one transaction. Should one, it keeps its own time.)
UPDATE outbox SET message_created_at = created_at WHERE state = 'pending' AND message_created_at IS NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_pending_has_month
    CHECK (state <> 'pending' OR message_created_at IS NOT NULL) NOT VALID;

CREATE OR REPLACE FUNCTION carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text,
                                             p_sent_by text, p_priority smallint, p_compliance boolean,
                                             p_escalation_id bigint)
RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c     conversations%ROWTYPE;
    v_msg bigint;
    v_at  timestamptz;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id;
    INSERT INTO messages (conversation_id, direction, provider, from_number, to_number, body,
                          status, sent_by, escalation_id)
    VALUES (c.id, 'out', p_provider, c.service_number, c.patient_number, p_body, 'queued',
            p_sent_by, p_escalation_id)
    RETURNING id, created_at INTO v_msg, v_at;
    INSERT INTO outbox (message_id, message_created_at, conversation_id, priority, compliance)
    VALUES (v_msg, v_at, c.id, p_priority, p_compliance);
    RETURN v_msg;
END $$;

-- The claim of 009 with both changes: a reply to an opted-out number that
-- was queued after the opt-out is suppressed when the walk reaches it, and
-- the message is read from its own partition. Same rules otherwise: only the oldest pending reply of a
-- conversation is sendable, in priority then id order, FOR UPDATE SKIP
-- LOCKED so gateways claim disjoint rows.
CREATE OR REPLACE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    r       record;
    v_n     integer := 0;
    v_opted boolean;
    v_free  boolean;
BEGIN
    -- A loop rather than one anti-join: see 009.
    FOR r IN SELECT o.id, o.conversation_id, o.message_id, o.message_created_at, o.compliance
               FROM outbox o
              WHERE o.state = 'pending' AND o.next_attempt_at <= now()
                AND (o.lease_until IS NULL OR o.lease_until < now())
              ORDER BY o.priority DESC, o.id LOOP
        EXIT WHEN v_n >= p_limit;
        CONTINUE WHEN EXISTS (SELECT 1 FROM outbox e
                               WHERE e.conversation_id = r.conversation_id AND e.state = 'pending'
                                 AND e.id < r.id);
        -- Locked by its primary key, the state checked after: with
        -- "state = 'pending'" in the WHERE clause the planner may pick a
        -- partial index on pending rows and scan all of them for this id
        -- (0.14 ms a row with a large backlog). NULL: another gateway has it.
        SELECT o.state = 'pending' AND (o.lease_until IS NULL OR o.lease_until < now()) INTO v_free
          FROM outbox o WHERE o.id = r.id FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN v_free IS NOT TRUE;
        -- Nothing but opt-out/opt-in confirmations goes to an opted-out number
        -- (this catches replies queued after the opt-out, e.g. by an operator).
        IF NOT r.compliance THEN
            SELECT c.opted_out INTO v_opted FROM conversations c WHERE c.id = r.conversation_id;
            IF v_opted THEN
                UPDATE outbox SET state = 'suppressed', lease_until = NULL, last_error = 'opted out'
                 WHERE id = r.id;
                UPDATE messages SET status = 'suppressed', status_updated_at = now()
                 WHERE id = r.message_id AND created_at = r.message_created_at;
                CONTINUE;
            END IF;
        END IF;
        RETURN QUERY
        UPDATE outbox o
           SET lease_until = now() + p_lease_ms * interval '1 millisecond', attempts = o.attempts + 1
          FROM messages m
         WHERE o.id = r.id AND m.id = r.message_id AND m.created_at = r.message_created_at
        RETURNING o.id, o.message_id, o.attempts, m.to_number, m.from_number, m.body;
        v_n := v_n + 1;
    END LOOP;
END $$;

-- The provider accepted the reply: as in 005, by the message's partition.
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_msg bigint;
    v_at  timestamptz;
BEGIN
    UPDATE outbox SET state = 'done', lease_until = NULL, last_error = NULL
     WHERE id = p_outbox_id RETURNING message_id, message_created_at INTO v_msg, v_at;
    UPDATE messages SET status = 'sent', provider_sid = nullif(p_provider_sid, ''),
                        status_updated_at = now()
     WHERE id = v_msg AND created_at = v_at AND carenav_status_rank(status) <= carenav_status_rank('sent');
    -- A delivery report that arrived before this commit (008).
    UPDATE messages m SET status = r.status, error = coalesce(r.error_code, m.error),
                          status_updated_at = now()
      FROM (SELECT status, error_code FROM delivery_reports
             WHERE provider_sid = p_provider_sid ORDER BY id DESC LIMIT 1) r
     WHERE m.id = v_msg AND m.created_at = v_at
       AND carenav_status_rank(r.status) >= carenav_status_rank(m.status);
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id, 'alert_sent', 'gateway', m.to_number
      FROM messages m WHERE m.id = v_msg AND m.created_at = v_at AND m.sent_by = 'alert';
END $$;

-- A permanent failure (rejected, or out of attempts): as in 005, by the message's partition.
CREATE OR REPLACE FUNCTION carenav_outbox_failed(p_outbox_id bigint, p_error text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_msg bigint;
    v_at  timestamptz;
BEGIN
    UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = p_error
     WHERE id = p_outbox_id RETURNING message_id, message_created_at INTO v_msg, v_at;
    UPDATE messages SET status = 'failed', error = p_error, status_updated_at = now()
     WHERE id = v_msg AND created_at = v_at;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id, 'alert_failed', 'gateway', m.to_number || ': ' || p_error
      FROM messages m WHERE m.id = v_msg AND m.created_at = v_at AND m.sent_by = 'alert';
END $$;

-- Kannel's reports name the outbox row (008): its message by its partition too.
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
                              error = coalesce(nullif(p_error_code, ''), m.error),
                              status_updated_at = now()
          FROM outbox o
         WHERE o.id = substr(p_sid, 2)::bigint AND m.id = o.message_id
           AND m.created_at = o.message_created_at AND m.direction = 'out'
           AND carenav_status_rank(p_status) >= carenav_status_rank(m.status);
        v_found := FOUND;
    END IF;
    -- Other providers; and a Kannel report whose outbox row is gone
    -- (trimmed, 013) or was sent before 012 finds the message by provider id.
    IF NOT v_found THEN
        UPDATE messages SET status = p_status, error = coalesce(nullif(p_error_code, ''), error),
                            status_updated_at = now()
         WHERE direction = 'out' AND provider_sid = p_sid
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

-- 3. The batch load of 009, same result, with a plan cached per connection.
-- (LANGUAGE sql was inlined into the gateway's statement and planned per call.)
CREATE OR REPLACE FUNCTION carenav_step_load_batch(p_items jsonb, p_default_flow text)
RETURNS TABLE (ord integer, version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- Each item may carry the rate-limit window (006), in ms.
    RETURN QUERY
    SELECT x.i::integer, s.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (e, i)
     CROSS JOIN LATERAL carenav_step_load((x.e->>'id')::bigint, p_default_flow,
                                          coalesce((x.e->>'window_ms')::bigint, 60000)) AS s;
END $$;

-- 4. Generic plans for the rest of a text's path (defined in 005, 009, 010).
ALTER FUNCTION carenav_inbound_accept_batch SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION carenav_inbound_accept SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION carenav_step_commit_batch SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION carenav_step_commit SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION carenav_outbox_sent_batch SET plan_cache_mode = force_generic_plan;
