-- 017_emergency.sql - an emergency survives every failure (issue #17).
--
-- URGENT ROWS. An outbox row is urgent (outbox.urgent = true) when it is
-- part of an emergency: the patient's emergency instruction ("call 911",
-- or the reminder on a reflag), the patient's "a nurse will call you", a
-- staff alert (page), and the notice to staff that the instruction did not
-- reach the patient. Anything that must recognise them (a rate cap, a
-- suppression rule) tests outbox.urgent; the claim returns it too. Urgent
-- rows are also compliance rows, so no opt-out rule suppresses them: a
-- patient who texts STOP while the instruction is queued still gets the
-- one instruction already owed (and nothing else). They
--   - are claimed first (priority 30 the instruction, 25 "a nurse will
--     call", 20 pages and notices) and wait only for older urgent rows of
--     their conversation, never behind an ordinary reply;
--   - carry their escalation (outbox.escalation_id); pages also carry the
--     rounds they stand for (outbox.pages: [{"e": escalation id, "s":
--     round}], several when grouped, see below), the staff member
--     (staff_id) and the time to the next round once delivered (round_ms);
--   - are retried without an attempt limit until their escalation is
--     resolved (the claim returns escalation_open: open or acknowledged;
--     pages are cancelled at the ACK anyway), with a shorter backoff and a
--     shorter lease (gateway/outbox.c); and the first text the provider
--     accepts after an outage makes every urgent row waiting on a backoff
--     due at once (carenav_outbox_urgent_now), so they go first when the
--     provider recovers.
--
-- ROUNDS ADVANCE ON DELIVERY. A round's pages are queued with next_due_at
-- at now + the ACK timeout as before, but carenav_escalation_due skips an
-- escalation while a page of its current round is still queued, and the
-- provider accepting a page restarts the clock (next_due_at = now +
-- round_ms). So an outage holds the ladder on its current round instead of
-- piling rounds up. A page the provider refuses for good marks its staff
-- member unreachable (staff.unreachable_at, reason) and, when no other page
-- of the round is queued or delivered, makes the next round due at once.
-- The on-call window reports the mark (gateway/oncall.c skips them while a
-- reachable colleague is on call); adding or editing the staff member, or
-- a later page to them that the provider accepts, clears it.
--
-- An ACK or a resolve cancels every page of the escalation still queued
-- (trigger on escalations; a grouped page once none of its escalations is
-- open). SURGES: the rounds due in one sweep are committed together
-- (carenav_escalation_advance_group), and a staff member due pages for
-- several escalations gets one SMS listing them; since a page's delivery
-- restarts the clock of every round it stands for, the escalations of a
-- surge keep falling due together, one SMS per nurse per round (the
-- gateway holds a nurse's next pages for a short while after one, and
-- pulls rounds due soon forward: carenav_escalation_due's p_early_ms and
-- the group's p_hold_ms). A reflag with a new red-flag rule adds it to the
-- escalation and sends the staff already paged an update
-- (carenav_escalation_update).
--
-- THE PATIENT UNREACHABLE. If the provider refuses the emergency
-- instruction (or a delivery report says it never arrived, or it runs out
-- of attempts after the escalation was resolved), the escalation gets a
-- 'patient_unreachable' event with the patient's number, staff paged so
-- far get an urgent SMS saying so, and later pages say it.
--
-- CRASHES. Urgent rows are leased for the provider timeout + 2 s instead
-- of + 30 s (gateway/outbox.c), so a gateway killed mid-send holds them
-- seconds; see docs/architecture.md, "Emergencies", for why this and not
-- instance ids with heartbeats.
--
-- NOBODY ON CALL. carenav_fallback_staff registers ESCALATION_FALLBACK_NUMBER
-- as a staff member (role 'fallback'), so it can ACK by SMS and never gets
-- the patient dialogue.
--
-- Locks: staff, escalations, then outbox, the order the steps and rounds
-- take them in, so a gateway that keeps running while another migrates
-- waits instead of deadlocking (see 014).

LOCK TABLE staff, escalations, outbox IN ACCESS EXCLUSIVE MODE;

ALTER TABLE outbox
    ADD COLUMN urgent boolean NOT NULL DEFAULT false,  -- an emergency text or a page (see above)
    ADD COLUMN escalation_id bigint,                  -- urgent rows: their escalation
    ADD COLUMN pages jsonb,                           -- pages: [{"e": escalation id, "s": round}]
    ADD COLUMN staff_id bigint,                       -- pages and staff notices: to whom
    ADD COLUMN round_ms bigint;                       -- pages: next round this long after delivery
CREATE INDEX outbox_urgent_pending ON outbox (next_attempt_at) WHERE state = 'pending' AND urgent;
CREATE INDEX outbox_pages ON outbox USING gin (pages jsonb_path_ops) WHERE pages IS NOT NULL;
CREATE INDEX outbox_pages_staff ON outbox (staff_id, created_at) WHERE pages IS NOT NULL;

ALTER TABLE staff
    ADD COLUMN unreachable_at timestamptz,  -- the provider refused a page to them for good
    ADD COLUMN unreachable_reason text;

-- Queues one urgent SMS (see the header). Returns the message id.
CREATE OR REPLACE FUNCTION carenav_queue_urgent(p_conversation_id bigint, p_provider text, p_body text,
                                                p_sent_by text, p_priority smallint, p_escalation_id bigint,
                                                p_pages jsonb, p_staff_id bigint, p_round_ms bigint)
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
    INSERT INTO outbox (message_id, message_created_at, conversation_id, priority, compliance, urgent,
                        escalation_id, pages, staff_id, round_ms)
    VALUES (v_msg, v_at, c.id, p_priority, true, true, p_escalation_id, p_pages, p_staff_id, p_round_ms);
    RETURN v_msg;
END $$;

-- A reflag of an open escalation. New red-flag rules (not yet in its
-- reason) are added to it, and every staff member already paged about it
-- gets an urgent update with the new symptom; later rounds' pages carry
-- it anyway (they render the reason when queued). Same rules: nothing.
CREATE OR REPLACE FUNCTION carenav_escalation_update(p_escalation_id bigint, p_reason text, p_matched text,
                                                     p_provider text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e     escalations%ROWTYPE;
    c     conversations%ROWTYPE;
    v_new text;
    s     record;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_escalation_id FOR UPDATE;
    SELECT string_agg(r, ',') INTO v_new
      FROM unnest(string_to_array(coalesce(p_reason, ''), ',')) AS r
     WHERE r <> '' AND NOT (r = ANY (string_to_array(e.reason, ',')));
    IF v_new IS NULL THEN
        RETURN;
    END IF;
    UPDATE escalations SET reason = reason || ',' || v_new,
           matched = CASE WHEN coalesce(p_matched, '') = '' THEN matched
                          ELSE coalesce(matched || ' / ', '') || p_matched END
     WHERE id = e.id;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    FOR s IN SELECT st.id, st.phone, st.language FROM staff st
              WHERE st.active AND st.id IN (SELECT ev.staff_id FROM escalation_events ev
                                             WHERE ev.escalation_id = e.id AND ev.event = 'alert_queued') LOOP
        PERFORM carenav_queue_urgent(carenav_staff_conversation(s.phone, c.service_number), p_provider,
            carenav_render('{"en": "ALERT {code} UPDATE: patient ...{patient} now also reports {reason}: \"{matched}\". Reply ACK {code} to take it.",
                             "es": "ALERTA {code} ACTUALIZACION: el paciente ...{patient} ahora también reporta {reason}: \"{matched}\". Responda ACK {code} para tomarla."}',
                           s.language, jsonb_build_object('code', e.code, 'patient', right(c.patient_number, 4),
                                                          'reason', v_new, 'matched', coalesce(p_matched, ''))),
            'alert', 20::smallint, e.id, NULL, s.id, NULL);
        INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
        VALUES (e.id, 'update_queued', e.step, s.id, 'gateway', v_new);
    END LOOP;
END $$;

-- The step commit that queues the emergency instruction as urgent rows and
-- pages a reflag as an update is carenav_step_commit in 021 (which also
-- records what each reply costs).

-- As in 005; "a nurse will call you" is urgent (sent even after a STOP).
CREATE OR REPLACE FUNCTION carenav_escalation_ack(p_escalation_id bigint, p_actor text, p_staff_id bigint,
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
    PERFORM carenav_queue_urgent(c.id, p_provider, carenav_render(p_texts, c.language, NULL),
                                 'system', 25::smallint, e.id, NULL, NULL, NULL);
    RETURN true;
END $$;

-- An escalation that stops being open cancels its pages still queued
-- (also one whose gateway died mid-send and would resend it after the lease).
CREATE OR REPLACE FUNCTION carenav_escalation_cancel_pages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH s AS (
        UPDATE outbox SET state = 'suppressed', lease_until = NULL, last_error = 'escalation ' || NEW.status
         WHERE state = 'pending' AND urgent AND pages @> jsonb_build_array(jsonb_build_object('e', NEW.id))
           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(pages) p JOIN escalations x ON x.id = (p->>'e')::bigint
                            WHERE x.id <> NEW.id AND x.status = 'open')
        RETURNING message_id, message_created_at)
    UPDATE messages m SET status = 'suppressed', status_updated_at = now()
      FROM s WHERE m.id = s.message_id AND m.created_at = s.message_created_at;
    RETURN NULL;
END $$;

CREATE TRIGGER escalations_cancel_pages AFTER UPDATE OF status ON escalations
    FOR EACH ROW WHEN (OLD.status = 'open' AND NEW.status <> 'open')
    EXECUTE FUNCTION carenav_escalation_cancel_pages();

-- As in 005, but a round is not due while a page of the current one is
-- still queued; and when some round is due, those due within p_early_ms
-- come with it, so the escalations of a surge are paged together (one SMS
-- per nurse per round) and stay aligned: a round comes at most p_early_ms
-- early, never late.
DROP FUNCTION IF EXISTS carenav_escalation_due(integer, text);
CREATE FUNCTION carenav_escalation_due(p_limit integer, p_default_flow text, p_early_ms bigint)
RETURNS TABLE (escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT e.id, e.code, e.step, e.next_due_at
          FROM escalations e
         WHERE e.status = 'open' AND e.next_due_at <= now() + p_early_ms * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM outbox o
                            WHERE o.state = 'pending' AND o.urgent
                              AND o.pages @> jsonb_build_array(jsonb_build_object('e', e.id, 's', e.step))))
    SELECT d.id, d.code, d.step,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1)
      FROM d
     WHERE EXISTS (SELECT 1 FROM d x WHERE x.next_due_at <= now())
     ORDER BY d.next_due_at
     LIMIT p_limit
$$;

-- 005's signature, for a gateway of the previous release during a rolling upgrade.
CREATE FUNCTION carenav_escalation_due(p_limit integer, p_default_flow text)
RETURNS TABLE (escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM carenav_escalation_due(p_limit, p_default_flow, 0)
$$;

-- As in 005, plus whether the provider refused a page to them for good
-- (a last column: a gateway of the previous release reads the first 8).
DROP FUNCTION IF EXISTS carenav_oncall_window();
CREATE FUNCTION carenav_oncall_window()
RETURNS TABLE (staff_id bigint, name text, phone text, language text, webhook_url text,
               tier text, starts_ms bigint, ends_ms bigint, unreachable boolean)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.name, s.phone, s.language, coalesce(s.webhook_url, ''), o.tier,
           (extract(epoch FROM o.starts_at) * 1000)::bigint, (extract(epoch FROM o.ends_at) * 1000)::bigint,
           s.unreachable_at IS NOT NULL
      FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id
     WHERE s.active AND o.ends_at > now() - interval '1 day' AND o.starts_at < now() + interval '1 day'
     ORDER BY o.starts_at
$$;

-- ESCALATION_FALLBACK_NUMBER as a staff member (role 'fallback', no
-- shifts), so it can ACK like staff and never gets the patient dialogue.
-- A real staff member with that number stays as they are. Other fallback
-- rows (an old setting) are deactivated; '' deactivates all. Returns the
-- staff id, or NULL for ''.
CREATE OR REPLACE FUNCTION carenav_fallback_staff(p_phone text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    UPDATE staff SET active = false WHERE role = 'fallback' AND active AND phone <> p_phone;
    IF p_phone = '' THEN
        RETURN NULL;
    END IF;
    INSERT INTO staff (name, phone, role) VALUES ('Fallback', p_phone, 'fallback')
    ON CONFLICT (phone) DO UPDATE SET active = true WHERE staff.role = 'fallback'
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT id INTO v_id FROM staff WHERE phone = p_phone;
        UPDATE staff SET active = true WHERE id = v_id AND NOT active;
    END IF;
    RETURN v_id;
END $$;

-- The rounds due in one sweep, committed together. p_items: [{"id":
-- escalation id, "step": the step the caller saw, "alerts": [{"staff_id":
-- n|null, "phone", "language", "fallback": bool}]}]. An escalation no
-- longer open at that step is skipped (another gateway did it, or a human
-- acknowledged). A round whose alerts are all fallback (or none) is
-- recorded as no_oncall. Each staff member (phone) gets ONE page: the
-- flow's alert_staff text (p_template) for one escalation, a list of codes
-- for several; it stands for all of their rounds (outbox.pages). If an
-- escalation's instruction did not reach the patient (refused, or still
-- retrying after a failure), its page says so with the number to call. A round whose every target was paged about
-- another escalation less than p_hold_ms ago waits (stays due): the next
-- sweep after that pages it together with whatever else came meanwhile, so
-- a surge costs a nurse the first page and then one list, not a page per
-- patient. Returns {"result": "ok"|"conflict",
-- "advanced": [ids], "alerts": [{"staff_id", "escalation_id", "body"}]}.
CREATE OR REPLACE FUNCTION carenav_escalation_advance_group(p_items jsonb, p_template jsonb,
                                                            p_next_due_ms bigint, p_provider text,
                                                            p_hold_ms bigint)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    it     jsonb;
    a      jsonb;
    g      jsonb;
    e      escalations%ROWTYPE;
    c      conversations%ROWTYPE;
    v_key  text;
    v_body text;
    v_line text;
    v_miss boolean;
    v_late boolean;
    v_pend jsonb := '{}';
    v_adv  jsonb := '[]';
    v_out  jsonb := '[]';
    v_n    integer;
BEGIN
    FOR it IN SELECT x FROM jsonb_array_elements(p_items) x ORDER BY (x->>'id')::bigint LOOP
        SELECT * INTO e FROM escalations WHERE id = (it->>'id')::bigint FOR UPDATE;
        CONTINUE WHEN NOT FOUND OR e.status <> 'open' OR e.step <> (it->>'step')::integer;
        CONTINUE WHEN p_hold_ms > 0 AND jsonb_array_length(it->'alerts') > 0 AND NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements(it->'alerts') x
             WHERE x->>'staff_id' IS NULL OR NOT EXISTS (
                   SELECT 1 FROM outbox o
                    WHERE o.staff_id = (x->>'staff_id')::bigint AND o.pages IS NOT NULL
                      AND o.created_at > now() - p_hold_ms * interval '1 millisecond'
                      AND NOT o.pages @> jsonb_build_array(jsonb_build_object('e', e.id))));
        SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
        v_miss := EXISTS (SELECT 1 FROM escalation_events WHERE escalation_id = e.id AND event = 'patient_unreachable');
        -- Still retrying after a failure (the patient's number or carrier is down): say so too.
        v_late := NOT v_miss AND EXISTS (SELECT 1 FROM outbox o
                                         WHERE o.state = 'pending' AND o.urgent AND o.escalation_id = e.id
                                           AND o.staff_id IS NULL AND o.pages IS NULL AND o.last_error IS NOT NULL);
        FOR a IN SELECT * FROM jsonb_array_elements(it->'alerts') LOOP
            v_body := carenav_render(p_template, a->>'language', jsonb_build_object(
                'code', e.code, 'reason', e.reason, 'matched', coalesce(e.matched, ''),
                'patient', right(c.patient_number, 4)));
            v_line := e.code || ' (' || e.reason || ', ...' || right(c.patient_number, 4) || ')';
            IF v_miss THEN
                v_body := v_body || carenav_render('{"en": " The 911 text did NOT reach the patient: call {number}.",
                                                     "es": " El texto del 911 NO llegó al paciente: llame al {number}."}',
                                                   a->>'language', jsonb_build_object('number', c.patient_number));
                v_line := v_line || ' 911 text NOT delivered: call ' || c.patient_number;
            ELSIF v_late THEN
                v_body := v_body || carenav_render('{"en": " The 911 text has not reached the patient yet (retrying): call {number}.",
                                                     "es": " El texto del 911 aún no llegó al paciente (reintentando): llame al {number}."}',
                                                   a->>'language', jsonb_build_object('number', c.patient_number));
                v_line := v_line || ' 911 text not delivered yet: call ' || c.patient_number;
            END IF;
            v_key := (a->>'phone') || ' ' || c.service_number;
            IF NOT v_pend ? v_key THEN
                v_pend := v_pend || jsonb_build_object(v_key, jsonb_build_object(
                    'staff_id', a->'staff_id', 'phone', a->>'phone', 'language', a->>'language',
                    'service', c.service_number, 'items', '[]'::jsonb));
            END IF;
            v_pend := jsonb_set(v_pend, ARRAY[v_key, 'items'], (v_pend->v_key->'items') || jsonb_build_array(
                jsonb_build_object('e', e.id, 's', e.step + 1, 'body', v_body, 'line', v_line)));
            INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
            VALUES (e.id, 'alert_queued', e.step + 1, (a->>'staff_id')::bigint, 'gateway',
                    right(a->>'phone', 4) || CASE WHEN (a->>'fallback')::boolean THEN ' (fallback)' ELSE '' END);
        END LOOP;
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(it->'alerts') x
                        WHERE x->>'staff_id' IS NOT NULL AND NOT coalesce((x->>'fallback')::boolean, false)) THEN
            INSERT INTO escalation_events (escalation_id, event, step, actor, detail)
            VALUES (e.id, 'no_oncall', e.step + 1, 'gateway',
                    CASE WHEN jsonb_array_length(it->'alerts') = 0 THEN 'no fallback number configured'
                         ELSE 'fallback number alerted' END);
        END IF;
        UPDATE escalations SET step = step + 1,
               next_due_at = now() + p_next_due_ms * interval '1 millisecond'
         WHERE id = e.id;
        v_adv := v_adv || to_jsonb(e.id);
    END LOOP;
    FOR g IN SELECT value FROM jsonb_each(v_pend) LOOP
        v_n := jsonb_array_length(g->'items');
        IF v_n = 1 THEN
            v_body := g->'items'->0->>'body';
        ELSE
            v_body := carenav_render('{"en": "ALERT: {count} possible emergencies: {list}. Patients were told to call 911. Reply ACK and a code to take one.",
                                       "es": "ALERTA: {count} posibles emergencias: {list}. Se indicó a los pacientes llamar al 911. Responda ACK y un código para tomar una."}',
                                     g->>'language', jsonb_build_object('count', v_n::text,
                                         'list', (SELECT string_agg(i->>'line', '; ') FROM jsonb_array_elements(g->'items') i)));
        END IF;
        PERFORM carenav_queue_urgent(carenav_staff_conversation(g->>'phone', g->>'service'), p_provider, v_body,
                                     'alert', 20::smallint, (g->'items'->0->>'e')::bigint,
                                     (SELECT jsonb_agg(jsonb_build_object('e', (i->>'e')::bigint, 's', (i->>'s')::integer))
                                        FROM jsonb_array_elements(g->'items') i),
                                     (g->>'staff_id')::bigint, p_next_due_ms);
        v_out := v_out || jsonb_build_object('staff_id', g->'staff_id', 'escalation_id', g->'items'->0->'e',
                                             'body', v_body);
    END LOOP;
    RETURN jsonb_build_object('result', CASE WHEN jsonb_array_length(v_adv) = 0 THEN 'conflict' ELSE 'ok' END,
                              'advanced', v_adv, 'alerts', v_out);
END $$;

-- As in 005, by carenav_escalation_advance_group.
CREATE OR REPLACE FUNCTION carenav_escalation_advance(p_escalation_id bigint, p_expected_step integer,
                                                      p_alerts jsonb, p_template jsonb, p_next_due_ms bigint,
                                                      p_provider text)
RETURNS jsonb
LANGUAGE sql AS $$
    SELECT carenav_escalation_advance_group(jsonb_build_array(jsonb_build_object(
               'id', p_escalation_id, 'step', p_expected_step, 'alerts', p_alerts)),
           p_template, p_next_due_ms, p_provider, 0)
$$;

-- As in 012, plus: urgent rows wait only for older urgent rows of their
-- conversation, get p_urgent_lease_ms, and the row says whether it is
-- urgent and its escalation not yet resolved (no attempt limit then).
DROP FUNCTION IF EXISTS carenav_outbox_claim(integer, integer);
CREATE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer, p_urgent_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text, urgent boolean, escalation_open boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
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
        CONTINUE WHEN EXISTS (SELECT 1 FROM outbox e
                               WHERE e.conversation_id = r.conversation_id AND e.state = 'pending'
                                 AND e.id < r.id AND (e.urgent OR NOT r.urgent));
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

-- The claim of 012's signature, for a gateway of the previous release that
-- is still running during a rolling upgrade (it reads the first 6 columns).
CREATE FUNCTION carenav_outbox_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (outbox_id bigint, message_id bigint, attempts integer,
               to_number text, from_number text, body text)
LANGUAGE sql AS $$
    SELECT c.outbox_id, c.message_id, c.attempts, c.to_number, c.from_number, c.body
      FROM carenav_outbox_claim(p_limit, p_lease_ms, p_lease_ms) c
$$;

-- The 'sent' mark of 015, plus: a delivered page restarts the clock of every
-- round it stands for, and an urgent text the provider accepted for a staff
-- member clears their unreachable mark: carenav_outbox_sent in 021 (which
-- also records what each text cost).

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
    s record;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_escalation_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    VALUES (e.id, 'patient_unreachable', 'gateway',
            'the emergency text did not reach ' || c.patient_number || ' (' || left(p_error, 200) || '): call them');
    FOR s IN SELECT st.id, st.phone, st.language FROM staff st
              WHERE st.active AND st.id IN (SELECT ev.staff_id FROM escalation_events ev
                                             WHERE ev.escalation_id = e.id AND ev.event = 'alert_queued') LOOP
        PERFORM carenav_queue_urgent(carenav_staff_conversation(s.phone, c.service_number), p_provider,
            carenav_render('{"en": "ALERT {code}: the 911 text did NOT reach patient {number} ({error}). Call them now.",
                             "es": "ALERTA {code}: el texto del 911 NO llegó al paciente {number} ({error}). Llámelo ahora."}',
                           s.language, jsonb_build_object('code', e.code, 'number', c.patient_number,
                                                          'error', left(p_error, 80))),
            'alert', 20::smallint, e.id, NULL, s.id, NULL);
    END LOOP;
END $$;

-- As in 012, plus: a page refused for good marks its staff member
-- unreachable (unless the account, not the number, was refused: HTTP
-- 401/403) and makes the next round due at once when nobody else of the
-- round is queued or reached; an emergency text that failed tells staff.
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

-- As in 015 (Twilio's status order), plus: a delivery report saying the
-- emergency text never reached the patient is handled like a refusal
-- (carenav_emergency_undelivered). A late "undelivered" after "delivered"
-- changes nothing (015), so it raises nothing either.
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

-- The console (docs/api.md): a conversation's escalation events carry their
-- detail and staff id (as in 011 otherwise), so its problems show: staff
-- whose number was refused, an emergency text that did not reach the
-- patient. (The escalation list lists them too: 020's carenav_api_escalation_doc.)
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


-- As in 005, except that the reply to an ACK (the patient's number to
-- call) is urgent: it goes ahead of everything and never waits behind a
-- page of the same staff conversation left by a crashed gateway.
CREATE OR REPLACE FUNCTION carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint,
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
