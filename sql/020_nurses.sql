-- 020_nurses.sql - nurses on call (#19): a schedule that cannot be wrong,
-- stand-down texts once someone has an escalation, its timeline and outcome.

-- Shift times: the instants a wall-clock time names in a zone, as ms since
-- the epoch, earliest first. None: the time does not exist there (clocks
-- jumped forward over it); two: it happens twice (clocks went back).
-- The offsets a day before and a day after are the only candidates, since
-- no zone changes its offset twice in two days.
CREATE OR REPLACE FUNCTION carenav_local_instants(p_local timestamp, p_zone text) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT (extract(epoch FROM i) * 1000)::bigint
                              ORDER BY (extract(epoch FROM i) * 1000)::bigint), '{}')
      FROM (SELECT (p_local - ((x AT TIME ZONE p_zone) - (x AT TIME ZONE 'UTC'))) AT TIME ZONE 'UTC' AS i
              FROM (VALUES ((p_local - interval '1 day') AT TIME ZONE p_zone),
                           ((p_local + interval '1 day') AT TIME ZONE p_zone)) v (x)) c
     WHERE i AT TIME ZONE p_zone = p_local
$$;

-- True if the time zone database knows the zone (names, not abbreviations).
CREATE OR REPLACE FUNCTION carenav_zone_exists(p_zone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_zone)
$$;
