-- 011_retention_state.sql - retention reaches the dialogue state, and the
-- API says which bodies were blanked. See docs/data-lifecycle.md.
--
-- A conversation's state holds the patient's answers (where it hurts, for
-- how long): as private as the texts they came from.
-- carenav_retention_clear_states empties the state of conversations idle
-- longer than the retention period, and never sooner than the idle reset
-- (CONVERSATION_IDLE_HOURS), so a patient who pauses mid-dialogue is not
-- sent back to the greeting by it. The row, status, language and
-- escalations remain. carenav_retention_purge (bodies, 010) keeps its
-- signature, so gateways of the previous version purge correctly during a
-- rolling upgrade.

-- The conversations that still hold a state, oldest activity first: a run
-- never rescans the ones it emptied.
CREATE INDEX conversations_state_held ON conversations (last_activity_at) WHERE state <> '{}';

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
