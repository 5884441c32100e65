-- 008_contact_fingerprint: every ticket of a returning customer upserted
-- its contact, and AES-GCM's random nonces made each upsert a real rewrite
-- (a new row version, WAL, index entries) even when nothing had changed.
-- The fingerprint is an HMAC (blind index key) of the claims and of the
-- current encryption key's label: the upsert skips the row when it is
-- unchanged, and still rewrites it once a new key is put in front (lazy
-- re-encryption, crypto.h). NULL for rows written before: rewritten once.
ALTER TABLE support_contacts ADD COLUMN claims_fingerprint text;
