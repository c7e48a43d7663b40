-- 023_inbound_window.sql - the rate limit's window counted from an index
-- that ends at the window (issue #23).
--
-- A step counts the sender's texts of the last RATE_LIMIT_WINDOW_S
-- (carenav_step_load's window_count). With only (conversation_id, id) to go
-- on, that count read every text the conversation ever had, to keep those of
-- the last minute: 0.6 ms and 250 pages per step for a patient with 200
-- texts, growing for as long as the conversation lives. This index reaches
-- the window's texts directly, whatever the history.
CREATE INDEX messages_inbound_window ON messages (conversation_id, created_at) WHERE direction = 'in';
