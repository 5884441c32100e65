-- 031_dashboard_sparse_hours: the dashboard reads the first-response
-- histograms of the 169 hours in its window. As int[] text that was
-- 33,800 cells converted on every read (2.4 ms of a 4.3 ms statement at
-- a million tickets, and as long again for the worker to parse), while
-- four in five cells are zero. Each hour now also keeps its non-zero bins
-- as text, "bin:count,bin:count" (bin 1-based), computed when the row is
-- written — on a first response or a closure, not on every read
-- (issue 15, item 3; docs/performance.md "Quiet re-run at a million
-- tickets").
CREATE FUNCTION support_fr_hist_sparse(hist integer[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT coalesce(string_agg(u.i || ':' || u.v, ',' ORDER BY u.i), '')
              FROM unnest(hist) WITH ORDINALITY AS u (v, i)
             WHERE u.v <> 0);

ALTER TABLE support_ticket_hours
    ADD COLUMN fr_hist_sparse text NOT NULL
        GENERATED ALWAYS AS (support_fr_hist_sparse(fr_hist)) STORED;
