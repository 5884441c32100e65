-- 068_active_rules_name_a_condition: an active priority rule names at
-- least one condition (API.md §6; QA: a rule without any matched every
-- ticket and overrode every category's default_priority). The admin API
-- checks it on what the row will hold (domain/rule_store.c); the table
-- holds it too, so two PATCHes at once clearing different conditions
-- cannot leave a catch-all. NOT VALID: a rule saved before keeps working
-- as it did until it is next written, when the API asks for a condition
-- (or is_active false), instead of this migration changing which
-- priority tickets get.
ALTER TABLE support_priority_rules
  ADD CONSTRAINT support_priority_rules_active_names_a_condition
  CHECK (NOT is_active OR category_id IS NOT NULL OR customer_tier IS NOT NULL
         OR pattern IS NOT NULL OR sentiment_below IS NOT NULL) NOT VALID;
