"""Ports of the webhooks application layer."""

from __future__ import annotations

import uuid
from typing import Protocol


class WebhookStore(Protocol):
    async def store(self, body: bytes, signature: str, object_type: str
                    ) -> tuple[uuid.UUID, bool]:
        """Keep the raw delivery; (id, True) when the same bytes were stored before."""
        ...
