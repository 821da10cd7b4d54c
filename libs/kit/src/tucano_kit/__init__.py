"""Tucano's platform kit: plumbing every service shares, with no knowledge of tenants' business.

Modules, outside in:
- settings: typed settings read once from the environment; bad ones stop start-up with one line.
- lifecycle: run a service under uvloop with signal handling and an AsyncExitStack.
- logs, telemetry, context: JSON logs carrying request/trace/tenant ids; OpenTelemetry.
- errors, validation: the error taxonomy and its google.rpc.Status mapping.
- auth: the verified caller, token verification against a JWKS, per-RPC access policy.
- grpc: server bootstrap (health, reflection, graceful shutdown) and interceptors.
- postgres: pools, tenant transactions, role safety checks, provisioning, migrations.
- amqp: connection, topology, confirmed publishing, consumers; outbox relay and inbox dedupe.
- paging: opaque page tokens.
"""
