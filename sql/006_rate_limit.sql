-- 006_rate_limit.sql - the step loader also counts the conversation's
-- inbound texts in the rate-limit window, so a runaway sender (or a loop
-- with another auto-responder) is answered at most once per window, by
-- whichever gateway steps it.

DROP FUNCTION IF EXISTS carenav_step_load(bigint, text);

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
