-- Invitations: single-use tokens stored as SHA-256 digests. Besides tenant work, a row is
-- visible to a transaction that presents its token digest (app.invitation_sha256, hex): that is
-- how an invitee, who has no tenant yet, finds what the token is for.
CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    role            text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    token_sha256    bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    invited_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     uuid,
    revoked_at      timestamptz
);
CREATE UNIQUE INDEX invitations_one_pending_per_email ON invitations (tenant_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_scope ON invitations
    USING (tenant_id = app_setting_uuid('app.tenant_id')
           OR token_sha256 = decode(nullif(current_setting('app.invitation_sha256', true), ''),
                                    'hex'))
    WITH CHECK (tenant_id = app_setting_uuid('app.tenant_id'));

-- Platform operators list and change every tenant: their handlers (after the access check)
-- run with app.platform_operator = 'on', which this extra policy honours for tenants only.
CREATE POLICY tenants_platform_operator ON tenants
    USING (current_setting('app.platform_operator', true) = 'on')
    WITH CHECK (current_setting('app.platform_operator', true) = 'on');
