-- 053_sla_policy_versions: SLA policies get a version, as categories,
-- agents (052) and priority rules have one (docs/API.md §6): every admin
-- write of a policy (a PUT that updates it) bumps it, and it is the ETag
-- of the row, "<id>-v<version>", so a PUT or DELETE with If-Match of an
-- older version is 412 instead of silently overwriting another admin's
-- change of the same targets. Existing rows start at 1, as 052's did.
ALTER TABLE support_sla_policies ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
