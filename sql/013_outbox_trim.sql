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

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
