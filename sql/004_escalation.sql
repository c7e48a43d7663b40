-- 004_escalation.sql - staff, on-call shifts, and escalations that keep
-- alerting until a human acknowledges.
--
-- An escalation's next step is due at next_due_at; the gateway's sweep
-- claims due escalations, works out who is on call (gateway/oncall.c) and
-- commits the alerts with carenav_escalation_advance, which checks the step
-- it expects so two gateways never send the same step twice. Because the
-- deadline is a column, a restart loses no timer.

CREATE TABLE staff (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    phone       text NOT NULL UNIQUE,       -- where alerts go and ACKs come from
    role        text NOT NULL DEFAULT 'nurse',
    language    text NOT NULL DEFAULT 'en', -- alerts are written in it
    webhook_url text,                       -- optional Slack-style incoming webhook
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A shift is an absolute interval [starts_at, ends_at); the CLI turns local
-- times in a named time zone into these, so daylight-saving changes are exact.
CREATE TABLE oncall_shifts (
    id         bigserial PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    tier       text NOT NULL CHECK (tier IN ('primary', 'backup')),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
    time_zone  text NOT NULL DEFAULT 'UTC',  -- how it was entered, for display
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oncall_shifts_time ON oncall_shifts (ends_at, starts_at);

ALTER TABLE escalations
    ADD COLUMN step integer NOT NULL DEFAULT 0,            -- alert rounds sent so far
    ADD COLUMN next_due_at timestamptz DEFAULT now();      -- NULL once acknowledged or resolved
CREATE INDEX escalations_due ON escalations (next_due_at) WHERE next_due_at IS NOT NULL;

-- The audit trail: one row per thing that happened to an escalation.
CREATE TABLE escalation_events (
    id            bigserial PRIMARY KEY,
    escalation_id bigint NOT NULL REFERENCES escalations (id),
    at            timestamptz NOT NULL DEFAULT now(),
    event         text NOT NULL,   -- created, reflagged, alert_queued, alert_sent, alert_delivered,
                                   -- alert_failed, webhook_sent, webhook_failed, no_oncall,
                                   -- acknowledged, ack_refused, resolved
    step          integer,
    staff_id      bigint REFERENCES staff (id) ON DELETE SET NULL,
    actor         text,            -- who: staff name, 'operator:<token name>', 'gateway'
    detail        text
);
CREATE INDEX escalation_events_escalation ON escalation_events (escalation_id, id);

-- Which escalation an alert SMS belongs to, so its delivery lands in the audit trail.
ALTER TABLE messages ADD COLUMN escalation_id bigint REFERENCES escalations (id);
CREATE INDEX messages_escalation ON messages (escalation_id) WHERE escalation_id IS NOT NULL;
