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
-- by, recorded as a 'stood_down' event. A trigger, so every path that
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
               (SELECT m.provider FROM messages m
                 WHERE m.escalation_id = e.id AND m.sent_by = 'alert' AND m.to_number = st.phone
                 ORDER BY m.id DESC LIMIT 1) AS provider
          FROM escalation_events ev JOIN staff st ON st.id = ev.staff_id
         WHERE ev.escalation_id = e.id AND ev.event = 'alert_queued' AND st.active
           AND st.id IS DISTINCT FROM NEW.staff_id
           AND NOT EXISTS (SELECT 1 FROM escalation_events sd
                            WHERE sd.escalation_id = e.id AND sd.event = 'stood_down'
                              AND sd.staff_id = st.id)
         ORDER BY st.id
    LOOP
        CONTINUE WHEN s.provider IS NULL;  -- never texted (e.g. webhook only): nothing to take back
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
