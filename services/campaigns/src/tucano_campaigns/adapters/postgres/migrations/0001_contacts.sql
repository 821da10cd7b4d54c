-- Contacts, one row per (tenant, E.164 phone number). Tenant-scoped: RLS on app.tenant_id;
-- an unset or empty app.tenant_id ('' on a pooled connection after a tenant transaction)
-- matches no row.
CREATE TABLE contacts (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    phone_number  text NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    display_name  text NOT NULL DEFAULT '' CHECK (length(display_name) <= 256),
    tags          text[] NOT NULL DEFAULT '{}',
    request_id    uuid,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (tenant_id, phone_number),
    UNIQUE (tenant_id, request_id)
);
CREATE INDEX contacts_page ON contacts (tenant_id, created_at DESC, id DESC);

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY contacts_tenant ON contacts
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
