"""Test business accounts (WABAs) and their phone numbers, each with its own access token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ids import IdFactory
from .payloads import MESSAGES, STATUSES, Channel

QUALITY_RATINGS = frozenset({"GREEN", "YELLOW", "RED", "UNKNOWN"})


@dataclass(slots=True)
class PhoneNumber:
    id: str
    waba_id: str
    display_phone_number: str  # digits only, as in webhook metadata
    verified_name: str
    access_token: str
    mps: int
    quality_rating: str = "GREEN"
    # Built once: every status and inbound event of this number points at these.
    statuses_channel: Channel = field(init=False, repr=False)
    messages_channel: Channel = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = (self.waba_id, self.id, self.display_phone_number)
        self.statuses_channel = Channel(STATUSES, *ids)
        self.messages_channel = Channel(MESSAGES, *ids)

    @property
    def throughput_level(self) -> str:
        # Meta reports STANDARD for the default 80 mps and HIGH for upgraded numbers.
        return "HIGH" if self.mps > 80 else "STANDARD"

    def graph_view(self) -> dict[str, Any]:
        """GET /{version}/{phone_number_id}: Meta's default fields for a Cloud API number."""
        return {
            "verified_name": self.verified_name,
            "code_verification_status": "VERIFIED",
            "display_phone_number": "+" + self.display_phone_number,
            "quality_rating": self.quality_rating,
            "platform_type": "CLOUD_API",
            "throughput": {"level": self.throughput_level},
            "id": self.id,
        }

    def admin_view(self) -> dict[str, Any]:
        return {
            "waba_id": self.waba_id,
            "phone_number_id": self.id,
            "access_token": self.access_token,
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "mps": self.mps,
            "quality_rating": self.quality_rating,
        }


@dataclass(slots=True)
class Waba:
    id: str
    phone_number_ids: list[str] = field(default_factory=list)


class Accounts:
    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids
        self.numbers: dict[str, PhoneNumber] = {}
        self.wabas: dict[str, Waba] = {}
        self._display_seq = 0

    def create_waba(self, waba_id: str | None = None) -> Waba:
        waba = Waba(waba_id or self._ids.node_id())
        self.wabas[waba.id] = waba
        return waba

    def add_number(
        self,
        *,
        waba_id: str,
        mps: int,
        phone_number_id: str | None = None,
        display_phone_number: str | None = None,
        verified_name: str | None = None,
        access_token: str | None = None,
        quality_rating: str = "GREEN",
    ) -> PhoneNumber:
        if display_phone_number is None:
            # 1555-prefixed numbers are the range Meta uses for test numbers.
            self._display_seq += 1
            display_phone_number = f"1555{self._display_seq:07d}"
        number = PhoneNumber(
            id=phone_number_id or self._ids.node_id(),
            waba_id=waba_id,
            display_phone_number=display_phone_number,
            verified_name=verified_name or "Tucano Test Business",
            access_token=access_token or self._ids.access_token(),
            mps=mps,
            quality_rating=quality_rating,
        )
        self.numbers[number.id] = number
        self.wabas[waba_id].phone_number_ids.append(number.id)
        return number

    def waba_accepts_token(self, waba_id: str, token: str) -> bool:
        waba = self.wabas.get(waba_id)
        if waba is None:
            return False
        return any(self.numbers[n].access_token == token for n in waba.phone_number_ids)
