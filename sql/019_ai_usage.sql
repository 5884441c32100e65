-- 019_ai_usage: what the ai-usage-monitor job (API.md §12) keeps —
-- support_ai_interactions summed per UTC hour, model and user, and the
-- anomalies it flagged (domain/ai_usage.c; choices in docs/API.md §12).
--
-- Hourly rows are upserted by (hour, model, user_id): a re-run recomputes
-- the hours of its window and changes nothing that is already right.
-- user_id '' stands for calls without a user. Latencies in milliseconds.
CREATE TABLE support_ai_usage_hourly (
    hour              timestamptz NOT NULL,
    model             text NOT NULL,
    user_id           text NOT NULL DEFAULT '',
    requests          integer NOT NULL,
    errors            integer NOT NULL,
    prompt_tokens     bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    avg_latency_ms    real,
    p95_latency_ms    real,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hour, model, user_id)
);
-- The per-user baselines read a user's trailing week.
CREATE INDEX support_ai_usage_hourly_user ON support_ai_usage_hourly (user_id, hour);

-- One row per (hour, kind, model, user): the unique key is what makes an
-- anomaly flagged — and its admins notified — once, however often the
-- job runs over that hour. model '' = every model (user bursts); user_id
-- '' = every user (volume and error-rate anomalies).
CREATE TABLE support_ai_usage_anomalies (
    id          bigserial PRIMARY KEY,
    hour        timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('requests', 'tokens', 'error_rate', 'user_burst')),
    model       text NOT NULL DEFAULT '',
    user_id     text NOT NULL DEFAULT '',
    value       double precision NOT NULL,
    threshold   double precision NOT NULL,
    mean        double precision NOT NULL,
    stddev      double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hour, kind, model, user_id)
);
