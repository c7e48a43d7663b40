-- lifecycle.sql - monthly partitions, the retention purge and the outbox trim
-- (gateway/lifecycle.c, carenav purge).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

-- Creates the monthly partitions of messages and escalation_events for this
-- month (UTC) and the next p_months_ahead months where missing; returns how
-- many it created. A month already covered (by the legacy partition) is
-- skipped; a month whose rows already sit in the DEFAULT partition is left
-- there with a warning (carenav doctor reports it; see docs/data-lifecycle.md).
CREATE OR REPLACE FUNCTION carenav_partitions_ensure(p_months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
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

-- Whether a pass that keeps p_days days runs now: p_days > 0 and no other
-- gateway is in the same pass (advisory lock p_lock, held to the end of the
-- transaction).
CREATE OR REPLACE FUNCTION carenav_lifecycle_may_run(p_days integer, p_lock bigint) RETURNS boolean
LANGUAGE sql AS $$
    SELECT CASE WHEN p_days > 0 THEN pg_try_advisory_xact_lock(p_lock) ELSE false END
$$;

-- Blanks the bodies of up to p_limit messages older than p_days days;
-- returns how many. Texts not yet answered and replies not yet sent keep
-- theirs; a reply the provider has taken (it has a provider id) counts as
-- sent even while the provider says queued. 0 when p_days <= 0 or another
-- gateway is purging right now.
CREATE OR REPLACE FUNCTION carenav_retention_purge(p_days integer, p_limit integer) RETURNS integer
LANGUAGE sql AS $$
    WITH victims AS (
        SELECT id, created_at FROM messages
         WHERE (SELECT carenav_lifecycle_may_run(p_days, 727469))
           AND purged_at IS NULL AND created_at < now() - make_interval(days => p_days)
           AND NOT (direction = 'in' AND processed_at IS NULL)
           AND NOT (direction = 'out' AND status = 'queued' AND provider_sid IS NULL)
         ORDER BY created_at
         LIMIT p_limit),
    purged AS (
        UPDATE messages m SET body = '', purged_at = now()
          FROM victims v
         WHERE m.id = v.id AND m.created_at = v.created_at
        RETURNING 1)
    SELECT count(*)::integer FROM purged
$$;

-- Empties the state of up to p_limit conversations idle longer than p_days
-- days and p_idle_hours hours; returns how many. Their version moves on,
-- so a dialogue step loaded before the purge gets 'conflict' and reloads
-- rather than writing the old answers back. 0 when p_days <= 0 or another
-- gateway is purging right now.
CREATE OR REPLACE FUNCTION carenav_retention_clear_states(p_days integer, p_idle_hours integer, p_limit integer)
RETURNS integer
LANGUAGE sql AS $$
    WITH idle AS (
        SELECT id FROM conversations
         WHERE (SELECT carenav_lifecycle_may_run(p_days, 727469))
           AND state <> '{}'
           AND last_activity_at < now() - greatest(make_interval(days => p_days),
                                                   make_interval(hours => p_idle_hours))
         ORDER BY last_activity_at
         LIMIT p_limit
         FOR UPDATE SKIP LOCKED),
    cleared AS (
        UPDATE conversations c SET state = '{}', version = c.version + 1
          FROM idle
         WHERE c.id = idle.id
        RETURNING 1)
    SELECT count(*)::integer FROM cleared
$$;

-- Deletes up to p_limit rows no longer pending and older than p_days days,
-- oldest first; returns how many. 0 when p_days <= 0 or another gateway is
-- trimming right now. A reply still pending is never deleted, however old.
CREATE OR REPLACE FUNCTION carenav_outbox_trim(p_days integer, p_limit integer) RETURNS integer
LANGUAGE sql AS $$
    WITH trimmed AS (
        DELETE FROM outbox
         WHERE state <> 'pending'
           AND id IN (SELECT id FROM outbox
                       WHERE (SELECT carenav_lifecycle_may_run(p_days, 727470))
                         AND state <> 'pending' AND created_at < now() - make_interval(days => p_days)
                       ORDER BY created_at
                       LIMIT p_limit)
        RETURNING 1)
    SELECT count(*)::integer FROM trimmed
$$;
