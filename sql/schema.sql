--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: carenav_ack_brief(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_ack_brief() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_actor_name(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_actor_name(p_actor text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN p_actor LIKE 'operator:%' THEN substr(p_actor, 10) ELSE coalesce(p_actor, '?') END
$$;

--
-- Name: carenav_alert_titles(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_alert_titles() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_api_audit(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_audit(p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('actions', coalesce(jsonb_agg(jsonb_build_object(
               'id', a.id, 'at', a.at, 'operator', a.operator, 'action', a.action,
               'conversation_id', a.conversation_id, 'escalation_id', a.escalation_id,
               'callback_id', a.callback_id, 'message_id', a.message_id, 'detail', a.detail,
               'client_addr', a.client_addr)
               ORDER BY a.id DESC), '[]'))
      FROM (SELECT * FROM operator_actions ORDER BY id DESC LIMIT p_limit) a
$$;

--
-- Name: carenav_api_callback_done(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_callback_done(p_id bigint, p_operator text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    b callbacks%ROWTYPE;
BEGIN
    SELECT * INTO b FROM callbacks WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF b.status <> 'open' THEN
        RETURN 'conflict';
    END IF;
    UPDATE callbacks SET status = 'done', done_at = now(), done_by = 'operator:' || p_operator
     WHERE id = b.id;
    INSERT INTO operator_actions (operator, action, conversation_id, callback_id, detail)
    VALUES (p_operator, 'callback_done', b.conversation_id, b.id, b.reason);
    RETURN 'ok';
END $$;

--
-- Name: carenav_api_callbacks(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_callbacks(p_status text, p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('callbacks', coalesce(jsonb_agg(doc ORDER BY ord, created_at, id), '[]'))
      FROM (SELECT b.id, b.created_at, CASE b.status WHEN 'open' THEN 0 ELSE 1 END AS ord,
                   jsonb_build_object(
                       'id', b.id, 'conversation_id', b.conversation_id,
                       'patient', carenav_mask_phone(c.patient_number),
                       'reason', b.reason, 'status', b.status, 'created_at', b.created_at,
                       'age_seconds', floor(extract(epoch FROM now() - b.created_at))::bigint,
                       'done_at', b.done_at, 'done_by', b.done_by) AS doc
              FROM callbacks b JOIN conversations c ON c.id = b.conversation_id
             WHERE p_status = '' OR b.status = p_status
             ORDER BY CASE b.status WHEN 'open' THEN 0 ELSE 1 END, b.created_at, b.id
             LIMIT p_limit) x
$$;

--
-- Name: carenav_api_conversation(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_conversation(p_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: carenav_api_conversations(text, text, integer, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_conversations(p_status text, p_q text, p_limit integer, p_after_us bigint, p_after_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: carenav_api_escalation_ack(bigint, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_ack(p_id bigint, p_operator text, p_provider text, p_texts jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    e escalations%ROWTYPE;
BEGIN
    SELECT * INTO e FROM escalations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF NOT carenav_escalation_ack(p_id, 'operator:' || p_operator, NULL, p_provider, p_texts) THEN
        RETURN 'conflict';
    END IF;
    INSERT INTO operator_actions (operator, action, conversation_id, escalation_id, detail)
    VALUES (p_operator, 'escalation_ack', e.conversation_id, e.id, 'code ' || e.code);
    RETURN 'ok';
END $$;

--
-- Name: carenav_api_escalation_close(bigint, text, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_close(p_id bigint, p_operator text, p_note text, p_outcome text, p_tries integer) RETURNS text
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_api_escalation_doc(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_doc(p_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: carenav_api_escalation_doc(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_doc(p_id bigint, p_lang text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT carenav_escalation_doc_in(carenav_api_escalation_doc(p_id), p_lang)
$$;

--
-- Name: carenav_api_escalation_list(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_list(p_state text, p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: carenav_api_escalation_list(text, integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_list(p_state text, p_limit integer, p_lang text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT l || jsonb_build_object('escalations', coalesce((
               SELECT jsonb_agg(carenav_escalation_doc_in(x.doc, p_lang) ORDER BY x.n)
                 FROM jsonb_array_elements(l->'escalations') WITH ORDINALITY AS x (doc, n)), '[]'))
      FROM (SELECT carenav_api_escalation_list(p_state, p_limit) AS l) y
$$;

--
-- Name: carenav_api_escalation_resolve(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalation_resolve(p_id bigint, p_operator text, p_note text) RETURNS text
    LANGUAGE plpgsql
    AS $$
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
           next_due_at = NULL
     WHERE id = e.id;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    VALUES (e.id, 'resolved', 'operator:' || p_operator, nullif(p_note, ''));
    INSERT INTO operator_actions (operator, action, conversation_id, escalation_id, detail)
    VALUES (p_operator, 'escalation_resolve', e.conversation_id, e.id, 'code ' || e.code);
    RETURN 'ok';
END $$;

--
-- Name: carenav_api_escalations(boolean, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_escalations(p_open_only boolean, p_limit integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('escalations', coalesce(jsonb_agg(doc ORDER BY ord, created_at DESC, id DESC), '[]'))
      FROM (SELECT e.id, e.created_at, CASE e.status WHEN 'open' THEN 0 ELSE 1 END AS ord,
                   jsonb_build_object(
                       'id', e.id, 'code', e.code, 'status', e.status,
                       'conversation_id', e.conversation_id,
                       'patient', carenav_mask_phone(c.patient_number),
                       'language', c.language,
                       'reason', e.reason, 'matched', e.matched,
                       'alert_rounds', e.step,
                       'created_at', e.created_at,
                       'age_seconds', floor(extract(epoch FROM now() - e.created_at))::bigint,
                       'acknowledged_at', e.acknowledged_at, 'acknowledged_by', e.acknowledged_by,
                       'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by) AS doc
              FROM escalations e JOIN conversations c ON c.id = e.conversation_id
             WHERE NOT p_open_only OR e.status = 'open'
             ORDER BY CASE e.status WHEN 'open' THEN 0 ELSE 1 END, e.created_at DESC, e.id DESC
             LIMIT p_limit) x
$$;

--
-- Name: carenav_api_export(text, timestamp with time zone, timestamp with time zone, boolean, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_export(p_kind text, p_from timestamp with time zone, p_to timestamp with time zone, p_full boolean, p_limit integer) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    out text;
BEGIN
    IF p_kind = 'conversations' THEN
        SELECT 'id,patient,status,language,handoff,opted_out,created_at,last_activity_at' || E'\n' ||
               coalesce(string_agg(concat_ws(',', c.id,
                   carenav_csv(CASE WHEN p_full THEN c.patient_number
                                    ELSE carenav_mask_phone(c.patient_number) END),
                   carenav_csv(c.status), carenav_csv(c.language), c.handoff, c.opted_out,
                   carenav_csv(c.created_at::text), carenav_csv(c.last_activity_at::text)), E'\n'
                   ORDER BY c.id) || E'\n', '')
          INTO out
          FROM (SELECT * FROM conversations
                 WHERE kind = 'patient' AND created_at >= p_from AND created_at < p_to
                 ORDER BY id LIMIT p_limit) c;
    ELSIF p_kind = 'messages' THEN
        SELECT 'id,conversation_id,direction,from,to,status,sent_by,created_at,body' || E'\n' ||
               coalesce(string_agg(concat_ws(',', m.id, m.conversation_id, carenav_csv(m.direction),
                   carenav_csv(CASE WHEN p_full THEN m.from_number ELSE carenav_mask_phone(m.from_number) END),
                   carenav_csv(CASE WHEN p_full THEN m.to_number ELSE carenav_mask_phone(m.to_number) END),
                   carenav_csv(m.status), carenav_csv(m.sent_by), carenav_csv(m.created_at::text),
                   carenav_csv(m.body)), E'\n' ORDER BY m.id) || E'\n', '')
          INTO out
          FROM (SELECT * FROM messages
                 WHERE created_at >= p_from AND created_at < p_to
                 ORDER BY id LIMIT p_limit) m;
    ELSIF p_kind = 'escalations' THEN
        SELECT 'id,code,conversation_id,patient,reason,status,created_at,acknowledged_at,acknowledged_by,'
               'resolved_at,resolved_by' || E'\n' ||
               coalesce(string_agg(concat_ws(',', e.id, carenav_csv(e.code), e.conversation_id,
                   carenav_csv(CASE WHEN p_full THEN c.patient_number
                                    ELSE carenav_mask_phone(c.patient_number) END),
                   carenav_csv(e.reason), carenav_csv(e.status), carenav_csv(e.created_at::text),
                   carenav_csv(e.acknowledged_at::text), carenav_csv(e.acknowledged_by),
                   carenav_csv(e.resolved_at::text), carenav_csv(e.resolved_by)), E'\n'
                   ORDER BY e.id) || E'\n', '')
          INTO out
          FROM (SELECT * FROM escalations
                 WHERE created_at >= p_from AND created_at < p_to
                 ORDER BY id LIMIT p_limit) e
          JOIN conversations c ON c.id = e.conversation_id;
    ELSE
        RETURN NULL;
    END IF;
    RETURN out;
END $$;

--
-- Name: carenav_api_handoff(bigint, text, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_handoff(p_conversation_id bigint, p_operator text, p_active boolean) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    SELECT * INTO c FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF c.handoff = p_active THEN
        RETURN 'unchanged';
    END IF;
    UPDATE conversations SET handoff = p_active, version = version + 1 WHERE id = c.id;
    INSERT INTO operator_actions (operator, action, conversation_id)
    VALUES (p_operator, CASE WHEN p_active THEN 'handoff_start' ELSE 'handoff_end' END, c.id);
    RETURN 'ok';
END $$;

--
-- Name: carenav_api_operator_disable(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_operator_disable(p_id bigint, p_by text, p_client_addr text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    o operators;
BEGIN
    SELECT * INTO o FROM operators WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF o.disabled THEN
        RETURN 'unchanged';
    END IF;
    UPDATE operators SET disabled = true WHERE id = o.id;
    UPDATE operator_sessions SET ended_at = now() WHERE operator_id = o.id AND ended_at IS NULL;
    PERFORM carenav_audit(p_by, 'operator_disable', NULL, o.name, p_client_addr);
    RETURN 'ok';
END $$;

--
-- Name: carenav_api_operators(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_operators() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('operators', coalesce(jsonb_agg(jsonb_build_object(
               'id', o.id, 'name', o.name, 'role', o.role, 'language', o.language,
               'state', CASE WHEN o.disabled THEN 'disabled'
                             WHEN o.locked_until > now() THEN 'locked' ELSE 'active' END,
               'password', o.password_hash IS NOT NULL,
               'totp', o.totp_secret IS NOT NULL,
               'tokens', (SELECT count(*) FROM operator_tokens t WHERE t.operator_id = o.id
                             AND t.revoked_at IS NULL AND t.expires_at > now()),
               'last_seen_at', greatest((SELECT max(last_seen_at) FROM operator_sessions s
                                          WHERE s.operator_id = o.id),
                                        (SELECT max(last_used_at) FROM operator_tokens t
                                          WHERE t.operator_id = o.id)),
               'created_at', o.created_at) ORDER BY o.name), '[]'))
      FROM operators o
$$;

--
-- Name: carenav_api_overview(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_overview(p_days integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH days AS (
        SELECT d::date AS day
          FROM generate_series((now() AT TIME ZONE 'UTC')::date - (p_days - 1),
                               (now() AT TIME ZONE 'UTC')::date, interval '1 day') d),
    bounds AS (SELECT (min(day)::timestamp AT TIME ZONE 'UTC') AS since FROM days),
    msg AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
               count(*) FILTER (WHERE direction = 'in') AS texts_in,
               count(*) FILTER (WHERE direction = 'out') AS texts_out
          FROM messages, bounds WHERE created_at >= bounds.since GROUP BY 1),
    conv AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
          FROM conversations, bounds WHERE kind = 'patient' AND created_at >= bounds.since GROUP BY 1),
    esc AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n,
               count(*) FILTER (WHERE message_id IS NOT NULL) AS red_flags,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at))
                   FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - created_at))
                   FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_p90
          FROM escalations, bounds WHERE created_at >= bounds.since GROUP BY 1),
    cb AS (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
          FROM callbacks, bounds WHERE created_at >= bounds.since GROUP BY 1)
    SELECT jsonb_build_object(
        'days', (SELECT jsonb_agg(jsonb_build_object(
                     'day', d.day,
                     'texts_in', coalesce(msg.texts_in, 0),
                     'texts_out', coalesce(msg.texts_out, 0),
                     'conversations', coalesce(conv.n, 0),
                     'red_flags', coalesce(esc.red_flags, 0),
                     'escalations', coalesce(esc.n, 0),
                     'callbacks', coalesce(cb.n, 0),
                     'ack_median_s', round(esc.ack_p50::numeric, 1),
                     'ack_p90_s', round(esc.ack_p90::numeric, 1)) ORDER BY d.day)
                   FROM days d
                   LEFT JOIN msg ON msg.day = d.day
                   LEFT JOIN conv ON conv.day = d.day
                   LEFT JOIN esc ON esc.day = d.day
                   LEFT JOIN cb ON cb.day = d.day),
        'now', jsonb_build_object(
            'escalations_open', (SELECT count(*) FROM escalations WHERE status = 'open'),
            'escalations_in_progress', (SELECT count(*) FROM escalations WHERE status = 'acknowledged'),
            'callbacks_open', (SELECT count(*) FROM callbacks WHERE status = 'open'),
            'conversations_active', (SELECT count(*) FROM conversations
                                      WHERE kind = 'patient' AND status IN ('active', 'emergency')),
            'handoffs', (SELECT count(*) FROM conversations WHERE kind = 'patient' AND handoff)))
$$;

--
-- Name: carenav_api_send(bigint, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text, p_body text) RETURNS jsonb
    LANGUAGE sql
    AS $$
    SELECT carenav_api_send(p_conversation_id, p_operator, p_provider, p_body, NULL::smallint,
                            NULL::text);
$$;

--
-- Name: carenav_api_send(bigint, text, text, text, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_api_send(p_conversation_id bigint, p_operator text, p_provider text, p_body text, p_segments smallint, p_encoding text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_audit(text, text, bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_audit(p_operator text, p_action text, p_conversation_id bigint, p_detail text, p_client_addr text) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO operator_actions (operator, action, conversation_id, detail, client_addr)
    SELECT p_operator, p_action, (SELECT id FROM conversations WHERE id = p_conversation_id),
           p_detail, nullif(p_client_addr, '')
     WHERE p_action NOT IN ('conversation_open', 'search')
        OR NOT EXISTS (SELECT 1 FROM operator_actions a
                        WHERE a.at > now() - interval '5 minutes'
                          AND a.operator = p_operator AND a.action = p_action
                          AND a.conversation_id IS NOT DISTINCT FROM p_conversation_id
                          AND a.detail IS NOT DISTINCT FROM p_detail
                          AND a.client_addr IS NOT DISTINCT FROM nullif(p_client_addr, ''))
$$;

--
-- Name: carenav_console_language_known(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_console_language_known(p_lang text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT p_lang IN ('en', 'es')
$$;

--
-- Name: carenav_console_reason_text(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_console_reason_text(p_text text, p_lang text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT replace(p_text, 'text_model', CASE p_lang WHEN 'es' THEN 'señalado por el modelo de texto'
                                                      ELSE 'flagged by the text model' END)
$$;

--
-- Name: carenav_csv(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_csv(p text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT '"' || replace(CASE WHEN p ~ '^[=+@\t\r-]' THEN '''' || p ELSE coalesce(p, '') END,
                          '"', '""') || '"'
$$;

--
-- Name: carenav_delivery_report(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_delivery_report(p_provider text, p_sid text, p_status text, p_error_code text) RETURNS boolean
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
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
END $_$;

--
-- Name: carenav_emergency_undelivered(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_emergency_undelivered(p_escalation_id bigint, p_error text, p_provider text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_epoch_us(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_epoch_us(p_at timestamp with time zone) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (extract(epoch FROM p_at) * 1000000)::bigint
$$;

--
-- Name: carenav_escalation_ack(bigint, text, bigint, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_ack(p_escalation_id bigint, p_actor text, p_staff_id bigint, p_provider text, p_texts jsonb) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_escalation_advance(bigint, integer, jsonb, jsonb, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_advance(p_escalation_id bigint, p_expected_step integer, p_alerts jsonb, p_template jsonb, p_next_due_ms bigint, p_provider text) RETURNS jsonb
    LANGUAGE sql
    AS $$
    SELECT carenav_escalation_advance_group(jsonb_build_array(jsonb_build_object(
               'id', p_escalation_id, 'step', p_expected_step, 'alerts', p_alerts)),
           p_template, p_next_due_ms, p_provider, 0)
$$;

--
-- Name: carenav_escalation_advance_group(jsonb, jsonb, bigint, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_advance_group(p_items jsonb, p_template jsonb, p_next_due_ms bigint, p_provider text, p_hold_ms bigint) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_escalation_cancel_pages(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_cancel_pages() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_escalation_code(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_code() RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_code text;
BEGIN
    LOOP
        v_code := (1000 + floor(random() * 9000))::int::text;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM escalations WHERE code = v_code AND status = 'open');
    END LOOP;
    RETURN v_code;
END $$;

--
-- Name: carenav_escalation_doc_in(jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_doc_in(p_doc jsonb, p_lang text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT p_doc || jsonb_build_object(
               'reason_text', carenav_console_reason_text(carenav_reason_text(p_doc->>'reason', p_lang), p_lang),
               'summary', s || jsonb_build_object(
                   'reasons', carenav_console_reason_text(s->>'reasons', p_lang),
                   'text', carenav_console_reason_text(s->>'text', p_lang)))
      FROM (SELECT carenav_escalation_summary((p_doc->>'id')::bigint, p_lang) AS s) x
     WHERE p_doc IS NOT NULL
$$;

--
-- Name: carenav_escalation_due(integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_due(p_limit integer, p_default_flow text) RETURNS TABLE(escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM carenav_escalation_due(p_limit, p_default_flow, 0)
$$;

--
-- Name: carenav_escalation_due(integer, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_due(p_limit integer, p_default_flow text, p_early_ms bigint) RETURNS TABLE(escalation_id bigint, code text, step integer, latest_flow_version_id bigint)
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: carenav_escalation_event(bigint, text, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_event(p_escalation_id bigint, p_event text, p_staff_id bigint, p_detail text) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO escalation_events (escalation_id, event, staff_id, actor, detail)
    VALUES (p_escalation_id, p_event, p_staff_id, 'gateway', p_detail);
$$;

--
-- Name: carenav_escalation_summary(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_summary(p_escalation_id bigint, p_lang text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
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

--
-- Name: carenav_escalation_update(bigint, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_escalation_update(p_escalation_id bigint, p_reason text, p_matched text, p_provider text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_fallback_staff(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_fallback_staff(p_phone text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_inbound_accept(text, text, text, text, text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text, p_body text, p_num_media integer) RETURNS TABLE(message_id bigint, conversation_id bigint, is_new boolean)
    LANGUAGE sql
    AS $$
    SELECT * FROM carenav_inbound_accept(p_provider, p_sid, p_from, p_to, p_body, p_num_media, NULL::text);
$$;

--
-- Name: carenav_inbound_accept(text, text, text, text, text, integer, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text, p_body text, p_num_media integer, p_opt_out_type text) RETURNS TABLE(message_id bigint, conversation_id bigint, is_new boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_inbound_accept_batch(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_inbound_accept_batch(p_msgs jsonb) RETURNS TABLE(ord integer, message_id bigint, conversation_id bigint, is_new boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    AS $$
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
                                                    (e.m->>'num_media')::integer,
                                                    e.m->>'opt_out_type');
        ord := e.i;
        message_id := r.message_id;
        conversation_id := r.conversation_id;
        is_new := r.is_new;
        RETURN NEXT;
    END LOOP;
END $$;

--
-- Name: carenav_is_staff(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_is_staff(p_phone text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (SELECT 1 FROM staff WHERE phone = p_phone AND active)
$$;

--
-- Name: carenav_local_instants(timestamp without time zone, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_local_instants(p_local timestamp without time zone, p_zone text) RETURNS bigint[]
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(array_agg(DISTINCT (extract(epoch FROM i) * 1000)::bigint
                              ORDER BY (extract(epoch FROM i) * 1000)::bigint), '{}')
      FROM (SELECT (p_local - ((x AT TIME ZONE p_zone) - (x AT TIME ZONE 'UTC'))) AT TIME ZONE 'UTC' AS i
              FROM (VALUES ((p_local - interval '1 day') AT TIME ZONE p_zone),
                           ((p_local + interval '1 day') AT TIME ZONE p_zone)) v (x)) c
     WHERE i AT TIME ZONE p_zone = p_local
$$;

--
-- Name: carenav_mask_phone(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_mask_phone(p_phone text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN length(p_phone) <= 4 THEN '***' ELSE '***' || right(p_phone, 4) END
$$;

--
-- Name: carenav_metrics_escalations(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_metrics_escalations() RETURNS text
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: carenav_oncall_window(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_oncall_window() RETURNS TABLE(staff_id bigint, name text, phone text, language text, webhook_url text, tier text, starts_ms bigint, ends_ms bigint, unreachable boolean)
    LANGUAGE sql STABLE
    AS $$
    SELECT s.id, s.name, s.phone, s.language, coalesce(s.webhook_url, ''), o.tier,
           (extract(epoch FROM o.starts_at) * 1000)::bigint, (extract(epoch FROM o.ends_at) * 1000)::bigint,
           s.unreachable_at IS NOT NULL
      FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id
     WHERE s.active AND o.ends_at > now() - interval '1 day' AND o.starts_at < now() + interval '1 day'
     ORDER BY o.starts_at
$$;

--
-- Name: carenav_operator_actions_immutable(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_actions_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'operator_actions is an audit trail: rows cannot be changed or deleted';
END $$;

--
-- Name: carenav_operator_auth(text, text, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_auth(p_kind text, p_sha256 text, p_idle_s integer, p_absolute_s integer) RETURNS TABLE(name text, role text, csrf text, language text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    s operator_sessions;
    t operator_tokens;
BEGIN
    IF p_kind = 'token' THEN
        SELECT * INTO t FROM operator_tokens
         WHERE token_sha256 = p_sha256 AND revoked_at IS NULL AND expires_at > now();
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF t.last_used_at IS NULL OR t.last_used_at < now() - interval '10 seconds' THEN
            UPDATE operator_tokens SET last_used_at = now() WHERE id = t.id;
        END IF;
        RETURN QUERY SELECT o.name, o.role, NULL::text, o.language
                       FROM operators o WHERE o.id = t.operator_id AND NOT o.disabled;
        RETURN;
    END IF;
    SELECT * INTO s FROM operator_sessions WHERE sid_sha256 = p_sha256 AND ended_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF s.last_seen_at < now() - make_interval(secs => p_idle_s)
       OR s.created_at < now() - make_interval(secs => p_absolute_s) THEN
        UPDATE operator_sessions SET ended_at = now() WHERE id = s.id AND ended_at IS NULL;
        RETURN;
    END IF;
    IF s.last_seen_at < now() - interval '10 seconds' THEN
        UPDATE operator_sessions SET last_seen_at = now() WHERE id = s.id;
    END IF;
    RETURN QUERY SELECT o.name, o.role, s.csrf, o.language
                   FROM operators o WHERE o.id = s.operator_id AND NOT o.disabled;
END $$;

--
-- Name: carenav_operator_language_set(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_language_set(p_name text, p_lang text, p_by text, p_client_addr text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    o operators;
BEGIN
    IF NOT carenav_console_language_known(p_lang) THEN
        RETURN 'unknown_language';
    END IF;
    SELECT * INTO o FROM operators WHERE name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF o.language = p_lang THEN
        RETURN 'unchanged';
    END IF;
    UPDATE operators SET language = p_lang WHERE id = o.id;
    PERFORM carenav_audit(p_by, 'operator_language', NULL, o.name || ': ' || o.language || ' -> ' || p_lang,
                          p_client_addr);
    RETURN 'ok';
END $$;

--
-- Name: carenav_operator_login_get(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_login_get(p_name text) RETURNS TABLE(status text, password_hash text, totp_secret text)
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN o.id IS NULL OR o.disabled OR o.password_hash IS NULL THEN 'unknown'
                WHEN o.locked_until > now() THEN 'locked'
                ELSE 'ok' END,
           o.password_hash, o.totp_secret
      FROM (SELECT 1) one
      LEFT JOIN operators o ON o.name = p_name
$$;

--
-- Name: carenav_operator_login_result(text, boolean, integer, integer, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_login_result(p_name text, p_ok boolean, p_max_failures integer, p_lockout_s integer, p_sid_sha256 text, p_csrf text, p_client_addr text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    o operators;
BEGIN
    SELECT * INTO o FROM operators WHERE name = p_name AND NOT disabled FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM carenav_audit(left(p_name, 32), 'login_failed', NULL, 'unknown account', p_client_addr);
        RETURN 'unknown';
    END IF;
    IF o.locked_until > now() THEN
        PERFORM carenav_audit(o.name, 'login_failed', NULL, 'account locked', p_client_addr);
        RETURN 'locked';
    END IF;
    IF NOT p_ok THEN
        UPDATE operators SET failed_logins = CASE WHEN failed_logins + 1 >= p_max_failures THEN 0
                                                  ELSE failed_logins + 1 END,
               locked_until = CASE WHEN failed_logins + 1 >= p_max_failures
                                   THEN now() + make_interval(secs => p_lockout_s) END
         WHERE id = o.id;
        PERFORM carenav_audit(o.name, 'login_failed', NULL, 'wrong password or code', p_client_addr);
        RETURN 'failed';
    END IF;
    UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE id = o.id;
    INSERT INTO operator_sessions (operator_id, sid_sha256, csrf, client_addr)
    VALUES (o.id, p_sid_sha256, p_csrf, nullif(p_client_addr, ''));
    PERFORM carenav_audit(o.name, 'login', NULL, NULL, p_client_addr);
    RETURN 'ok';
END $$;

--
-- Name: carenav_operator_logout(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_operator_logout(p_sid_sha256 text, p_client_addr text) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    who text;
BEGIN
    UPDATE operator_sessions s SET ended_at = now()
      FROM operators o
     WHERE s.sid_sha256 = p_sid_sha256 AND s.ended_at IS NULL AND o.id = s.operator_id
    RETURNING o.name INTO who;
    IF who IS NOT NULL THEN
        PERFORM carenav_audit(who, 'logout', NULL, NULL, p_client_addr);
    END IF;
END $$;

--
-- Name: carenav_outbox_claim(integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_claim(p_limit integer, p_lease_ms integer) RETURNS TABLE(outbox_id bigint, message_id bigint, attempts integer, to_number text, from_number text, body text)
    LANGUAGE sql
    AS $$
    SELECT c.outbox_id, c.message_id, c.attempts, c.to_number, c.from_number, c.body
      FROM carenav_outbox_claim(p_limit, p_lease_ms, p_lease_ms) c
$$;

--
-- Name: carenav_outbox_claim(integer, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_claim(p_limit integer, p_lease_ms integer, p_urgent_lease_ms integer) RETURNS TABLE(outbox_id bigint, message_id bigint, attempts integer, to_number text, from_number text, body text, urgent boolean, escalation_open boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    SET enable_bitmapscan TO 'off'
    SET enable_sort TO 'off'
    AS $$
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

--
-- Name: carenav_outbox_failed(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_failed(p_outbox_id bigint, p_error text) RETURNS void
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_outbox_hold(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_hold(p_items jsonb) RETURNS TABLE(outbox_id bigint)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_outbox_retry(bigint, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_retry(p_outbox_id bigint, p_delay_ms bigint, p_error text) RETURNS void
    LANGUAGE sql
    AS $$
    UPDATE outbox SET lease_until = NULL, last_error = p_error,
                      next_attempt_at = now() + p_delay_ms * interval '1 millisecond'
     WHERE id = p_outbox_id;
$$;

--
-- Name: carenav_outbox_sent(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text) RETURNS void
    LANGUAGE sql
    AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, 'sent', NULL::smallint, NULL::text);
$$;

--
-- Name: carenav_outbox_sent(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text) RETURNS void
    LANGUAGE sql
    AS $$
    SELECT carenav_outbox_sent(p_outbox_id, p_provider_sid, p_status, NULL::smallint, NULL::text);
$$;

--
-- Name: carenav_outbox_sent(bigint, text, text, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent(p_outbox_id bigint, p_provider_sid text, p_status text, p_segments smallint, p_encoding text) RETURNS void
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_outbox_sent_batch(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_sent_batch(p_items jsonb) RETURNS TABLE(ord integer, done boolean)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_outbox_trim(integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_trim(p_days integer, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_n integer;
BEGIN
    IF p_days <= 0 OR NOT pg_try_advisory_xact_lock(727470) THEN
        RETURN 0;
    END IF;
    DELETE FROM outbox
     WHERE state <> 'pending'
       AND id IN (SELECT id FROM outbox
                   WHERE state <> 'pending' AND created_at < now() - make_interval(days => p_days)
                   ORDER BY created_at
                   LIMIT p_limit);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

--
-- Name: carenav_outbox_unsubscribed(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_unsubscribed(p_outbox_id bigint, p_error text) RETURNS boolean
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_outbox_urgent_now(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_outbox_urgent_now() RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_n integer;
BEGIN
    UPDATE outbox SET next_attempt_at = now(), attempts = 0
     WHERE state = 'pending' AND urgent AND next_attempt_at > now();
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

--
-- Name: carenav_partitions_ensure(integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_partitions_ensure(p_months_ahead integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    v_lo    timestamptz;
    v_hi    timestamptz;
    v_name  text;
    v_made  integer := 0;
    t       text;
BEGIN
    -- One gateway at a time; the others find the work done.
    IF NOT pg_try_advisory_xact_lock(727468) THEN
        RETURN 0;
    END IF;
    FOREACH t IN ARRAY ARRAY['messages', 'escalation_events'] LOOP
        FOR i IN 0 .. p_months_ahead LOOP
            v_lo := (v_month + make_interval(months => i)) AT TIME ZONE 'UTC';
            v_hi := (v_month + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
            v_name := format('%s_y%sm%s', t, to_char(v_month + make_interval(months => i), 'YYYY'),
                             to_char(v_month + make_interval(months => i), 'MM'));
            CONTINUE WHEN to_regclass(v_name) IS NOT NULL;
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               v_name, t, v_lo, v_hi);
                v_made := v_made + 1;
            EXCEPTION
                WHEN invalid_object_definition THEN
                    NULL;  -- overlaps a partition that already covers it (the legacy one)
                WHEN check_violation THEN
                    RAISE WARNING 'carenav: rows for % of % are in the default partition; partition not created',
                                  to_char(v_month + make_interval(months => i), 'YYYY-MM'), t;
            END;
        END LOOP;
    END LOOP;
    RETURN v_made;
END $$;

--
-- Name: carenav_queue_sms(bigint, text, text, text, smallint, boolean, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_priority smallint, p_compliance boolean, p_escalation_id bigint) RETURNS bigint
    LANGUAGE sql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
    SELECT carenav_queue_sms(p_conversation_id, p_provider, p_body, p_sent_by, p_priority,
                             p_compliance, p_escalation_id, NULL::smallint, NULL::text);
$$;

--
-- Name: carenav_queue_sms(bigint, text, text, text, smallint, boolean, bigint, smallint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_queue_sms(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_priority smallint, p_compliance boolean, p_escalation_id bigint, p_segments smallint, p_encoding text) RETURNS bigint
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_queue_urgent(bigint, text, text, text, smallint, bigint, jsonb, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_queue_urgent(p_conversation_id bigint, p_provider text, p_body text, p_sent_by text, p_priority smallint, p_escalation_id bigint, p_pages jsonb, p_staff_id bigint, p_round_ms bigint) RETURNS bigint
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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

--
-- Name: carenav_reason_text(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_reason_text(p_reason text, p_lang text) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(string_agg(coalesce(t.doc #>> ARRAY['rules', r, p_lang], t.doc #>> ARRAY['rules', r, 'en'], r),
                               '; ' ORDER BY n), '')
      FROM unnest(string_to_array(p_reason, ',')) WITH ORDINALITY AS x (r0, n),
           LATERAL (SELECT btrim(r0) AS r) y,
           (SELECT coalesce((SELECT doc FROM triage_titles WHERE id = 1), '{}') AS doc) t
     WHERE r <> ''
$$;

--
-- Name: carenav_render(jsonb, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_render(p_map jsonb, p_lang text, p_vars jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
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

--
-- Name: carenav_report_error(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_report_error(p_status text, p_error_code text, p_old text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN p_status IN ('delivered', 'read') THEN NULL
                ELSE coalesce(nullif(p_error_code, ''), p_old) END
$$;

--
-- Name: carenav_retention_clear_states(integer, integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_retention_clear_states(p_days integer, p_idle_hours integer, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_n integer;
BEGIN
    IF p_days <= 0 OR NOT pg_try_advisory_xact_lock(727469) THEN
        RETURN 0;
    END IF;
    WITH idle AS (
        SELECT id FROM conversations
         WHERE state <> '{}'
           AND last_activity_at < now() - greatest(make_interval(days => p_days),
                                                   make_interval(hours => p_idle_hours))
         ORDER BY last_activity_at
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED)
    UPDATE conversations c SET state = '{}', version = c.version + 1
      FROM idle
     WHERE c.id = idle.id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

--
-- Name: carenav_retention_purge(integer, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_retention_purge(p_days integer, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_n integer;
BEGIN
    IF p_days <= 0 OR NOT pg_try_advisory_xact_lock(727469) THEN
        RETURN 0;
    END IF;
    WITH victims AS (
        SELECT id, created_at FROM messages
         WHERE purged_at IS NULL AND created_at < now() - make_interval(days => p_days)
           AND NOT (direction = 'in' AND processed_at IS NULL)
           AND NOT (direction = 'out' AND status = 'queued' AND provider_sid IS NULL)
         ORDER BY created_at
         LIMIT p_limit)
    UPDATE messages m SET body = '', purged_at = now()
      FROM victims v
     WHERE m.id = v.id AND m.created_at = v.created_at;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

--
-- Name: carenav_staff_conversation(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_staff_conversation(p_phone text, p_service_number text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_conv bigint;
BEGIN
    INSERT INTO conversations (patient_number, service_number, kind)
    VALUES (p_phone, p_service_number, 'staff')
    ON CONFLICT (patient_number, service_number) DO UPDATE SET kind = 'staff'
    RETURNING id INTO v_conv;
    RETURN v_conv;
END $$;

--
-- Name: carenav_staff_step(bigint, bigint, bigint, boolean, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_is_ack boolean, p_code text, p_provider text, p_texts jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_staff_step(bigint, bigint, bigint, boolean, text, text, jsonb, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_staff_step(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_is_ack boolean, p_code text, p_provider text, p_texts jsonb, p_code_required boolean) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    c        conversations%ROWTYPE;
    s        staff%ROWTYPE;
    v_done   timestamptz;
    v_count  integer;
    v_codes  text;
BEGIN
    IF NOT p_code_required THEN
        RETURN carenav_staff_step(p_conversation_id, p_version, p_message_id, p_is_ack, p_code,
                                  p_provider, p_texts);
    END IF;
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
    PERFORM carenav_queue_sms(c.id, p_provider,
                              carenav_render(p_texts->'ack_which', s.language,
                                             jsonb_build_object('staff', s.name, 'code', '',
                                                                'codes', v_codes,
                                                                'count', v_count::text)),
                              'system', 10::smallint, true, NULL);
    UPDATE conversations SET kind = 'staff', version = version + 1, last_activity_at = now()
     WHERE id = c.id;
    UPDATE messages SET status = 'processed', processed_at = now() WHERE id = p_message_id;
    RETURN 'code_required';
END $$;

--
-- Name: carenav_stand_down(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_stand_down() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: carenav_status_rank(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_status_rank(p_status text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$
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

--
-- Name: carenav_step_commit(bigint, bigint, bigint, jsonb, bigint, text, text, text, jsonb, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_state jsonb, p_flow_version_id bigint, p_language text, p_status text, p_provider text, p_replies jsonb, p_actions jsonb) RETURNS text
    LANGUAGE sql
    AS $$
    SELECT carenav_step_commit(p_conversation_id, p_version, p_message_id, p_state, p_flow_version_id,
                               p_language, p_status, p_provider, p_replies, p_actions, NULL::bigint);
$$;

--
-- Name: carenav_step_commit(bigint, bigint, bigint, jsonb, bigint, text, text, text, jsonb, jsonb, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit(p_conversation_id bigint, p_version bigint, p_message_id bigint, p_state jsonb, p_flow_version_id bigint, p_language text, p_status text, p_provider text, p_replies jsonb, p_actions jsonb, p_received_ms bigint) RETURNS text
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
    c       conversations%ROWTYPE;
    v_from  timestamptz := coalesce('epoch'::timestamptz + (p_received_ms - 1) * interval '1 millisecond',
                                    '-infinity');
    v_to    timestamptz := coalesce('epoch'::timestamptz + (p_received_ms + 1) * interval '1 millisecond',
                                    'infinity');
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
    IF NOT EXISTS (SELECT 1 FROM messages
                    WHERE conversation_id = c.id AND direction = 'in' AND processed_at IS NULL) THEN
        RETURN 'last';
    END IF;
    RETURN 'ok';
END $$;

--
-- Name: carenav_step_commit_batch(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_commit_batch(p_items jsonb) RETURNS TABLE(ord integer, outcome text)
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
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
                                       (e.s->>'replies')::jsonb, (e.s->>'actions')::jsonb,
                                       (e.s->>'received_ms')::bigint);
        RETURN NEXT;
    END LOOP;
END $$;

--
-- Name: carenav_step_load(bigint, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_load(p_conversation_id bigint, p_default_flow text, p_window_ms bigint) RETURNS TABLE(version bigint, state text, flow_version_id bigint, language text, opted_out boolean, handoff boolean, last_activity_ms bigint, message_id bigint, body text, received_ms bigint, kind text, latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
    LANGUAGE sql STABLE
    AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint,
           CASE WHEN carenav_is_staff(c.patient_number) THEN 'staff' ELSE 'patient' END,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1),
           (SELECT count(*) FROM messages w
             WHERE w.conversation_id = c.id AND w.direction = 'in' AND w.id <= m.id
               AND w.created_at > m.created_at - p_window_ms * interval '1 millisecond'),
           c.status, m.opt_out_type
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
     ORDER BY m.id
     LIMIT 1
$$;

--
-- Name: carenav_step_load_batch(jsonb, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_step_load_batch(p_items jsonb, p_default_flow text) RETURNS TABLE(ord integer, version bigint, state text, flow_version_id bigint, language text, opted_out boolean, handoff boolean, last_activity_ms bigint, message_id bigint, body text, received_ms bigint, kind text, latest_flow_version_id bigint, window_count bigint, status text, opt_out_type text)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
    RETURN QUERY
    SELECT x.i::integer, s.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x (e, i)
     CROSS JOIN LATERAL carenav_step_load((x.e->>'id')::bigint, p_default_flow,
                                          coalesce((x.e->>'window_ms')::bigint, 60000)) AS s;
END $$;

--
-- Name: carenav_suppress_opted_out(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_suppress_opted_out() RETURNS trigger
    LANGUAGE plpgsql
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
BEGIN
    WITH s AS (
        UPDATE outbox SET state = 'suppressed', lease_until = NULL, last_error = 'opted out'
         WHERE conversation_id = NEW.id AND state = 'pending' AND NOT compliance
        RETURNING message_id, message_created_at)
    UPDATE messages m SET status = 'suppressed', status_updated_at = now()
      FROM s WHERE m.id = s.message_id AND m.created_at = s.message_created_at;
    RETURN NULL;
END $$;

--
-- Name: carenav_title_word(text[], text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_title_word(p_path text[], p_lang text) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(doc #> ('{summary}'::text[] || p_path) ->> p_lang,
                    doc #> ('{summary}'::text[] || p_path) ->> 'en', '')
      FROM (SELECT coalesce((SELECT doc FROM triage_titles WHERE id = 1), '{}') AS doc) t
$$;

--
-- Name: carenav_titles_load(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_titles_load(p_doc jsonb) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO triage_titles (id, doc) VALUES (1, p_doc)
    ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc WHERE triage_titles.doc IS DISTINCT FROM EXCLUDED.doc
$$;

--
-- Name: carenav_zone_exists(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.carenav_zone_exists(p_zone text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_zone)
$$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: callbacks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.callbacks (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    reason text NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    done_at timestamp with time zone,
    done_by text,
    CONSTRAINT callbacks_status_check CHECK ((status = ANY (ARRAY['open'::text, 'done'::text])))
);

--
-- Name: callbacks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.callbacks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: callbacks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.callbacks_id_seq OWNED BY public.callbacks.id;

--
-- Name: conversations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conversations (
    id bigint NOT NULL,
    patient_number text NOT NULL,
    service_number text NOT NULL,
    kind text DEFAULT 'patient'::text NOT NULL,
    flow_version_id bigint,
    state jsonb DEFAULT '{}'::jsonb NOT NULL,
    language text DEFAULT 'en'::text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    opted_out boolean DEFAULT false NOT NULL,
    handoff boolean DEFAULT false NOT NULL,
    version bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_activity_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT conversations_kind_check CHECK ((kind = ANY (ARRAY['patient'::text, 'staff'::text]))),
    CONSTRAINT conversations_status_check CHECK ((status = ANY (ARRAY['active'::text, 'emergency'::text, 'closed'::text])))
);

--
-- Name: conversations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.conversations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: conversations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.conversations_id_seq OWNED BY public.conversations.id;

--
-- Name: delivery_reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.delivery_reports (
    id bigint NOT NULL,
    provider text NOT NULL,
    provider_sid text NOT NULL,
    status text NOT NULL,
    error_code text,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: delivery_reports_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.delivery_reports_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: delivery_reports_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.delivery_reports_id_seq OWNED BY public.delivery_reports.id;

--
-- Name: escalation_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalation_events (
    id bigint NOT NULL,
    escalation_id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    event text NOT NULL,
    step integer,
    staff_id bigint,
    actor text,
    detail text
)
PARTITION BY RANGE (at);

--
-- Name: escalation_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.escalation_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: escalation_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.escalation_events_id_seq OWNED BY public.escalation_events.id;

--
-- Name: escalation_events_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalation_events_default (
    id bigint DEFAULT nextval('public.escalation_events_id_seq'::regclass) NOT NULL,
    escalation_id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    event text NOT NULL,
    step integer,
    staff_id bigint,
    actor text,
    detail text
);

--
-- Name: escalation_events_legacy; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalation_events_legacy (
    id bigint DEFAULT nextval('public.escalation_events_id_seq'::regclass) NOT NULL,
    escalation_id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    event text NOT NULL,
    step integer,
    staff_id bigint,
    actor text,
    detail text
);

--
-- Name: escalations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.escalations (
    id bigint NOT NULL,
    code text NOT NULL,
    conversation_id bigint NOT NULL,
    message_id bigint,
    reason text NOT NULL,
    matched text,
    status text DEFAULT 'open'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    acknowledged_at timestamp with time zone,
    acknowledged_by text,
    resolved_at timestamp with time zone,
    resolved_by text,
    resolution_note text,
    step integer DEFAULT 0 NOT NULL,
    next_due_at timestamp with time zone DEFAULT now(),
    outcome text,
    outcome_tries smallint,
    CONSTRAINT escalations_outcome_check CHECK ((outcome = ANY (ARRAY['advised_er'::text, 'er_confirmed'::text, 'not_urgent'::text, 'no_answer'::text, 'false_alarm'::text]))),
    CONSTRAINT escalations_outcome_tries_check CHECK (((outcome_tries >= 1) AND (outcome_tries <= 99))),
    CONSTRAINT escalations_status_check CHECK ((status = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text])))
);

--
-- Name: escalations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.escalations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: escalations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.escalations_id_seq OWNED BY public.escalations.id;

--
-- Name: flow_versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flow_versions (
    id bigint NOT NULL,
    flow_id bigint NOT NULL,
    version integer NOT NULL,
    document jsonb NOT NULL,
    sha256 text NOT NULL,
    loaded_by text DEFAULT CURRENT_USER NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: flow_versions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.flow_versions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: flow_versions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.flow_versions_id_seq OWNED BY public.flow_versions.id;

--
-- Name: flows; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flows (
    id bigint NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: flows_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.flows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: flows_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.flows_id_seq OWNED BY public.flows.id;

--
-- Name: inbound_ids; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.inbound_ids (
    provider text NOT NULL,
    provider_sid text NOT NULL,
    message_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    provider text NOT NULL,
    provider_sid text,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    num_media integer DEFAULT 0 NOT NULL,
    status text NOT NULL,
    error text,
    sent_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    status_updated_at timestamp with time zone,
    escalation_id bigint,
    purged_at timestamp with time zone,
    opt_out_type text,
    segments smallint,
    encoding text,
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT messages_encoding_check CHECK (((encoding IS NULL) OR (encoding = ANY (ARRAY['gsm7'::text, 'ucs2'::text])))),
    CONSTRAINT messages_opt_out_type_check CHECK ((opt_out_type = ANY (ARRAY['STOP'::text, 'START'::text, 'HELP'::text]))),
    CONSTRAINT messages_segments_check CHECK (((segments IS NULL) OR (segments >= 0)))
)
PARTITION BY RANGE (created_at);

--
-- Name: messages_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: messages_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.messages_id_seq OWNED BY public.messages.id;

--
-- Name: messages_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages_default (
    id bigint DEFAULT nextval('public.messages_id_seq'::regclass) NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    provider text NOT NULL,
    provider_sid text,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    num_media integer DEFAULT 0 NOT NULL,
    status text NOT NULL,
    error text,
    sent_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    status_updated_at timestamp with time zone,
    escalation_id bigint,
    purged_at timestamp with time zone,
    opt_out_type text,
    segments smallint,
    encoding text,
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT messages_encoding_check CHECK (((encoding IS NULL) OR (encoding = ANY (ARRAY['gsm7'::text, 'ucs2'::text])))),
    CONSTRAINT messages_opt_out_type_check CHECK ((opt_out_type = ANY (ARRAY['STOP'::text, 'START'::text, 'HELP'::text]))),
    CONSTRAINT messages_segments_check CHECK (((segments IS NULL) OR (segments >= 0)))
);

--
-- Name: messages_legacy; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages_legacy (
    id bigint DEFAULT nextval('public.messages_id_seq'::regclass) NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    provider text NOT NULL,
    provider_sid text,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    num_media integer DEFAULT 0 NOT NULL,
    status text NOT NULL,
    error text,
    sent_by text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    status_updated_at timestamp with time zone,
    escalation_id bigint,
    purged_at timestamp with time zone,
    opt_out_type text,
    segments smallint,
    encoding text,
    CONSTRAINT messages_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT messages_encoding_check CHECK (((encoding IS NULL) OR (encoding = ANY (ARRAY['gsm7'::text, 'ucs2'::text])))),
    CONSTRAINT messages_opt_out_type_check CHECK ((opt_out_type = ANY (ARRAY['STOP'::text, 'START'::text, 'HELP'::text]))),
    CONSTRAINT messages_segments_check CHECK (((segments IS NULL) OR (segments >= 0)))
);

--
-- Name: oncall_shifts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oncall_shifts (
    id bigint NOT NULL,
    staff_id bigint NOT NULL,
    tier text NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oncall_shifts_check CHECK ((ends_at > starts_at)),
    CONSTRAINT oncall_shifts_tier_check CHECK ((tier = ANY (ARRAY['primary'::text, 'backup'::text])))
);

--
-- Name: oncall_shifts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.oncall_shifts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: oncall_shifts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.oncall_shifts_id_seq OWNED BY public.oncall_shifts.id;

--
-- Name: operator_actions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_actions (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    operator text NOT NULL,
    action text NOT NULL,
    conversation_id bigint,
    escalation_id bigint,
    callback_id bigint,
    message_id bigint,
    detail text,
    client_addr text
);

--
-- Name: operator_actions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operator_actions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operator_actions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operator_actions_id_seq OWNED BY public.operator_actions.id;

--
-- Name: operator_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_sessions (
    id bigint NOT NULL,
    operator_id bigint NOT NULL,
    sid_sha256 text NOT NULL,
    csrf text NOT NULL,
    client_addr text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone
);

--
-- Name: operator_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operator_sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operator_sessions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operator_sessions_id_seq OWNED BY public.operator_sessions.id;

--
-- Name: operator_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operator_tokens (
    id bigint NOT NULL,
    operator_id bigint NOT NULL,
    token_sha256 text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    last_used_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: operator_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operator_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operator_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operator_tokens_id_seq OWNED BY public.operator_tokens.id;

--
-- Name: operators; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.operators (
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text,
    totp_secret text,
    language text DEFAULT 'en'::text NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    failed_logins integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT operators_language_check CHECK ((language = ANY (ARRAY['en'::text, 'es'::text]))),
    CONSTRAINT operators_name_check CHECK ((name ~ '^[a-z0-9_-]{1,32}$'::text)),
    CONSTRAINT operators_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'responder'::text, 'admin'::text])))
);

--
-- Name: operators_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.operators_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: operators_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.operators_id_seq OWNED BY public.operators.id;

--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    message_id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    priority smallint DEFAULT 0 NOT NULL,
    compliance boolean DEFAULT false NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_until timestamp with time zone,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    message_created_at timestamp with time zone,
    urgent boolean DEFAULT false NOT NULL,
    escalation_id bigint,
    pages jsonb,
    staff_id bigint,
    round_ms bigint,
    CONSTRAINT outbox_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'done'::text, 'failed'::text, 'suppressed'::text])))
)
WITH (autovacuum_vacuum_scale_factor='0', autovacuum_vacuum_threshold='5000');

--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;

--
-- Name: schema_functions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_functions (
    name text NOT NULL,
    sha256 text NOT NULL,
    release text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: staff; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.staff (
    id bigint NOT NULL,
    name text NOT NULL,
    phone text NOT NULL,
    role text DEFAULT 'nurse'::text NOT NULL,
    language text DEFAULT 'en'::text NOT NULL,
    webhook_url text,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    unreachable_at timestamp with time zone,
    unreachable_reason text
);

--
-- Name: staff_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.staff_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: staff_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.staff_id_seq OWNED BY public.staff.id;

--
-- Name: staff_texts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.staff_texts (
    key text NOT NULL,
    texts jsonb NOT NULL
);

--
-- Name: triage_titles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.triage_titles (
    id integer NOT NULL,
    doc jsonb NOT NULL,
    CONSTRAINT triage_titles_id_check CHECK ((id = 1))
);

--
-- Name: escalation_events_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events ATTACH PARTITION public.escalation_events_default DEFAULT;

--
-- Name: escalation_events_legacy; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events ATTACH PARTITION public.escalation_events_legacy FOR VALUES FROM (MINVALUE) TO ('(first monthly partition)');

--
-- Name: messages_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ATTACH PARTITION public.messages_default DEFAULT;

--
-- Name: messages_legacy; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ATTACH PARTITION public.messages_legacy FOR VALUES FROM (MINVALUE) TO ('(first monthly partition)');

--
-- Name: callbacks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.callbacks ALTER COLUMN id SET DEFAULT nextval('public.callbacks_id_seq'::regclass);

--
-- Name: conversations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations ALTER COLUMN id SET DEFAULT nextval('public.conversations_id_seq'::regclass);

--
-- Name: delivery_reports id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_reports ALTER COLUMN id SET DEFAULT nextval('public.delivery_reports_id_seq'::regclass);

--
-- Name: escalation_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events ALTER COLUMN id SET DEFAULT nextval('public.escalation_events_id_seq'::regclass);

--
-- Name: escalations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalations ALTER COLUMN id SET DEFAULT nextval('public.escalations_id_seq'::regclass);

--
-- Name: flow_versions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions ALTER COLUMN id SET DEFAULT nextval('public.flow_versions_id_seq'::regclass);

--
-- Name: flows id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows ALTER COLUMN id SET DEFAULT nextval('public.flows_id_seq'::regclass);

--
-- Name: messages id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages ALTER COLUMN id SET DEFAULT nextval('public.messages_id_seq'::regclass);

--
-- Name: oncall_shifts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oncall_shifts ALTER COLUMN id SET DEFAULT nextval('public.oncall_shifts_id_seq'::regclass);

--
-- Name: operator_actions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions ALTER COLUMN id SET DEFAULT nextval('public.operator_actions_id_seq'::regclass);

--
-- Name: operator_sessions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions ALTER COLUMN id SET DEFAULT nextval('public.operator_sessions_id_seq'::regclass);

--
-- Name: operator_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens ALTER COLUMN id SET DEFAULT nextval('public.operator_tokens_id_seq'::regclass);

--
-- Name: operators id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operators ALTER COLUMN id SET DEFAULT nextval('public.operators_id_seq'::regclass);

--
-- Name: outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

--
-- Name: staff id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff ALTER COLUMN id SET DEFAULT nextval('public.staff_id_seq'::regclass);

--
-- Name: callbacks callbacks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.callbacks
    ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);

--
-- Name: conversations conversations_patient_number_service_number_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_patient_number_service_number_key UNIQUE (patient_number, service_number);

--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id);

--
-- Name: delivery_reports delivery_reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delivery_reports
    ADD CONSTRAINT delivery_reports_pkey PRIMARY KEY (id);

--
-- Name: escalation_events escalation_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events
    ADD CONSTRAINT escalation_events_pkey PRIMARY KEY (id, at);

--
-- Name: escalation_events_default escalation_events_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events_default
    ADD CONSTRAINT escalation_events_default_pkey PRIMARY KEY (id, at);

--
-- Name: escalation_events_legacy escalation_events_legacy_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalation_events_legacy
    ADD CONSTRAINT escalation_events_legacy_pkey PRIMARY KEY (id, at);

--
-- Name: escalations escalations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalations
    ADD CONSTRAINT escalations_pkey PRIMARY KEY (id);

--
-- Name: flow_versions flow_versions_flow_id_version_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions
    ADD CONSTRAINT flow_versions_flow_id_version_key UNIQUE (flow_id, version);

--
-- Name: flow_versions flow_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions
    ADD CONSTRAINT flow_versions_pkey PRIMARY KEY (id);

--
-- Name: flows flows_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows
    ADD CONSTRAINT flows_name_key UNIQUE (name);

--
-- Name: flows flows_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows
    ADD CONSTRAINT flows_pkey PRIMARY KEY (id);

--
-- Name: inbound_ids inbound_ids_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.inbound_ids
    ADD CONSTRAINT inbound_ids_pkey PRIMARY KEY (provider, provider_sid);

--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id, created_at);

--
-- Name: messages_default messages_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages_default
    ADD CONSTRAINT messages_default_pkey PRIMARY KEY (id, created_at);

--
-- Name: messages_legacy messages_legacy_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages_legacy
    ADD CONSTRAINT messages_legacy_pkey PRIMARY KEY (id, created_at);

--
-- Name: oncall_shifts oncall_shifts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oncall_shifts
    ADD CONSTRAINT oncall_shifts_pkey PRIMARY KEY (id);

--
-- Name: operator_actions operator_actions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_pkey PRIMARY KEY (id);

--
-- Name: operator_sessions operator_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions
    ADD CONSTRAINT operator_sessions_pkey PRIMARY KEY (id);

--
-- Name: operator_sessions operator_sessions_sid_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions
    ADD CONSTRAINT operator_sessions_sid_sha256_key UNIQUE (sid_sha256);

--
-- Name: operator_tokens operator_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens
    ADD CONSTRAINT operator_tokens_pkey PRIMARY KEY (id);

--
-- Name: operator_tokens operator_tokens_token_sha256_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens
    ADD CONSTRAINT operator_tokens_token_sha256_key UNIQUE (token_sha256);

--
-- Name: operators operators_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operators
    ADD CONSTRAINT operators_name_key UNIQUE (name);

--
-- Name: operators operators_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operators
    ADD CONSTRAINT operators_pkey PRIMARY KEY (id);

--
-- Name: outbox outbox_message_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_message_id_key UNIQUE (message_id);

--
-- Name: outbox outbox_pending_has_month; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.outbox
    ADD CONSTRAINT outbox_pending_has_month CHECK (((state <> 'pending'::text) OR (message_created_at IS NOT NULL))) NOT VALID;

--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

--
-- Name: schema_functions schema_functions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_functions
    ADD CONSTRAINT schema_functions_pkey PRIMARY KEY (name);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (name);

--
-- Name: staff staff_phone_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_phone_key UNIQUE (phone);

--
-- Name: staff staff_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_pkey PRIMARY KEY (id);

--
-- Name: staff_texts staff_texts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.staff_texts
    ADD CONSTRAINT staff_texts_pkey PRIMARY KEY (key);

--
-- Name: triage_titles triage_titles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.triage_titles
    ADD CONSTRAINT triage_titles_pkey PRIMARY KEY (id);

--
-- Name: callbacks_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX callbacks_open ON public.callbacks USING btree (created_at) WHERE (status = 'open'::text);

--
-- Name: conversations_activity; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_activity ON public.conversations USING btree (last_activity_at DESC, id DESC);

--
-- Name: conversations_opted_out; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_opted_out ON public.conversations USING btree (id) WHERE opted_out;

--
-- Name: conversations_state_held; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX conversations_state_held ON public.conversations USING btree (last_activity_at) WHERE (state <> '{}'::jsonb);

--
-- Name: delivery_reports_sid; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX delivery_reports_sid ON public.delivery_reports USING btree (provider_sid, id);

--
-- Name: escalation_events_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalation_events_escalation ON ONLY public.escalation_events USING btree (escalation_id, id);

--
-- Name: escalation_events_default_escalation_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalation_events_default_escalation_id_id_idx ON public.escalation_events_default USING btree (escalation_id, id);

--
-- Name: escalation_events_legacy_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalation_events_legacy_escalation ON public.escalation_events_legacy USING btree (escalation_id, id);

--
-- Name: escalations_conversation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalations_conversation ON public.escalations USING btree (conversation_id, id);

--
-- Name: escalations_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalations_due ON public.escalations USING btree (next_due_at) WHERE (next_due_at IS NOT NULL);

--
-- Name: escalations_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX escalations_open ON public.escalations USING btree (created_at) WHERE (status = 'open'::text);

--
-- Name: escalations_open_code; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX escalations_open_code ON public.escalations USING btree (code) WHERE (status = 'open'::text);

--
-- Name: messages_conversation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_conversation ON ONLY public.messages USING btree (conversation_id, id);

--
-- Name: messages_default_conversation_id_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_conversation_id_id_idx ON public.messages_default USING btree (conversation_id, id);

--
-- Name: messages_unprocessed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_unprocessed ON ONLY public.messages USING btree (conversation_id, id) WHERE ((direction = 'in'::text) AND (processed_at IS NULL));

--
-- Name: messages_default_conversation_id_id_idx1; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_conversation_id_id_idx1 ON public.messages_default USING btree (conversation_id, id) WHERE ((direction = 'in'::text) AND (processed_at IS NULL));

--
-- Name: messages_unpurged; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_unpurged ON ONLY public.messages USING btree (created_at) WHERE (purged_at IS NULL);

--
-- Name: messages_default_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_created_at_idx ON public.messages_default USING btree (created_at) WHERE (purged_at IS NULL);

--
-- Name: messages_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_escalation ON ONLY public.messages USING btree (escalation_id) WHERE (escalation_id IS NOT NULL);

--
-- Name: messages_default_escalation_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_escalation_id_idx ON public.messages_default USING btree (escalation_id) WHERE (escalation_id IS NOT NULL);

--
-- Name: messages_outbound_sid; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_outbound_sid ON ONLY public.messages USING btree (provider_sid) WHERE (direction = 'out'::text);

--
-- Name: messages_default_provider_sid_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_default_provider_sid_idx ON public.messages_default USING btree (provider_sid) WHERE (direction = 'out'::text);

--
-- Name: messages_legacy_conversation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_conversation ON public.messages_legacy USING btree (conversation_id, id);

--
-- Name: messages_legacy_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_created_at_idx ON public.messages_legacy USING btree (created_at) WHERE (purged_at IS NULL);

--
-- Name: messages_legacy_escalation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_escalation ON public.messages_legacy USING btree (escalation_id) WHERE (escalation_id IS NOT NULL);

--
-- Name: messages_legacy_outbound_sid; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_outbound_sid ON public.messages_legacy USING btree (provider_sid) WHERE (direction = 'out'::text);

--
-- Name: messages_legacy_unprocessed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX messages_legacy_unprocessed ON public.messages_legacy USING btree (conversation_id, id) WHERE ((direction = 'in'::text) AND (processed_at IS NULL));

--
-- Name: oncall_shifts_time; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oncall_shifts_time ON public.oncall_shifts USING btree (ends_at, starts_at);

--
-- Name: operator_actions_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX operator_actions_at ON public.operator_actions USING btree (at DESC);

--
-- Name: operator_actions_operator_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX operator_actions_operator_at ON public.operator_actions USING btree (operator, at DESC);

--
-- Name: outbox_pages; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_pages ON public.outbox USING gin (pages jsonb_path_ops) WHERE (pages IS NOT NULL);

--
-- Name: outbox_pages_staff; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_pages_staff ON public.outbox USING btree (staff_id, created_at) WHERE (pages IS NOT NULL);

--
-- Name: outbox_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_pending ON public.outbox USING btree (conversation_id, id) WHERE (state = 'pending'::text);

--
-- Name: outbox_send_order; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_send_order ON public.outbox USING btree (priority DESC, id) WHERE (state = 'pending'::text);

--
-- Name: outbox_settled; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_settled ON public.outbox USING btree (created_at) WHERE (state <> 'pending'::text);

--
-- Name: outbox_urgent_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_urgent_pending ON public.outbox USING btree (next_attempt_at) WHERE ((state = 'pending'::text) AND urgent);

--
-- Name: escalation_events_default_escalation_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_escalation ATTACH PARTITION public.escalation_events_default_escalation_id_id_idx;

--
-- Name: escalation_events_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_pkey ATTACH PARTITION public.escalation_events_default_pkey;

--
-- Name: escalation_events_legacy_escalation; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_escalation ATTACH PARTITION public.escalation_events_legacy_escalation;

--
-- Name: escalation_events_legacy_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.escalation_events_pkey ATTACH PARTITION public.escalation_events_legacy_pkey;

--
-- Name: messages_default_conversation_id_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_conversation ATTACH PARTITION public.messages_default_conversation_id_id_idx;

--
-- Name: messages_default_conversation_id_id_idx1; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unprocessed ATTACH PARTITION public.messages_default_conversation_id_id_idx1;

--
-- Name: messages_default_created_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unpurged ATTACH PARTITION public.messages_default_created_at_idx;

--
-- Name: messages_default_escalation_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_escalation ATTACH PARTITION public.messages_default_escalation_id_idx;

--
-- Name: messages_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_pkey ATTACH PARTITION public.messages_default_pkey;

--
-- Name: messages_default_provider_sid_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_outbound_sid ATTACH PARTITION public.messages_default_provider_sid_idx;

--
-- Name: messages_legacy_conversation; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_conversation ATTACH PARTITION public.messages_legacy_conversation;

--
-- Name: messages_legacy_created_at_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unpurged ATTACH PARTITION public.messages_legacy_created_at_idx;

--
-- Name: messages_legacy_escalation; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_escalation ATTACH PARTITION public.messages_legacy_escalation;

--
-- Name: messages_legacy_outbound_sid; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_outbound_sid ATTACH PARTITION public.messages_legacy_outbound_sid;

--
-- Name: messages_legacy_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_pkey ATTACH PARTITION public.messages_legacy_pkey;

--
-- Name: messages_legacy_unprocessed; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.messages_unprocessed ATTACH PARTITION public.messages_legacy_unprocessed;

--
-- Name: conversations conversations_suppress_opted_out; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER conversations_suppress_opted_out AFTER UPDATE OF opted_out ON public.conversations FOR EACH ROW WHEN ((new.opted_out AND (NOT old.opted_out))) EXECUTE FUNCTION public.carenav_suppress_opted_out();

--
-- Name: escalation_events escalation_events_ack_brief; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER escalation_events_ack_brief AFTER INSERT ON public.escalation_events FOR EACH ROW WHEN (((new.event = 'acknowledged'::text) AND (new.staff_id IS NOT NULL))) EXECUTE FUNCTION public.carenav_ack_brief();

--
-- Name: escalation_events escalation_events_stand_down; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER escalation_events_stand_down AFTER INSERT ON public.escalation_events FOR EACH ROW WHEN ((new.event = ANY (ARRAY['acknowledged'::text, 'resolved'::text]))) EXECUTE FUNCTION public.carenav_stand_down();

--
-- Name: escalations escalations_cancel_pages; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER escalations_cancel_pages AFTER UPDATE OF status ON public.escalations FOR EACH ROW WHEN (((old.status = 'open'::text) AND (new.status <> 'open'::text))) EXECUTE FUNCTION public.carenav_escalation_cancel_pages();

--
-- Name: messages messages_alert_titles; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER messages_alert_titles BEFORE INSERT ON public.messages FOR EACH ROW WHEN (((new.sent_by = 'alert'::text) AND (new.escalation_id IS NOT NULL))) EXECUTE FUNCTION public.carenav_alert_titles();

--
-- Name: operator_actions operator_actions_immutable; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER operator_actions_immutable BEFORE DELETE OR UPDATE ON public.operator_actions FOR EACH ROW EXECUTE FUNCTION public.carenav_operator_actions_immutable();

--
-- Name: operator_actions operator_actions_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON public.operator_actions FOR EACH STATEMENT EXECUTE FUNCTION public.carenav_operator_actions_immutable();

--
-- Name: callbacks callbacks_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.callbacks
    ADD CONSTRAINT callbacks_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: escalation_events escalation_events_escalation_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.escalation_events
    ADD CONSTRAINT escalation_events_escalation_id_fkey1 FOREIGN KEY (escalation_id) REFERENCES public.escalations(id);

--
-- Name: escalation_events escalation_events_staff_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.escalation_events
    ADD CONSTRAINT escalation_events_staff_id_fkey1 FOREIGN KEY (staff_id) REFERENCES public.staff(id) ON DELETE SET NULL;

--
-- Name: escalations escalations_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.escalations
    ADD CONSTRAINT escalations_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: flow_versions flow_versions_flow_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_versions
    ADD CONSTRAINT flow_versions_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES public.flows(id);

--
-- Name: messages messages_conversation_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_conversation_id_fkey1 FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: messages messages_escalation_id_fkey1; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.messages
    ADD CONSTRAINT messages_escalation_id_fkey1 FOREIGN KEY (escalation_id) REFERENCES public.escalations(id);

--
-- Name: oncall_shifts oncall_shifts_staff_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oncall_shifts
    ADD CONSTRAINT oncall_shifts_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES public.staff(id) ON DELETE CASCADE;

--
-- Name: operator_actions operator_actions_callback_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_callback_id_fkey FOREIGN KEY (callback_id) REFERENCES public.callbacks(id);

--
-- Name: operator_actions operator_actions_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- Name: operator_actions operator_actions_escalation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_actions
    ADD CONSTRAINT operator_actions_escalation_id_fkey FOREIGN KEY (escalation_id) REFERENCES public.escalations(id);

--
-- Name: operator_sessions operator_sessions_operator_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_sessions
    ADD CONSTRAINT operator_sessions_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES public.operators(id);

--
-- Name: operator_tokens operator_tokens_operator_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.operator_tokens
    ADD CONSTRAINT operator_tokens_operator_id_fkey FOREIGN KEY (operator_id) REFERENCES public.operators(id);

--
-- Name: outbox outbox_conversation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES public.conversations(id);

--
-- PostgreSQL database dump complete
--

