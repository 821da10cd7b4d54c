"""Channels: a tenant's WhatsApp business phone numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Channel:
    id: uuid.UUID
    tenant_id: uuid.UUID
    waba_id: str
    phone_number_id: str
    display_phone_number: str
    messages_per_second: int
    created_at: datetime
