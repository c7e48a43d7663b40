-- 021_segments.sql - what each outbound text costs (issue #18): its
-- segments (the parts of a concatenated SMS) and its encoding ('gsm7' or
-- 'ucs2'), as gateway/segment.c counts them.
--
-- SQL does not count them itself (that would be segment.c's GSM 03.38
-- tables written twice); the gateway passes them with each text it knows
-- the body of: a dialogue step's replies (carenav_step_commit's reply JSON
-- gets "segments" and "encoding") and an operator's text (carenav_api_send
-- with two more arguments). Texts rendered in SQL (staff alerts, the ACK
-- confirmations, stand-downs) get theirs when the provider takes them: the
-- gateway counts every text it sends and the 'sent' mark fills what is
-- still NULL (carenav_outbox_sent), and /metrics counts them
-- (carenav_sms_segments_sent_total).
--
-- Rolling upgrade: the old signatures stay and give NULL, so a gateway
-- still running the previous release keeps working while this commits.

ALTER TABLE messages ADD COLUMN segments smallint
    CHECK (segments IS NULL OR segments >= 0);
ALTER TABLE messages ADD COLUMN encoding text
    CHECK (encoding IS NULL OR encoding IN ('gsm7', 'ucs2'));

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
