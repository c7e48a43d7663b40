-- 009_throughput.sql - the hot paths made cheap under load (measured by bench/run).
--
-- 1. An outbox claim whose cost does not grow with the backlog.
-- bench/run measured the claim of 002 at 25 ms a call with a few thousand
-- replies pending, two thirds of PostgreSQL's time under load: each call
-- ran DISTINCT ON over every pending row to find each conversation's oldest
-- one, and joined every pending row with its conversation to find opted-out
-- numbers. This version keeps the same rules and results:
--   * suppression starts from the opted-out conversations (a partial index;
--     there are few) rather than from every pending row;
--   * the sendable rows are found by walking pending rows in sending order
--     (priority, then id) through a partial index and keeping those with no
--     older pending row in their conversation (an index probe each), which
--     stops after p_limit rows instead of sorting the whole backlog.

CREATE INDEX conversations_opted_out ON conversations (id) WHERE opted_out;
CREATE INDEX outbox_send_order ON outbox (priority DESC, id) WHERE state = 'pending';

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
