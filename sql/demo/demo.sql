-- Demo data for `scripts/dev up`: categories, agents and a few tickets of
-- the demo customers (sub 1001 and 1002, see `scripts/dev token`).
-- Idempotent: safe to load on every `up`.
BEGIN;

INSERT INTO support_categories (slug, name, description, routing, team, default_priority) VALUES
    ('billing', 'Billing & payments', 'Charges, refunds and invoices', 'round_robin', 'general', NULL),
    ('bookings', 'Bookings', 'Reservations, changes and cancellations', 'round_robin', 'general', NULL),
    ('technical', 'Technical problems', 'The app or the website does not work', 'skill', 'tech', 'high'),
    ('account', 'Account & login', 'Sign-in, profile and privacy', 'manual', 'general', NULL)
ON CONFLICT (slug) DO NOTHING;

INSERT INTO support_agents (user_id, display_name, team, skills, status, max_concurrent_chats) VALUES
    ('2001', 'Ada (demo agent)', 'general', '{billing,bookings}', 'active', 3),
    ('2002', 'Grace (demo agent)', 'tech', '{technical}', 'active', 3),
    ('3001', 'Linus (demo admin)', 'general', '{}', 'active', 5)
ON CONFLICT (user_id) DO NOTHING;

WITH demo (public_id, customer_id, category, status, priority, subject, description) AS (
    VALUES
    ('DEMQ00000001', '1001', 'billing', 'open', 'normal', 'Charged twice for one booking',
     '<p>My card was charged <b>twice</b> for booking BK-1042. Please refund one charge.</p>'),
    ('DEMQ00000002', '1001', 'bookings', 'pending_customer', 'normal', 'Change the date of my stay',
     '<p>Can I move my booking from 3 to 5 December?</p>'),
    ('DEMQ00000003', '1002', 'technical', 'in_progress', 'high', 'App crashes on checkout',
     '<p>The app closes when I press <em>Pay</em>.</p>')
), t AS (
    INSERT INTO support_tickets (public_id, customer_id, category_id, status, priority, subject,
                                 description, message_count, last_message_at)
    SELECT d.public_id, d.customer_id, c.id, d.status, d.priority, d.subject, d.description, 1, now()
    FROM demo d JOIN support_categories c ON c.slug = d.category
    ON CONFLICT (public_id) DO NOTHING
    RETURNING id, customer_id, description
), m AS (
    INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body)
    SELECT id, 'customer', customer_id, description FROM t
)
INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by, metadata)
SELECT id, 'created', 'customer', customer_id, '{"source":"web","demo":true}' FROM t;

COMMIT;
