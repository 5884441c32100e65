-- 084_ai_tool_run_query: the query a tool run ran for (docs/API.md §9
-- "Query log", AI tools' "Log and event"). A run's row did not say which
-- query it belonged to: the reads a model runs inside POST
-- /support/ai/query are logged as they run, before the query's own row
-- (written once the model has answered), and a direct run confirming a
-- query's proposal named the query only in its ticket event.
--
-- query_interaction_id: on a tool run's row (tool_id set), the query's
-- row — filled in by the statement that writes the query's row, for the
-- reads run inside it (domain/ai_query), and at once for a direct run
-- confirming a proposal of the caller's own query in the same context
-- (domain/ai_tools). NULL on queries' rows, on direct runs confirming
-- nothing, and on rows logged before this migration.
--
-- The column is nullable with no default (a change of the catalogue
-- only), and the foreign key is added NOT VALID, so no row is read under
-- the ALTER's lock (every old row is NULL, which it lets through; new
-- rows are checked). A deleted query (its ticket or chat deleted) leaves
-- its runs, unlinked.
ALTER TABLE support_ai_interactions ADD COLUMN query_interaction_id bigint;
ALTER TABLE support_ai_interactions ADD CONSTRAINT support_ai_interactions_query_fkey
    FOREIGN KEY (query_interaction_id) REFERENCES support_ai_interactions (id)
    ON DELETE SET NULL NOT VALID;
-- A query's runs, and the SET NULL of a query's delete (without it each
-- deleted query row would read the whole log). Only linked runs are in it,
-- so queries' rows pay no index entry. Its build reads the table once
-- (writes to the log wait for it; reads do not).
CREATE INDEX support_ai_interactions_query
    ON support_ai_interactions (query_interaction_id) WHERE query_interaction_id IS NOT NULL;
