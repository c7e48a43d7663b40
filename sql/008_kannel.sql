-- 008_kannel.sql - delivery reports that race the send they report on.
--
-- Kannel (and a GSM modem or SMPP link behind it) reports "accepted by the
-- SMSC" and often "delivered" within milliseconds of the sendsms answer, so
-- a report's transaction and carenav_outbox_sent's can run at the same time:
-- the report finds no message with that provider id yet, and outbox_sent
-- does not see the report's uncommitted row, and the message stays 'sent'.
-- Kannel's ids are "K<outbox id>" (provider_kannel.c), so a report can find
-- its message through the outbox row instead, which exists from the start.
-- Both updates then lock the same messages row and PostgreSQL orders them;
-- carenav_status_rank keeps the later one from moving the status backwards.
CREATE OR REPLACE FUNCTION carenav_delivery_report(p_provider text, p_sid text, p_status text,
                                                   p_error_code text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_reports (provider, provider_sid, status, error_code)
    VALUES (p_provider, p_sid, p_status, nullif(p_error_code, ''));
    IF p_provider = 'kannel' AND p_sid ~ '^K[0-9]{1,18}$' THEN
        UPDATE messages m SET status = p_status, provider_sid = p_sid,
                              error = coalesce(nullif(p_error_code, ''), m.error),
                              status_updated_at = now()
          FROM outbox o
         WHERE o.id = substr(p_sid, 2)::bigint AND m.id = o.message_id AND m.direction = 'out'
           AND carenav_status_rank(p_status) >= carenav_status_rank(m.status);
    ELSE
        UPDATE messages SET status = p_status, error = coalesce(nullif(p_error_code, ''), error),
                            status_updated_at = now()
         WHERE direction = 'out' AND provider_sid = p_sid
           AND carenav_status_rank(p_status) >= carenav_status_rank(status);
    END IF;
    INSERT INTO escalation_events (escalation_id, event, actor, detail)
    SELECT m.escalation_id,
           CASE WHEN p_status IN ('delivered', 'read') THEN 'alert_delivered' ELSE 'alert_failed' END,
           'provider', m.to_number || ': ' || p_status
      FROM messages m
     WHERE m.direction = 'out' AND m.provider_sid = p_sid AND m.sent_by = 'alert'
       AND p_status IN ('delivered', 'read', 'undelivered', 'failed');
    RETURN EXISTS (SELECT 1 FROM messages WHERE direction = 'out' AND provider_sid = p_sid);
END $$;
