-- outbox.sql - texts out: queued, claimed, sent, retried, delivery reports and
-- opt-outs (gateway/outbox.c).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

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

-- The claim with one lease for all, for a gateway of the previous release
-- still running during a rolling upgrade (it reads the first 6 columns).
CREATE OR REPLACE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text)
LANGUAGE sql AS $$
    SELECT c.outbox_id, c.message_id, c.attempts, c.to_number, c.from_number, c.body
      FROM carenav_outbox_claim(p_limit, p_lease_ms, p_lease_ms) c
$$;

-- The 'sent' mark in the two-argument form, for gateways of an earlier
-- release during a rolling upgrade (the full form is further down).
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
LANGUAGE sql AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, 'sent', NULL::smallint, NULL::text);
$$;

-- A temporary failure: try again after p_delay_ms.
CREATE OR REPLACE FUNCTION carenav_outbox_retry(p_outbox_id bigint, p_delay_ms bigint, p_error text) RETURNS void
LANGUAGE sql AS $$
    UPDATE outbox SET lease_until = NULL, last_error = p_error,
                      next_attempt_at = now() + p_delay_ms * interval '1 millisecond'
     WHERE id = p_outbox_id;
$$;

-- A permanent failure (rejected, or out of attempts): recorded, never
-- retried. A page refused for good marks its staff member unreachable
-- (unless the account, not the number, was refused: HTTP 401/403) and makes
-- the next round due at once when nobody else of the round is queued or
-- reached; an emergency text that failed tells staff.
CREATE OR REPLACE FUNCTION carenav_outbox_failed(p_outbox_id bigint, p_error text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    o     outbox%ROWTYPE;
    v_prv text;
BEGIN
    UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = p_error
     WHERE id = p_outbox_id RETURNING * INTO o;
    UPDATE messages SET status = 'failed', error = p_error, status_updated_at = now()
     WHERE id = o.message_id AND created_at = o.message_created_at
    RETURNING provider INTO v_prv;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id, 'alert_failed', 'gateway', m.to_number || ': ' || p_error
      FROM messages m WHERE m.id = o.message_id AND m.created_at = o.message_created_at AND m.sent_by = 'alert';
    IF NOT coalesce(o.urgent, false) THEN
        RETURN;
    END IF;
    IF o.pages IS NOT NULL THEN
        IF o.staff_id IS NOT NULL AND p_error !~ '^HTTP 40[13]\M' THEN
            UPDATE staff SET unreachable_at = now(), unreachable_reason = left(p_error, 200)
             WHERE id = o.staff_id;
            INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
            SELECT (p->>'e')::bigint, 'staff_unreachable', (p->>'s')::integer, o.staff_id, 'gateway',
                   left(p_error, 200)
              FROM jsonb_array_elements(o.pages) p;
        END IF;
        UPDATE escalations e SET next_due_at = now()
          FROM jsonb_array_elements(o.pages) p
         WHERE e.id = (p->>'e')::bigint AND e.status = 'open' AND e.step = (p->>'s')::integer
           AND NOT EXISTS (SELECT 1 FROM outbox x
                            WHERE x.pages @> jsonb_build_array(jsonb_build_object('e', e.id, 's', e.step))
                              AND x.pages IS NOT NULL AND x.id <> o.id AND x.state IN ('pending', 'done'));
    ELSIF o.staff_id IS NULL AND o.escalation_id IS NOT NULL THEN
        PERFORM carenav_emergency_undelivered(o.escalation_id, p_error, coalesce(v_prv, 'sandbox'));
    END IF;
END $$;

-- Records a delivery report and applies it to its message; false when no
-- sent message has that id yet (carenav_outbox_sent applies it later).
-- Kannel's ids are "K<outbox id>" (provider_kannel.c), so its reports, which
-- often race the send they report on, find their message through the outbox
-- row. Statuses move forward only (carenav_status_rank; those ranking 0,
-- such as receiving, received or anything unknown, never move a message),
-- the error is cleared on delivery, and a report saying the emergency text
-- never reached the patient is handled like a refusal
-- (carenav_emergency_undelivered); a late "undelivered" after "delivered"
-- changes nothing, so it raises nothing either.
CREATE OR REPLACE FUNCTION carenav_delivery_report(p_provider text, p_sid text, p_status text,
                                                   p_error_code text)
RETURNS boolean
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_found boolean := false;
    v_esc   bigint;
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
    IF p_status IN ('undelivered', 'failed') THEN
        SELECT o.escalation_id INTO v_esc
          FROM messages m JOIN outbox o ON o.message_id = m.id
         WHERE m.direction = 'out' AND m.provider_sid = p_sid AND m.sent_by <> 'alert'
           AND m.status = p_status
           AND o.urgent AND o.staff_id IS NULL AND o.escalation_id IS NOT NULL
         LIMIT 1;
        IF v_esc IS NOT NULL THEN
            PERFORM carenav_emergency_undelivered(v_esc, p_status || coalesce(' ' || nullif(p_error_code, ''), ''),
                                                  p_provider);
        END IF;
    END IF;
    RETURN EXISTS (SELECT 1 FROM messages WHERE direction = 'out' AND provider_sid = p_sid);
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

-- Outbox 'sent' marks in batches: one transaction for many replies.
--   p_items: [{"id": outbox id, "sid": ..., "status": ..., "segments": n, "encoding": "gsm7"}, ...]
-- Ordinary replies, nearly all of them, are marked set-based: one update of
-- their outbox rows and their messages, one for delivery reports that raced
-- ahead. Urgent rows (pages, alerts, the emergency instruction) have audit
-- and escalation work of their own: carenav_outbox_sent, one by one. The
-- per-row form cost 0.36 ms per text in PL/pgSQL statements (issue #23).
-- The joins must probe the keys (messages by its partition key); hence the
-- enable_* settings, as for the claim. This form, the previous release's,
-- marks only: the work is in the two-argument form below.
CREATE OR REPLACE FUNCTION carenav_outbox_sent_batch(p_items jsonb)
RETURNS TABLE (ord integer, done boolean)
LANGUAGE sql AS $$
    SELECT s.ord, s.done FROM carenav_outbox_sent_batch(p_items, NULL::integer) s;
$$;

-- The 'sent' marks (as above) that also hand each conversation's next reply
-- to the sender, as the step commit does for a step's first reply (issue
-- #23); with p_lease_ms NULL, the marks alone. Once a reply is marked sent,
-- its conversation's oldest pending row,
-- if ordinary, due, held by no one and not opted out, is leased for
-- p_lease_ms (attempts + 1) as carenav_outbox_claim would lease it and
-- returned with the first item of its conversation. "more" says that a
-- pending row of the conversation was left to the claim (urgent, leased
-- elsewhere, backing off, opted out): only then does the gateway kick a
-- claim, which before followed every 'sent' mark and found nothing nearly
-- always. The conversations are locked FOR SHARE first, in id order: a step
-- commit (FOR UPDATE) queueing a reply of one of them either committed
-- before, and its reply is seen here, or waits for this commit, and then
-- finds nothing pending before its reply and hands it over itself; either
-- way no reply is left for the sweep.
CREATE OR REPLACE FUNCTION carenav_outbox_sent_batch(p_items jsonb, p_lease_ms integer)
RETURNS TABLE (ord integer, done boolean, outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text, urgent boolean, escalation_open boolean,
               more boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
#variable_conflict use_column
DECLARE
    e      record;
    v_ids  bigint[];
    v_ats  timestamptz[];
    v_sids text[];
    v_ord  integer[];
    v_conv bigint[];
    v_next bigint[];
    v_first integer[];
    v_pconv bigint[];  -- the conversations with a pending row, and that row (v_pid)
    v_pid   bigint[];
BEGIN
    IF p_lease_ms IS NOT NULL THEN
        PERFORM 1 FROM conversations c
          WHERE c.id IN (SELECT o.conversation_id FROM jsonb_array_elements(p_items) AS x (s)
                           JOIN outbox o ON o.id = (x.s->>'id')::bigint)
          ORDER BY c.id
            FOR SHARE;
    END IF;
    -- The escalations of the pages in the batch before their outbox rows, as
    -- closing or acknowledging an escalation takes them (the escalation, then
    -- its pages' rows): marking a page sent moves its escalation's next round
    -- after updating the row, and the two orders deadlocked.
    PERFORM 1 FROM escalations x
      WHERE x.id IN (SELECT (p.e->>'e')::bigint FROM jsonb_array_elements(p_items) AS i (s)
                       JOIN outbox o ON o.id = (i.s->>'id')::bigint AND o.urgent
                      CROSS JOIN LATERAL jsonb_array_elements(o.pages) AS p (e))
      ORDER BY x.id
        FOR NO KEY UPDATE;
    FOR e IN SELECT x.s FROM jsonb_array_elements(p_items) AS x (s)
               JOIN outbox o ON o.id = (x.s->>'id')::bigint
              WHERE o.urgent ORDER BY o.id LOOP
        PERFORM carenav_outbox_sent((e.s->>'id')::bigint, e.s->>'sid', coalesce(e.s->>'status', 'sent'),
                                    (e.s->>'segments')::smallint, e.s->>'encoding');
    END LOOP;
    -- As carenav_outbox_sent does for one row: a status already past 'sent' stays.
    WITH i AS (
        SELECT (x.s->>'id')::bigint AS id, x.s->>'sid' AS sid,
               CASE WHEN carenav_status_rank(coalesce(x.s->>'status', 'sent')) BETWEEN 1 AND 3
                    THEN coalesce(x.s->>'status', 'sent') ELSE 'sent' END AS status,
               (x.s->>'segments')::smallint AS segments, x.s->>'encoding' AS encoding
          FROM jsonb_array_elements(p_items) AS x (s)),
    o AS (
        UPDATE outbox o SET state = 'done', lease_until = NULL, last_error = NULL
          FROM i WHERE o.id = i.id AND NOT o.urgent
        RETURNING o.message_id, o.message_created_at, i.sid, i.status, i.segments, i.encoding),
    u AS (
        UPDATE messages m
           SET status = CASE WHEN carenav_status_rank(m.status) <= 3 THEN o.status ELSE m.status END,
               provider_sid = CASE WHEN carenav_status_rank(m.status) <= 3 THEN nullif(o.sid, '')
                                   ELSE m.provider_sid END,
               segments = CASE WHEN carenav_status_rank(m.status) <= 3 THEN coalesce(m.segments, o.segments)
                               ELSE m.segments END,
               encoding = CASE WHEN carenav_status_rank(m.status) <= 3 THEN coalesce(m.encoding, o.encoding)
                               ELSE m.encoding END,
               status_updated_at = CASE WHEN carenav_status_rank(m.status) <= 3 THEN now()
                                        ELSE m.status_updated_at END
          FROM o WHERE m.id = o.message_id AND m.created_at = o.message_created_at
        RETURNING m.id, m.created_at, o.sid)
    SELECT array_agg(u.id), array_agg(u.created_at), array_agg(u.sid) INTO v_ids, v_ats, v_sids FROM u;
    -- A delivery report that arrived before this commit (008).
    UPDATE messages m SET status = r.status, error = carenav_report_error(r.status, r.error_code, m.error),
                          status_updated_at = now()
      FROM (SELECT t.id, t.at, d.status, d.error_code
              FROM unnest(v_ids, v_ats, v_sids) AS t (id, at, sid)
             CROSS JOIN LATERAL (SELECT status, error_code FROM delivery_reports
                                  WHERE provider_sid = t.sid ORDER BY id DESC LIMIT 1) d) r
     WHERE m.id = r.id AND m.created_at = r.at
       AND carenav_status_rank(r.status) > 0
       AND carenav_status_rank(r.status) >= carenav_status_rank(m.status);
    IF p_lease_ms IS NULL THEN
        RETURN QUERY SELECT x.i::integer, true, NULL::bigint, NULL::bigint, NULL::integer, NULL::text, NULL::text,
                            NULL::text, NULL::boolean, NULL::boolean, false
                       FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i);
        RETURN;
    END IF;
    -- Each conversation's first item, and its oldest pending row (0: none),
    -- found by one statement for the batch: a probe per conversation let the
    -- planner walk every pending row for each (carenav_step_commit_batch says more).
    SELECT array_agg(t.i), array_agg(t.conv) INTO v_ord, v_conv
      FROM (SELECT min(x.i)::integer AS i, o.conversation_id AS conv
              FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)
              JOIN outbox o ON o.id = (x.s->>'id')::bigint
             GROUP BY o.conversation_id) t;
    SELECT array_agg(p.conversation_id), array_agg(p.id) INTO v_pconv, v_pid
      FROM (SELECT DISTINCT ON (p.conversation_id) p.conversation_id, p.id FROM outbox p
             WHERE p.conversation_id = ANY (v_conv) AND p.state = 'pending'
             ORDER BY p.conversation_id, p.id) p;
    v_next := ARRAY(SELECT coalesce(v_pid[array_position(v_pconv, c.conv)], 0)
                      FROM unnest(v_conv) WITH ORDINALITY AS c (conv, k) ORDER BY c.k);
    -- By item: its place in those arrays, 0 for the others (carenav_places).
    v_first := carenav_places(jsonb_array_length(p_items), v_ord);
    RETURN QUERY
    WITH h AS (
        UPDATE outbox o
           SET lease_until = now() + p_lease_ms * interval '1 millisecond', attempts = o.attempts + 1
          FROM conversations c, messages m
         WHERE o.id IN (SELECT l.id FROM outbox l WHERE l.id = ANY (v_next) FOR UPDATE SKIP LOCKED)
           AND o.state = 'pending' AND NOT o.urgent AND o.next_attempt_at <= now()
           AND (o.lease_until IS NULL OR o.lease_until < now())
           AND c.id = o.conversation_id AND (o.compliance OR NOT c.opted_out)
           AND m.id = o.message_id AND m.created_at = o.message_created_at
        RETURNING o.id, o.message_id, o.attempts, m.to_number, m.from_number, m.body, o.conversation_id)
    SELECT x.i, true, h.id, h.message_id, h.attempts, h.to_number, h.from_number, h.body,
           CASE WHEN h.id IS NOT NULL THEN false END, CASE WHEN h.id IS NOT NULL THEN false END,
           coalesce(v_next[v_first[x.i]] <> 0, false) AND h.id IS NULL
      FROM generate_series(1, jsonb_array_length(p_items)) AS x (i)
      LEFT JOIN h ON h.conversation_id = v_conv[v_first[x.i]];
END $$;

-- Suppresses the outbox rows p_ids still pending, p_reason their last
-- error, and marks their messages suppressed: texts that must not go out
-- any more (an opt-out, the end of the escalation a page was for).
CREATE OR REPLACE FUNCTION carenav_outbox_suppress(p_ids bigint[], p_reason text) RETURNS void
LANGUAGE sql AS $$
    WITH s AS (
        UPDATE outbox SET state = 'suppressed', lease_until = NULL, last_error = p_reason
         WHERE id = ANY (p_ids) AND state = 'pending'
        RETURNING message_id, message_created_at)
    UPDATE messages m SET status = 'suppressed', status_updated_at = now()
      FROM s WHERE m.id = s.message_id AND m.created_at = s.message_created_at;
$$;

CREATE OR REPLACE FUNCTION carenav_suppress_opted_out() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM carenav_outbox_suppress(ARRAY(SELECT id FROM outbox
                                           WHERE conversation_id = NEW.id AND state = 'pending' AND NOT compliance),
                                    'opted out');
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER conversations_suppress_opted_out AFTER UPDATE OF opted_out ON conversations
    FOR EACH ROW WHEN (NEW.opted_out AND NOT OLD.opted_out)
    EXECUTE FUNCTION carenav_suppress_opted_out();

-- The error a report leaves on a message: none once it arrived, else the
-- report's code, else what was there.
CREATE OR REPLACE FUNCTION carenav_report_error(p_status text, p_error_code text, p_old text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_status IN ('delivered', 'read') THEN NULL
                ELSE coalesce(nullif(p_error_code, ''), p_old) END
$$;

-- The 'sent' mark in the three-argument form, for gateways of an earlier
-- release during a rolling upgrade.
CREATE OR REPLACE FUNCTION carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text)
RETURNS void
LANGUAGE sql AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, p_status, NULL::smallint, NULL::text);
$$;

-- A permanent failure because the recipient unsubscribed (Twilio 21610).
-- Recorded as any failure; if the reply was an ordinary dialogue reply to a
-- patient, their conversation is opted out as if they had texted STOP to
-- us: the conversations_suppress_opted_out trigger suppresses their queued
-- replies, and the dialogue state says opted out, so the engine stays
-- silent until START (the version bump makes a step loaded before this
-- commit fail with 'conflict' and reload). Staff alerts, the emergency
-- instruction (a conversation in emergency) and compliance texts are left
-- as any failure. Returns whether it opted out.
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

-- Queues one urgent SMS (see the header). Returns the message id.
CREATE OR REPLACE FUNCTION carenav_queue_urgent(p_conversation_id bigint, p_provider text, p_body text,
                                                p_sent_by text, p_priority smallint, p_escalation_id bigint,
                                                p_pages jsonb, p_staff_id bigint, p_round_ms bigint)
RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    m record;
BEGIN
    m := carenav_message_out(p_conversation_id, p_provider, p_body, p_sent_by, p_escalation_id, NULL, NULL);
    INSERT INTO outbox (message_id, message_created_at, conversation_id, priority, compliance, urgent,
                        escalation_id, pages, staff_id, round_ms)
    VALUES (m.id, m.created_at, m.conversation_id, p_priority, true, true, p_escalation_id, p_pages,
            p_staff_id, p_round_ms);
    RETURN m.id;
END $$;

-- The walk must be an index scan of outbox_send_order in sending order that
-- stops at the limit. Its generic plan, made when the table was new, was a
-- bitmap scan of every pending index entry plus a sort (2-3 ms a claim with a
-- few thousand replies since the last vacuum: a bitmap scan never marks the
-- entries of sent rows dead, so they piled up); hence the enable_* settings.
CREATE OR REPLACE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer, p_urgent_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text, urgent boolean, escalation_open boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
#variable_conflict use_column
DECLARE
    r       record;
    v_n     integer := 0;
    v_opted boolean;
    v_free  boolean;
BEGIN
    FOR r IN SELECT o.id, o.conversation_id, o.message_id, o.message_created_at, o.compliance, o.urgent,
                    o.escalation_id
               FROM outbox o
              WHERE o.state = 'pending' AND o.next_attempt_at <= now()
                AND (o.lease_until IS NULL OR o.lease_until < now())
              ORDER BY o.priority DESC, o.id LOOP
        EXIT WHEN v_n >= p_limit;
        -- An older pending row of the conversation goes first (an urgent one
        -- before anything), asked as the conversation's first such row in
        -- outbox_pending's order: with sorts off, only that index gives it,
        -- so the probe cannot become a walk of every pending row
        -- (outbox_send_order) for each row walked, as the step commit's did (issue #23).
        CONTINUE WHEN (SELECT e.id FROM outbox e
                        WHERE e.conversation_id = r.conversation_id AND e.state = 'pending'
                          AND (e.urgent OR NOT r.urgent)
                        ORDER BY e.conversation_id, e.id LIMIT 1) < r.id;
        SELECT o.state = 'pending' AND (o.lease_until IS NULL OR o.lease_until < now()) INTO v_free
          FROM outbox o WHERE o.id = r.id FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN v_free IS NOT TRUE;
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
           SET lease_until = now() + (CASE WHEN r.urgent THEN p_urgent_lease_ms ELSE p_lease_ms END)
                                     * interval '1 millisecond',
               attempts = o.attempts + 1
          FROM messages m
         WHERE o.id = r.id AND m.id = r.message_id AND m.created_at = r.message_created_at
        RETURNING o.id, o.message_id, o.attempts, m.to_number, m.from_number, m.body, o.urgent,
                  r.urgent AND EXISTS (SELECT 1 FROM escalations x WHERE x.id = r.escalation_id
                                                                   AND x.status <> 'resolved');
        v_n := v_n + 1;
    END LOOP;
END $$;

-- The provider works again after an outage (gateway/outbox.c calls this
-- on the first accepted text after a second or more of nothing but
-- failures): urgent rows waiting on a backoff are due now, their backoff
-- restarted. Returns how many.
CREATE OR REPLACE FUNCTION carenav_outbox_urgent_now() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    UPDATE outbox SET next_attempt_at = now(), attempts = 0
     WHERE state = 'pending' AND urgent AND next_attempt_at > now();
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

-- The emergency instruction (or "a nurse will call") did not reach the
-- patient: an event with their number, and an urgent SMS to every staff
-- member alerted about the escalation so far (later pages say it too).
CREATE OR REPLACE FUNCTION carenav_emergency_undelivered(p_escalation_id bigint, p_error text, p_provider text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e escalations%ROWTYPE;
    c conversations%ROWTYPE;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_escalation_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    VALUES (e.id, 'patient_unreachable', 'gateway',
            'the emergency text did not reach ' || c.patient_number || ' (' || left(p_error, 200) || '): call them');
    PERFORM carenav_escalation_alert_paged(e.id, c.service_number, p_provider,
        '{"en": "ALERT {code}: the 911 text did NOT reach patient {number} ({error}). Call them now.",
          "es": "ALERTA {code}: el texto del 911 NO llegó al paciente {number} ({error}). Llámelo ahora."}',
        jsonb_build_object('code', e.code, 'number', c.patient_number, 'error', left(p_error, 80)));
END $$;

CREATE OR REPLACE FUNCTION carenav_outbox_hold(p_items jsonb)
RETURNS TABLE (outbox_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    x        jsonb;
    v_id     bigint;
    v_urgent boolean;
BEGIN
    FOR x IN SELECT * FROM jsonb_array_elements(p_items) LOOP
        v_id := (x->>'id')::bigint;
        v_urgent := NULL;
        SELECT o.priority >= 10 OR m.escalation_id IS NOT NULL OR c.status = 'emergency'
          INTO v_urgent
          FROM outbox o
          JOIN messages m ON m.id = o.message_id AND m.created_at = o.message_created_at
          JOIN conversations c ON c.id = o.conversation_id
         WHERE o.id = v_id AND o.state = 'pending';
        CONTINUE WHEN v_urgent IS NULL;
        IF v_urgent THEN
            outbox_id := v_id;
            RETURN NEXT;
        ELSIF x ? 'refuse' THEN
            PERFORM carenav_outbox_failed(v_id, x->>'refuse');
        ELSE
            UPDATE outbox
               SET lease_until = NULL, attempts = greatest(attempts - 1, 0),
                   next_attempt_at = now() + (x->>'delay_ms')::bigint * interval '1 millisecond'
             WHERE id = v_id;
        END IF;
    END LOOP;
END $$;

-- The one place an outbound message is made: the messages row of an SMS to
-- the conversation's other party, from its service number, with the
-- segments and encoding the gateway counted (NULL when it did not count
-- them). carenav_queue_sms and carenav_queue_urgent add its outbox row.
CREATE OR REPLACE FUNCTION carenav_message_out(p_conversation_id bigint, p_provider text, p_body text,
                                               p_sent_by text, p_escalation_id bigint,
                                               p_segments smallint, p_encoding text,
                                               OUT id bigint, OUT created_at timestamptz,
                                               OUT conversation_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    SELECT * INTO c FROM conversations WHERE conversations.id = p_conversation_id;
    INSERT INTO messages AS m (conversation_id, direction, provider, from_number, to_number, body,
                               status, sent_by, escalation_id, segments, encoding)
    VALUES (c.id, 'out', p_provider, c.service_number, c.patient_number, p_body, 'queued',
            p_sent_by, p_escalation_id, p_segments, p_encoding)
    RETURNING m.id, m.created_at, m.conversation_id INTO id, created_at, conversation_id;
END $$;

-- Queues a reply or notice: its message (carenav_message_out) and outbox
-- row. Returns the message id.
CREATE OR REPLACE FUNCTION carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text,
                                             p_sent_by text, p_priority smallint, p_compliance boolean,
                                             p_escalation_id bigint, p_segments smallint,
                                             p_encoding text)
RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    m record;
BEGIN
    m := carenav_message_out(p_conversation_id, p_provider, p_body, p_sent_by, p_escalation_id, p_segments,
                             p_encoding);
    INSERT INTO outbox (message_id, message_created_at, conversation_id, priority, compliance)
    VALUES (m.id, m.created_at, m.conversation_id, p_priority, p_compliance);
    RETURN m.id;
END $$;

-- The 'sent' mark: the provider accepted the reply, saying p_status ('sent',
-- or 'queued', 'accepted', 'scheduled' when it only queued it). Applies a
-- delivery report that raced ahead of it; a delivered page restarts the
-- clock of every round it stands for (and is recorded in each escalation's
-- audit trail), and any urgent text the provider accepted for a staff
-- member clears their unreachable mark (issue #17).
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
    v_sent_by text;
    v_esc    bigint;
    v_to     text;
    v_status text := CASE WHEN carenav_status_rank(p_status) BETWEEN 1 AND 3 THEN p_status ELSE 'sent' END;
BEGIN
    UPDATE outbox SET state = 'done', lease_until = NULL, last_error = NULL
     WHERE id = p_outbox_id
    RETURNING message_id, message_created_at, pages, staff_id, round_ms
         INTO v_msg, v_at, v_pages, v_staff, v_round;
    -- 'queued' ranks with our own outbox's 'queued': the provider id tells them apart (015).
    -- What the text cost, as the gateway counted it when sending (for texts rendered in
    -- SQL, such as staff alerts; the dialogue's and operators' texts have it already, 021).
    -- A status already past 'sent' (rank 3: a report raced ahead) stays; the
    -- row is read either way, for the audit of a page below (one statement, not two).
    UPDATE messages
       SET status = CASE WHEN carenav_status_rank(status) <= 3 THEN v_status ELSE status END,
           provider_sid = CASE WHEN carenav_status_rank(status) <= 3 THEN nullif(p_provider_sid, '')
                               ELSE provider_sid END,
           segments = CASE WHEN carenav_status_rank(status) <= 3 THEN coalesce(segments, p_segments)
                           ELSE segments END,
           encoding = CASE WHEN carenav_status_rank(status) <= 3 THEN coalesce(encoding, p_encoding)
                           ELSE encoding END,
           status_updated_at = CASE WHEN carenav_status_rank(status) <= 3 THEN now() ELSE status_updated_at END
     WHERE id = v_msg AND created_at = v_at
    RETURNING sent_by, escalation_id, to_number INTO v_sent_by, v_esc, v_to;
    -- A delivery report that arrived before this commit (008).
    UPDATE messages m SET status = r.status, error = carenav_report_error(r.status, r.error_code, m.error),
                          status_updated_at = now()
      FROM (SELECT status, error_code FROM delivery_reports
             WHERE provider_sid = p_provider_sid ORDER BY id DESC LIMIT 1) r
     WHERE m.id = v_msg AND m.created_at = v_at
       AND carenav_status_rank(r.status) > 0
       AND carenav_status_rank(r.status) >= carenav_status_rank(m.status);
    IF v_sent_by = 'alert' THEN
        INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
        SELECT coalesce((p->>'e')::bigint, v_esc), 'alert_sent', (p->>'s')::integer, v_staff, 'gateway', v_to
          FROM (SELECT) one
          LEFT JOIN jsonb_array_elements(v_pages) p ON true;
    END IF;
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
