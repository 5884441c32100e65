-- gen-tickets.sql — realistic ticket volume for the queue/dashboard
-- benchmarks (issue #4): run by bench/gen-tickets with
--   psql -v n=<tickets> -v first=<first ticket number>
-- Generates server-side (INSERT … SELECT generate_series: faster than
-- streaming COPY from a client on this machine), in the same shapes the API
-- writes: statuses mostly closed, SLA dates from the default policies,
-- 1–5 messages and 2–4 events per ticket, English text for full-text search.
\set ON_ERROR_STOP 1
SET synchronous_commit = off;
-- The dashboard's counters (sql/024) are rewritten once after the load
-- (bench/gen-tickets calls support_ticket_counts_recount()): row triggers
-- adding 100,000 rows to the same counter rows in one transaction would
-- walk ever longer version chains. One transaction per batch, so a load
-- that is killed never leaves the triggers off (only counters short of the
-- batches already committed: `dashboard-counts-check --repair` recounts).
BEGIN;
ALTER TABLE support_tickets DISABLE TRIGGER support_ticket_counts_ins,
    DISABLE TRIGGER support_ticket_counts_upd;

SELECT coalesce(max(id), 0) AS gen_last_id FROM support_tickets \gset

-- Fixed vocabulary so `q` searches hit realistic result sizes.
CREATE TEMP TABLE words (i int PRIMARY KEY, w text);
INSERT INTO words
SELECT row_number() OVER () - 1, w FROM unnest(string_to_array(
 'refund booking charged twice payment card cancel cancellation reschedule date hotel room '
 'flight app crash login password account email invoice receipt discount voucher coupon '
 'provider host late delay broken dirty noisy cleaning checkin checkout key wifi parking '
 'breakfast upgrade deposit fee tax currency bank transfer paypal wallet points loyalty '
 'review rating photo message chat agent support urgent help please thanks angry happy '
 'terrible great slow fast missing wrong duplicate double error failed declined pending', ' ')) AS w;

WITH params AS (
    SELECT (SELECT array_agg(w ORDER BY i) FROM words) AS w,
           (SELECT count(*) FROM words)::int AS nw,
           (SELECT array_agg(id ORDER BY id) FROM support_categories) AS cats,
           (SELECT array_agg(id ORDER BY id) FROM support_agents) AS agents
),
t AS (
    INSERT INTO support_tickets (public_id, customer_id, provider_id, category_id, status, priority,
        source, subject, description, assigned_agent_id, sla_due_at, first_response_due_at,
        resolution_due_at, first_responded_at, sla_breached, sla_breached_first_response,
        sla_breached_resolution, sla_breach_check_at, sentiment, message_count,
        last_message_at, closed_at, resolved_at, created_at, updated_at, version)
    SELECT
        -- public ids: 'B' + 11 Crockford chars of the sequence number (unique, valid)
        'B' || lpad(upper(to_hex(g)), 11, '0'),
        (1 + (g * 7919) % 100000)::text,
        CASE WHEN g % 3 = 0 THEN 1 + g % 5000 END,
        params.cats[1 + g % array_length(params.cats, 1)],
        s.status, s.priority,
        (ARRAY['web','web','web','email','chat'])[1 + g % 5],
        initcap(params.w[1 + (g * 31) % params.nw]) || ' ' || params.w[1 + (g * 17 + 5) % params.nw]
            || ' ' || params.w[1 + (g * 13 + 11) % params.nw],
        'Hello, my ' || params.w[1 + (g * 31) % params.nw] || ' has a problem with '
            || params.w[1 + (g * 17 + 5) % params.nw] || ' and ' || params.w[1 + (g * 13 + 11) % params.nw]
            || '. Ticket ' || g || ', please help.',
        CASE WHEN s.status <> 'open' OR g % 4 = 0
             THEN params.agents[1 + g % array_length(params.agents, 1)] END,
        CASE WHEN s.status IN ('open', 'in_progress') THEN c.created + s.res END,
        c.created + s.fr,
        c.created + s.res,
        CASE WHEN s.status <> 'open' THEN c.created + s.fr * (0.2 + (g % 13) / 10.0) END,
        g % 17 = 0,
        -- a breached ticket has had both targets judged; the others are
        -- checked at their running target (sql/036): the unanswered first
        -- response of an open one, the resolution once answered
        g % 17 = 0,
        g % 17 = 0,
        CASE WHEN s.status IN ('open', 'in_progress') AND g % 17 <> 0
             THEN c.created + CASE WHEN s.status = 'open' THEN s.fr ELSE s.res END END,
        ((g % 200) - 100) / 100.0,
        1 + g % 5,
        c.created + interval '1 hour',
        CASE WHEN s.status = 'closed' THEN c.created + interval '2 days' END,
        CASE WHEN s.status = 'resolved' THEN c.created + interval '1 hour' END,
        c.created,
        c.created + interval '1 hour',
        1 + g % 4
    FROM generate_series(:first::bigint, :first + :n - 1) AS g
    CROSS JOIN params
    CROSS JOIN LATERAL (SELECT now() - ((g % 525600) * interval '1 minute') AS created) c
    CROSS JOIN LATERAL (
        -- Status follows age, as on a real desk: tickets of the last three
        -- days are still being worked, resolved ones auto-close after a
        -- week, everything older is closed.
        SELECT CASE WHEN c.created > now() - interval '3 days'
                    THEN (ARRAY['open','in_progress','in_progress','pending_customer','resolved'])[1 + g % 5]
                    WHEN c.created > now() - interval '10 days' THEN 'resolved'
                    ELSE 'closed' END AS status,
               (ARRAY['low','normal','normal','normal','high','urgent'])[1 + g % 6] AS priority,
               (ARRAY[1440,240,240,240,60,15])[1 + g % 6] * interval '1 minute' AS fr,
               (ARRAY[7200,2880,2880,2880,480,240])[1 + g % 6] * interval '1 minute' AS res
    ) s
    RETURNING id, customer_id, description, message_count, created_at, status
),
m AS (
    INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body, is_internal, created_at, updated_at)
    SELECT t.id,
           CASE WHEN k = 1 OR k % 2 = 1 THEN 'customer' ELSE 'agent' END,
           CASE WHEN k = 1 OR k % 2 = 1 THEN t.customer_id ELSE '2001' END,
           CASE WHEN k = 1 THEN t.description
                ELSE 'Reply ' || k || ' about ' || params.w[1 + (t.id * k) % params.nw] || ' and '
                     || params.w[1 + (t.id + k * 7) % params.nw] END,
           k = 3 AND t.id % 3 = 0,
           t.created_at + (k - 1) * interval '20 minutes',
           t.created_at + (k - 1) * interval '20 minutes'
    FROM t CROSS JOIN params CROSS JOIN LATERAL generate_series(1, t.message_count) AS k
)
INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by, metadata, created_at, updated_at)
SELECT t.id, e.type, e.actor, e.by, e.meta, t.created_at + e.after, t.created_at + e.after
FROM t CROSS JOIN LATERAL (VALUES
    ('created', 'customer', t.customer_id, '{"to":"open"}'::jsonb, interval '0'),
    ('status_changed', 'agent', '2001', jsonb_build_object('from', 'open', 'to', t.status), interval '30 minutes')
) AS e(type, actor, by, meta, after);

-- The tickets' full-text documents (sql/028): the API appends each message
-- in the statement that inserts it; this script writes messages directly.
SELECT support_ticket_search_rebuild(:gen_last_id + 1, (SELECT max(id) FROM support_tickets));

ALTER TABLE support_tickets ENABLE TRIGGER support_ticket_counts_ins,
    ENABLE TRIGGER support_ticket_counts_upd;
COMMIT;
