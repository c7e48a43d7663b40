-- oncall.sql - who is on call: shifts in local time and the current window
-- (carenav oncall, gateway/escalation.c).
--
-- One definition per function, with its settings (SET plan_cache_mode ...)
-- stated here: "carenav migrate" re-applies this file after the numbered
-- migrations whenever it changed (see sql/README.md).

CREATE OR REPLACE FUNCTION carenav_oncall_window()
RETURNS TABLE (staff_id bigint, name text, phone text, language text, webhook_url text,
               tier text, starts_ms bigint, ends_ms bigint, unreachable boolean)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.name, s.phone, s.language, coalesce(s.webhook_url, ''), o.tier,
           (extract(epoch FROM o.starts_at) * 1000)::bigint, (extract(epoch FROM o.ends_at) * 1000)::bigint,
           s.unreachable_at IS NOT NULL
      FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id
     WHERE s.active AND o.ends_at > now() - interval '1 day' AND o.starts_at < now() + interval '1 day'
     ORDER BY o.starts_at
$$;

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
