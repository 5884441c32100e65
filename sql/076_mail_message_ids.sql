-- 076_mail_message_ids: a customer message that came by mail keeps the
-- mail's Message-ID (support-mail-in), so our mails after it — the
-- acknowledgement of a ticket opened by mail, the answer to a mailed
-- reply — name it in In-Reply-To and References (RFC 5322 §3.6.4) beside
-- the ticket's thread id: mail programs showed our answer as a thread of
-- its own (QA). NULL for messages written on the web, through the API or
-- in a chat, and for mails before this column. Only ids a header can
-- carry are stored (core/mime sp_mail_msg_id_valid: at most 200
-- characters); the check keeps anything else out whoever writes.
-- A nullable column without a default: no table rewrite. support-dispatch
-- finds a ticket's newest one through support_ticket_messages_ticket.
ALTER TABLE support_ticket_messages
    ADD COLUMN mail_message_id text
        CHECK (mail_message_id IS NULL OR length(mail_message_id) BETWEEN 3 AND 200);
