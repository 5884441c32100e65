-- 002_agent_domain: what agents work with (API.md §5–§6, issue #4): SLA
-- policies, priority rules, contacts with encrypted PII, the outbox,
-- rate-limit counters, and the queue's indexes.

CREATE FUNCTION support_priority_rank(p text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE p WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 END::smallint $$;

CREATE TABLE support_sla_policies (
    id                     bigserial PRIMARY KEY,
    priority               text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    category_id            bigint REFERENCES support_categories (id) ON DELETE CASCADE,
    first_response_minutes integer NOT NULL CHECK (first_response_minutes BETWEEN 1 AND 5256000),
    resolution_minutes     integer NOT NULL CHECK (resolution_minutes BETWEEN 1 AND 5256000),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
-- One default per priority and one override per (priority, category);
-- coalesce instead of NULLS NOT DISTINCT keeps PostgreSQL 13 supported.
CREATE UNIQUE INDEX support_sla_policies_key
    ON support_sla_policies (priority, coalesce(category_id, 0));
INSERT INTO support_sla_policies (priority, category_id, first_response_minutes, resolution_minutes) VALUES
    ('low', NULL, 1440, 7200),
    ('normal', NULL, 240, 2880),
    ('high', NULL, 60, 480),
    ('urgent', NULL, 15, 240);

CREATE TABLE support_priority_rules (
    id              bigserial PRIMARY KEY,
    position        integer NOT NULL DEFAULT 0,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_active       boolean NOT NULL DEFAULT true,
    category_id     bigint REFERENCES support_categories (id) ON DELETE CASCADE,
    customer_tier   text CHECK (customer_tier IN ('standard', 'premium', 'vip')),
    pattern         text CHECK (length(pattern) BETWEEN 1 AND 1000),
    sentiment_below real CHECK (sentiment_below BETWEEN -1 AND 1),
    priority        text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_priority_rules_active ON support_priority_rules (position, id) WHERE is_active;

-- Contact PII from the JWT, encrypted by the application (AES-256-GCM,
-- "<key version>:<base64>"), with an HMAC blind index for exact email lookup.
CREATE TABLE support_contacts (
    customer_id  text PRIMARY KEY,
    name_enc     text,
    email_enc    text,
    phone_enc    text,
    email_index  text,
    tier         text NOT NULL DEFAULT 'standard' CHECK (tier IN ('standard', 'premium', 'vip')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_contacts_email_index ON support_contacts (email_index);

ALTER TABLE support_tickets
    ADD COLUMN sla_paused_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN sla_warned_first_response boolean NOT NULL DEFAULT false,
    ADD COLUMN sla_warned_resolution boolean NOT NULL DEFAULT false,
    ADD COLUMN priority_rule_id bigint REFERENCES support_priority_rules (id) ON DELETE SET NULL,
    ADD COLUMN priority_rank smallint GENERATED ALWAYS AS (support_priority_rank(priority)) STORED;

-- Queue views (API.md §5.5): the default sort is sla_due_at over the
-- working states; the others are keyset scans with id as tie-breaker.
CREATE INDEX support_tickets_queue_sla ON support_tickets (sla_due_at, id)
    WHERE status IN ('open', 'in_progress', 'pending_customer');
CREATE INDEX support_tickets_created ON support_tickets (created_at, id);
CREATE INDEX support_tickets_updated ON support_tickets (updated_at, id);
CREATE INDEX support_tickets_priority ON support_tickets (priority_rank, id);
CREATE INDEX support_tickets_category ON support_tickets (category_id, status);
-- The SLA monitor: tickets with a target still running.
CREATE INDEX support_tickets_sla_running ON support_tickets (sla_due_at)
    WHERE sla_due_at IS NOT NULL;
CREATE INDEX support_tickets_resolved ON support_tickets (updated_at) WHERE status = 'resolved';

-- Notifications and webhooks leave through here, written in the same
-- transaction as the change that causes them (API.md §11).
CREATE TABLE support_outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('notification', 'webhook')),
    event_type      text NOT NULL,
    channel         text NOT NULL,        -- email, sms, push, webhook, team
    recipient       text,                 -- agent id, team name, provider id, webhook id
    ticket_id       bigint REFERENCES support_tickets (id) ON DELETE CASCADE,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX support_outbox_pending ON support_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX support_outbox_ticket ON support_outbox (ticket_id);

-- Fixed-window counters shared by every worker and node (API.md §1).
CREATE TABLE support_rate_limits (
    bucket       text NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX support_rate_limits_window ON support_rate_limits (window_start);

-- Milliseconds since the epoch <-> timestamptz, for the SLA arithmetic that
-- domain/sla.c does in C (0 stands for NULL on the C side).
CREATE FUNCTION support_ms(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT floor(extract(epoch FROM t) * 1000)::bigint $$;
CREATE FUNCTION support_from_ms(ms bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN ms IS NULL OR ms = 0 THEN NULL
               ELSE 'epoch'::timestamptz + ms * interval '1 millisecond' END $$;
