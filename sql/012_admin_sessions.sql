-- 012_admin_sessions: server-side sessions of the admin pages (API.md §8).
--
-- The cookie carries 32 random bytes; only their SHA-256 is stored, so a
-- read of this table cannot be replayed as a login. The CSRF token of
-- every form is per session (random, compared in constant time). Logout
-- revokes the row; each login deletes rows a day past their end.
CREATE TABLE support_admin_sessions (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    csrf_token  text NOT NULL,
    user_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX support_admin_sessions_expires ON support_admin_sessions (expires_at);
