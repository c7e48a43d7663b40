-- 003_flow_versions.sql - the step loader also names the newest version of
-- the default flow, which a new (or idle-reset) conversation starts on,
-- while one in progress keeps the version it started on.

DROP FUNCTION carenav_step_load(bigint);

CREATE FUNCTION carenav_step_load(p_conversation_id bigint, p_default_flow text)
RETURNS TABLE (version bigint, state text, flow_version_id bigint, language text,
               opted_out boolean, handoff boolean, last_activity_ms bigint,
               message_id bigint, body text, received_ms bigint, kind text,
               latest_flow_version_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.version, c.state::text, c.flow_version_id, c.language, c.opted_out, c.handoff,
           (extract(epoch FROM c.last_activity_at) * 1000)::bigint,
           m.id, m.body, (extract(epoch FROM m.created_at) * 1000)::bigint, c.kind,
           (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id
             WHERE f.name = p_default_flow ORDER BY v.version DESC LIMIT 1)
      FROM conversations c
      JOIN messages m ON m.conversation_id = c.id
     WHERE c.id = p_conversation_id AND m.direction = 'in' AND m.processed_at IS NULL
     ORDER BY m.id
     LIMIT 1
$$;
