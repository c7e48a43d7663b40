-- bench/partitions.sql - a database that has run for two years, for bench/run's
-- partition phase: messages in one monthly partition for each of the 24 months
-- before this one (named as carenav_partitions_ensure names them), this month
-- and the next ones made by carenav_partitions_ensure itself, as "carenav
-- migrate" does, and :old_messages old texts and replies (psql -v) of old,
-- closed conversations, 50 each, spread evenly over those 24 months: texts
-- answered, replies delivered, provider ids in inbound_ids as the accept left
-- them. The outbox rows are gone (the trim deletes them after OUTBOX_TRIM_DAYS).
--
-- Run it on a freshly migrated database before any gateway has stored a
-- text: the legacy partition (everything before the month after the first
-- migration, sql/010_partitions.sql) is then empty and can shrink to
-- everything before the first of the 24 months.
\set ON_ERROR_STOP on

DO $$
DECLARE
    v_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    v_m     timestamp;
BEGIN
    IF EXISTS (SELECT 1 FROM messages_legacy) THEN
        RAISE EXCEPTION 'bench/partitions.sql: messages_legacy has rows; run it on a freshly migrated database';
    END IF;
    ALTER TABLE messages DETACH PARTITION messages_legacy;
    EXECUTE format('ALTER TABLE messages ATTACH PARTITION messages_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
                   (v_month - interval '24 months') AT TIME ZONE 'UTC');
    FOR i IN 1 .. 24 LOOP
        v_m := v_month - make_interval(months => i);
        EXECUTE format('CREATE TABLE %I PARTITION OF messages FOR VALUES FROM (%L) TO (%L)',
                       format('messages_y%sm%s', to_char(v_m, 'YYYY'), to_char(v_m, 'MM')),
                       v_m AT TIME ZONE 'UTC', (v_m + interval '1 month') AT TIME ZONE 'UTC');
    END LOOP;
END $$;
-- This month (no longer covered by the legacy partition) and the next three.
SELECT carenav_partitions_ensure(3) AS partitions_created;

-- The old conversations: +1444... numbers, none of the benchmark's patients.
INSERT INTO conversations (patient_number, service_number, status, created_at, last_activity_at)
SELECT '+1444' || lpad(c::text, 7, '0'), '+15550009999', 'closed', now() - interval '25 months',
       now() - interval '1 month'
  FROM generate_series(1, ceil(:old_messages / 50.0)::integer) AS c;

-- Message g of :old_messages: conversation g / 50, sent at g's share of the 24 months.
WITH span AS (
    SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '24 months') AT TIME ZONE 'UTC' AS lo,
           date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 second' AS hi,
           (SELECT min(id) FROM conversations WHERE patient_number LIKE '+1444%') AS first_conv
), m AS (
    SELECT g, s.first_conv + (g - 1) / 50 AS conv, g % 2 = 1 AS inbound,
           s.lo + (s.hi - s.lo) * ((g - 1)::double precision / :old_messages) AS at
      FROM span s, generate_series(1, :old_messages) AS g
)
INSERT INTO messages (conversation_id, direction, provider, provider_sid, from_number, to_number, body,
                      status, sent_by, created_at, processed_at, status_updated_at, segments, encoding)
SELECT m.conv, CASE WHEN m.inbound THEN 'in' ELSE 'out' END, 'twilio',
       CASE WHEN m.inbound THEN 'SMold' ELSE 'SMoldout' END || m.g,
       CASE WHEN m.inbound THEN '+1444' || lpad((m.conv - s.first_conv + 1)::text, 7, '0') ELSE '+15550009999' END,
       CASE WHEN m.inbound THEN '+15550009999' ELSE '+1444' || lpad((m.conv - s.first_conv + 1)::text, 7, '0') END,
       CASE WHEN m.inbound THEN 'about 3 days' ELSE 'Thanks. How long have you had this pain?' END,
       CASE WHEN m.inbound THEN 'processed' ELSE 'delivered' END,
       CASE WHEN m.inbound THEN NULL ELSE 'flow' END,
       m.at, CASE WHEN m.inbound THEN m.at END, m.at,
       CASE WHEN m.inbound THEN NULL ELSE 1 END, CASE WHEN m.inbound THEN NULL ELSE 'gsm7' END
  FROM m, span s;

INSERT INTO inbound_ids (provider, provider_sid, message_id, conversation_id, created_at)
SELECT provider, provider_sid, id, conversation_id, created_at
  FROM messages WHERE direction = 'in' AND provider_sid LIKE 'SMold%';

-- The filled tables vacuumed, analysed and checkpointed now, so neither
-- autovacuum nor a checkpoint of the fill has work left that the measurement
-- would count. Not this month's partition: analysed while empty, its
-- statistics would say "no rows" while the phase fills it, and the plans
-- would differ from the empty database's, whose partition is not analysed either.
VACUUM ANALYZE conversations;
VACUUM ANALYZE inbound_ids;
SELECT format('VACUUM ANALYZE %s', p) FROM (SELECT DISTINCT tableoid::regclass AS p FROM messages) AS old \gexec
CHECKPOINT;
