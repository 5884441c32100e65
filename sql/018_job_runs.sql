-- 018_job_runs: one row per batch job — how often it ran, how often it
-- failed, and when it last succeeded — written by the job runner
-- (src/jobs/job.c) after every pass and read by GET /metrics
-- (support_job_last_success_timestamp_seconds; docs/metrics.md). A table,
-- not counters in shared memory: the jobs are separate processes (cron or
-- their own loop), and a last-success time must survive their restarts.
CREATE TABLE support_job_runs (
    job              text PRIMARY KEY,
    runs             bigint NOT NULL DEFAULT 0,
    failures         bigint NOT NULL DEFAULT 0,
    last_run_at      timestamptz NOT NULL DEFAULT now(),
    last_success_at  timestamptz,
    last_duration_ms bigint NOT NULL DEFAULT 0
);

-- The scrape counts failed outbox entries (delivery failures): a partial
-- index keeps that an index-only count however many sent rows stay.
CREATE INDEX support_outbox_failed ON support_outbox (id) WHERE status = 'failed';
