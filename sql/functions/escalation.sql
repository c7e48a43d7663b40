-- escalation.sql - red-flag escalations: codes, the page ladder, ACKs,
-- stand-downs and the titles staff read (gateway/escalation.c).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

-- A 4-digit escalation code not used by any open escalation.
CREATE OR REPLACE FUNCTION carenav_escalation_code() RETURNS text
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

-- A text from one language map: the conversation's language, else English,
-- else any; {name} placeholders replaced from p_vars.
CREATE OR REPLACE FUNCTION carenav_render(p_map jsonb, p_lang text, p_vars jsonb) RETURNS text
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

-- The two-argument form, for a gateway of the previous release during a rolling upgrade.
CREATE OR REPLACE FUNCTION carenav_escalation_due(p_limit integer, p_default_flow text)
RETURNS TABLE (escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT * FROM carenav_escalation_due(p_limit, p_default_flow, 0)
$$;

-- Commits one alert round, if the escalation is still open at the step the
-- caller saw; otherwise {"result": "conflict"} (another gateway did it, or a
-- human acknowledged). A group of one for carenav_escalation_advance_group,
-- which says what p_alerts, p_template and the result hold.
CREATE OR REPLACE FUNCTION carenav_escalation_advance(p_escalation_id bigint, p_expected_step integer,
                                                      p_alerts jsonb, p_template jsonb, p_next_due_ms bigint,
                                                      p_provider text)
RETURNS jsonb
LANGUAGE sql AS $$
    SELECT carenav_escalation_advance_group(jsonb_build_array(jsonb_build_object(
               'id', p_escalation_id, 'step', p_expected_step, 'alerts', p_alerts)),
           p_template, p_next_due_ms, p_provider, 0)
$$;

-- One audit event from the gateway (webhook results, refused ACKs).
CREATE OR REPLACE FUNCTION carenav_escalation_event(p_escalation_id bigint, p_event text, p_staff_id bigint,
                                         p_detail text)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO escalation_events (escalation_id, event, staff_id, actor, detail)
    VALUES (p_escalation_id, p_event, p_staff_id, 'gateway', p_detail);
$$;

-- Acknowledges an open escalation: recorded with who did it, no more alert
-- rounds, and the patient told (in their language) that a nurse will call,
-- as an urgent text (sent even after a STOP). p_texts is the flow's
-- "ack_patient" language map. Returns false if it was not open.
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

-- Queues an urgent alert about escalation p_escalation_id to every active
-- staff member paged about it so far, from p_service_number: p_texts (a
-- language map) rendered in each one's language with p_vars. Returns the
-- ids of the staff members alerted, in the order their alerts were queued.
CREATE OR REPLACE FUNCTION carenav_escalation_alert_paged(p_escalation_id bigint, p_service_number text,
                                                          p_provider text, p_texts jsonb, p_vars jsonb)
RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT st.id, st.phone, st.language FROM staff st
              WHERE st.active AND st.id IN (SELECT ev.staff_id FROM escalation_events ev
                                             WHERE ev.escalation_id = p_escalation_id
                                               AND ev.event = 'alert_queued') LOOP
        PERFORM carenav_queue_urgent(carenav_staff_conversation(s.phone, p_service_number), p_provider,
                                     carenav_render(p_texts, s.language, p_vars),
                                     'alert', 20::smallint, p_escalation_id, NULL, s.id, NULL);
        RETURN NEXT s.id;
    END LOOP;
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
    INSERT INTO escalation_events (escalation_id, event, step, staff_id, actor, detail)
    SELECT e.id, 'update_queued', e.step, a.staff_id, 'gateway', v_new
      FROM carenav_escalation_alert_paged(e.id, c.service_number, p_provider,
               '{"en": "ALERT {code} UPDATE: patient ...{patient} now also reports {reason}: \"{matched}\". Reply ACK {code} to take it.",
                 "es": "ALERTA {code} ACTUALIZACION: el paciente ...{patient} ahora también reporta {reason}: \"{matched}\". Responda ACK {code} para tomarla."}',
               jsonb_build_object('code', e.code, 'patient', right(c.patient_number, 4),
                                  'reason', v_new, 'matched', coalesce(p_matched, ''))) AS a (staff_id);
END $$;

-- An escalation that stops being open cancels its pages still queued
-- (also one whose gateway died mid-send and would resend it after the lease).
CREATE OR REPLACE FUNCTION carenav_escalation_cancel_pages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM carenav_outbox_suppress(ARRAY(
        SELECT id FROM outbox
         WHERE state = 'pending' AND urgent AND pages @> jsonb_build_array(jsonb_build_object('e', NEW.id))
           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(pages) p JOIN escalations x ON x.id = (p->>'e')::bigint
                            WHERE x.id <> NEW.id AND x.status = 'open')),
        'escalation ' || NEW.status);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER escalations_cancel_pages AFTER UPDATE OF status ON escalations
    FOR EACH ROW WHEN (OLD.status = 'open' AND NEW.status <> 'open')
    EXECUTE FUNCTION carenav_escalation_cancel_pages();

CREATE OR REPLACE FUNCTION carenav_escalation_due(p_limit integer, p_default_flow text, p_early_ms bigint)
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
-- retrying after a failure), its page says so with the number to call. A
-- round whose every target was paged about another escalation less than
-- p_hold_ms ago waits (stays due): the next
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

-- After an 'acknowledged' event (SMS or console), or a 'resolved' one with
-- no ACK before it: every other staff member paged for the escalation gets
-- one short text in their language, through the provider their alert went
-- by (else the patient's), recorded as a 'stood_down' event. A trigger, so every path that
-- acknowledges or resolves (staff step, console, later ones) stands the
-- others down in the same transaction, exactly once per person.
CREATE OR REPLACE FUNCTION carenav_stand_down() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e      escalations%ROWTYPE;
    c      conversations%ROWTYPE;
    s      record;
    v_conv bigint;
    v_map  jsonb;
BEGIN
    IF NEW.event = 'resolved' AND EXISTS (SELECT 1 FROM escalation_events ev
                                           WHERE ev.escalation_id = NEW.escalation_id
                                             AND ev.event = 'acknowledged') THEN
        RETURN NULL;  -- the ACK stood them down already
    END IF;
    SELECT * INTO e FROM escalations WHERE id = NEW.escalation_id;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    SELECT texts INTO v_map FROM staff_texts
     WHERE key = CASE NEW.event WHEN 'acknowledged' THEN 'stand_down_ack' ELSE 'stand_down_resolved' END;
    FOR s IN
        SELECT DISTINCT ON (st.id) st.id, st.phone, st.language,
               coalesce((SELECT m.provider FROM messages m
                          WHERE m.escalation_id = e.id AND m.sent_by = 'alert' AND m.to_number = st.phone
                          ORDER BY m.id DESC LIMIT 1),
                        (SELECT m.provider FROM messages m
                          WHERE m.conversation_id = e.conversation_id AND m.direction = 'in'
                          ORDER BY m.id DESC LIMIT 1)) AS provider
          FROM escalation_events ev JOIN staff st ON st.id = ev.staff_id
         WHERE ev.escalation_id = e.id AND ev.event = 'alert_queued' AND st.active
           AND st.unreachable_at IS NULL  -- their number refused a page for good (017)
           AND st.id IS DISTINCT FROM NEW.staff_id
           AND NOT EXISTS (SELECT 1 FROM escalation_events sd
                            WHERE sd.escalation_id = e.id AND sd.event = 'stood_down'
                              AND sd.staff_id = st.id)
         ORDER BY st.id
    LOOP
        CONTINUE WHEN s.provider IS NULL;
        v_conv := carenav_staff_conversation(s.phone, c.service_number);
        PERFORM carenav_queue_sms(v_conv, s.provider,
                                  carenav_render(v_map, s.language, jsonb_build_object(
                                      'code', e.code, 'who', carenav_actor_name(NEW.actor))),
                                  'stand_down', 10::smallint, true, e.id);
        INSERT INTO escalation_events (escalation_id, event, staff_id, actor, detail)
        VALUES (e.id, 'stood_down', s.id, 'gateway', right(s.phone, 4));
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER escalation_events_stand_down AFTER INSERT ON escalation_events
    FOR EACH ROW WHEN (NEW.event IN ('acknowledged', 'resolved'))
    EXECUTE FUNCTION carenav_stand_down();

CREATE OR REPLACE FUNCTION carenav_titles_load(p_doc jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO triage_titles (id, doc) VALUES (1, p_doc)
    ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc WHERE triage_titles.doc IS DISTINCT FROM EXCLUDED.doc
$$;

-- One of the summary's words (a path under "summary") in p_lang, else English, else ''.
CREATE OR REPLACE FUNCTION carenav_title_word(p_path text[], p_lang text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(doc #> ('{summary}'::text[] || p_path) ->> p_lang,
                    doc #> ('{summary}'::text[] || p_path) ->> 'en', '')
      FROM (SELECT coalesce((SELECT doc FROM triage_titles WHERE id = 1), '{}') AS doc) t
$$;

-- An escalation's reason ("er_bowel_bladder,doc_numb_tingle") as titles in
-- p_lang joined by "; "; an id without a title stays as it is.
CREATE OR REPLACE FUNCTION carenav_reason_text(p_reason text, p_lang text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(coalesce(t.doc #>> ARRAY['rules', r, p_lang], t.doc #>> ARRAY['rules', r, 'en'], r),
                               '; ' ORDER BY n), '')
      FROM unnest(string_to_array(p_reason, ',')) WITH ORDINALITY AS x (r0, n),
           LATERAL (SELECT btrim(r0) AS r) y,
           (SELECT coalesce((SELECT doc FROM triage_titles WHERE id = 1), '{}') AS doc) t
     WHERE r <> ''
$$;

-- What the callback nurse needs before dialling, from the conversation's
-- answers: {"reasons", "red_flag" (the words that matched), "region",
-- "duration", "answers": [{"key", "label", "value"}], "language", "text"
-- (all of it on one line, in p_lang)}.
CREATE OR REPLACE FUNCTION carenav_escalation_summary(p_escalation_id bigint, p_lang text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    e        escalations%ROWTYPE;
    c        conversations%ROWTYPE;
    v_vars   jsonb;
    v_region text;
    v_dur    text;
    v_ans    jsonb := '[]';
    v_parts  text[] := '{}';
    v_line   text;
    k        text;
    v        text;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_escalation_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    v_vars := coalesce(c.state->'vars', '{}');
    v_region := nullif(carenav_title_word(ARRAY['region', v_vars->>'region'], p_lang), '');
    v_dur := nullif(btrim(left(v_vars->>'duration', 60)), '');
    FOREACH k IN ARRAY ARRAY['sd_long', 'sd_numb', 'sd_daily', 'sd_weight'] LOOP
        v := v_vars->>k;
        CONTINUE WHEN v IS NULL;
        v_ans := v_ans || jsonb_build_object('key', k, 'label', carenav_title_word(ARRAY['answers', k], p_lang),
                                             'value', carenav_title_word(ARRAY[v], p_lang));
    END LOOP;
    v_parts := v_parts || carenav_reason_text(e.reason, p_lang);
    IF coalesce(e.matched, '') <> '' THEN
        v_parts := v_parts || ('"' || left(e.matched, 80) || '"');
    END IF;
    IF v_region IS NOT NULL OR v_dur IS NOT NULL THEN
        v_parts := v_parts || concat_ws(' ', v_region,
                                        CASE WHEN v_dur IS NOT NULL
                                             THEN carenav_title_word('{since}', p_lang) || ' ' || v_dur END);
    END IF;
    IF jsonb_array_length(v_ans) > 0 THEN
        SELECT string_agg((a->>'label') || ': ' || (a->>'value'), ', ') INTO v_line FROM jsonb_array_elements(v_ans) a;
        v_parts := v_parts || v_line;
    END IF;
    v_parts := v_parts || nullif(carenav_title_word(ARRAY['language', c.language], p_lang), '');
    RETURN jsonb_build_object(
        'reasons', carenav_reason_text(e.reason, p_lang),
        'red_flag', e.matched,
        'region', v_region,
        'duration', v_dur,
        'answers', v_ans,
        'language', c.language,
        'text', array_to_string(v_parts, '. '));
END $$;

-- Alert texts name the reasons by their titles in the staff member's
-- language: the alert template's {reason} arrives as the escalation's rule
-- ids, and is replaced here, whichever function queued the alert.
CREATE OR REPLACE FUNCTION carenav_alert_titles() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_reason text;
    v_lang   text;
BEGIN
    SELECT reason INTO v_reason FROM escalations WHERE id = NEW.escalation_id;
    IF coalesce(v_reason, '') = '' OR strpos(NEW.body, v_reason) = 0 THEN
        RETURN NEW;
    END IF;
    SELECT language INTO v_lang FROM staff WHERE phone = NEW.to_number;
    NEW.body := replace(NEW.body, v_reason, carenav_reason_text(v_reason, coalesce(v_lang, 'en')));
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER messages_alert_titles BEFORE INSERT ON messages
    FOR EACH ROW WHEN (NEW.sent_by = 'alert' AND NEW.escalation_id IS NOT NULL)
    EXECUTE FUNCTION carenav_alert_titles();

-- A staff member who acknowledges by text gets, right after, the triage
-- summary in their language with the patient's number to call.
CREATE OR REPLACE FUNCTION carenav_ack_brief() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e      escalations%ROWTYPE;
    c      conversations%ROWTYPE;
    s      staff%ROWTYPE;
    v_prov text;
    v_map  jsonb;
BEGIN
    SELECT * INTO s FROM staff WHERE id = NEW.staff_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM escalations WHERE id = NEW.escalation_id;
    SELECT * INTO c FROM conversations WHERE id = e.conversation_id;
    SELECT m.provider INTO v_prov FROM messages m
     WHERE m.escalation_id = e.id AND m.sent_by = 'alert' ORDER BY (m.to_number = s.phone) DESC, m.id DESC LIMIT 1;
    IF v_prov IS NULL THEN
        SELECT m.provider INTO v_prov FROM messages m
         WHERE m.conversation_id = c.id AND m.direction = 'in' ORDER BY m.id DESC LIMIT 1;
    END IF;
    SELECT doc #> '{summary,brief}' INTO v_map FROM triage_titles WHERE id = 1;
    IF v_prov IS NULL OR v_map IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM carenav_queue_sms(carenav_staff_conversation(s.phone, c.service_number), v_prov,
                              carenav_render(v_map, s.language, jsonb_build_object(
                                  'code', e.code, 'patient', c.patient_number,
                                  'summary', carenav_escalation_summary(e.id, s.language)->>'text')),
                              'brief', 9::smallint, true, e.id);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER escalation_events_ack_brief AFTER INSERT ON escalation_events
    FOR EACH ROW WHEN (NEW.event = 'acknowledged' AND NEW.staff_id IS NOT NULL)
    EXECUTE FUNCTION carenav_ack_brief();
