-- 030_chat_session_touch: every stored chat message touches its session
-- (last_message_at, updated_at: chat_post, chat_post_frame). While an
-- index held last_message_at (the INCLUDE of support_chat_sessions_open,
-- for the archive job's index-only scan), each touch was a non-HOT
-- update: a new entry in every one of the table's eight indexes, per
-- message (issue 15, target 6: PostgreSQL spent ~770 µs of CPU per
-- stored frame). Without it no index holds a column the touch changes,
-- so the touch is a HOT update, given room on the page: fillfactor 90.
-- The archive job (once a minute, over open sessions only) reads
-- last_message_at from the heap instead.
DROP INDEX support_chat_sessions_open;
CREATE INDEX support_chat_sessions_open ON support_chat_sessions (id)
    INCLUDE (started_at, expires_at)
    WHERE status <> 'closed';
ALTER TABLE support_chat_sessions SET (fillfactor = 90);
