-- 006_housekeeping: rate-limit counters are disposable — a crash that
-- resets the current windows is harmless — so they skip the WAL (and the
-- commit flush every ticket creation paid for them). Old windows and
-- expired idempotency keys are purged by ticket-sla-monitor's
-- housekeeping step.
ALTER TABLE support_rate_limits SET UNLOGGED;
