-- 047_webhook_deliveries_failed: GET /metrics counts the webhook
-- deliveries given up in the last 24 hours
-- (support_webhook_deliveries_failed_24h, docs/metrics.md). The delivery
-- log is never pruned: without this index that count reads every delivery
-- ever made, on every scrape. A failed row keeps the next_attempt_at of
-- its last attempt's lease (webhook_sender: the lease's end, so within a
-- minute of when it was given up), which orders them here. Only failed
-- rows are in it: the hot path (pending, leased, delivered) never writes
-- to it. The pending ones are counted on the due index (014).
CREATE INDEX support_webhook_deliveries_failed ON support_webhook_deliveries (next_attempt_at)
    WHERE status = 'failed';
