"""Who may call which RPC: the messaging service's one access table (ARCHITECTURE.md roles)."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy, Role

CHANNELS = "/tucano.messaging.v1.ChannelsService"

POLICY: Policy = {
    f"{CHANNELS}/ListChannels": Access.tenant(Role.VIEWER),
}
