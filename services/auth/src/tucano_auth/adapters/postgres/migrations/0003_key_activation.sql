-- A rotated-in key is published before it signs anything (activates_at in the future), so
-- verifiers that cache the JWKS (Envoy cannot refetch on an unknown kid) already have it when
-- the first token signed with it arrives. The previous key signs until then (its retired_at).
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
UPDATE signing_keys SET activates_at = created_at;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL,
                         ALTER COLUMN activates_at SET DEFAULT clock_timestamp();
