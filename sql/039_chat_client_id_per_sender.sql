-- 039_chat_client_id_per_sender: a chat message's client_id is unique per
-- sender, not per session (API.md §7: "a resend with the same client_id
-- answers with the first frame" is the sender's own resend). Per session,
-- the agent's message that happened to reuse the customer's client_id was
-- answered with the customer's frame and lost. The chat_post and
-- chat_post_frame statements name these columns in ON CONFLICT. System
-- messages have neither sender_id nor client_id, so never conflict.
ALTER TABLE support_chat_messages DROP CONSTRAINT support_chat_messages_session_id_client_id_key;
CREATE UNIQUE INDEX support_chat_messages_client_id
    ON support_chat_messages (session_id, sender_type, sender_id, client_id);
