-- Demo data for `scripts/dev up`: categories, agents and knowledge-base
-- articles, what only staff's tools make; the demo customers' tickets
-- (sub 1001 and 1002, see `scripts/dev token`) come through the API
-- (scripts/lib/demo.sh). Idempotent: safe to load on every `up`.
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
     E'Open My bookings, pick the booking and choose Change or Cancel.\n\n'
      'Notice Fee\n\n48 h or more none\n\nless than 48 h 20 %\n',
     '{bookings}', true, now())
ON CONFLICT (slug) DO NOTHING;
-- The table's plain text was written here with the markdown's pipes, not
-- as core/markdown renders it (a row a line, cells between spaces): the
-- search snippet showed "Notice | Fee" (QA). Databases loaded before get
-- the rendered text (only while it is still the demo's own).
UPDATE support_knowledge_articles
   SET content_text = E'Open My bookings, pick the booking and choose Change or Cancel.\n\n'
                      'Notice Fee\n\n48 h or more none\n\nless than 48 h 20 %\n'
 WHERE slug = 'change-a-booking'
   AND content_text = E'Open My bookings, pick the booking and choose Change or Cancel.\n'
                      'Notice | Fee\n48 h or more | none\nless than 48 h | 20 %\n';

-- The demo tickets are made through the API by `scripts/dev up`
-- (scripts/lib/demo.sh), as customers and agents make them. The ones this
-- file used to insert are replaced: they had no SLA dues, no sentiment and
-- no routing (a ticket the product made always has its dues).
DELETE FROM support_tickets
WHERE public_id IN ('DEMQ00000001', 'DEMQ00000002', 'DEMQ00000003')
  AND first_response_due_at IS NULL AND resolution_due_at IS NULL;

COMMIT;
