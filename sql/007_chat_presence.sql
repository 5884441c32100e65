-- 007_chat_presence: who is connected to a live chat (API.md §7 presence,
-- docs/chat-transport.md §8). One row per websocket/EventSource
-- connection: written by support-chat's presence hooks and by every frame
-- of that connection (heartbeat), deleted by the offline hook or by the
-- worker's sweep once last_seen_at is older than the presence timeout
-- (nginx reloads run no offline hook). A participant (session, principal)
-- is online while it has a fresh row in state online, away while all its
-- fresh rows are away, offline without fresh rows. Disposable state: a
-- crash that empties it only makes clients look offline until their next
-- heartbeat, so the table skips the WAL.
CREATE UNLOGGED TABLE support_chat_presence (
    session_public_id  text NOT NULL REFERENCES support_chat_sessions (public_id) ON DELETE CASCADE,
    principal          text NOT NULL,            -- customer-<sub>, agent-<sub>, admin-<sub>
    conn_id            text NOT NULL,            -- X-Request-Id of the connection
    state              text NOT NULL DEFAULT 'online' CHECK (state IN ('online', 'away')),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_public_id, principal, conn_id)
);
CREATE INDEX support_chat_presence_last_seen ON support_chat_presence (last_seen_at);
