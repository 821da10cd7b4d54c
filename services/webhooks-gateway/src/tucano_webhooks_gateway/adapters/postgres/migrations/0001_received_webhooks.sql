-- Every genuine delivery from Meta, byte for byte, so it can be audited and replayed. Meta
-- retries deliveries; identical bytes are stored once. Not tenant-scoped: the tenant is only
-- known after the payload's phone number id is resolved downstream.
CREATE TABLE received_webhooks (
    id            uuid PRIMARY KEY,
    body_sha256   bytea NOT NULL UNIQUE,
    body          bytea NOT NULL,
    signature     text NOT NULL,
    object        text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at  timestamptz
);
CREATE INDEX received_webhooks_unprocessed ON received_webhooks (received_at)
    WHERE processed_at IS NULL;
