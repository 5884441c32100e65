-- 042_skill_routing_names_a_skill: a category routed by skill names the
-- skill (API.md §6), now held by the table itself. The admin API checked
-- it against the row as it read it, so two PATCHes at once (one setting
-- routing to skill, one clearing required_skill) could each pass and
-- leave a skill-routed category without a skill, whose tickets and chats
-- no agent ever matches. Such a row routed nothing; it becomes manual
-- (its tickets wait for an agent to take them, as they did).
UPDATE support_categories SET routing = 'manual', updated_at = now()
 WHERE routing = 'skill' AND required_skill IS NULL;

ALTER TABLE support_categories
  ADD CONSTRAINT support_categories_skill_routing_names_a_skill
  CHECK (routing <> 'skill' OR required_skill IS NOT NULL);
