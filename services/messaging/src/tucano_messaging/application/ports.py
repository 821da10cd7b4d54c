"""Ports of the messaging application layer."""

from __future__ import annotations

from typing import Protocol

from tucano_messaging.domain.channels import Channel


class ChannelRepository(Protocol):
    """Channels of one tenant (the repository is bound to the tenant)."""

    async def list(self, limit: int, after: tuple[str, str] | None) -> list[Channel]:
        """Oldest first; `after` is the (created_at iso, id) of the previous page's last."""
        ...
