-- 004_chat: what chat routing, the agent chat queue and the archive job
-- read: open sessions by agent and the open sessions the archive scans.
CREATE INDEX support_chat_sessions_open ON support_chat_sessions (id)
    INCLUDE (last_message_at, started_at, expires_at)
    WHERE status <> 'closed';
CREATE INDEX support_chat_sessions_agent_active ON support_chat_sessions (assigned_agent_id)
    WHERE status = 'active';
