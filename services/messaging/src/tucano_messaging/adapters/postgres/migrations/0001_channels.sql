-- Channels: a tenant's WhatsApp business numbers. The Cloud API access token is stored
-- sealed (AES-GCM, key outside the database). Tenant-scoped with RLS on app.tenant_id.
CREATE TABLE channels (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    waba_id               text NOT NULL CHECK (waba_id ~ '^[0-9]{1,32}$'),
    phone_number_id       text NOT NULL CHECK (phone_number_id ~ '^[0-9]{1,32}$'),
    display_phone_number  text NOT NULL DEFAULT '',
    messages_per_second   integer NOT NULL DEFAULT 80
                          CHECK (messages_per_second BETWEEN 1 AND 1000),
    sealed_access_token   bytea,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (tenant_id, phone_number_id)
);

ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE channels FORCE ROW LEVEL SECURITY;
CREATE POLICY channels_tenant ON channels
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
