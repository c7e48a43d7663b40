-- 001_core.sql - conversations, the message log and the outbox.
--
-- Every SMS in or out is a row in messages. An inbound row is committed
-- before the provider gets its 200; its processed_at is set in the same
-- transaction that writes the dialogue's new state and the replies' outbox
-- rows, so a crash in between replays the step exactly once.

CREATE TABLE conversations (
    id               bigserial PRIMARY KEY,
    patient_number   text NOT NULL,          -- the far end, E.164 as the provider gave it
    service_number   text NOT NULL,          -- the clinic's number the patient texted
    kind             text NOT NULL DEFAULT 'patient' CHECK (kind IN ('patient', 'staff')),
    flow_version_id  bigint,                 -- the flow this conversation runs on (NULL: not started)
    state            jsonb NOT NULL DEFAULT '{}',  -- the dialogue engine's state, opaque to SQL
    language         text NOT NULL DEFAULT 'en',
    status           text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'emergency', 'closed')),
    opted_out        boolean NOT NULL DEFAULT false,  -- STOP received: nothing more is sent
    handoff          boolean NOT NULL DEFAULT false,  -- an operator has paused the automation
    version          bigint NOT NULL DEFAULT 0,       -- bumped by every dialogue step (optimistic lock)
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_number, service_number)
);
CREATE INDEX conversations_activity ON conversations (last_activity_at DESC, id DESC);

CREATE TABLE messages (
    id                bigserial PRIMARY KEY,
    conversation_id   bigint NOT NULL REFERENCES conversations (id),
    direction         text NOT NULL CHECK (direction IN ('in', 'out')),
    provider          text NOT NULL,          -- 'twilio', 'sandbox', ...
    provider_sid      text,                   -- inbound: the provider's id; outbound: set once sent
    from_number       text NOT NULL,
    to_number         text NOT NULL,
    body              text NOT NULL,
    num_media         integer NOT NULL DEFAULT 0,
    -- in: received -> processed; out: queued -> sent -> delivered | undelivered | failed,
    -- or suppressed (the patient opted out before it left)
    status            text NOT NULL,
    error             text,
    sent_by           text,                   -- outbound: 'dialogue', 'system', 'alert', 'operator:<name>'
    created_at        timestamptz NOT NULL DEFAULT now(),
    processed_at      timestamptz,            -- inbound: when its dialogue step committed
    status_updated_at timestamptz
);
-- Providers retry webhooks: the same inbound id is stored once.
CREATE UNIQUE INDEX messages_inbound_sid ON messages (provider, provider_sid) WHERE direction = 'in';
CREATE INDEX messages_outbound_sid ON messages (provider_sid) WHERE direction = 'out';
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unprocessed ON messages (conversation_id, id)
    WHERE direction = 'in' AND processed_at IS NULL;

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    message_id      bigint NOT NULL UNIQUE REFERENCES messages (id),
    conversation_id bigint NOT NULL REFERENCES conversations (id),  -- sends are ordered per conversation
    priority        smallint NOT NULL DEFAULT 0,   -- higher first: staff alerts before patient replies
    compliance      boolean NOT NULL DEFAULT false, -- opt-out/opt-in confirmations go out even to opted-out numbers
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'done', 'failed', 'suppressed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,                   -- a gateway is sending it until then
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending ON outbox (conversation_id, id) WHERE state = 'pending';

-- Every delivery report as received, also those that arrive before the send was recorded.
CREATE TABLE delivery_reports (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL,
    provider_sid text NOT NULL,
    status       text NOT NULL,
    error_code   text,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_reports_sid ON delivery_reports (provider_sid, id);

CREATE TABLE flows (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A loaded flow document. Versions are immutable: a conversation keeps the
-- version it started on, new conversations take the newest one.
CREATE TABLE flow_versions (
    id         bigserial PRIMARY KEY,
    flow_id    bigint NOT NULL REFERENCES flows (id),
    version    integer NOT NULL,
    document   jsonb NOT NULL,
    sha256     text NOT NULL,
    loaded_by  text NOT NULL DEFAULT current_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (flow_id, version)
);

CREATE TABLE escalations (
    id               bigserial PRIMARY KEY,
    code             text NOT NULL,          -- short code staff reply with: "ACK 4821"
    conversation_id  bigint NOT NULL REFERENCES conversations (id),
    message_id       bigint REFERENCES messages (id),  -- the inbound text that raised it
    reason           text NOT NULL,          -- red-flag rule ids
    matched          text,                   -- the words that matched
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution_note  text
);
CREATE INDEX escalations_open ON escalations (created_at) WHERE status = 'open';

CREATE TABLE callbacks (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    reason          text NOT NULL,            -- 'booking', 'human'
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,
    done_by         text
);
-- Codes are short so staff can type them; they only need to be unique among open escalations.
CREATE UNIQUE INDEX escalations_open_code ON escalations (code) WHERE status = 'open';
