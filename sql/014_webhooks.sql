-- 013_webhooks: registered webhook receivers and their deliveries
-- (API.md §11, §6).
--
-- Secrets are sealed with the PII key ring (core/crypto: AES-256-GCM, aad
-- "webhook:secret:<id>"), never stored in clear. A rotation moves the
-- current secret to previous_secret_enc, which keeps signing until
-- previous_secret_until (24 h): receivers see both v1= signatures.
CREATE TABLE support_webhooks (
    id                    bigserial PRIMARY KEY,
    url                   text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    events                text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 16),
    description           text CHECK (char_length(description) <= 500),
    is_active             boolean NOT NULL DEFAULT true,
    secret_enc            text NOT NULL,
    previous_secret_enc   text,
    previous_secret_until timestamptz,
    created_by            text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_secret_enc IS NULL) = (previous_secret_until IS NULL))
);
-- The fan-out: active webhooks subscribed to an event type.
CREATE INDEX support_webhooks_events ON support_webhooks USING gin (events) WHERE is_active;

-- One row per (event, webhook). The same event_id is sent on every
-- attempt; the unique key makes a repeated fan-out of one event (an
-- outbox row relayed twice) add nothing.
CREATE TABLE support_webhook_deliveries (
    id               bigserial PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES support_webhooks (id) ON DELETE CASCADE,
    event_id         text NOT NULL CHECK (event_id ~ '^evt_[A-Za-z0-9_-]{1,100}$'),
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,   -- the whole envelope {"id","type","created_at","data"}
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, webhook_id)
);
-- support-dispatch's scan for due rows.
CREATE INDEX support_webhook_deliveries_due ON support_webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
-- The admin log, newest first.
CREATE INDEX support_webhook_deliveries_log ON support_webhook_deliveries (webhook_id, id DESC);
