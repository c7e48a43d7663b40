-- 007_console.sql - the operator API: reads as JSON documents, operator
-- actions as single statements, and the audit trail of those actions.
--
-- Every read returns one jsonb document the gateway passes through, so a
-- page of conversations is one round trip. Every action is one function
-- that checks the row's state under a row lock, changes it, and records
-- who did it (the operator token's name) in operator_actions in the same
-- transaction: an action that happened is always audited, and one refused
-- ('conflict', 'not_found') changes nothing.
--
-- Phone numbers leave these functions masked (carenav_mask_phone) except
-- in carenav_api_conversation, the one conversation an operator opened.

CREATE TABLE operator_actions (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    operator        text NOT NULL,     -- the token's name from OPERATOR_TOKENS
    action          text NOT NULL,     -- escalation_ack, escalation_resolve, callback_done,
                                       -- message_sent, handoff_start, handoff_end
    conversation_id bigint REFERENCES conversations (id),
    escalation_id   bigint REFERENCES escalations (id),
    callback_id     bigint REFERENCES callbacks (id),
    message_id      bigint REFERENCES messages (id),
    detail          text               -- never a message body or a full phone number
);
CREATE INDEX operator_actions_at ON operator_actions (at DESC);

CREATE INDEX escalations_conversation ON escalations (conversation_id, id);
CREATE INDEX callbacks_open ON callbacks (created_at) WHERE status = 'open';

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
