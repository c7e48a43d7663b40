-- 014_opt_out_suppress.sql - opting out suppresses what is already queued,
-- at once (see 012, point 2). In its own migration, so its transaction
-- takes only the lock on conversations: inside 012, which holds the outbox
-- lock, CREATE TRIGGER waited for conversations while a step holding
-- conversations waited for outbox, and the deadlock failed the migration.
-- Until this commits the claim's own check keeps such replies from being
-- sent; they are just suppressed a little later.

CREATE FUNCTION carenav_suppress_opted_out() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    WITH s AS (
        UPDATE outbox SET state = 'suppressed', lease_until = NULL, last_error = 'opted out'
         WHERE conversation_id = NEW.id AND state = 'pending' AND NOT compliance
        RETURNING message_id, message_created_at)
    UPDATE messages m SET status = 'suppressed', status_updated_at = now()
      FROM s WHERE m.id = s.message_id AND m.created_at = s.message_created_at;
    RETURN NULL;
END $$;

CREATE TRIGGER conversations_suppress_opted_out AFTER UPDATE OF opted_out ON conversations
    FOR EACH ROW WHEN (NEW.opted_out AND NOT OLD.opted_out)
    EXECUTE FUNCTION carenav_suppress_opted_out();

