-- 010_abuse_limits: what issue 8's abuse limits need from the schema.
--
-- Full-text columns index a bounded prefix. to_tsvector() fails with
-- "string is too long for tsvector" once the distinct lexemes of its input
-- pass 1 MB, and a generated column that fails makes the INSERT fail: one
-- long text (a chat transcript turned into a ticket) could never be stored,
-- and the archive job would retry it forever. The first 100 000
-- characters are indexed (a lexeme never has more bytes than the
-- characters it came from have, at most 4 each: under 400 kB); what
-- follows is stored and shown, only not searchable. PostgreSQL 15 cannot
-- change a generated column's expression in place: the columns (and their
-- GIN indexes) are rebuilt.
ALTER TABLE support_tickets DROP COLUMN search;
ALTER TABLE support_tickets ADD COLUMN search tsvector GENERATED ALWAYS AS
    (to_tsvector('english'::regconfig, subject || ' ' || left(description, 100000))) STORED;
CREATE INDEX support_tickets_search ON support_tickets USING gin (search);

ALTER TABLE support_ticket_messages DROP COLUMN search;
ALTER TABLE support_ticket_messages ADD COLUMN search tsvector GENERATED ALWAYS AS
    (to_tsvector('english'::regconfig, left(body, 100000))) STORED;
CREATE INDEX support_ticket_messages_search ON support_ticket_messages USING gin (search);

-- The cap on a customer's open chat sessions counts them on every create.
CREATE INDEX support_chat_sessions_customer_open ON support_chat_sessions (customer_id)
    WHERE status <> 'closed';
