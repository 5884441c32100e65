-- 067_webhook_redact_text: a webhook may ask for the customer's and the
-- agents' text redacted in its deliveries (docs/API.md §11): when set,
-- the fan-out stores that webhook's payload with the ticket's subject and
-- description, a message's body and an escalation's reason passed through
-- core/redact (cards, e-mail addresses, phone numbers), as the AI
-- provider's prompt is (§9). The stored payload is what is sent and
-- re-sent, so a receiver such as an analytics or CRM system never gets a
-- card number a customer typed. Off for existing rows: they keep
-- receiving what they receive today.
ALTER TABLE support_webhooks ADD COLUMN IF NOT EXISTS redact_text boolean NOT NULL DEFAULT false;
