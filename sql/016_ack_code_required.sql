-- 016_ack_code_required.sql - a staff ACK must name the escalation's code.
--
-- A staff phone is recognised by caller ID alone, which a forger can fake,
-- so a bare "ACK" no longer takes "the one alert this person was sent":
-- unless ACK_BARE_ALLOWED=1 the gateway calls this with p_code_required,
-- and the sender is answered with the open codes and "Reply ACK and the
-- code" (the flow's ack_which text) while nothing is acknowledged. Every
-- other staff text goes to the 7-argument carenav_staff_step (005)
-- unchanged, which a gateway of the previous version still calls during a
-- rolling upgrade.

CREATE OR REPLACE FUNCTION carenav_staff_step(p_conversation_id bigint, p_version bigint,
                                              p_message_id bigint, p_is_ack boolean, p_code text,
                                              p_provider text, p_texts jsonb, p_code_required boolean)
RETURNS text
LANGUAGE plpgsql AS $$
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
