-- 077_chat_message_seq: every chat message gets its place in its session,
-- seq (1, 2, 3, … per session, no gaps), in the order the messages commit,
-- so a client resumes after the last place it has (API.md §7,
-- ?after_seq=) instead of paging the whole history at every reconnect
-- (QA). Message ids cannot be that place: a sequence hands an id out when
-- a row is inserted, not when it commits, so with concurrent senders a
-- message with a smaller id can commit after one with a greater id was
-- already shown, and "greater than the highest id seen" misses it.
--
-- seq is taken from the session row's last_seq by the trigger below,
-- under that row's lock (FOR NO KEY UPDATE, the lock every send already
-- took first: chat_sessions.c SEND_LOCK), held until the message's
-- transaction ends. The next message of the session waits for it, so
-- seq order is commit order; a rolled-back message gives its number
-- back with its transaction, so numbers have no gaps and a client that
-- has 1..4 and 6 knows 5 is missing. The trigger also does the sends'
-- touch of last_message_at (a system message does not move it): a
-- second update of the row by the statement that inserted the message
-- after its trigger updated it is an error in PostgreSQL.
--
-- Messages stored before this migration are numbered in id order, the
-- only order they have; sessions continue after their highest number.
ALTER TABLE support_chat_sessions ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE support_chat_messages ADD COLUMN seq bigint;

UPDATE support_chat_messages m SET seq = x.n
FROM (SELECT id, row_number() OVER (PARTITION BY session_id ORDER BY id) AS n
      FROM support_chat_messages) x
WHERE x.id = m.id;
UPDATE support_chat_sessions s SET last_seq = x.n
FROM (SELECT session_id, max(seq) AS n FROM support_chat_messages GROUP BY session_id) x
WHERE x.session_id = s.id;

ALTER TABLE support_chat_messages ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX support_chat_messages_seq ON support_chat_messages (session_id, seq);

CREATE FUNCTION support_chat_message_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The session's lock first: the check below then reads (a fresh
    -- snapshot, READ COMMITTED) a resend that committed while this one
    -- waited for it.
    PERFORM 1 FROM support_chat_sessions WHERE id = NEW.session_id FOR NO KEY UPDATE;
    IF NEW.client_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM support_chat_messages
        WHERE session_id = NEW.session_id AND sender_type = NEW.sender_type
          AND sender_id = NEW.sender_id AND client_id = NEW.client_id) THEN
        -- A resend: ON CONFLICT DO NOTHING drops the row, which must not
        -- use up a number (a gap would read as a missed message). 0, not
        -- NULL: NOT NULL is checked before the conflict is.
        NEW.seq := 0;
        RETURN NEW;
    END IF;
    UPDATE support_chat_sessions
    SET last_seq = last_seq + 1, updated_at = now(),
        last_message_at = CASE WHEN NEW.sender_type <> 'system' THEN now()
                               ELSE last_message_at END
    WHERE id = NEW.session_id
    RETURNING last_seq INTO NEW.seq;
    RETURN NEW;
END
$$;

CREATE TRIGGER support_chat_message_seq BEFORE INSERT ON support_chat_messages
    FOR EACH ROW EXECUTE FUNCTION support_chat_message_seq();
