-- 014_opt_out_suppress.sql - opting out suppresses what is already queued,
-- at once (see 012, point 2). In its own migration, so its transaction
-- takes only the lock on conversations: inside 012, which holds the outbox
-- lock, CREATE TRIGGER waited for conversations while a step holding
-- conversations waited for outbox, and the deadlock failed the migration.
-- Until this commits the claim's own check keeps such replies from being
-- sent; they are just suppressed a little later.

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
