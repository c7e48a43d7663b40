-- 024_step_load_since.sql - carenav_step_load takes the oldest a waiting
-- text can be (carenav_unprocessed_since, sql/functions/inbound.sql), so its
-- probe for the conversation's oldest unprocessed text leaves the older
-- months' partitions out (issue #23). The three-argument form goes; only
-- the functions of sql/functions/inbound.sql called it.
DROP FUNCTION IF EXISTS carenav_step_load(bigint, text, bigint);
