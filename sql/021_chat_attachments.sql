-- 021_chat_attachments: chat messages carry attachments too (API.md §7,
-- §10). A chat message keeps the metadata of its attachments (as ticket
-- messages do, in `attachments`); an attachment row names the chat
-- message it was attached to. When the chat becomes a ticket, the
-- attachments follow to the ticket's first message (message_id), and
-- keep their chat message: one attachment, one chat message and at most
-- one ticket message.
ALTER TABLE support_chat_messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
ALTER TABLE support_attachments
    ADD COLUMN chat_message_id bigint REFERENCES support_chat_messages (id) ON DELETE SET NULL;
CREATE INDEX support_attachments_chat_message ON support_attachments (chat_message_id)
    WHERE chat_message_id IS NOT NULL;
