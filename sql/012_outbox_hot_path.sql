-- 012_outbox_hot_path.sql - the outbox's statements made cheap under a
-- backlog. Measured with `BENCH_PROFILE=1 bench/run` (5,000 patients, tens
-- of thousands of replies queued): PostgreSQL spent most of its time on
-- work that did nothing useful. See docs/scaling.md.
--
-- 1. Every reply's messages row was updated by id alone. Since 010 the
--    messages key is (id, created_at), so such an update probes every
--    monthly partition, and its plan cannot be narrowed to one: PostgreSQL
--    re-planned the 'sent' update for a third of its calls (0.38 ms a plan,
--    85 % of its cost). The outbox row now carries its message's
--    created_at (message_created_at, the partition key), written by
--    carenav_queue_sms in the same statement that makes the message, and
--    every update of a reply's message names it (with a generic plan, 4).
-- 2. Each claim joined every pending row with the opted-out conversations to
--    suppress replies to opted-out numbers (1.9 ms a call with a large
--    backlog, even with no one opted out). Now the replies already queued
--    are suppressed when the patient opts out (a trigger on the
--    conversation, in 014: creating it here would take the conversations
--    lock while holding the outbox one, and deadlock with a step that
--    takes them the other way), and the claim checks each reply it takes
--    (one primary-key probe) for those queued later. A reply to an
--    opted-out number is still never sent. And the claim locks each row by
--    its primary key (see below).
-- 3. carenav_step_load_batch was an inlined SQL function, so every call was
--    planned from scratch with the whole dialogue load in it (1.6 ms a
--    call). As PL/pgSQL its plan is cached per connection.
-- 4. Every function on a text's path runs with plan_cache_mode =
--    force_generic_plan. Their statements find rows by key, and the best
--    plan does not depend on the key's value; but PostgreSQL's choice
--    between a generic and a per-call ("custom") plan follows table
--    statistics, and under load it kept switching to custom plans: the
--    profile showed the same statements planned on 25-55 % of their calls
--    (0.3-1.7 ms a plan), more than they took to run. A generic plan is
--    made once per connection; on the partitioned messages table it still
--    prunes to one partition when it runs, where the month is given
--    ("Subplans Removed" in EXPLAIN). Set on the functions the gateway
--    calls; the functions they call inherit it. The price, on PostgreSQL
--    15: a generic plan still locks every partition of messages each time
--    it runs (pruning skips scanning them, not locking them), about two
--    locks per monthly partition kept; past 16 the locks leave the fast
--    path. Years of partitions should be detached and archived
--    (docs/data-lifecycle.md); PostgreSQL 18 prunes before locking.

-- 1. The message's month on its outbox row. Only the pending rows get it
-- here (through the partial index of pending rows): this runs at a
-- gateway's start with the outbox locked, and rewriting every row ever
-- sent would stop the queue for as long as that takes. The rows already
-- sent keep NULL; nothing but a late Kannel delivery report looks them up,
-- and that falls back to the provider id. A pending row must have it: a
-- step still running the old carenav_queue_sms when this commits fails the
-- check and is retried by its gateway with the new one, rather than
-- queueing a row no update could find. (NOT VALID: the rows not pending
-- satisfy it anyway, and validating would scan the whole table.)
ALTER TABLE outbox ADD COLUMN message_created_at timestamptz;
UPDATE outbox o SET message_created_at = m.created_at
  FROM messages m WHERE o.state = 'pending' AND m.id = o.message_id;
-- (An outbox row without its message cannot exist: both come from one
-- function in one transaction. Should one, it keeps its own time.)
UPDATE outbox SET message_created_at = created_at WHERE state = 'pending' AND message_created_at IS NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_pending_has_month
    CHECK (state <> 'pending' OR message_created_at IS NOT NULL) NOT VALID;

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
