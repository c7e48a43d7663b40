-- inbound.sql - one text in: stored once, the dialogue state loaded and the
-- step committed (gateway/inbound.c, batch.c).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

-- Stores one inbound SMS (once per provider id) and finds or creates its
-- conversation. "Stored once" is kept by inbound_ids: the provider id is
-- claimed first, under the conversation's row lock, so message ids follow
-- arrival order within a conversation (the dialogue relies on it), then the
-- message is inserted with the id the claim reserved.
CREATE OR REPLACE FUNCTION carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text,
                                                  p_body text, p_num_media integer)
RETURNS TABLE (message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE sql AS $$
    SELECT * FROM carenav_inbound_accept(p_provider, p_sid, p_from, p_to, p_body, p_num_media, NULL::text);
$$;

-- Commits one dialogue step: the conversation's new state, the replies as
-- outbox rows (with the segments and encoding the gateway counted), the
-- actions (escalations, callbacks, opt-out) and the inbound message's
-- processed mark, all or nothing. A red flag in a conversation that already
-- has an open escalation adds to it ('reflagged', paged as an update); the
-- emergency instruction is urgent. Returns 'ok', 'last' (ok, and no other
-- text of the conversation is unprocessed), 'conflict' (the state
-- changed since it was loaded: load again) or 'already' (another process
-- handled this message).
--   p_replies: [{"body": text, "compliance": bool, "segments": n, "encoding": text}, ...] in sending order
--   p_actions: [{"kind": "escalate"|"callback"|"opt_out"|"opt_in", "reason": text, "detail": text}, ...]
--   p_received_ms: the message's created_at in ms since the epoch, as
--     carenav_step_load returned it (rounded), or NULL if unknown. messages'
--     key is (id, created_at): with the time the message is found in its
--     monthly partition, without it every partition's key is probed (issue #23).
CREATE OR REPLACE FUNCTION carenav_step_commit(p_conversation_id bigint, p_version bigint,
                                               p_message_id bigint, p_state jsonb,
                                               p_flow_version_id bigint, p_language text,
                                               p_status text, p_provider text, p_replies jsonb,
                                               p_actions jsonb, p_received_ms bigint)
RETURNS text
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c       conversations%ROWTYPE;
    v_from  timestamptz := coalesce('epoch'::timestamptz + (p_received_ms - 1) * interval '1 millisecond',
                                    '-infinity');
    v_to    timestamptz := coalesce('epoch'::timestamptz + (p_received_ms + 1) * interval '1 millisecond',
                                    'infinity');
    v_opted boolean;
    v_esc   bigint;
    v_msg   bigint;
    v_since timestamptz := carenav_unprocessed_since();
    a       jsonb;
    r       jsonb;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND OR c.version <> p_version THEN
        RETURN 'conflict';
    END IF;
    -- Marked processed first: one statement finds, locks and marks it.
    UPDATE messages SET status = 'processed', processed_at = now()
     WHERE id = p_message_id AND created_at BETWEEN v_from AND v_to AND processed_at IS NULL;
    IF NOT FOUND THEN
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
            -- Made in this transaction, so created_at = now(): the row's partition.
            UPDATE messages SET segments = (r->>'segments')::smallint, encoding = r->>'encoding'
             WHERE id = v_msg AND created_at = now();
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
    -- 'last': no other text of the conversation waits, so the gateway ends its
    -- job instead of loading again to find nothing (a text stored after this
    -- commit waited for the conversation's lock, and starts a step of its own).
    -- (ORDER BY id: the unprocessed texts' index, as in carenav_step_commit_batch.)
    IF (SELECT id FROM messages WHERE conversation_id = c.id AND direction = 'in' AND processed_at IS NULL
           AND created_at >= v_since
         ORDER BY id LIMIT 1) IS NULL THEN
        RETURN 'last';
    END IF;
    RETURN 'ok';
END $$;

-- The step commit without the message's time, for a carenav_step_commit_batch
-- of the previous release during a rolling upgrade.
CREATE OR REPLACE FUNCTION carenav_step_commit(p_conversation_id bigint, p_version bigint,
                                               p_message_id bigint, p_state jsonb,
                                               p_flow_version_id bigint, p_language text,
                                               p_status text, p_provider text, p_replies jsonb,
                                               p_actions jsonb)
RETURNS text
LANGUAGE sql AS $$
    SELECT carenav_step_commit(p_conversation_id, p_version, p_message_id, p_state, p_flow_version_id,
                               p_language, p_status, p_provider, p_replies, p_actions, NULL::bigint);
$$;

-- The conversations with a text still unprocessed p_min_age_ms after it
-- arrived: the inbound sweep's work (gateway/inbound.c), left by a crash or
-- another process. No parallel plan: outbound rows have no processed_at
-- either, so the planner expects a quarter of messages here where there are
-- nearly none, and started two workers for every sweep (40-200 ms of both
-- cores a call under load, issue #23); the unprocessed-text index finds them.
CREATE OR REPLACE FUNCTION carenav_unprocessed_conversations(p_limit integer, p_min_age_ms bigint)
RETURNS TABLE (conversation_id bigint)
LANGUAGE sql STABLE SET max_parallel_workers_per_gather = 0 AS $$
    SELECT DISTINCT m.conversation_id FROM messages m
     WHERE m.direction = 'in' AND m.processed_at IS NULL
       AND m.created_at < now() - p_min_age_ms * interval '1 millisecond'
     LIMIT p_limit
$$;

-- How old a text still waiting for its step can be: the bound the unprocessed
-- texts' probes carry, so that PostgreSQL leaves the older months' partitions
-- out before it opens them. With 30 partitions of messages a probe without
-- it opened and read all 30, per text (issue #23). Two days ago, unless a
-- text older than 47 hours still waits somewhere (only when every gateway
-- was down for that long: then -infinity, every partition). The search for
-- such a text (the inbound sweep's own) runs at most once every ten minutes
-- per connection, its answer kept in two session settings (the time as epoch
-- seconds, which no DateStyle reads differently). That is safe: a
-- text that waits at time T and is older than T - 48 h already waited ten
-- minutes before T, when it was older than 47 h, and the search would have
-- found it (a text is never "unprocessed" again once processed, and its
-- created_at is its transaction's start).
CREATE OR REPLACE FUNCTION carenav_unprocessed_since() RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
    v_searched double precision := nullif(current_setting('carenav.old_unprocessed_searched', true), '')::double precision;
    v_found    boolean := current_setting('carenav.old_unprocessed_found', true) = 'true';
BEGIN
    IF v_searched IS NULL OR v_searched < extract(epoch FROM now()) - 600 THEN
        v_found := EXISTS (SELECT 1 FROM carenav_unprocessed_conversations(1, 47 * 3600 * 1000));
        PERFORM set_config('carenav.old_unprocessed_found', v_found::text, false),
                set_config('carenav.old_unprocessed_searched', extract(epoch FROM now())::text, false);
    END IF;
    RETURN CASE WHEN v_found THEN '-infinity'::timestamptz ELSE now() - interval '2 days' END;
END $$;

CREATE OR REPLACE FUNCTION carenav_is_staff(p_phone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM staff WHERE phone = p_phone AND active)
$$;

-- The staff member's own conversation with the clinic's number (alerts and ACKs live there).
CREATE OR REPLACE FUNCTION carenav_staff_conversation(p_phone text, p_service_number text) RETURNS bigint
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

-- Handles one text from a staff phone (never fed into the patient dialogue).
-- p_is_ack: the text was an ACK; p_code: its code, '' for a bare ACK.
-- p_texts: {"ack_ok", "ack_unknown", "ack_which", "staff_help", "ack_patient"} language maps.
-- p_code_required: a staff ACK must name the escalation's code, since a
-- staff phone is recognised by caller ID alone, which a forger can fake.
-- Unless ACK_BARE_ALLOWED=1 the gateway passes true for a bare "ACK", which
-- is answered with the open codes and "Reply ACK and the code" (the flow's
-- ack_which text) while nothing is acknowledged.
-- The reply to an ACK (the patient's number to call) is urgent: it goes
-- ahead of everything and never waits behind a page of the same staff
-- conversation left by a crashed gateway. Returns 'conflict' / 'already'
-- like carenav_step_commit, else 'acknowledged', 'unknown', 'which', 'help'
-- or 'code_required'.
CREATE OR REPLACE FUNCTION carenav_staff_step(p_conversation_id bigint, p_version bigint,
                                              p_message_id bigint, p_is_ack boolean, p_code text,
                                              p_provider text, p_texts jsonb, p_code_required boolean)
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
    v_vars := jsonb_build_object('staff', s.name, 'code', CASE WHEN p_code_required THEN '' ELSE p_code END,
                                 'codes', v_codes, 'count', v_count::text);
    IF p_code_required THEN
        v_result := 'code_required';
    ELSIF NOT p_is_ack THEN
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
                                                     WHEN 'code_required' THEN 'ack_which'
                                                     ELSE 'staff_help' END),
                              s.language, v_vars);
    IF v_result = 'acknowledged' THEN
        -- The number to call: urgent, so no page stuck before it holds it up.
        PERFORM carenav_queue_urgent(c.id, p_provider, v_reply, 'system', 20::smallint, v_esc, NULL, s.id, NULL);
    ELSE
        PERFORM carenav_queue_sms(c.id, p_provider, v_reply, 'system', 10::smallint, true, v_esc);
    END IF;
    UPDATE conversations SET kind = 'staff', version = version + 1, last_activity_at = now()
     WHERE id = c.id;
    UPDATE messages SET status = 'processed', processed_at = now() WHERE id = p_message_id;
    RETURN v_result;
END $$;

-- p_since: carenav_unprocessed_since(), from a PL/pgSQL variable, so that the
-- probe's partitions are chosen once per call of the caller's statement.
CREATE OR REPLACE FUNCTION carenav_step_load(p_conversation_id bigint, p_default_flow text, p_window_ms bigint,
                                             p_since timestamptz)
RETURNS TABLE (version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
LANGUAGE sql STABLE AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint,
           -- (carenav_is_staff written out: a SQL function with a subquery is
           -- not inlined, so it ran as a statement of its own for every text,
           -- issue #23.)
           CASE WHEN EXISTS (SELECT 1 FROM staff s WHERE s.phone = c.patient_number AND s.active)
                THEN 'staff' ELSE 'patient' END,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1),
           -- ("w.id + 0": the count must take the rate limit's index, on
           -- (conversation_id, created_at); given "w.id <= m.id" plans took
           -- (conversation_id, id) too, and walked every earlier message of the
           -- conversation, issue #23.) The bounds on now() let PostgreSQL drop
           -- the other months' partitions before it opens them: the window's
           -- own bound depends on the text, so it can only skip them one by
           -- one, after opening all (0.02 ms a text with 30 partitions, issue
           -- #23). The window is at most a day (RATE_LIMIT_WINDOW_S), so only
           -- a text answered more than a day after it came counts fewer.
           (SELECT count(*) FROM messages w
             WHERE w.conversation_id = c.id AND w.direction = 'in' AND w.id + 0 <= m.id
               AND w.created_at > m.created_at - p_window_ms * interval '1 millisecond'
               AND w.created_at > now() - interval '2 days' AND w.created_at < now() + interval '1 day'),
           c.status, m.opt_out_type
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
       AND m.created_at >= p_since
     ORDER BY m.id
     LIMIT 1
$$;

-- carenav_inbound_accept for many messages in one transaction; each element
-- may carry the provider's "opt_out_type". Set-based (issue #23: a PL/pgSQL
-- call per message cost 0.15-0.25 ms per text), with the same rules: the
-- senders' conversations are locked (in id order) or made; each message's
-- provider id is claimed once in inbound_ids, with a message id taken in
-- arrival order within its conversation (ordered by sender, then position,
-- as the per-message loop did), and only a claimed id makes a messages row;
-- a provider id seen before (in an earlier batch, another process's, or
-- earlier in this one) answers with its message, is_new false. The answer
-- is read by a statement of its own, which sees what a concurrent accept
-- of the same provider id committed while this one waited for it.
-- The conversations are locked through their unique index, one probe per
-- sender: a generic plan made while the table was new (a fresh connection
-- on a fresh database) hashed the whole table instead, at every call after
-- (1.3 ms a call with 2,000 conversations, issue #23); hence the enable_* settings.
-- The accept also loads each stored text's step (issue #23): for a new
-- text that is its conversation's oldest unprocessed one, the row carries
-- what carenav_step_load returns for the conversation (version NULL
-- otherwise: a text behind an older one waits for that one's step). The
-- conversation is locked by the accept, so the state read is the one the
-- step starts from; a step another process commits after this still makes
-- the gateway's commit a 'conflict', as after a load. This saves a load
-- call, and its transaction, per text; the step's guarantees are the
-- load's (the text stays unprocessed until its step commits). Each element
-- may carry "window_ms" (the rate limit's window, default 60000), as a load
-- item does; message_id is the accept's, and the step's text whenever
-- version is not NULL. With p_default_flow NULL nothing is loaded.
CREATE OR REPLACE FUNCTION carenav_inbound_accept_batch(p_msgs jsonb, p_default_flow text)
RETURNS TABLE (ord integer, message_id bigint, conversation_id bigint, is_new boolean,
               version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
#variable_conflict use_column
DECLARE
    v_ord    integer[];
    v_mid    bigint[];
    v_provider text[];
    v_sid    text[];
    v_window bigint[];
    v_locked bigint;
    v_since  timestamptz := carenav_unprocessed_since();
BEGIN
    PERFORM 1 FROM conversations c
      WHERE (c.patient_number, c.service_number) IN
            (SELECT x.m->>'from', x.m->>'to' FROM jsonb_array_elements(p_msgs) AS x (m))
      ORDER BY c.id
        FOR UPDATE;
    GET DIAGNOSTICS v_locked = ROW_COUNT;
    -- New senders (nearly never under load: two statements saved per batch).
    IF v_locked < (SELECT count(DISTINCT jsonb_build_array(x.m->'from', x.m->'to'))
                     FROM jsonb_array_elements(p_msgs) AS x (m)) THEN
        INSERT INTO conversations (patient_number, service_number, kind)
        SELECT DISTINCT x.m->>'from', x.m->>'to',
               CASE WHEN carenav_is_staff(x.m->>'from') THEN 'staff' ELSE 'patient' END
          FROM jsonb_array_elements(p_msgs) AS x (m)
         WHERE NOT EXISTS (SELECT 1 FROM conversations c
                            WHERE c.patient_number = x.m->>'from' AND c.service_number = x.m->>'to')
         ORDER BY 1, 2
        ON CONFLICT (patient_number, service_number) DO NOTHING;
        -- The ones made meanwhile by another process (the conflicts above): locked too.
        PERFORM 1 FROM conversations c
          WHERE (c.patient_number, c.service_number) IN
                (SELECT x.m->>'from', x.m->>'to' FROM jsonb_array_elements(p_msgs) AS x (m))
          ORDER BY c.id
            FOR UPDATE;
    END IF;
    WITH n AS MATERIALIZED (
        SELECT q.i, q.m, q.conv, nextval('messages_id_seq') AS mid
          FROM (SELECT x.i::integer AS i, x.m, c.id AS conv
                  FROM jsonb_array_elements(p_msgs) WITH ORDINALITY AS x (m, i)
                  JOIN conversations c ON c.patient_number = x.m->>'from' AND c.service_number = x.m->>'to'
                 ORDER BY x.m->>'from', x.m->>'to', x.i) q),
    ids AS (
        INSERT INTO inbound_ids AS d (provider, provider_sid, message_id, conversation_id)
        SELECT n.m->>'provider', n.m->>'sid', n.mid, n.conv FROM n ORDER BY n.mid
        ON CONFLICT (provider, provider_sid) DO NOTHING
        RETURNING d.message_id),
    ins AS (
        INSERT INTO messages (id, conversation_id, direction, provider, provider_sid, from_number,
                              to_number, body, num_media, status, opt_out_type)
        SELECT n.mid, n.conv, 'in', n.m->>'provider', n.m->>'sid', n.m->>'from', n.m->>'to', n.m->>'body',
               (n.m->>'num_media')::integer, 'received', nullif(n.m->>'opt_out_type', '')
          FROM n JOIN ids ON ids.message_id = n.mid
         ORDER BY n.mid)
    -- What the answer needs of each text, in arrays read side by side: joining
    -- the texts to p_msgs again would compare every pair (issue #23).
    SELECT array_agg(n.i), array_agg(n.mid), array_agg(n.m->>'provider'), array_agg(n.m->>'sid'),
           array_agg(coalesce((n.m->>'window_ms')::bigint, 60000))
      INTO v_ord, v_mid, v_provider, v_sid, v_window
      FROM n;
    RETURN QUERY
    SELECT t.i, d.message_id, d.conversation_id, d.message_id = t.mid, s.version, s.state, s.flow_version_id,
           s.language, s.opted_out, s.handoff, s.last_activity_ms, s.body, s.received_ms, s.kind,
           s.latest_flow_version_id, s.window_count, s.status, s.opt_out_type
      FROM unnest(v_ord, v_mid, v_provider, v_sid, v_window) AS t (i, mid, provider, sid, window_ms)
      JOIN inbound_ids d ON d.provider = t.provider AND d.provider_sid = t.sid
      LEFT JOIN LATERAL (
          SELECT l.* FROM carenav_step_load(d.conversation_id, p_default_flow, t.window_ms, v_since) AS l
           WHERE p_default_flow IS NOT NULL AND d.message_id = t.mid AND l.message_id = t.mid) s ON true;
END $$;

-- The accept batch of the previous release (no step loaded), during a rolling upgrade.
CREATE OR REPLACE FUNCTION carenav_inbound_accept_batch(p_msgs jsonb)
RETURNS TABLE (ord integer, message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE sql AS $$
    SELECT a.ord, a.message_id, a.conversation_id, a.is_new FROM carenav_inbound_accept_batch(p_msgs, NULL::text) a;
$$;

CREATE OR REPLACE FUNCTION carenav_step_load_batch(p_items jsonb, p_default_flow text)
RETURNS TABLE (ord integer, version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_since timestamptz := carenav_unprocessed_since();
BEGIN
    RETURN QUERY
    SELECT x.i::integer, s.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (e, i)
     CROSS JOIN LATERAL carenav_step_load((x.e->>'id')::bigint, p_default_flow,
                                          coalesce((x.e->>'window_ms')::bigint, 60000), v_since) AS s;
END $$;

-- A step item's state, replies or actions (inbound_step_item, gateway/inbound.c):
-- the JSON value itself, or its text as a JSON string (a throttled step gives
-- the stored state back as loaded; so did every item from gateways before
-- issue #23). A value read once, where text was parsed twice: as the item's
-- string, then as jsonb. Inlined into its callers (a bare CASE).
CREATE OR REPLACE FUNCTION carenav_item_json(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'string' THEN (p #>> '{}')::jsonb ELSE p END
$$;

CREATE OR REPLACE FUNCTION carenav_step_commit_batch(p_items jsonb)
RETURNS TABLE (ord integer, outcome text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
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
                                       carenav_item_json(e.s->'state'),
                                       (e.s->>'flow_version_id')::bigint,
                                       e.s->>'language', e.s->>'status', e.s->>'provider',
                                       carenav_item_json(e.s->'replies'), carenav_item_json(e.s->'actions'),
                                       (e.s->>'received_ms')::bigint);
        RETURN NEXT;
    END LOOP;
END $$;

-- Where each item of a batch of p_n is in p_items (a list of item numbers,
-- 1 .. p_n): its place there, 0 when it is not there. The batch functions
-- match items by place with it, never by joining two sets: with hash and
-- merge joins off (their settings), such a join compares every pair (a
-- step commit of 256 spent 42 ms in its main statement, 20 without; issue #23).
CREATE OR REPLACE FUNCTION carenav_places(p_n integer, p_items integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_places integer[] := array_fill(0, ARRAY[p_n]);
BEGIN
    FOR k IN 1 .. coalesce(array_length(p_items, 1), 0) LOOP
        v_places[p_items[k]] := k;
    END LOOP;
    RETURN v_places;
END $$;

-- carenav_step_commit_batch that also hands each conversation's next reply
-- straight to the sender: when a step's first reply is its conversation's
-- oldest pending row (nothing else waits to go before it) and an ordinary
-- one, it is leased for p_lease_ms (attempts 1) as carenav_outbox_claim
-- would lease it, and returned with the step's outcome (outbox_id NULL when
-- none was taken: urgent replies, a conversation opted out, replies behind
-- older ones are left to the claim). The row stays the durable record: if
-- the gateway dies before sending it, the lease expires and the claim sends
-- it again. This saves the claim's walk and lease per reply (issue #23).
--
-- Set-based (issue #23): the ordinary steps, nearly all of them (no
-- actions, one item of their conversation, the version they were loaded
-- at), are committed by a few statements for the whole batch, each doing
-- for every item what carenav_step_commit and carenav_queue_sms do for one:
-- the processed mark, the reply rows (message ids in sending order within a
-- conversation; the first reply inserted already leased when it may be
-- handed over, so no update follows), the conversation's new state, and the
-- outcome. A PL/pgSQL call per item and per reply cost 0.5 ms per text at
-- max and twice that at half load. Every other item (actions: escalations,
-- callbacks, opt-outs; a stale version; two items of one conversation)
-- goes through carenav_step_commit one by one, as before. Every
-- conversation of the batch is locked first, in id order, as the per-item
-- loop did. The statements must probe the keys (messages by its partition
-- key, one pruned probe per item); hence the enable_* settings, as for the claim.
CREATE OR REPLACE FUNCTION carenav_step_commit_batch(p_items jsonb, p_lease_ms integer)
RETURNS TABLE (ord integer, outcome text, outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text, urgent boolean, escalation_open boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
#variable_conflict use_column
DECLARE
    e      record;
    v_conv bigint;
    v_set  integer[];
    v_done integer[];
    v_done_at integer[];  -- by item: its place in v_done (its text was still unprocessed), else 0
    v_conv_of bigint[];   -- by item: its conversation
    v_set_at  integer[];  -- by item: its place in v_set (an ordinary step), else 0
    v_handed  integer[];  -- by item: its place in the v_h arrays, 0 when nothing was handed over
    v_hi integer[]; v_hid bigint[]; v_hmsg bigint[]; v_hto text[]; v_hfrom text[]; v_hbody text[];
    v_busy bigint[];      -- the batch's conversations with a reply still pending
    v_since timestamptz := carenav_unprocessed_since();
BEGIN
    PERFORM 1 FROM conversations c
      WHERE c.id IN (SELECT (x.s->>'conversation_id')::bigint FROM jsonb_array_elements(p_items) AS x (s))
      ORDER BY c.id
        FOR UPDATE;
    -- The ordinary steps (v_set), and those whose text was still unprocessed (v_done).
    WITH x AS (
        SELECT x.i::integer AS i, (x.s->>'conversation_id')::bigint AS conv, (x.s->>'version')::bigint AS ver,
               (x.s->>'message_id')::bigint AS msg, (x.s->>'received_ms')::bigint AS ms,
               coalesce(jsonb_array_length(carenav_item_json(x.s->'actions')), 0) AS nactions,
               count(*) OVER (PARTITION BY x.s->>'conversation_id') AS nconv
          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)),
    s AS (
        SELECT x.i, x.msg,
               coalesce('epoch'::timestamptz + (x.ms - 1) * interval '1 millisecond', '-infinity') AS t_from,
               coalesce('epoch'::timestamptz + (x.ms + 1) * interval '1 millisecond', 'infinity') AS t_to
          FROM x JOIN conversations c ON c.id = x.conv AND c.version = x.ver
         WHERE x.nactions = 0 AND x.nconv = 1),
    u AS (
        UPDATE messages m SET status = 'processed', processed_at = now()
          FROM s
         WHERE m.id = s.msg AND m.created_at BETWEEN s.t_from AND s.t_to AND m.processed_at IS NULL
        RETURNING s.i)
    SELECT (SELECT array_agg(s.i) FROM s), (SELECT array_agg(u.i) FROM u),
           (SELECT array_agg(x.conv ORDER BY x.i) FROM x)
      INTO v_set, v_done, v_conv_of;
    v_set := coalesce(v_set, '{}'); v_done := coalesce(v_done, '{}');
    -- Items are matched by their place in arrays (carenav_places).
    v_done_at := carenav_places(jsonb_array_length(p_items), v_done);
    -- Which conversations have a reply pending, one statement for the batch.
    -- A probe per reply inside the statement below (NOT EXISTS) let the
    -- planner take outbox_send_order and walk every pending row for each
    -- reply whenever the statistics of the moment favoured it; a soak's step
    -- commits took 60-100 ms instead of 8 until the next autovacuum of
    -- outbox, and the texts waiting for their step grew to one per patient
    -- (issue #23). Whatever plan this takes, it reads the pending rows at
    -- most once per call.
    v_busy := ARRAY(SELECT DISTINCT p.conversation_id FROM outbox p
                     WHERE p.conversation_id = ANY (v_conv_of) AND p.state = 'pending');
    WITH d AS (
        SELECT x.i::integer AS i, c.id AS conv, c.patient_number, c.service_number, c.opted_out, x.s
          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)
          JOIN conversations c ON c.id = (x.s->>'conversation_id')::bigint
         WHERE v_done_at[x.i::integer] > 0),
    -- The replies in sending order: message and outbox ids are taken in this order.
    r AS (
        SELECT q.*, nextval('messages_id_seq') AS mid, nextval('outbox_id_seq') AS oid
          FROM (SELECT d.i, d.conv, d.patient_number, d.service_number, d.s->>'provider' AS provider,
                       y.r->>'body' AS body, coalesce((y.r->>'compliance')::boolean, false) AS compliance,
                       (y.r->>'segments')::smallint AS segments, y.r->>'encoding' AS encoding,
                       -- Handed over: the step's first reply, when no older row of the
                       -- conversation is pending and it has not opted out.
                       y.k = 1 AND NOT d.opted_out AND d.conv <> ALL (v_busy) AS handed
                  FROM d CROSS JOIN LATERAL jsonb_array_elements(carenav_item_json(d.s->'replies'))
                                            WITH ORDINALITY AS y (r, k)
                 ORDER BY d.conv, y.k) q),
    m AS (
        INSERT INTO messages (id, conversation_id, direction, provider, from_number, to_number, body,
                              status, sent_by, segments, encoding)
        SELECT r.mid, r.conv, 'out', r.provider, r.service_number, r.patient_number, r.body, 'queued',
               'dialogue', r.segments, r.encoding
          FROM r ORDER BY r.mid),
    o AS (
        INSERT INTO outbox AS o (id, message_id, message_created_at, conversation_id, priority, compliance,
                                 attempts, lease_until)
        SELECT r.oid, r.mid, now(), r.conv, 0, r.compliance, CASE WHEN r.handed THEN 1 ELSE 0 END,
               CASE WHEN r.handed THEN now() + p_lease_ms * interval '1 millisecond' END
          FROM r ORDER BY r.mid),
    cu AS (
        UPDATE conversations c
           SET state = carenav_item_json(d.s->'state'), flow_version_id = (d.s->>'flow_version_id')::bigint,
               language = d.s->>'language', status = d.s->>'status', version = c.version + 1,
               last_activity_at = now()
          FROM d WHERE c.id = d.conv)
    SELECT array_agg(r.i), array_agg(r.oid), array_agg(r.mid), array_agg(r.patient_number),
           array_agg(r.service_number), array_agg(r.body)
      INTO v_hi, v_hid, v_hmsg, v_hto, v_hfrom, v_hbody
      FROM r WHERE r.handed;
    v_handed := carenav_places(jsonb_array_length(p_items), v_hi);
    -- The ordinary steps: those that handed a reply over (attempts 1), and the others.
    RETURN QUERY
    -- (ORDER BY id: the probe walks only the unprocessed texts' index, whatever
    -- the statistics were when the plan was made; the rate limit's index on
    -- (conversation_id, created_at) would walk every text of the conversation.)
    SELECT q.i, CASE WHEN v_done_at[q.i] = 0 THEN 'already'
                     WHEN (SELECT w.id FROM messages w
                            WHERE w.conversation_id = v_conv_of[q.i] AND w.direction = 'in'
                              AND w.processed_at IS NULL AND w.created_at >= v_since
                            ORDER BY w.id LIMIT 1) IS NOT NULL
                     THEN 'ok' ELSE 'last' END,
           q.id, q.msg, q.attempts, q.to_number, q.from_number, q.body, q.held, q.held
      FROM (SELECT h.i, h.id, h.msg, 1 AS attempts, h.to_number, h.from_number, h.body, false AS held
              FROM unnest(v_hi, v_hid, v_hmsg, v_hto, v_hfrom, v_hbody)
                   AS h (i, id, msg, to_number, from_number, body)
            UNION ALL
            SELECT a.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL
              FROM unnest(v_set) AS a (i)
             WHERE v_handed[a.i] = 0) q;
    v_set_at := carenav_places(jsonb_array_length(p_items), v_set);
    FOR e IN SELECT x.s, x.i::integer AS i
               FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (s, i)
              WHERE v_set_at[x.i::integer] = 0
              ORDER BY (x.s->>'conversation_id')::bigint, x.i LOOP
        v_conv := (e.s->>'conversation_id')::bigint;
        ord := e.i;
        outcome := carenav_step_commit(v_conv, (e.s->>'version')::bigint, (e.s->>'message_id')::bigint,
                                       carenav_item_json(e.s->'state'), (e.s->>'flow_version_id')::bigint,
                                       e.s->>'language', e.s->>'status', e.s->>'provider',
                                       carenav_item_json(e.s->'replies'), carenav_item_json(e.s->'actions'),
                                       (e.s->>'received_ms')::bigint);
        outbox_id := NULL; message_id := NULL; attempts := NULL; to_number := NULL;
        from_number := NULL; body := NULL; urgent := NULL; escalation_open := NULL;
        IF outcome IN ('ok', 'last') THEN
            -- Replies leave in order: only the conversation's oldest pending row, if this
            -- step made it (message_created_at = now()) and no one holds it (a claim or a
            -- 'sent' mark: no waiting). Not opted out, so no reply of this step was
            -- suppressed: the oldest it made is its first.
            UPDATE outbox o
               SET lease_until = now() + p_lease_ms * interval '1 millisecond', attempts = o.attempts + 1
              FROM conversations c
             WHERE o.id = (SELECT l.id FROM outbox l
                            WHERE l.id = (SELECT p.id FROM outbox p
                                           WHERE p.conversation_id = v_conv AND p.state = 'pending'
                                           ORDER BY p.id LIMIT 1)
                              FOR UPDATE SKIP LOCKED)
               AND o.state = 'pending' AND NOT o.urgent AND o.next_attempt_at <= now()
               AND (o.lease_until IS NULL OR o.lease_until < now()) AND o.message_created_at = now()
               AND c.id = v_conv AND NOT c.opted_out
            RETURNING o.id, o.message_id, o.attempts, c.patient_number, c.service_number
                 INTO outbox_id, message_id, attempts, to_number, from_number;
            IF outbox_id IS NOT NULL THEN
                body := carenav_item_json(e.s->'replies')->0->>'body';
                urgent := false;
                escalation_open := false;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
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

-- The form without p_code_required, for a gateway of the previous release.
CREATE OR REPLACE FUNCTION carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint,
                                   p_is_ack boolean, p_code text, p_provider text, p_texts jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN carenav_staff_step(p_conversation_id, p_version, p_message_id, p_is_ack, p_code, p_provider,
                              p_texts, false);
END $$;
