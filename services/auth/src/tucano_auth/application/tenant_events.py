"""Reactions to the tenants service's events: a removed member's or a closed tenant's sessions
end at once (refresh would refuse them anyway, since it re-reads the membership; this also
stops the refresh tokens of a member re-invited later). Each event is handled once (inbox)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from tucano_auth.application.ports import AuthStore

log = logging.getLogger("tucano.auth.events")
CONSUMER = "auth.tenant-events"


@dataclass(frozen=True)
class MemberRemoved:
    tenant_id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True)
class TenantClosed:
    tenant_id: uuid.UUID


async def handle_tenant_event(event: MemberRemoved | TenantClosed, message_id: str,
                              store: AuthStore) -> None:
    async with store.transaction() as tx:
        if not await tx.claim(CONSUMER, message_id):
            return
        if isinstance(event, MemberRemoved):
            ended = await tx.revoke_user_sessions(event.user_id, "removed from the tenant",
                                                  tenant_id=event.tenant_id)
        else:
            ended = await tx.revoke_tenant_sessions(event.tenant_id, "tenant closed")
    log.info("sessions ended by a tenant event",
             extra={"event": type(event).__name__, "tenant_id": str(event.tenant_id),
                    "sessions": ended})
