-- 015_twilio_conventions.sql - Twilio's conventions (issue #15).
--
-- 1. Twilio's OptOutType webhook parameter (STOP, START, HELP: the keyword
--    Twilio recognised in the text, by its own or the Messaging Service's
--    Advanced Opt-Out list) is stored with the inbound message and handed
--    to the dialogue step as an explicit keyword. First, so the only table
--    lock this migration takes is the one it needs (no other DDL here).
-- 2. The order of delivery statuses (docs/api.md, "Delivery status"):
--      accepted = scheduled = queued < sending < sent
--        < failed = undelivered = canceled < partially_delivered < delivered < read
--    A report moves a message only forward (or sideways among equals: the
--    later one wins). So a "delivered" after "failed" wins (the carrier
--    retried) and an "undelivered" after "delivered" is ignored. Reaching
--    delivered or read clears the error code. receiving and received are
--    statuses of inbound messages: such a report is stored and answered
--    2xx (a 4xx makes Twilio retry and alert) but moves nothing.
-- 3. The provider's answer to a send may say it only queued the message
--    (Twilio: 201 with status queued, or accepted with a Messaging Service):
--    recorded as that status, not 'sent'; the status callback moves it on.
--    The retention purge keeps the bodies of replies still in our outbox
--    (queued without a provider id), no longer of those the provider took.
-- 4. Twilio error 21610 (the recipient has unsubscribed, e.g. by texting
--    STOP to Twilio itself) on an ordinary dialogue reply: the reply fails
--    and the patient's conversation is marked opted out, which suppresses
--    their queued replies (014's trigger) and makes the dialogue silent.

ALTER TABLE messages ADD COLUMN opt_out_type text
    CHECK (opt_out_type IN ('STOP', 'START', 'HELP'));  -- inbound: the provider's keyword signal, or NULL

-- The step loader of 006 with the message's opt_out_type as a last column.
DROP FUNCTION IF EXISTS carenav_step_load_batch(jsonb, text);
DROP FUNCTION IF EXISTS carenav_step_load(bigint, text, bigint);

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
