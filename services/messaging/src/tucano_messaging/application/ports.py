"""Ports of the messaging application layer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from tucano_messaging.domain.channels import Channel


class ChannelRepository(Protocol):
    """Channels of one tenant (the repository is bound to the tenant)."""

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None
                   ) -> list[Channel]:
        """Oldest first; `after` is the (created_at, id) of the previous page's last."""
        ...
