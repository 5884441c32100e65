-- 079_webhook_sending_since: when the attempt in flight of a webhook
-- delivery started (docs/API.md §11, Deliveries log). A sender's lease is
-- next_attempt_at moved to the lease's end, a minute ahead, so the log
-- showed a delivery being sent as one waiting a minute (QA). The claim
-- sets sending_since, the outcome and a hand-back clear it; the log shows
-- it as next_attempt_at while the lease holds. A lease that ran out (its
-- sender was killed) leaves it set under a next_attempt_at that has
-- passed: the log then shows next_attempt_at, when the row is due again.
ALTER TABLE support_webhook_deliveries ADD COLUMN sending_since timestamptz;
