-- 006_rate_limit.sql - the step loader also counts the conversation's
-- inbound texts in the rate-limit window, so a runaway sender (or a loop
-- with another auto-responder) is answered at most once per window, by
-- whichever gateway steps it.

DROP FUNCTION carenav_step_load(bigint, text);

CREATE FUNCTION carenav_step_load(p_conversation_id bigint, p_default_flow text, p_window_ms bigint)
RETURNS TABLE (version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint, window_count bigint, status text)
LANGUAGE sql STABLE AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint,
           CASE WHEN carenav_is_staff(c.patient_number) THEN 'staff' ELSE 'patient' END,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1),
           -- texts of this conversation up to and including this one, within the window before it
           (SELECT count(*) FROM messages w
             WHERE w.conversation_id = c.id AND w.direction = 'in' AND w.id <= m.id
               AND w.created_at > m.created_at - p_window_ms * interval '1 millisecond'),
           c.status
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
     ORDER BY m.id
     LIMIT 1
$$;
