-- Tenants and their members. Row-level security reads two settings: app.tenant_id (tenant
-- work) and app.user_id (a user's own memberships, across tenants, for sign-in). Either unset
-- or '' matches nothing.
CREATE FUNCTION app_setting_uuid(name text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting(name, true), '')::uuid
$$;

CREATE TABLE tenants (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    state              text NOT NULL DEFAULT 'active'
                       CHECK (state IN ('active', 'suspended', 'closed')),
    plan_id            text NOT NULL DEFAULT 'free' REFERENCES plans (id),
    create_request_id  uuid UNIQUE,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE memberships (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_scope ON memberships
    USING (tenant_id = app_setting_uuid('app.tenant_id')
           OR user_id = app_setting_uuid('app.user_id'))
    WITH CHECK (tenant_id = app_setting_uuid('app.tenant_id'));

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_scope ON tenants
    USING (id = app_setting_uuid('app.tenant_id')
           OR id IN (SELECT m.tenant_id FROM memberships m
                     WHERE m.user_id = app_setting_uuid('app.user_id')))
    WITH CHECK (id = app_setting_uuid('app.tenant_id'));
