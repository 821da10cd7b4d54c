"""Who may call which RPC: the auth service's one access table."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy

SERVICE = "/tucano.auth.v1.AuthService"

POLICY: Policy = {
    f"{SERVICE}/GetJwks": Access.public(),
}
