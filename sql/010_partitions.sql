-- 010_partitions.sql - messages and escalation_events partitioned by month,
-- and the retention purge of message bodies. See docs/data-lifecycle.md.
--
-- Why: messages grows with every text, forever; a clinic network keeps
-- counts and the escalation audit for years but should not keep what
-- patients wrote longer than it must. Monthly partitions keep each month's
-- rows and indexes together, so the purge and old-month queries touch only
-- old partitions and the hot month stays small in memory.
--
-- DESIGN (and what it costs):
-- * Native range partitioning on created_at (messages) and at
--   (escalation_events), one partition a month, named messages_y2026m11,
--   with boundaries at UTC month starts whatever the session's TimeZone.
--   carenav_partitions_ensure(n) creates this month's and the next n
--   months'; "carenav migrate" runs it once it has applied migrations
--   (it was this migration's last statement), and every gateway runs it hourly
--   (gateway/lifecycle.c), so partitions exist months before they are
--   needed. A DEFAULT partition catches a row if they ever do not;
--   carenav doctor reports rows found there.
-- * The existing table is not copied: it is renamed to messages_legacy and
--   ATTACHed as the partition for everything before the first monthly
--   partition (MINVALUE .. start of next month), so upgrading a large
--   database costs one index build ((id, created_at) for the new primary
--   key) and one scan to check the range, not a rewrite. New months go to
--   new partitions.
-- * A primary key or unique index on a partitioned table must contain the
--   partition key. So:
--   - messages' key becomes (id, created_at); ids still come from the one
--     sequence and stay unique. Lookups by id alone use that index's
--     leading column in every partition (one index probe per month kept).
--   - "stored once per provider id" can no longer be a unique index on
--     messages: it moves to inbound_ids (provider, provider_sid) ->
--     message_id, a small table without bodies, filled in the same
--     transaction as the message (carenav_inbound_accept, sql/functions/inbound.sql).
--   - foreign keys can only reference (id, created_at), so the three that
--     named messages(id) (outbox.message_id, escalations.message_id,
--     operator_actions.message_id) are dropped. Every such row is written
--     by a SQL function in the same transaction as its message, and
--     messages are never deleted (the purge blanks bodies, it keeps rows),
--     so the references stay valid without the check.
-- * escalation_events gets the same treatment; nothing references it.
--
-- Retention: carenav_retention_purge(days, limit) replaces the body of
-- messages older than RETENTION_DAYS with '' and stamps purged_at, in
-- batches, skipping texts not yet answered and replies not yet sent. Rows,
-- statuses, timestamps, escalations (including the matched red-flag words,
-- which are the audit of why staff were alerted) and escalation_events
-- stay, so every count and the audit trail survive.

-- 1. Provider ids, for "stored once", outside the partitioned table.
CREATE TABLE inbound_ids (
    provider        text NOT NULL,
    provider_sid    text NOT NULL,
    message_id      bigint NOT NULL,
    conversation_id bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, provider_sid)
);
INSERT INTO inbound_ids (provider, provider_sid, message_id, conversation_id, created_at)
SELECT provider, provider_sid, id, conversation_id, created_at
  FROM messages WHERE direction = 'in' AND provider_sid IS NOT NULL;

-- 2. Foreign keys that name messages(id) alone.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
              WHERE contype = 'f' AND confrelid = 'messages'::regclass LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
END $$;

-- 3. messages: the old table becomes the first partition.
ALTER TABLE messages ADD COLUMN purged_at timestamptz;  -- when the body was purged (NULL: kept)
ALTER TABLE messages RENAME TO messages_legacy;
ALTER INDEX messages_pkey RENAME TO messages_legacy_pkey;
ALTER INDEX messages_outbound_sid RENAME TO messages_legacy_outbound_sid;
ALTER INDEX messages_conversation RENAME TO messages_legacy_conversation;
ALTER INDEX messages_unprocessed RENAME TO messages_legacy_unprocessed;
ALTER INDEX messages_escalation RENAME TO messages_legacy_escalation;
DROP INDEX messages_inbound_sid;  -- inbound_ids holds that guarantee now

CREATE TABLE messages (LIKE messages_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (created_at);
ALTER SEQUENCE messages_id_seq OWNED BY messages.id;
ALTER TABLE messages ADD PRIMARY KEY (id, created_at);
ALTER TABLE messages ADD FOREIGN KEY (conversation_id) REFERENCES conversations (id);
ALTER TABLE messages ADD FOREIGN KEY (escalation_id) REFERENCES escalations (id);
CREATE INDEX messages_outbound_sid ON messages (provider_sid) WHERE direction = 'out';
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unprocessed ON messages (conversation_id, id)
    WHERE direction = 'in' AND processed_at IS NULL;
CREATE INDEX messages_escalation ON messages (escalation_id) WHERE escalation_id IS NOT NULL;
-- The purge's work list: only rows whose body is still there.
CREATE INDEX messages_unpurged ON messages (created_at) WHERE purged_at IS NULL;

-- 4. escalation_events likewise.
ALTER TABLE escalation_events RENAME TO escalation_events_legacy;
ALTER INDEX escalation_events_pkey RENAME TO escalation_events_legacy_pkey;
ALTER INDEX escalation_events_escalation RENAME TO escalation_events_legacy_escalation;
CREATE TABLE escalation_events (LIKE escalation_events_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (at);
ALTER SEQUENCE escalation_events_id_seq OWNED BY escalation_events.id;
ALTER TABLE escalation_events ADD PRIMARY KEY (id, at);
ALTER TABLE escalation_events ADD FOREIGN KEY (escalation_id) REFERENCES escalations (id);
ALTER TABLE escalation_events ADD FOREIGN KEY (staff_id) REFERENCES staff (id) ON DELETE SET NULL;
CREATE INDEX escalation_events_escalation ON escalation_events (escalation_id, id);

-- The legacy tables cover everything before next month (UTC). Their own
-- foreign keys duplicate the parent's, and their primary keys on id alone
-- give way to the parent's (id, created_at) / (id, at), built on attach.
DO $$
DECLARE
    v_cut timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    r record;
BEGIN
    FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
              WHERE contype = 'f' AND conrelid IN ('messages_legacy'::regclass,
                                                   'escalation_events_legacy'::regclass) LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    ALTER TABLE messages_legacy DROP CONSTRAINT messages_legacy_pkey;
    ALTER TABLE escalation_events_legacy DROP CONSTRAINT escalation_events_legacy_pkey;
    EXECUTE format('ALTER TABLE messages ATTACH PARTITION messages_legacy FOR VALUES FROM (MINVALUE) TO (%L)', v_cut);
    EXECUTE format('ALTER TABLE escalation_events ATTACH PARTITION escalation_events_legacy '
                   'FOR VALUES FROM (MINVALUE) TO (%L)', v_cut);
END $$;
CREATE TABLE messages_default PARTITION OF messages DEFAULT;
CREATE TABLE escalation_events_default PARTITION OF escalation_events DEFAULT;

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
