-- A tenant-scoped table shaped like the services' ones, for the kit's RLS tests.
CREATE TABLE notes (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL,
    body       text NOT NULL DEFAULT ''
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant_isolation ON notes
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE VIEW note_counts WITH (security_invoker = true) AS
    SELECT tenant_id, count(*) AS notes FROM notes GROUP BY tenant_id;
