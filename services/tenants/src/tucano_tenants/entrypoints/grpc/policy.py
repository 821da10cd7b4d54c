"""Who may call which RPC: the tenants service's one access table."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy

SERVICE = "/tucano.tenants.v1.TenantsService"

POLICY: Policy = {
    f"{SERVICE}/ListPlans": Access.public(),
    f"{SERVICE}/CreateTenant": Access.service(),
    f"{SERVICE}/AbandonTenant": Access.service(),
    f"{SERVICE}/GetMembership": Access.service(),
    f"{SERVICE}/ListUserMemberships": Access.service(),
}
