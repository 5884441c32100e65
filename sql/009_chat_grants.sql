-- 009_chat_grants: who was let into a live chat, and until when (API.md §7:
-- a participant who loses access stops receiving frames within seconds).
-- One row per (session, principal), written by support-chat's
-- authorization of every connect (websocket, EventSource, each long-poll):
-- expires_at is when the credentials it showed run out (the JWT's exp;
-- for a customer also the session token's, i.e. the session's expires_at),
-- the latest of them when the principal connects again. A sweep deletes
-- rows past expires_at and disconnects that principal from the session
-- (nchan: DELETE of its private channel); transfers and closes revoke at
-- once. Logged: losing it in a crash would leave expired listeners
-- connected until they reconnect.
CREATE TABLE support_chat_grants (
    session_public_id  text NOT NULL REFERENCES support_chat_sessions (public_id) ON DELETE CASCADE,
    principal          text NOT NULL,            -- customer-<sub>, agent-<sub>, admin-<sub>
    expires_at         timestamptz NOT NULL,
    PRIMARY KEY (session_public_id, principal)
);
CREATE INDEX support_chat_grants_expires ON support_chat_grants (expires_at);
