"""Who may call which RPC: the tenants service's one access table."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy, Role

SERVICE = "/tucano.tenants.v1.TenantsService"

POLICY: Policy = {
    f"{SERVICE}/ListPlans": Access.public(),
    f"{SERVICE}/CreateTenant": Access.service(),
    f"{SERVICE}/AbandonTenant": Access.service(),
    f"{SERVICE}/GetMembership": Access.service(),
    f"{SERVICE}/ListUserMemberships": Access.service(),
    # Other services' gates ask on every (cached) tenant request; internal-only, no token.
    f"{SERVICE}/GetTenantStanding": Access.internal(),
    f"{SERVICE}/PeekInvitation": Access.service(),
    f"{SERVICE}/RedeemInvitation": Access.service(),
    f"{SERVICE}/GetTenant": Access.tenant(Role.VIEWER),
    f"{SERVICE}/UpdateTenant": Access.tenant(Role.OWNER),
    f"{SERVICE}/CloseTenant": Access.tenant(Role.OWNER),
    f"{SERVICE}/ListMembers": Access.tenant(Role.ADMIN),
    f"{SERVICE}/UpdateMember": Access.tenant(Role.ADMIN),
    f"{SERVICE}/RemoveMember": Access.tenant(Role.ADMIN),
    f"{SERVICE}/CreateInvitation": Access.tenant(Role.ADMIN),
    f"{SERVICE}/ListInvitations": Access.tenant(Role.ADMIN),
    f"{SERVICE}/RevokeInvitation": Access.tenant(Role.ADMIN),
    f"{SERVICE}/ListTenants": Access.platform_operator(),
    f"{SERVICE}/SuspendTenant": Access.platform_operator(),
    f"{SERVICE}/ReactivateTenant": Access.platform_operator(),
    f"{SERVICE}/UpdateTenantPlan": Access.platform_operator(),
    # Envoy's ratelimit filter calls this without a token; the edge never routes it.
    "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit": Access.internal(),
}
