-- 002_functions.sql - each durable operation of the gateway as one function.
--
-- The gateway calls one function per operation, so each operation is a
-- single statement: one round trip, atomic in autocommit, and safe behind a
-- transaction-pooling PgBouncer. Row locks inside serialise the work on one
-- conversation across any number of gateway processes.

-- Order of delivery statuses; a late report never moves a message backwards.

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
