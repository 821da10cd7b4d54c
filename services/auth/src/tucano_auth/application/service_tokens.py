"""Client-credentials tokens for internal services (workers calling other services)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from tucano_kit.errors import Unauthenticated

from tucano_auth.application.ports import TokenIssuer


async def issue_service_token(client_id: str, client_secret: str,
                              clients: Mapping[str, str], tokens: TokenIssuer) -> str:
    expected = clients.get(client_id, "")
    # compare_digest even for unknown clients, so timing does not reveal which ids exist.
    valid = hmac.compare_digest(client_secret.encode(), expected.encode()) and bool(expected)
    if not valid:
        raise Unauthenticated("INVALID_CLIENT", "unknown client or wrong secret")
    return await tokens.sign(subject=f"service:{client_id}", extra={"typ": "service"})
