-- aged-db.sql - turn a freshly migrated carenav database into one that has
-- run for two years: monthly partitions of messages and escalation_events
-- for the 24 months before this one (plus this month's own, instead of the
-- legacy partition covering it), and a million old messages in 50,000 closed
-- conversations, all answered. It measures whether the hot path's cost grows
-- with the partitions (issue #23): run the same load against a fresh database
-- and against this one, and compare PostgreSQL CPU per text.
--
--   carenav migrate                      (DATABASE_URL = a scratch database)
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f tools/aged-db.sql
--
-- Only for a new, empty database: it detaches the legacy partitions and
-- attaches them again below the oldest month, which fails if they hold rows
-- of the months it creates.
BEGIN;
DO $$
DECLARE
    v_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    v_first timestamptz := (v_month - interval '24 months') AT TIME ZONE 'UTC';
    t       text;
    m       timestamp;
BEGIN
    FOREACH t IN ARRAY ARRAY['messages', 'escalation_events'] LOOP
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t, t || '_legacy');
        FOR i IN -24 .. 0 LOOP
            m := v_month + make_interval(months => i);
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           format('%s_y%sm%s', t, to_char(m, 'YYYY'), to_char(m, 'MM')), t,
                           m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
        END LOOP;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)',
                       t, t || '_legacy', v_first);
    END LOOP;
END $$;

-- 50,000 patients of the past (numbers apart from bench/loadgen's +1555...).
INSERT INTO conversations (patient_number, service_number, kind, status, state, last_activity_at, created_at)
SELECT '+1444' || lpad(g::text, 7, '0'), '+15550009999', 'patient', 'closed', '{}'::jsonb,
       now() - interval '25 days', now() - interval '730 days'
  FROM generate_series(1, 50000) g;

-- 1,000,000 messages spread over the 24 months: every even one a text in
-- (processed), every odd one its reply (delivered).
INSERT INTO messages (conversation_id, direction, provider, provider_sid, from_number, to_number, body,
                      status, sent_by, created_at, processed_at, status_updated_at)
SELECT c.id, d.dir, 'twilio', CASE WHEN d.dir = 'out' THEN 'SMold' || g END,
       CASE WHEN d.dir = 'in' THEN c.patient_number ELSE c.service_number END,
       CASE WHEN d.dir = 'in' THEN c.service_number ELSE c.patient_number END,
       'an old text of about this length', CASE WHEN d.dir = 'in' THEN 'processed' ELSE 'delivered' END,
       CASE WHEN d.dir = 'out' THEN 'dialogue' END, d.at, CASE WHEN d.dir = 'in' THEN d.at END, d.at
  FROM generate_series(0, 999999) g
  JOIN conversations c ON c.patient_number = '+1444' || lpad((g % 50000 + 1)::text, 7, '0')
 CROSS JOIN LATERAL (SELECT CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END AS dir,
                            now() - interval '730 days' + (g / 1000000.0) * interval '700 days' AS at) d;
COMMIT;
ANALYZE;
