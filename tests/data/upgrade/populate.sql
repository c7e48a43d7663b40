-- populate.sql - the data in the frozen databases (see freeze): texts from
-- seven patients, a reply queued, a red-flag escalation with its event, a
-- nurse with a shift. Written against the SQL functions every version from
-- 009 on has, so the same rows go into each frozen version.
SELECT carenav_inbound_accept('twilio', 'SMfz' || lpad(i::text, 3, '0'), '+1555123' || lpad((i % 7)::text, 4, '0'),
    '+15550000000', 'text ' || i, 0)
  FROM generate_series(0, 29) AS i;
SELECT carenav_queue_sms(1, 'twilio', 'a reply', 'dialogue', 0::smallint, false, NULL);
INSERT INTO escalations (code, conversation_id, message_id, reason, matched)
SELECT '4821', conversation_id, id, 'chest_pain', 'chest pain' FROM messages WHERE provider_sid = 'SMfz000';
INSERT INTO escalation_events (escalation_id, event, actor) SELECT id, 'created', 'gateway' FROM escalations;
INSERT INTO staff (name, phone) VALUES ('Nurse Frozen', '+15559990001');
INSERT INTO oncall_shifts (staff_id, tier, starts_at, ends_at)
SELECT id, 'primary', '2026-11-30 08:00+00', '2026-11-30 20:00+00' FROM staff;
