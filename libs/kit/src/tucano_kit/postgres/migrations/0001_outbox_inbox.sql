-- Transactional outbox: business rows and the events/jobs they cause commit together; the
-- relay publishes pending rows with publisher confirms and marks them. At-least-once, so every
-- consumer deduplicates by message id (processed_messages below).
CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    exchange      text NOT NULL,
    routing_key   text NOT NULL,
    message_type  text NOT NULL,
    content_type  text NOT NULL DEFAULT 'application/x-protobuf',
    headers       jsonb NOT NULL DEFAULT '{}'::jsonb,
    body          bytea NOT NULL,
    mandatory     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error    text
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
-- The relay holds a due row back while an earlier row of its key is backing off (key order).
CREATE INDEX outbox_pending_key ON outbox (exchange, routing_key, seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Inbox: a consumer records each message id in the same transaction as its effects, so a
-- redelivered message changes nothing.
CREATE TABLE processed_messages (
    consumer      text NOT NULL,
    message_id    text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
