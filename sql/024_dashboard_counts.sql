-- 024_dashboard_counts: the agent dashboard (API.md §5.5) read from
-- counters kept by the database in the same transaction as every ticket
-- change, so each count is exact at the moment of the request without
-- scanning the live tickets (issue 15; docs/performance.md "Live dashboard").
--
-- Owner: these triggers. Every write path (API, chat conversion, SLA
-- monitor, bulk SQL, bench generators) changes support_tickets, so the
-- counters cannot miss one; `dashboard-counts-check` recomputes them from
-- the tickets and reports (or, with --repair, removes) any drift.

-- Live (non-closed) tickets by key: 'status:<s>', 'priority:<p>',
-- 'unassigned', 'flagged' (sla_breached). Sharded by backend so concurrent
-- writers add to different rows: a row lock held to commit never makes two
-- workers wait for each other; the dashboard sums the shards.
CREATE TABLE support_ticket_counts (
    key   text NOT NULL,
    shard smallint NOT NULL,
    n     bigint NOT NULL,
    PRIMARY KEY (key, shard)
);

-- Per hour: tickets closed in it (by closed_at), and the first responses
-- of tickets created in it (by created_at): count, sum of seconds, count in
-- time, and a histogram of seconds for the 90th percentile. Not sharded:
-- closes and first responses are a small share of ticket writes, and one
-- row an hour keeps the 7-day read at 169 rows.
CREATE TABLE support_ticket_hours (
    hour     timestamptz PRIMARY KEY,
    closed   bigint NOT NULL DEFAULT 0,
    fr_n     bigint NOT NULL DEFAULT 0,
    fr_sum_s double precision NOT NULL DEFAULT 0,
    fr_ok    bigint NOT NULL DEFAULT 0,
    fr_hist  integer[] NOT NULL DEFAULT array_fill(0, ARRAY[200])
);

-- The histogram's bin of a response time: bins 1-10 hold tenths of the
-- first second ([0, 0.1), ..., [0.9, 1); negative times in bin 1), bin
-- k >= 11 holds [1.1^(k-11), 1.1^(k-10)) seconds, bin 200 all beyond
-- (~2 years). The dashboard interpolates inside the bin, so its p90 is
-- within 10 % (or 0.1 s) of the exact one (src/domain/dashboard.c).
CREATE FUNCTION support_fr_bin(seconds double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN seconds < 1 THEN 1 + floor(greatest(seconds, 0) * 10)::integer
                ELSE least(200, 11 + floor(ln(seconds) / ln(1.1))::integer) END;

CREATE FUNCTION support_fr_seconds(t support_tickets) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN extract(epoch FROM t.first_responded_at - t.created_at)::double precision;

-- One row's share of the counters, as (key, delta) pairs.
CREATE FUNCTION support_ticket_count_keys(t support_tickets, sign integer)
    RETURNS TABLE (key text, delta integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT k, sign FROM (VALUES ('status:' || t.status), ('priority:' || t.priority),
                                (CASE WHEN t.assigned_agent_id IS NULL THEN 'unassigned' END),
                                (CASE WHEN t.sla_breached THEN 'flagged' END)) AS v (k)
     WHERE k IS NOT NULL AND t.status <> 'closed';
END;

-- Adds a row's share (sign +1) or takes it away (-1) from its hours.
CREATE FUNCTION support_ticket_hours_add(t support_tickets, sign integer) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    s double precision;
    h timestamptz;
BEGIN
    IF t.closed_at IS NOT NULL THEN
        h := date_trunc('hour', t.closed_at);
        INSERT INTO support_ticket_hours AS x (hour, closed) VALUES (h, sign)
            ON CONFLICT (hour) DO UPDATE SET closed = x.closed + sign;
    END IF;
    IF t.first_responded_at IS NOT NULL THEN
        s := support_fr_seconds(t);
        h := date_trunc('hour', t.created_at);
        INSERT INTO support_ticket_hours (hour) VALUES (h) ON CONFLICT (hour) DO NOTHING;
        UPDATE support_ticket_hours
           SET fr_n = fr_n + sign, fr_sum_s = fr_sum_s + sign * s,
               fr_ok = fr_ok + CASE WHEN t.first_responded_at <= t.first_response_due_at
                                    THEN sign ELSE 0 END,
               fr_hist[support_fr_bin(s)] = fr_hist[support_fr_bin(s)] + sign
         WHERE hour = h;
    END IF;
END $$;

CREATE FUNCTION support_ticket_counts_track() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO support_ticket_counts AS c (key, shard, n)
    SELECT d.key, pg_backend_pid() % 16, sum(d.delta)
      FROM (SELECT * FROM support_ticket_count_keys(OLD, -1) WHERE TG_OP <> 'INSERT'
            UNION ALL
            SELECT * FROM support_ticket_count_keys(NEW, 1) WHERE TG_OP <> 'DELETE') AS d
     GROUP BY d.key
    HAVING sum(d.delta) <> 0
    ON CONFLICT (key, shard) DO UPDATE SET n = c.n + excluded.n;

    IF TG_OP = 'UPDATE' AND OLD.closed_at IS NOT DISTINCT FROM NEW.closed_at
       AND OLD.first_responded_at IS NOT DISTINCT FROM NEW.first_responded_at
       AND OLD.created_at = NEW.created_at
       AND OLD.first_response_due_at IS NOT DISTINCT FROM NEW.first_response_due_at THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM support_ticket_hours_add(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM support_ticket_hours_add(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

-- Only writes that can move a counter fire it (a reply that only bumps
-- message_count and updated_at does not).
CREATE TRIGGER support_ticket_counts_ins AFTER INSERT OR DELETE ON support_tickets
    FOR EACH ROW EXECUTE FUNCTION support_ticket_counts_track();
CREATE TRIGGER support_ticket_counts_upd
    AFTER UPDATE OF status, priority, assigned_agent_id, sla_breached, closed_at,
                    first_responded_at, first_response_due_at, created_at ON support_tickets
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.priority IS DISTINCT FROM NEW.priority
          OR OLD.assigned_agent_id IS DISTINCT FROM NEW.assigned_agent_id
          OR OLD.sla_breached IS DISTINCT FROM NEW.sla_breached
          OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
          OR OLD.first_responded_at IS DISTINCT FROM NEW.first_responded_at
          OR OLD.first_response_due_at IS DISTINCT FROM NEW.first_response_due_at
          OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION support_ticket_counts_track();

-- What the counters should hold, computed from the tickets: the one
-- definition used by the recount and by the drift check.
CREATE FUNCTION support_ticket_counts_expected() RETURNS TABLE (key text, n bigint)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT k.key, sum(k.delta)::bigint
      FROM support_tickets t, support_ticket_count_keys(t, 1) k
     WHERE t.status <> 'closed'
     GROUP BY k.key;
END;

CREATE FUNCTION support_ticket_hours_expected()
    RETURNS TABLE (hour timestamptz, closed bigint, fr_n bigint, fr_sum_s double precision,
                   fr_ok bigint, fr_hist integer[])
    LANGUAGE sql STABLE
BEGIN ATOMIC
    WITH r AS (
        SELECT date_trunc('hour', t.created_at) AS hour, support_fr_seconds(t) AS s,
               t.first_responded_at <= t.first_response_due_at AS ok
          FROM support_tickets t WHERE t.first_responded_at IS NOT NULL
    ), a AS (
        SELECT r.hour, count(*) AS n, sum(r.s) AS sum_s, count(*) FILTER (WHERE r.ok) AS ok
          FROM r GROUP BY r.hour
    ), b AS (
        SELECT r.hour, support_fr_bin(r.s) AS bin, count(*) AS n FROM r GROUP BY 1, 2
    ), f AS (
        SELECT a.hour, a.n, a.sum_s, a.ok,
               array_agg(coalesce(b.n, 0)::integer ORDER BY i.bin) AS hist
          FROM a CROSS JOIN generate_series(1, 200) AS i (bin)
          LEFT JOIN b ON b.hour = a.hour AND b.bin = i.bin
         GROUP BY a.hour, a.n, a.sum_s, a.ok
    ), c AS (
        SELECT date_trunc('hour', t.closed_at) AS hour, count(*) AS n
          FROM support_tickets t WHERE t.closed_at IS NOT NULL GROUP BY 1
    )
    SELECT coalesce(f.hour, c.hour), coalesce(c.n, 0), coalesce(f.n, 0),
           coalesce(f.sum_s, 0), coalesce(f.ok, 0),
           coalesce(f.hist, array_fill(0, ARRAY[200]))
      FROM f FULL JOIN c ON c.hour = f.hour;
END;

-- Where the counters differ from the tickets (nothing when all is well):
-- one statement, so counters and tickets are read in one snapshot.
CREATE FUNCTION support_ticket_counts_drift()
    RETURNS TABLE (what text, key text, kept text, actual text)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT 'count', coalesce(k.key, e.key), coalesce(k.n, 0)::text, coalesce(e.n, 0)::text
      FROM (SELECT c.key, sum(c.n)::bigint AS n FROM support_ticket_counts c GROUP BY c.key) k
      FULL JOIN support_ticket_counts_expected() e ON e.key = k.key
     WHERE coalesce(k.n, 0) <> coalesce(e.n, 0)
    UNION ALL
    SELECT 'hour', support_ts(coalesce(h.hour, e.hour)),
           format('closed=%s fr_n=%s fr_ok=%s fr_sum_s=%s hist=%s', h.closed, h.fr_n, h.fr_ok,
                  round(h.fr_sum_s::numeric, 3), md5(h.fr_hist::text)),
           format('closed=%s fr_n=%s fr_ok=%s fr_sum_s=%s hist=%s', e.closed, e.fr_n, e.fr_ok,
                  round(e.fr_sum_s::numeric, 3), md5(e.fr_hist::text))
      FROM support_ticket_hours h
      FULL JOIN support_ticket_hours_expected() e ON e.hour = h.hour
     WHERE (coalesce(h.closed, 0), coalesce(h.fr_n, 0), coalesce(h.fr_ok, 0),
            coalesce(h.fr_hist, array_fill(0, ARRAY[200])))
           IS DISTINCT FROM (coalesce(e.closed, 0), coalesce(e.fr_n, 0), coalesce(e.fr_ok, 0),
                             coalesce(e.fr_hist, array_fill(0, ARRAY[200])))
        OR abs(coalesce(h.fr_sum_s, 0) - coalesce(e.fr_sum_s, 0)) > 0.001;
END;

-- Rewrites every counter from the tickets (the migration below, the check
-- job's --repair, bench generators that load with the triggers off). The
-- SHARE lock holds ticket writers for the recount, so no change falls
-- between the count and the rewrite.
CREATE FUNCTION support_ticket_counts_recount() RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE support_tickets IN SHARE MODE;
    LOCK TABLE support_ticket_counts, support_ticket_hours IN EXCLUSIVE MODE;
    DELETE FROM support_ticket_counts;
    DELETE FROM support_ticket_hours;
    INSERT INTO support_ticket_counts (key, shard, n)
    SELECT e.key, 0, e.n FROM support_ticket_counts_expected() e;
    INSERT INTO support_ticket_hours (hour, closed, fr_n, fr_sum_s, fr_ok, fr_hist)
    SELECT * FROM support_ticket_hours_expected();
END $$;

SELECT support_ticket_counts_recount();

-- "Due soon" and "past due, not yet flagged" are ranges of time, not
-- counters: an index-only range over the running, unflagged targets.
CREATE INDEX support_tickets_sla_unflagged_live ON support_tickets (sla_due_at) INCLUDE (status)
    WHERE sla_due_at IS NOT NULL AND NOT sla_breached AND status <> 'closed';
