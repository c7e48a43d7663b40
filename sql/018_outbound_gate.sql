-- 018_outbound_gate.sql - the outbox's send gate (gateway/outbox_gate.c):
-- a global send cap (OUTBOUND_RATE_PER_SEC) and a destination country
-- allow-list (OUTBOUND_COUNTRIES).
--
-- The gateway claims rows as before (carenav_outbox_claim is unchanged)
-- and decides in C which of them it may send now. The rest, held, come
-- here in one call: p_items is [{"id": n, "delay_ms": n} | {"id": n,
-- "refuse": text}]. A row that is urgent is returned, to be sent at once
-- whatever the cap or the country list says:
--   - queued with priority 10 or more (staff alerts, staff ACK replies),
--   - part of an escalation (messages.escalation_id: alerts, the patient's
--     "a nurse will call"),
--   - to a conversation in the emergency state (the emergency instruction
--     and whatever follows it while the patient is in that state).
-- Any other row with "refuse" fails for good with that reason as its
-- error (carenav_outbox_failed: not retried); the others go back to the
-- queue after delay_ms, their lease dropped and the claim's attempt not
-- counted (a long backlog must not use up OUTBOX_MAX_ATTEMPTS). A row no
-- longer pending (opted out meanwhile) is left alone.
--
-- No data migration: numbers stored before the gateway normalised them
-- (gateway/phone.c) stay as they are. Rewriting conversations.patient_number
-- or staff.phone could merge two rows that the UNIQUE constraints keep
-- apart (the very duplicates normalising prevents), which is not a safe
-- thing to do unattended; `carenav doctor` counts such rows instead.

CREATE OR REPLACE FUNCTION carenav_outbox_hold(p_items jsonb)
RETURNS TABLE (outbox_id bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    x        jsonb;
    v_id     bigint;
    v_urgent boolean;
BEGIN
    FOR x IN SELECT * FROM jsonb_array_elements(p_items) LOOP
        v_id := (x->>'id')::bigint;
        v_urgent := NULL;
        SELECT o.priority >= 10 OR m.escalation_id IS NOT NULL OR c.status = 'emergency'
          INTO v_urgent
          FROM outbox o
          JOIN messages m ON m.id = o.message_id AND m.created_at = o.message_created_at
          JOIN conversations c ON c.id = o.conversation_id
         WHERE o.id = v_id AND o.state = 'pending';
        CONTINUE WHEN v_urgent IS NULL;
        IF v_urgent THEN
            outbox_id := v_id;
            RETURN NEXT;
        ELSIF x ? 'refuse' THEN
            PERFORM carenav_outbox_failed(v_id, x->>'refuse');
        ELSE
            UPDATE outbox
               SET lease_until = NULL, attempts = greatest(attempts - 1, 0),
                   next_attempt_at = now() + (x->>'delay_ms')::bigint * interval '1 millisecond'
             WHERE id = v_id;
        END IF;
    END LOOP;
END $$;
