"""Redis adapters of the tenants service (rate-limit counters shared by every process)."""
