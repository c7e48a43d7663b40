-- 013_outbox_trim.sql - the outbox stays a queue. See docs/data-lifecycle.md.
--
-- Every reply leaves an outbox row behind once sent, failed or suppressed,
-- and nothing removed them: a table that only grows. Besides the space, it
-- slows the claim over time: autovacuum waits for 20 % of a table's rows to
-- change, so the bigger the table the rarer the vacuum, and until one runs
-- the claim's walk passes the index entries of every reply sent since.
--
-- carenav_outbox_trim deletes rows no longer pending that are older than
-- OUTBOX_KEEP_DAYS (default 30; gateway/lifecycle.c runs it with the
-- retention purge). Nothing is lost: a reply's messages row keeps its
-- status, error, provider id and times. Kannel's delivery reports find
-- their message through the outbox row ("K<outbox id>", 008); they come
-- within minutes or days, and one that came later would still be stored in
-- delivery_reports. And the table is vacuumed after a fixed number of
-- changed rows, whatever its size.

ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

-- The trimmable rows, oldest first: without it every run's last (short)
-- batch would scan the whole table to learn that nothing more is old enough.
CREATE INDEX outbox_settled ON outbox (created_at) WHERE state <> 'pending';

-- Deletes up to p_limit rows no longer pending and older than p_days days,
-- oldest first; returns how many. 0 when p_days <= 0 or another gateway is
-- trimming right now. A reply still pending is never deleted, however old.
CREATE FUNCTION carenav_outbox_trim(p_days integer, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
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
