-- 074_agent_deactivation: an admin takes an agent out of the support team
-- (docs/API.md §6 "Deactivating an agent"). status (active/away) is the
-- agent's own to set, so an admin's "away" was undone by the agent's next
-- PATCH /support/agent/me; is_active is the admin's alone: false is never
-- routed a ticket or a chat (domain/routing.c) and every staff request of
-- the agent is 403 agent_deactivated. Every existing agent stays active.
ALTER TABLE support_agents ADD COLUMN IF NOT EXISTS is_active boolean NOT NULL DEFAULT true;
