-- How many contacts each tenant keeps, maintained in the same transaction as every contact
-- write, so the plan's max_contacts holds exactly under concurrency (the row lock serialises a
-- tenant's contact writes) without counting the table on each write. A tenant's row is created
-- on its first write after this migration from a count of its contacts (the migration cannot
-- count them itself: contacts is under FORCE ROW LEVEL SECURITY and no tenant is set here).
CREATE TABLE contact_counts (
    tenant_id  uuid PRIMARY KEY,
    contacts   bigint NOT NULL CHECK (contacts >= 0)
);

ALTER TABLE contact_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY contact_counts_tenant ON contact_counts
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
