-- 083_webhook_outcome: how a webhook's last attempt went, for the
-- sender's scheduler (domain/webhook_sender.h "Sharing the slots"; docs/
-- API.md §11). The dispatcher kept it in its memory only, so after a
-- restart every webhook was new to it and hanging receivers took every
-- sender again (QA: healthy webhooks waited 44-73 s). Each recorded
-- outcome sets one of the two (in the statement that records the
-- deliveries): last_delivered_at for a delivered attempt quicker than a
-- second, last_failed_at for one that failed or was slow. Neither set:
-- the webhook was never tried. A change of the URL clears both (a new
-- receiver is untried: QA, the new healthy URL waited in the failing
-- turn).
ALTER TABLE support_webhooks ADD COLUMN last_delivered_at timestamptz,
    ADD COLUMN last_failed_at timestamptz;
