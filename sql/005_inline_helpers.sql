-- 005_inline_helpers: the timestamp helpers of 001/002 were declared
-- IMMUTABLE although they call STABLE functions (to_char, now-dependent
-- casts), which keeps PostgreSQL from inlining them: every call was
-- planned on its own, ~100 times per ticket read (bench/run: a quarter of
-- the machine's CPU in the ticket GET). STABLE is what they are, and it
-- lets the planner inline them. None is used by an index or a generated
-- column.
CREATE OR REPLACE FUNCTION support_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

CREATE OR REPLACE FUNCTION support_ms(t timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT floor(extract(epoch FROM t) * 1000)::bigint $$;

CREATE OR REPLACE FUNCTION support_from_ms(ms bigint) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN ms IS NULL OR ms = 0 THEN NULL
               ELSE 'epoch'::timestamptz + ms * interval '1 millisecond' END $$;
