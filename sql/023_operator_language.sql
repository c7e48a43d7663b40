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
