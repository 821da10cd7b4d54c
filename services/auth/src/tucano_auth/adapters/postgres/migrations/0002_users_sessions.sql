-- Identities and sessions. Not tenant-scoped: a user spans tenants, and a session names the
-- one tenant its tokens are for (scope_tenant_id), so these tables carry no tenant_id column
-- and no row-level security. Refresh tokens are kept only as SHA-256 digests.
CREATE TABLE users (
    id                   uuid PRIMARY KEY,
    email                text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    display_name         text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    password_hash        text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    platform_operator    boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    password_changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope_tenant_id  uuid NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_used_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at       timestamptz,
    revoked_reason   text
);
CREATE INDEX sessions_user_active ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_sha256  bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    session_id    uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    used_at       timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
