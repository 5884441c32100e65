-- 038_idempotency_etag: an Idempotency-Key keeps the ETag of the answer
-- it stores. A replay answers "the first response" (API.md §1), and a
-- create that answers a versioned representation (a ticket, an article)
-- sent an ETag with it; without the column the replay came without one.
-- NULL: the first answer had none.
ALTER TABLE support_idempotency_keys ADD COLUMN etag text;
