-- 023_webhook_claim: the webhook sender's claim (src/domain/webhook_sender.c)
-- takes one webhook's oldest due deliveries, a batch at a time:
--   WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= now()
--   ORDER BY next_attempt_at, id LIMIT n FOR UPDATE SKIP LOCKED
-- The due index (next_attempt_at) alone makes that a walk over every
-- webhook's pending rows, leased ones included, then a sort; this one
-- reads the batch in order from the first due row of that webhook.
CREATE INDEX support_webhook_deliveries_claim
    ON support_webhook_deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending';
