"""Who may call which RPC: the auth service's one access table. Sign-in RPCs are public (the
credentials are in the request); session RPCs need the user's own access token."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy, Role

SERVICE = "/tucano.auth.v1.AuthService"

POLICY: Policy = {
    f"{SERVICE}/GetJwks": Access.public(),
    f"{SERVICE}/Signup": Access.public(),
    f"{SERVICE}/Login": Access.public(),
    f"{SERVICE}/Refresh": Access.public(),
    f"{SERVICE}/AcceptInvitation": Access.public(),
    f"{SERVICE}/IssueServiceToken": Access.internal(),
    f"{SERVICE}/Logout": Access.tenant(Role.VIEWER),
    f"{SERVICE}/LogoutAll": Access.tenant(Role.VIEWER),
    f"{SERVICE}/SwitchTenant": Access.tenant(Role.VIEWER),
    f"{SERVICE}/ChangePassword": Access.tenant(Role.VIEWER),
    f"{SERVICE}/GetMe": Access.tenant(Role.VIEWER),
}
