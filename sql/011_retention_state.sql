-- 011_retention_state.sql - retention reaches the dialogue state, and the
-- API says which bodies were blanked. See docs/data-lifecycle.md.
--
-- A conversation's state holds the patient's answers (where it hurts, for
-- how long): as private as the texts they came from.
-- carenav_retention_clear_states empties the state of conversations idle
-- longer than the retention period, and never sooner than the idle reset
-- (CONVERSATION_IDLE_HOURS), so a patient who pauses mid-dialogue is not
-- sent back to the greeting by it. The row, status, language and
-- escalations remain. carenav_retention_purge (bodies, 010) keeps its
-- signature, so gateways of the previous version purge correctly during a
-- rolling upgrade.

-- The conversations that still hold a state, oldest activity first: a run
-- never rescans the ones it emptied.
CREATE INDEX conversations_state_held ON conversations (last_activity_at) WHERE state <> '{}';

-- Empties the state of up to p_limit conversations idle longer than p_days
-- days and p_idle_hours hours; returns how many. Their version moves on,
-- so a dialogue step loaded before the purge gets 'conflict' and reloads
-- rather than writing the old answers back. 0 when p_days <= 0 or another
-- gateway is purging right now.
CREATE FUNCTION carenav_retention_clear_states(p_days integer, p_idle_hours integer, p_limit integer)
RETURNS integer
LANGUAGE plpgsql AS $$
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

-- As in 007, with each message's purged_at (NULL: the body is as written).
CREATE OR REPLACE FUNCTION carenav_api_conversation(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
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
                                        'event', ev.event, 'actor', ev.actor, 'step', ev.step)
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
