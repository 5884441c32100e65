-- 080_ai_interaction_role: who asked, by role (QA: a customer and a staff
-- member with the same sub could not be told apart in the query log).
-- caller_role is the role of the JWT that asked the question or ran the
-- tool: customer, agent (support_agent) or admin (support_admin). Rows
-- logged before this migration have none (NULL).
--
-- Cheap on a big table: a nullable column without a default is a change
-- of the catalogue only, and the CHECK is added NOT VALID, so no row is
-- read under the ALTER's lock; new rows are checked all the same. (A
-- VALIDATE CONSTRAINT, which would scan without blocking writes, is not
-- needed: the old rows are NULL, which the CHECK lets through.)
ALTER TABLE support_ai_interactions ADD COLUMN caller_role text;
ALTER TABLE support_ai_interactions ADD CONSTRAINT support_ai_interactions_caller_role
    CHECK (caller_role IN ('customer', 'agent', 'admin')) NOT VALID;
