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
--   months'; the migration runs it, and every gateway runs it hourly
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
--     transaction as the message (carenav_inbound_accept below).
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

-- Creates the monthly partitions of messages and escalation_events for this
-- month (UTC) and the next p_months_ahead months where missing; returns how
-- many it created. A month already covered (by the legacy partition) is
-- skipped; a month whose rows already sit in the DEFAULT partition is left
-- there with a warning (carenav doctor reports it; see docs/data-lifecycle.md).
CREATE FUNCTION carenav_partitions_ensure(p_months_ahead integer) RETURNS integer
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

SELECT carenav_partitions_ensure(3);

-- Blanks the bodies of up to p_limit messages older than p_days days;
-- returns how many. Texts not yet answered and replies not yet sent keep
-- theirs. 0 when p_days <= 0 or another gateway is purging right now.
CREATE FUNCTION carenav_retention_purge(p_days integer, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    IF p_days <= 0 OR NOT pg_try_advisory_xact_lock(727469) THEN
        RETURN 0;
    END IF;
    WITH victims AS (
        SELECT id, created_at FROM messages
         WHERE purged_at IS NULL AND created_at < now() - make_interval(days => p_days)
           AND NOT (direction = 'in' AND processed_at IS NULL)
           AND NOT (direction = 'out' AND status = 'queued')
         ORDER BY created_at
         LIMIT p_limit)
    UPDATE messages m SET body = '', purged_at = now()
      FROM victims v
     WHERE m.id = v.id AND m.created_at = v.created_at;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

-- As in 005, with "stored once" kept by inbound_ids: the provider id is
-- claimed first (under the conversation's row lock, so message ids still
-- follow arrival order within a conversation), then the message is
-- inserted with the id the claim reserved.
CREATE OR REPLACE FUNCTION carenav_inbound_accept(p_provider text, p_sid text, p_from text, p_to text,
                                                  p_body text, p_num_media integer)
RETURNS TABLE (message_id bigint, conversation_id bigint, is_new boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_conv bigint;
    v_msg  bigint;
BEGIN
    SELECT c.id INTO v_conv FROM conversations c
     WHERE c.patient_number = p_from AND c.service_number = p_to FOR UPDATE;
    IF v_conv IS NULL THEN
        INSERT INTO conversations (patient_number, service_number, kind)
        VALUES (p_from, p_to, CASE WHEN carenav_is_staff(p_from) THEN 'staff' ELSE 'patient' END)
        ON CONFLICT (patient_number, service_number) DO NOTHING
        RETURNING id INTO v_conv;
        IF v_conv IS NULL THEN
            SELECT c.id INTO v_conv FROM conversations c
             WHERE c.patient_number = p_from AND c.service_number = p_to FOR UPDATE;
        END IF;
    END IF;
    INSERT INTO inbound_ids AS i (provider, provider_sid, message_id, conversation_id)
    VALUES (p_provider, p_sid, nextval('messages_id_seq'), v_conv)
    ON CONFLICT (provider, provider_sid) DO NOTHING
    RETURNING i.message_id INTO v_msg;
    IF v_msg IS NULL THEN
        RETURN QUERY SELECT i.message_id, i.conversation_id, false FROM inbound_ids i
         WHERE i.provider = p_provider AND i.provider_sid = p_sid;
        RETURN;
    END IF;
    INSERT INTO messages (id, conversation_id, direction, provider, provider_sid, from_number,
                          to_number, body, num_media, status)
    VALUES (v_msg, v_conv, 'in', p_provider, p_sid, p_from, p_to, p_body, p_num_media, 'received');
    RETURN QUERY SELECT v_msg, v_conv, true;
END $$;
