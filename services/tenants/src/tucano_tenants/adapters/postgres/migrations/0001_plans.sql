-- The plan catalogue. Global reference data: no tenant_id, no RLS; the service role reads it.
CREATE TABLE plans (
    id                       text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{1,31}$'),
    display_name             text NOT NULL,
    position                 integer NOT NULL,
    api_requests_per_second  integer NOT NULL CHECK (api_requests_per_second > 0),
    api_requests_per_minute  integer NOT NULL CHECK (api_requests_per_minute > 0),
    monthly_message_quota    bigint NOT NULL CHECK (monthly_message_quota >= 0),
    max_contacts             bigint NOT NULL CHECK (max_contacts >= 0)
);

INSERT INTO plans VALUES
    ('free',     'Free',      1, 5,   100,  1000,     1000),
    ('starter',  'Starter',   2, 20,  600,  50000,    50000),
    ('growth',   'Growth',    3, 50,  2000, 500000,   500000),
    ('business', 'Business',  4, 200, 6000, 5000000,  5000000);
