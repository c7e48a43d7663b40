-- 003_flow_versions.sql - the step loader also names the newest version of
-- the default flow, which a new (or idle-reset) conversation starts on,
-- while one in progress keeps the version it started on.

DROP FUNCTION IF EXISTS carenav_step_load(bigint);

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
