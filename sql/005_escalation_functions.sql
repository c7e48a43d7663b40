-- 005_escalation_functions.sql - escalation steps, staff ACKs, and the
-- audit events that outbox results add to alerts.

-- A number texting us is staff when it is a registered, active staff phone.

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
