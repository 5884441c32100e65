-- 086_ai_usage_side: ai-usage-monitor sums and flags per user *and side*
-- (QA: 150 calls of customer 5000 and 150 of agent 5000 in one hour were
-- one user_burst of 300 for "user 5000", though neither reached the 200
-- floor). Customers and staff are numbered apart (docs/API.md §10
-- "Owners"); support_agent and support_admin with one sub are one person,
-- so the side is the query log's caller_role (sql/080) folded to two:
--   customer  caller_role 'customer'
--   staff     caller_role 'agent' or 'admin'
--   ''        unknown: calls logged before migration 080 (no caller_role),
--             and every row this migration finds.
-- The rows already here get '' (nothing says whose side they were): the
-- next pass rewrites its window's hours with sides (its upsert deletes
-- the hours' rows no call makes any more), older hours keep ''. A user's
-- '' hours count toward both sides' baselines (domain/ai_usage.c), so an
-- upgrade lowers no user's bar; an anomaly flagged before this migration
-- (side '') is not flagged again with a side.
--
-- Small tables (one row per hour, model and user; one per anomaly): the
-- new keys are built under the ALTERs' locks, which only the monitor
-- itself waits for.
ALTER TABLE support_ai_usage_hourly
    ADD COLUMN side text NOT NULL DEFAULT ''
        CONSTRAINT support_ai_usage_hourly_side CHECK (side IN ('', 'customer', 'staff')),
    DROP CONSTRAINT support_ai_usage_hourly_pkey,
    ADD PRIMARY KEY (hour, model, user_id, side);

ALTER TABLE support_ai_usage_anomalies
    ADD COLUMN side text NOT NULL DEFAULT ''
        CONSTRAINT support_ai_usage_anomalies_side CHECK (side IN ('', 'customer', 'staff')),
    DROP CONSTRAINT support_ai_usage_anomalies_hour_kind_model_user_id_key,
    ADD CONSTRAINT support_ai_usage_anomalies_once UNIQUE (hour, kind, model, user_id, side);
