-- 020_nurses.sql - nurses on call (#19): a schedule that cannot be wrong,
-- stand-down texts once someone has an escalation, its timeline and outcome.

-- Shift times: the instants a wall-clock time names in a zone, as ms since
-- the epoch, earliest first. None: the time does not exist there (clocks
-- jumped forward over it); two: it happens twice (clocks went back).
-- The offsets a day before and a day after are the only candidates, since
-- no zone changes its offset twice in two days.
CREATE OR REPLACE FUNCTION carenav_local_instants(p_local timestamp, p_zone text) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT (extract(epoch FROM i) * 1000)::bigint
                              ORDER BY (extract(epoch FROM i) * 1000)::bigint), '{}')
      FROM (SELECT (p_local - ((x AT TIME ZONE p_zone) - (x AT TIME ZONE 'UTC'))) AT TIME ZONE 'UTC' AS i
              FROM (VALUES ((p_local - interval '1 day') AT TIME ZONE p_zone),
                           ((p_local + interval '1 day') AT TIME ZONE p_zone)) v (x)) c
     WHERE i AT TIME ZONE p_zone = p_local
$$;

-- True if the time zone database knows the zone (names, not abbreviations).
CREATE OR REPLACE FUNCTION carenav_zone_exists(p_zone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_zone)
$$;

-- ---- Stand-down: once someone has it, the others paged are told ----

-- Texts to staff that are not part of a dialogue flow, one language map
-- each ({code}, {who}); a clinic may change them with SQL.
CREATE TABLE IF NOT EXISTS staff_texts (
    key   text PRIMARY KEY,
    texts jsonb NOT NULL
);
INSERT INTO staff_texts (key, texts) VALUES
    ('stand_down_ack', '{"en": "{code} taken by {who}. No need to act.",
                         "es": "{code} la atiende {who}. No hace falta actuar."}'),
    ('stand_down_resolved', '{"en": "{code} closed by {who}. No need to act.",
                              "es": "{code} cerrada por {who}. No hace falta actuar."}')
ON CONFLICT (key) DO NOTHING;

-- Who did it, as staff see it: a staff name, or the operator's token name.
CREATE OR REPLACE FUNCTION carenav_actor_name(p_actor text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_actor LIKE 'operator:%' THEN substr(p_actor, 10) ELSE coalesce(p_actor, '?') END
$$;

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

DROP TRIGGER IF EXISTS escalation_events_stand_down ON escalation_events;
CREATE TRIGGER escalation_events_stand_down AFTER INSERT ON escalation_events
    FOR EACH ROW WHEN (NEW.event IN ('acknowledged', 'resolved'))
    EXECUTE FUNCTION carenav_stand_down();

-- ---- Words, not ids: rule titles and the triage summary ----

-- sql/triage/titles.json, stored by carenav migrate (carenav_titles_load):
-- {"rules": {rule id: language map}, "summary": {...the summary's words}}.
CREATE TABLE IF NOT EXISTS triage_titles (
    id  integer PRIMARY KEY CHECK (id = 1),
    doc jsonb NOT NULL
);

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

DROP TRIGGER IF EXISTS messages_alert_titles ON messages;
CREATE TRIGGER messages_alert_titles BEFORE INSERT ON messages
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

DROP TRIGGER IF EXISTS escalation_events_ack_brief ON escalation_events;
CREATE TRIGGER escalation_events_ack_brief AFTER INSERT ON escalation_events
    FOR EACH ROW WHEN (NEW.event = 'acknowledged' AND NEW.staff_id IS NOT NULL)
    EXECUTE FUNCTION carenav_ack_brief();

-- ---- The escalation timeline and its outcome ----

-- How an escalation ended, from the console's list (and a note).
ALTER TABLE escalations
    ADD COLUMN IF NOT EXISTS outcome text
        CHECK (outcome IN ('advised_er', 'er_confirmed', 'not_urgent', 'no_answer', 'false_alarm')),
    ADD COLUMN IF NOT EXISTS outcome_tries smallint CHECK (outcome_tries BETWEEN 1 AND 99);

-- One escalation as the console shows it: who was paged (tier, when, by
-- what, delivered or not), who has it and how they took it (SMS or
-- console), who was stood down, how it ended, and the triage summary.
-- "state" is open (nobody has it), in_progress (acknowledged) or resolved.
CREATE OR REPLACE FUNCTION carenav_api_escalation_doc(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id, 'code', e.code, 'status', e.status,
        'state', CASE e.status WHEN 'acknowledged' THEN 'in_progress' ELSE e.status END,
        'conversation_id', e.conversation_id,
        'patient', carenav_mask_phone(c.patient_number),
        'language', c.language,
        'reason', e.reason, 'reason_text', carenav_reason_text(e.reason, 'en'), 'matched', e.matched,
        'alert_rounds', e.step,
        'created_at', e.created_at,
        'age_seconds', floor(extract(epoch FROM now() - e.created_at))::bigint,
        'acknowledged_at', e.acknowledged_at, 'acknowledged_by', e.acknowledged_by,
        'owner', CASE WHEN e.acknowledged_by IS NOT NULL THEN carenav_actor_name(e.acknowledged_by) END,
        'ack_via', CASE WHEN e.acknowledged_by LIKE 'operator:%' THEN 'console'
                        WHEN e.acknowledged_by IS NOT NULL THEN 'sms' END,
        'owned_seconds', floor(extract(epoch FROM now() - e.acknowledged_at))::bigint,
        'ack_seconds', floor(extract(epoch FROM e.acknowledged_at - e.created_at))::bigint,
        'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by,
        'outcome', e.outcome, 'outcome_tries', e.outcome_tries, 'resolution_note', e.resolution_note,
        'summary', carenav_escalation_summary(e.id, 'en'),
        -- What staff must see at once (017): a dead staff number, a 911 text that did not arrive.
        'problems', coalesce((SELECT jsonb_agg(jsonb_build_object('at', ev.at, 'event', ev.event,
                                 'step', ev.step, 'staff_id', ev.staff_id, 'detail', ev.detail) ORDER BY ev.id)
                                FROM escalation_events ev
                               WHERE ev.escalation_id = e.id
                                 AND ev.event IN ('staff_unreachable', 'patient_unreachable')), '[]'),
        'pages', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'at', ev.at, 'step', ev.step,
                     'tier', CASE ev.step WHEN 1 THEN 'primary' WHEN 2 THEN 'backup' ELSE 'everyone' END,
                     'staff', st.name, 'staff_id', ev.staff_id, 'phone', carenav_mask_phone(st.phone),
                     'channel', CASE WHEN ev.event LIKE 'webhook%' THEN 'webhook' ELSE 'sms' END,
                     'delivery', CASE WHEN ev.event = 'webhook_sent' THEN 'sent'
                                      WHEN ev.event = 'webhook_failed' THEN 'failed'
                                      ELSE coalesce((SELECT m.status FROM messages m
                                                      WHERE m.escalation_id = e.id AND m.sent_by = 'alert'
                                                        AND m.to_number = st.phone AND m.created_at = ev.at
                                                      ORDER BY m.id LIMIT 1), 'queued') END)
                     ORDER BY ev.id)
                   FROM escalation_events ev LEFT JOIN staff st ON st.id = ev.staff_id
                  WHERE ev.escalation_id = e.id
                    AND ev.event IN ('alert_queued', 'webhook_sent', 'webhook_failed')), '[]'),
        'timeline', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'at', ev.at, 'event', ev.event, 'step', ev.step,
                     'staff', st.name,
                     'actor', CASE WHEN ev.actor IN ('gateway', 'provider') THEN ev.actor
                                   ELSE carenav_actor_name(ev.actor) END,
                     'via', CASE WHEN ev.event NOT IN ('acknowledged', 'resolved') THEN NULL
                                 WHEN ev.actor LIKE 'operator:%' THEN 'console' ELSE 'sms' END,
                     'detail', CASE WHEN ev.event = 'resolved' THEN ev.detail END)
                     ORDER BY ev.id)
                    FROM escalation_events ev
                   LEFT JOIN staff st ON st.id = coalesce(ev.staff_id,
                        CASE WHEN ev.event LIKE 'alert%' THEN
                             (SELECT s2.id FROM staff s2 WHERE s2.phone = split_part(ev.detail, ':', 1)) END)
                  WHERE ev.escalation_id = e.id), '[]'))
      FROM escalations e JOIN conversations c ON c.id = e.conversation_id
     WHERE e.id = p_id
$$;

-- Escalations for the console, open first, then in progress, then resolved,
-- newest first within each. p_state: '' (all), 'active' (not resolved),
-- 'open', 'in_progress' or 'resolved'. "today" counts since midnight UTC and
-- the median time to the first ACK of today's escalations.
CREATE OR REPLACE FUNCTION carenav_api_escalation_list(p_state text, p_limit integer) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'escalations', coalesce((SELECT jsonb_agg(carenav_api_escalation_doc(x.id) ORDER BY x.ord, x.created_at DESC, x.id DESC)
                                   FROM (SELECT e.id, e.created_at,
                                                CASE e.status WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END AS ord
                                           FROM escalations e
                                          WHERE CASE p_state
                                                  WHEN '' THEN true
                                                  WHEN 'active' THEN e.status <> 'resolved'
                                                  WHEN 'open' THEN e.status = 'open'
                                                  WHEN 'in_progress' THEN e.status = 'acknowledged'
                                                  ELSE e.status = 'resolved' END
                                          ORDER BY 3, e.created_at DESC, e.id DESC
                                          LIMIT p_limit) x), '[]'),
        'today', (SELECT jsonb_build_object(
                      'open', (SELECT count(*) FROM escalations WHERE status = 'open'),
                      'in_progress', (SELECT count(*) FROM escalations WHERE status = 'acknowledged'),
                      'resolved', (SELECT count(*) FROM escalations
                                    WHERE status = 'resolved' AND resolved_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
                      'median_ack_seconds', (SELECT floor(percentile_cont(0.5) WITHIN GROUP (
                                                        ORDER BY extract(epoch FROM acknowledged_at - created_at)))::bigint
                                               FROM escalations
                                              WHERE acknowledged_at IS NOT NULL
                                                AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))))
$$;

-- Resolves an open or acknowledged escalation with an outcome (one of the
-- escalations.outcome list, or '' for none), the number of tries for
-- 'no_answer' (else NULL) and a note. Returns 'ok', 'not_found' or 'conflict'.
CREATE OR REPLACE FUNCTION carenav_api_escalation_close(p_id bigint, p_operator text, p_note text,
                                                        p_outcome text, p_tries integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    e escalations%ROWTYPE;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF e.status = 'resolved' THEN
        RETURN 'conflict';
    END IF;
    UPDATE escalations SET status = 'resolved', resolved_at = now(),
           resolved_by = 'operator:' || p_operator, resolution_note = nullif(p_note, ''),
           outcome = nullif(p_outcome, ''), outcome_tries = p_tries, next_due_at = NULL
     WHERE id = e.id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    VALUES (e.id, 'resolved', 'operator:' || p_operator,
            nullif(concat_ws(': ', nullif(p_outcome, ''), nullif(p_note, '')), ''));
    INSERT INTO operator_actions (operator, action, conversation_id, escalation_id, detail)
    VALUES (p_operator, 'escalation_resolve', e.conversation_id, e.id,
            'code ' || e.code || coalesce(', ' || nullif(p_outcome, ''), ''));
    RETURN 'ok';
END $$;

-- ---- Acknowledged is not resolved ----

-- As in 007, except that an acknowledged escalation still counts as one:
-- the 'escalated' filter and open_escalation (now with its status and
-- owner) keep a conversation someone is handling until it is resolved.
CREATE OR REPLACE FUNCTION carenav_api_conversations(p_status text, p_q text, p_limit integer,
                                          p_after_us bigint, p_after_id bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH page AS (
        SELECT c.*
          FROM conversations c
         WHERE c.kind = 'patient'
           AND (p_after_us IS NULL
                OR (c.last_activity_at, c.id) <
                   (timestamptz 'epoch' + p_after_us * interval '1 microsecond', p_after_id))
           AND CASE p_status
                 WHEN '' THEN true
                 WHEN 'handoff' THEN c.handoff
                 WHEN 'escalated' THEN EXISTS (SELECT 1 FROM escalations e
                                                WHERE e.conversation_id = c.id AND e.status <> 'resolved')
                 ELSE c.status = p_status END
           AND (p_q = ''
                OR (regexp_replace(p_q, '[^0-9]', '', 'g') <> ''
                    AND c.patient_number LIKE '%' || regexp_replace(p_q, '[^0-9]', '', 'g') || '%')
                OR EXISTS (SELECT 1 FROM messages m
                            WHERE m.conversation_id = c.id
                              AND strpos(lower(m.body), lower(p_q)) > 0))
         ORDER BY c.last_activity_at DESC, c.id DESC
         LIMIT p_limit),
    items AS (
        SELECT p.last_activity_at, p.id, jsonb_build_object(
                   'id', p.id,
                   'patient', carenav_mask_phone(p.patient_number),
                   'status', p.status,
                   'language', p.language,
                   'handoff', p.handoff,
                   'opted_out', p.opted_out,
                   'created_at', p.created_at,
                   'last_activity_at', p.last_activity_at,
                   'message_count', (SELECT count(*) FROM messages m WHERE m.conversation_id = p.id),
                   'last_message', (SELECT jsonb_build_object('direction', m.direction,
                                               'preview', left(m.body, 80), 'at', m.created_at)
                                      FROM messages m WHERE m.conversation_id = p.id
                                     ORDER BY m.id DESC LIMIT 1),
                   'open_escalation', (SELECT jsonb_build_object('id', e.id, 'code', e.code,
                                                  'reason', e.reason, 'created_at', e.created_at,
                                                  'status', e.status,
                                                  'owner', carenav_actor_name(e.acknowledged_by))
                                         FROM escalations e
                                        WHERE e.conversation_id = p.id AND e.status <> 'resolved'
                                        ORDER BY e.id DESC LIMIT 1)) AS doc
          FROM page p)
    SELECT jsonb_build_object(
        'conversations', coalesce((SELECT jsonb_agg(doc ORDER BY last_activity_at DESC, id DESC)
                                     FROM items), '[]'),
        'next_cursor', (SELECT carenav_epoch_us(last_activity_at)::text || '.' || id::text
                          FROM items
                         WHERE (SELECT count(*) FROM items) = p_limit
                         ORDER BY last_activity_at ASC, id ASC LIMIT 1))
$$;

-- ---- Metrics ----

-- Prometheus text for /metrics, from the table so every gateway reports the
-- same: escalations opened by reason (one with two reasons counts under
-- each) and the time from opening to the first ACK as a histogram (s).
CREATE OR REPLACE FUNCTION carenav_metrics_escalations() RETURNS text
LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT btrim(x) AS reason, count(*) AS n
                 FROM escalations, unnest(string_to_array(reason, ',')) x
                WHERE btrim(x) <> '' GROUP BY 1),
         a AS (SELECT extract(epoch FROM acknowledged_at - created_at)::float8 AS s
                 FROM escalations WHERE acknowledged_at IS NOT NULL),
         b AS (SELECT le, (SELECT count(*) FROM a WHERE a.s <= le) AS n
                 FROM unnest(ARRAY[30, 60, 120, 300, 600, 900, 1800, 3600]::float8[]) le)
    SELECT '# HELP carenav_escalations_created_total Escalations opened, by red-flag reason' || E'\n'
        || '# TYPE carenav_escalations_created_total counter' || E'\n'
        || coalesce((SELECT string_agg(format('carenav_escalations_created_total{reason="%s"} %s',
                                              replace(replace(reason, '\', '\\'), '"', '\"'), n),
                                       E'\n' ORDER BY reason) || E'\n' FROM r), '')
        || '# HELP carenav_escalation_ack_seconds Time from an escalation opening to its acknowledgement' || E'\n'
        || '# TYPE carenav_escalation_ack_seconds histogram' || E'\n'
        || (SELECT string_agg(format('carenav_escalation_ack_seconds_bucket{le="%s"} %s', le, n), E'\n' ORDER BY le)
              FROM b) || E'\n'
        || format('carenav_escalation_ack_seconds_bucket{le="+Inf"} %s', (SELECT count(*) FROM a)) || E'\n'
        || format('carenav_escalation_ack_seconds_sum %s', (SELECT round(coalesce(sum(s), 0)::numeric, 3) FROM a)) || E'\n'
        || format('carenav_escalation_ack_seconds_count %s', (SELECT count(*) FROM a)) || E'\n'
$$;
