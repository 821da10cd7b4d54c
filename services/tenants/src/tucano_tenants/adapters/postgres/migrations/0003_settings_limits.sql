-- Tenant settings (the owner's), lifecycle details, and per-tenant limit overrides (platform
-- operators'); a NULL override means "the plan's value".
ALTER TABLE tenants
    ADD COLUMN default_country  text NOT NULL DEFAULT '' CHECK (default_country ~ '^([A-Z]{2})?$'),
    ADD COLUMN timezone         text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) <= 64),
    ADD COLUMN cors_origins     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN state_reason     text NOT NULL DEFAULT '',
    ADD COLUMN state_changed_at timestamptz,
    ADD COLUMN api_requests_per_second_override integer CHECK (api_requests_per_second_override > 0),
    ADD COLUMN api_requests_per_minute_override integer CHECK (api_requests_per_minute_override > 0),
    ADD COLUMN monthly_message_quota_override bigint CHECK (monthly_message_quota_override >= 0),
    ADD COLUMN max_contacts_override bigint CHECK (max_contacts_override >= 0);
