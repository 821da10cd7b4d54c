-- Test-only side effects of the dedupe consumer: one row per application of a message, with no
-- uniqueness on purpose, so applying a message twice shows up as two rows.
CREATE TABLE amqp_effects (
    consumer    text NOT NULL,
    message_id  text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
