-- 900_expand_probe.sql - a test-only "expand" migration, applied by
-- tests/integration/check_upgrade.c while two gateways take webhooks
-- behind HAProxy and are then replaced one by one.
--
-- It has the shape every carenav migration must have to be applied under
-- traffic (docs/operations.md, "Upgrades"): additive only (a nullable
-- column without a default is a catalog change, no table rewrite; a new
-- function; no DROP, RENAME or type change that the running binary's SQL
-- depends on), its locks short (lock_timeout: if a long transaction holds
-- the table, give up and retry rather than queue every webhook behind the
-- ALTER), and recorded in schema_migrations in the same transaction, as
-- "carenav migrate" does. A gateway that does not know the migration keeps
-- running against it (unknown schema_migrations rows are only reported by
-- "carenav doctor").
BEGIN;
SET LOCAL lock_timeout = '2s';
ALTER TABLE conversations ADD COLUMN upgrade_probe text;
CREATE OR REPLACE FUNCTION carenav_upgrade_probe() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
INSERT INTO schema_migrations (name) VALUES ('900_expand_probe.sql');
COMMIT;
