-- 001_init: the nine tables of the design brief (seed/support-platform-design.md)
-- with the columns ARCHITECTURE.md "Data model" adds, their enums as CHECK
-- constraints, the brief's indexes, and idempotency keys (API.md §1).
-- Never edit after it lands: add 002_… instead.

-- RFC 3339 UTC with milliseconds, the one timestamp format of the API.
CREATE FUNCTION support_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

CREATE TABLE support_categories (
    id               bigserial PRIMARY KEY,
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,120}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description      text,
    is_active        boolean NOT NULL DEFAULT true,
    routing          text NOT NULL DEFAULT 'manual'
                     CHECK (routing IN ('manual', 'round_robin', 'skill')),
    team             text,
    required_skill   text,
    default_priority text CHECK (default_priority IN ('low', 'normal', 'high', 'urgent')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE support_agents (
    id                   bigserial PRIMARY KEY,
    user_id              text NOT NULL UNIQUE,
    display_name         text,
    team                 text NOT NULL DEFAULT 'general',
    skills               text[] NOT NULL DEFAULT '{}',
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'away')),
    max_concurrent_chats integer NOT NULL DEFAULT 3 CHECK (max_concurrent_chats BETWEEN 0 AND 100),
    last_assigned_at     timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_agents_team_status ON support_agents (team, status);

CREATE TABLE support_chat_sessions (
    id                 bigserial PRIMARY KEY,
    public_id          text NOT NULL UNIQUE,
    session_token      bytea NOT NULL,          -- SHA-256 of the token, never the token
    customer_id        text NOT NULL,
    category_id        bigint REFERENCES support_categories (id),
    status             text NOT NULL DEFAULT 'waiting'
                       CHECK (status IN ('waiting', 'active', 'closed')),
    assigned_agent_id  bigint REFERENCES support_agents (id) ON DELETE SET NULL,
    ticket_id          bigint,                  -- FK added below (tickets reference sessions too)
    metadata           jsonb NOT NULL DEFAULT '{}',
    started_at         timestamptz NOT NULL DEFAULT now(),
    ended_at           timestamptz,
    expires_at         timestamptz NOT NULL,
    last_message_at    timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_chat_sessions_customer ON support_chat_sessions (customer_id, id DESC);
CREATE INDEX support_chat_sessions_status ON support_chat_sessions (status, assigned_agent_id);

CREATE TABLE support_tickets (
    id                    bigserial PRIMARY KEY,
    public_id             text NOT NULL UNIQUE
                          CHECK (public_id ~ '^[A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z]{11}$'),
    customer_id           text NOT NULL,
    provider_id           bigint,
    category_id           bigint REFERENCES support_categories (id),
    status                text NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'in_progress', 'pending_customer', 'resolved', 'closed')),
    priority              text NOT NULL DEFAULT 'normal'
                          CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    source                text NOT NULL DEFAULT 'web' CHECK (source IN ('chat', 'email', 'web')),
    subject               text NOT NULL,
    description           text NOT NULL,
    assigned_agent_id     bigint REFERENCES support_agents (id) ON DELETE SET NULL,
    sla_due_at            timestamptz,
    first_response_due_at timestamptz,
    resolution_due_at     timestamptz,
    first_responded_at    timestamptz,
    sla_paused_at         timestamptz,
    sla_breached          boolean NOT NULL DEFAULT false,
    escalated_at          timestamptz,
    sentiment             real CHECK (sentiment BETWEEN -1 AND 1),
    booking_id            text CHECK (length(booking_id) <= 64),
    chat_session_id       bigint REFERENCES support_chat_sessions (id) ON DELETE SET NULL,
    metadata              jsonb NOT NULL DEFAULT '{}',
    version               integer NOT NULL DEFAULT 1,
    -- kept by the writers so lists need no per-row count
    message_count         integer NOT NULL DEFAULT 0,
    last_message_at       timestamptz,
    search                tsvector GENERATED ALWAYS AS
                          (to_tsvector('english'::regconfig, subject || ' ' || description)) STORED,
    closed_at             timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- The brief's composites (queue views), the customer's own list (keyset on id)
-- and full-text search.
CREATE INDEX support_tickets_status_priority ON support_tickets (status, priority);
CREATE INDEX support_tickets_agent_status ON support_tickets (assigned_agent_id, status);
CREATE INDEX support_tickets_customer ON support_tickets (customer_id, id DESC);
CREATE INDEX support_tickets_search ON support_tickets USING gin (search);

ALTER TABLE support_chat_sessions
    ADD CONSTRAINT support_chat_sessions_ticket_fk
    FOREIGN KEY (ticket_id) REFERENCES support_tickets (id) ON DELETE SET NULL;

CREATE TABLE support_ticket_messages (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    sender_type text NOT NULL CHECK (sender_type IN ('customer', 'agent', 'system', 'ai_bot')),
    sender_id   text,
    body        text NOT NULL,
    attachments jsonb NOT NULL DEFAULT '[]',
    is_internal boolean NOT NULL DEFAULT false,
    search      tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, body)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_ticket_messages_ticket ON support_ticket_messages (ticket_id, id);
CREATE INDEX support_ticket_messages_search ON support_ticket_messages USING gin (search);

CREATE TABLE support_ticket_events (
    id           bigserial PRIMARY KEY,
    ticket_id    bigint NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    event_type   text NOT NULL,
    actor_type   text NOT NULL CHECK (actor_type IN ('customer', 'agent', 'system', 'ai_bot')),
    performed_by text,
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_ticket_events_ticket ON support_ticket_events (ticket_id, id);

CREATE TABLE support_chat_messages (
    id          bigserial PRIMARY KEY,
    session_id  bigint NOT NULL REFERENCES support_chat_sessions (id) ON DELETE CASCADE,
    sender_type text NOT NULL CHECK (sender_type IN ('customer', 'agent', 'system', 'ai_bot')),
    sender_id   text,
    body        text NOT NULL,
    payload     jsonb,
    client_id   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, client_id)
);
CREATE INDEX support_chat_messages_session ON support_chat_messages (session_id, id);

CREATE TABLE support_knowledge_articles (
    id               bigserial PRIMARY KEY,
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,120}$'),
    title            text NOT NULL,
    content_markdown text NOT NULL CHECK (octet_length(content_markdown) <= 204800),
    content_html     text NOT NULL DEFAULT '',
    summary          text,
    tags             text[] NOT NULL DEFAULT '{}',
    is_published     boolean NOT NULL DEFAULT false,
    published_at     timestamptz,
    version          integer NOT NULL DEFAULT 1,
    search           tsvector GENERATED ALWAYS AS
                     (setweight(to_tsvector('english'::regconfig, title), 'A') ||
                      setweight(to_tsvector('english'::regconfig, content_markdown), 'B')) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_knowledge_articles_search ON support_knowledge_articles USING gin (search);
CREATE INDEX support_knowledge_articles_published
    ON support_knowledge_articles (published_at DESC, id DESC) WHERE is_published;
CREATE INDEX support_knowledge_articles_tags ON support_knowledge_articles USING gin (tags);

CREATE TABLE support_ai_interactions (
    id                bigserial PRIMARY KEY,
    session_id        bigint REFERENCES support_chat_sessions (id) ON DELETE CASCADE,
    ticket_id         bigint REFERENCES support_tickets (id) ON DELETE CASCADE,
    user_id           text,
    model             text NOT NULL,
    tool_id           text,
    prompt            text NOT NULL,
    response          text,
    latency_ms        integer,
    confidence_score  real CHECK (confidence_score BETWEEN 0 AND 1),
    prompt_tokens     integer,
    completion_tokens integer,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_ai_interactions_created ON support_ai_interactions (created_at);

-- API.md §1: a replay within 24 h returns the first response. The key row is
-- written in the same transaction as the resource it created.
CREATE TABLE support_idempotency_keys (
    user_id        text NOT NULL,
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash   bytea NOT NULL,
    status         integer,
    location       text,
    response_body  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX support_idempotency_keys_created ON support_idempotency_keys (created_at);
