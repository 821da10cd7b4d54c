"""In-process adapters of the tenants service (rate-limit counters while Redis is away)."""
