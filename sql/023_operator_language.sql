-- 023_operator_language.sql - an operator's console language, changed by
-- the operator (POST /api/me/language) or by an admin (carenav operator
-- language NAME LANG), audited either way (issue #21).

-- The console languages: the ones operators.language accepts (022's CHECK).
CREATE OR REPLACE FUNCTION carenav_console_language_known(p_lang text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_lang IN ('en', 'es')
$$;

-- Sets p_name's language to p_lang for p_by (an operator's name, or "cli"):
-- 'ok', 'unchanged' (already so), 'not_found' or 'unknown_language'. A
-- change is audited as operator_language, detail "NAME: old -> new".
CREATE OR REPLACE FUNCTION carenav_operator_language_set(p_name text, p_lang text, p_by text,
                                                         p_client_addr text) RETURNS text
LANGUAGE plpgsql AS $$
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

-- ---- What the console shows of an escalation, in the operator's language ----

-- An escalation's reason as the console shows it: the rule titles in p_lang
-- (carenav_reason_text), and the text model named in words. Alerts keep the
-- id "text_model" beside the model's own words (check_model_alert), so its
-- words live here rather than in titles.json.
CREATE OR REPLACE FUNCTION carenav_console_reason_text(p_text text, p_lang text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(p_text, 'text_model', CASE p_lang WHEN 'es' THEN 'señalado por el modelo de texto'
                                                      ELSE 'flagged by the text model' END)
$$;

-- One escalation document (carenav_api_escalation_doc) with its reason and
-- triage summary in p_lang; NULL stays NULL.
CREATE OR REPLACE FUNCTION carenav_escalation_doc_in(p_doc jsonb, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT p_doc || jsonb_build_object(
               'reason_text', carenav_console_reason_text(carenav_reason_text(p_doc->>'reason', p_lang), p_lang),
               'summary', s || jsonb_build_object(
                   'reasons', carenav_console_reason_text(s->>'reasons', p_lang),
                   'text', carenav_console_reason_text(s->>'text', p_lang)))
      FROM (SELECT carenav_escalation_summary((p_doc->>'id')::bigint, p_lang) AS s) x
     WHERE p_doc IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION carenav_api_escalation_doc(p_id bigint, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT carenav_escalation_doc_in(carenav_api_escalation_doc(p_id), p_lang)
$$;

CREATE OR REPLACE FUNCTION carenav_api_escalation_list(p_state text, p_limit integer, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT l || jsonb_build_object('escalations', coalesce((
               SELECT jsonb_agg(carenav_escalation_doc_in(x.doc, p_lang) ORDER BY x.n)
                 FROM jsonb_array_elements(l->'escalations') WITH ORDINALITY AS x (doc, n)), '[]'))
      FROM (SELECT carenav_api_escalation_list(p_state, p_limit) AS l) y
$$;
