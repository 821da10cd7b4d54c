"""PostgreSQL plumbing: pools and tenant transactions, provisioning, migrations."""

from tucano_kit.postgres.pool import (
    UnsafeDatabaseRole,
    check_role_is_safe,
    create_pool,
    scoped_transaction,
    tenant_transaction,
)

__all__ = [
    "UnsafeDatabaseRole",
    "check_role_is_safe",
    "create_pool",
    "scoped_transaction",
    "tenant_transaction",
]
