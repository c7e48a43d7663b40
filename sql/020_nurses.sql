-- 020_nurses.sql - nurses on call (#19): a schedule that cannot be wrong,
-- stand-down texts once someone has an escalation, its timeline and outcome.

-- Shift times: the instants a wall-clock time names in a zone, as ms since
-- the epoch, earliest first. None: the time does not exist there (clocks
-- jumped forward over it); two: it happens twice (clocks went back).
-- The offsets a day before and a day after are the only candidates, since
-- no zone changes its offset twice in two days.

-- ---- Stand-down: once someone has it, the others paged are told ----

-- Texts to staff that are not part of a dialogue flow, one language map
-- each ({code}, {who}); a clinic may change them with SQL.
CREATE TABLE IF NOT EXISTS staff_texts (
    key   text PRIMARY KEY,
    texts jsonb NOT NULL
);
INSERT INTO staff_texts (key, texts) VALUES
    ('stand_down_ack', '{"en": "{code} taken by {who}. No need to act.",
                         "es": "{code} la atiende {who}. No hace falta actuar."}'),
    ('stand_down_resolved', '{"en": "{code} closed by {who}. No need to act.",
                              "es": "{code} cerrada por {who}. No hace falta actuar."}')
ON CONFLICT (key) DO NOTHING;

-- ---- Words, not ids: rule titles and the triage summary ----

-- sql/triage/titles.json, stored by carenav migrate (carenav_titles_load):
-- {"rules": {rule id: language map}, "summary": {...the summary's words}}.
CREATE TABLE IF NOT EXISTS triage_titles (
    id  integer PRIMARY KEY CHECK (id = 1),
    doc jsonb NOT NULL
);

-- ---- The escalation timeline and its outcome ----

-- How an escalation ended, from the console's list (and a note).
ALTER TABLE escalations
    ADD COLUMN IF NOT EXISTS outcome text
        CHECK (outcome IN ('advised_er', 'er_confirmed', 'not_urgent', 'no_answer', 'false_alarm')),
    ADD COLUMN IF NOT EXISTS outcome_tries smallint CHECK (outcome_tries BETWEEN 1 AND 99);

-- ---- Acknowledged is not resolved ----

-- ---- Metrics ----

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
