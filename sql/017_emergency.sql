-- 017_emergency.sql - an emergency survives every failure (issue #17).
--
-- URGENT ROWS. An outbox row is urgent (outbox.urgent = true) when it is
-- part of an emergency: the patient's emergency instruction ("call 911",
-- or the reminder on a reflag), the patient's "a nurse will call you", a
-- staff alert (page), and the notice to staff that the instruction did not
-- reach the patient. Anything that must recognise them (a rate cap, a
-- suppression rule) tests outbox.urgent; the claim returns it too. Urgent
-- rows are also compliance rows, so no opt-out rule suppresses them: a
-- patient who texts STOP while the instruction is queued still gets the
-- one instruction already owed (and nothing else). They
--   - are claimed first (priority 30 the instruction, 25 "a nurse will
--     call", 20 pages and notices) and wait only for older urgent rows of
--     their conversation, never behind an ordinary reply;
--   - carry their escalation (outbox.escalation_id); pages also carry the
--     rounds they stand for (outbox.pages: [{"e": escalation id, "s":
--     round}], several when grouped, see below), the staff member
--     (staff_id) and the time to the next round once delivered (round_ms);
--   - are retried without an attempt limit until their escalation is
--     resolved (the claim returns escalation_open: open or acknowledged;
--     pages are cancelled at the ACK anyway), with a shorter backoff and a
--     shorter lease (gateway/outbox.c); and the first text the provider
--     accepts after an outage makes every urgent row waiting on a backoff
--     due at once (carenav_outbox_urgent_now), so they go first when the
--     provider recovers.
--
-- ROUNDS ADVANCE ON DELIVERY. A round's pages are queued with next_due_at
-- at now + the ACK timeout as before, but carenav_escalation_due skips an
-- escalation while a page of its current round is still queued, and the
-- provider accepting a page restarts the clock (next_due_at = now +
-- round_ms). So an outage holds the ladder on its current round instead of
-- piling rounds up. A page the provider refuses for good marks its staff
-- member unreachable (staff.unreachable_at, reason) and, when no other page
-- of the round is queued or delivered, makes the next round due at once.
-- The on-call window reports the mark (gateway/oncall.c skips them while a
-- reachable colleague is on call); adding or editing the staff member, or
-- a later page to them that the provider accepts, clears it.
--
-- An ACK or a resolve cancels every page of the escalation still queued
-- (trigger on escalations; a grouped page once none of its escalations is
-- open). SURGES: the rounds due in one sweep are committed together
-- (carenav_escalation_advance_group), and a staff member due pages for
-- several escalations gets one SMS listing them; since a page's delivery
-- restarts the clock of every round it stands for, the escalations of a
-- surge keep falling due together, one SMS per nurse per round (the
-- gateway holds a nurse's next pages for a short while after one, and
-- pulls rounds due soon forward: carenav_escalation_due's p_early_ms and
-- the group's p_hold_ms). A reflag with a new red-flag rule adds it to the
-- escalation and sends the staff already paged an update
-- (carenav_escalation_update).
--
-- THE PATIENT UNREACHABLE. If the provider refuses the emergency
-- instruction (or a delivery report says it never arrived, or it runs out
-- of attempts after the escalation was resolved), the escalation gets a
-- 'patient_unreachable' event with the patient's number, staff paged so
-- far get an urgent SMS saying so, and later pages say it.
--
-- CRASHES. Urgent rows are leased for the provider timeout + 2 s instead
-- of + 30 s (gateway/outbox.c), so a gateway killed mid-send holds them
-- seconds; see docs/architecture.md, "Emergencies", for why this and not
-- instance ids with heartbeats.
--
-- NOBODY ON CALL. carenav_fallback_staff registers ESCALATION_FALLBACK_NUMBER
-- as a staff member (role 'fallback'), so it can ACK by SMS and never gets
-- the patient dialogue.
--
-- Locks: staff, escalations, then outbox, the order the steps and rounds
-- take them in, so a gateway that keeps running while another migrates
-- waits instead of deadlocking (see 014).

LOCK TABLE staff, escalations, outbox IN ACCESS EXCLUSIVE MODE;

ALTER TABLE outbox
    ADD COLUMN urgent boolean NOT NULL DEFAULT false,  -- an emergency text or a page (see above)
    ADD COLUMN escalation_id bigint,                  -- urgent rows: their escalation
    ADD COLUMN pages jsonb,                           -- pages: [{"e": escalation id, "s": round}]
    ADD COLUMN staff_id bigint,                       -- pages and staff notices: to whom
    ADD COLUMN round_ms bigint;                       -- pages: next round this long after delivery
CREATE INDEX outbox_urgent_pending ON outbox (next_attempt_at) WHERE state = 'pending' AND urgent;
CREATE INDEX outbox_pages ON outbox USING gin (pages jsonb_path_ops) WHERE pages IS NOT NULL;
CREATE INDEX outbox_pages_staff ON outbox (staff_id, created_at) WHERE pages IS NOT NULL;

ALTER TABLE staff
    ADD COLUMN unreachable_at timestamptz,  -- the provider refused a page to them for good
    ADD COLUMN unreachable_reason text;

-- The step commit that queues the emergency instruction as urgent rows and
-- pages a reflag as an update is carenav_step_commit in 021 (which also
-- records what each reply costs).

-- As in 005, but a round is not due while a page of the current one is
-- still queued; and when some round is due, those due within p_early_ms
-- come with it, so the escalations of a surge are paged together (one SMS
-- per nurse per round) and stay aligned: a round comes at most p_early_ms
-- early, never late.
DROP FUNCTION IF EXISTS carenav_escalation_due(integer, text);

-- As in 005, plus whether the provider refused a page to them for good
-- (a last column: a gateway of the previous release reads the first 8).
DROP FUNCTION IF EXISTS carenav_oncall_window();

-- As in 012, plus: urgent rows wait only for older urgent rows of their
-- conversation, get p_urgent_lease_ms, and the row says whether it is
-- urgent and its escalation not yet resolved (no attempt limit then).
DROP FUNCTION IF EXISTS carenav_outbox_claim(integer, integer);

-- The 'sent' mark of 015, plus: a delivered page restarts the clock of every
-- round it stands for, and an urgent text the provider accepted for a staff
-- member clears their unreachable mark: carenav_outbox_sent in 021 (which
-- also records what each text cost).

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
