-- 037_chat_session_ticket_link: link the chat sessions that a ticket was
-- created from (POST /support/tickets with chat_session_id) before the
-- create linked the session itself (API.md §4 "links the transcript").
--
-- Until then only support_tickets.chat_session_id was written; the
-- session's own ticket_id stayed NULL, so a later transfer {"to":"ticket"}
-- or the chat-session-archive job made a second ticket of the same chat.
-- Sessions the job or a transfer has converted since keep their ticket;
-- the others get the earliest ticket created from them. Transcripts are
-- not added to old tickets (they were answered as they were).
UPDATE support_chat_sessions s
   SET ticket_id = t.id
  FROM (SELECT DISTINCT ON (chat_session_id) chat_session_id, id, customer_id
          FROM support_tickets
         WHERE chat_session_id IS NOT NULL
         ORDER BY chat_session_id, id) t
 WHERE s.id = t.chat_session_id
   AND s.ticket_id IS NULL
   AND s.customer_id = t.customer_id;
