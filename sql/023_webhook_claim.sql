-- 023_webhook_claim: the delivery queues at a steady 500 events/s.
--
-- The webhook sender's claim (src/domain/webhook_sender.c) takes one
-- webhook's oldest due deliveries, a batch at a time:
--   WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= now()
--   ORDER BY next_attempt_at, id LIMIT n FOR UPDATE SKIP LOCKED
-- The due index (next_attempt_at) alone makes that a walk over every
-- webhook's pending rows, leased ones included, then a sort; this one
-- reads the batch in order from the first due row of that webhook.
CREATE INDEX support_webhook_deliveries_claim
    ON support_webhook_deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending';

-- Both queues are claimed by an index scan from their oldest due row.
-- Each row leaves two dead versions behind (the lease, the outcome), and
-- under a steady stream their index entries are not pruned by the scans
-- themselves: bench/dispatch at 500 events/s left ~15,000 dead entries
-- per table after 30 s, every claim stepped over all of them (7 ms per
-- claim, 14,700 buffers) and the lag grew past 1 s. Vacuum them after a
-- fixed number of dead rows, not a fraction of a table that a long
-- delivery log makes large, and without the cost-based pauses.
-- (autovacuum_naptime, server-wide, decides how soon it can start:
-- docs/operations.md.)
ALTER TABLE support_outbox SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE support_webhook_deliveries SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0);
