-- Token signing keys. Private keys are sealed (AES-256-GCM under the key-encryption key held
-- outside the database); public keys are served as the JWKS. At most one key is active.
CREATE TABLE signing_keys (
    kid                 text PRIMARY KEY,
    public_jwk          jsonb NOT NULL,
    sealed_private_key  bytea NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at          timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;
