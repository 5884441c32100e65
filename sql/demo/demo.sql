-- Demo data for `scripts/dev up`: categories, agents and a few tickets of
-- the demo customers (sub 1001 and 1002, see `scripts/dev token`).
-- Idempotent: safe to load on every `up`.
BEGIN;

INSERT INTO support_categories (slug, name, description, routing, team, required_skill,
                                default_priority) VALUES
    ('billing', 'Billing & payments', 'Charges, refunds and invoices', 'round_robin', 'general',
     NULL, NULL),
    ('bookings', 'Bookings', 'Reservations, changes and cancellations', 'round_robin', 'general',
     NULL, NULL),
    ('technical', 'Technical problems', 'The app or the website does not work', 'skill', 'tech',
     'technical', 'high'),
    ('account', 'Account & login', 'Sign-in, profile and privacy', 'manual', 'general', NULL, NULL)
ON CONFLICT (slug) DO NOTHING;
-- Skill routing needs the skill (Grace's): demo databases loaded before it
-- was given get it too.
UPDATE support_categories SET required_skill = 'technical'
WHERE slug = 'technical' AND routing = 'skill' AND required_skill IS NULL;

INSERT INTO support_agents (user_id, display_name, team, skills, status, max_concurrent_chats) VALUES
    ('2001', 'Ada (demo agent)', 'general', '{billing,bookings}', 'active', 3),
    ('2002', 'Grace (demo agent)', 'tech', '{technical}', 'active', 3),
    ('3001', 'Linus (demo admin)', 'leads', '{}', 'active', 5)
ON CONFLICT (user_id) DO NOTHING;
-- The admin leads a team no category routes to: the README's walk-through
-- (a ticket, then a chat) hands both to Ada, the agent of AGENT_TOKEN
-- (QA: in team general, the chat went to Linus, the least recently
-- assigned, and Ada could neither see nor answer it). Databases loaded
-- before keep their rows but for this.
UPDATE support_agents SET team = 'leads'
WHERE user_id = '3001' AND display_name = 'Linus (demo admin)' AND team = 'general';

-- Knowledge-base articles, as the admin pages would store them (the
-- HTML, summary and plain text are what core/markdown renders).
INSERT INTO support_knowledge_articles (slug, title, content_markdown, content_html, summary,
                                        content_text, tags, is_published, published_at)
VALUES
    ('how-refunds-work', 'How refunds work',
     E'Refunds go back to the card you paid with within **5 to 10 business days**.\n\n## Partial refunds\n\nIf only part of a booking is cancelled, only that part is refunded.\n',
     E'<p>Refunds go back to the card you paid with within <strong>5 to 10 business days</strong>.</p>\n<h2>Partial refunds</h2>\n<p>If only part of a booking is cancelled, only that part is refunded.</p>\n',
     'Refunds go back to the card you paid with within 5 to 10 business days.',
     E'Refunds go back to the card you paid with within 5 to 10 business days.\nPartial refunds\nIf only part of a booking is cancelled, only that part is refunded.\n',
     '{billing,refunds}', true, now()),
    ('change-a-booking', 'Change or cancel a booking',
     E'Open **My bookings**, pick the booking and choose *Change* or *Cancel*.\n\n| Notice | Fee |\n|---|---|\n| 48 h or more | none |\n| less than 48 h | 20 % |\n',
     E'<p>Open <strong>My bookings</strong>, pick the booking and choose <em>Change</em> or <em>Cancel</em>.</p>\n<table>\n<thead>\n<tr>\n<th>Notice</th>\n<th>Fee</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>48 h or more</td>\n<td>none</td>\n</tr>\n<tr>\n<td>less than 48 h</td>\n<td>20 %</td>\n</tr>\n</tbody>\n</table>\n',
     'Open My bookings, pick the booking and choose Change or Cancel.',
     E'Open My bookings, pick the booking and choose Change or Cancel.\nNotice | Fee\n48 h or more | none\nless than 48 h | 20 %\n',
     '{bookings}', true, now())
ON CONFLICT (slug) DO NOTHING;

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
                                 description, message_count, last_message_at, search)
    SELECT d.public_id, d.customer_id, c.id, d.status, d.priority, d.subject, d.description, 1, now(),
           support_ticket_search(d.subject, d.description)
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
