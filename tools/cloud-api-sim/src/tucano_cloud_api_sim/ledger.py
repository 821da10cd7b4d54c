"""The send ledger: one row per accepted send, plus counts of refused sends by error code.

The simulator runs on one asyncio thread and rows are appended synchronously inside the
request handler (no await between the decision to accept and the append), so concurrent
requests can neither lose nor double a row.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple


class LedgerRow(NamedTuple):
    seq: int
    message_id: str
    phone_number_id: str
    waba_id: str
    to: str  # as the client sent it
    recipient: str  # normalised wa_id
    type: str
    template_name: str | None
    template_language: str | None
    category: str
    biz_opaque_callback_data: str | None
    message_status: str
    outcome: str  # final status the simulator planned: "read", "delivered" or "failed:<code>"
    accepted_at: float  # unix time


class Ledger:
    def __init__(self) -> None:
        self.rows: list[LedgerRow] = []
        self.rejected: Counter[tuple[str, int]] = Counter()

    def record(self, *fields: Any) -> LedgerRow:
        """Append a row; ``fields`` are LedgerRow's fields after ``seq``, in order."""
        row = LedgerRow(len(self.rows) + 1, *fields)
        self.rows.append(row)
        return row

    def reject(self, phone_number_id: str, code: int) -> None:
        self.rejected[(phone_number_id, code)] += 1

    def summary(
        self,
        *,
        phone_number_id: str | None = None,
        offset: int = 0,
        limit: int = 1000,
        include_rows: bool = True,
    ) -> dict[str, Any]:
        rows = (
            self.rows
            if phone_number_id is None
            else [r for r in self.rows if r.phone_number_id == phone_number_id]
        )
        by_number = Counter(r.phone_number_id for r in rows)
        groups = Counter((r.phone_number_id, r.recipient, r.biz_opaque_callback_data) for r in rows)
        duplicates: list[dict[str, Any]] = [
            {
                "phone_number_id": pnid,
                "recipient": recipient,
                "biz_opaque_callback_data": opaque,
                "count": count,
            }
            for (pnid, recipient, opaque), count in groups.items()
            if count > 1
        ]
        rejected: Counter[str] = Counter()
        for (pnid, code), count in self.rejected.items():
            if phone_number_id is None or pnid == phone_number_id:
                rejected[str(code)] += count
        result: dict[str, Any] = {
            "total": len(rows),
            "unique_message_ids": len({r.message_id for r in rows}),
            "by_phone_number_id": dict(by_number),
            "by_message_status": dict(Counter(r.message_status for r in rows)),
            "rejected": dict(rejected),
            "rejected_total": sum(rejected.values()),
            "duplicate_groups": len(duplicates),
            "duplicate_sends": sum(d["count"] - 1 for d in duplicates),
            "duplicates": duplicates[:1000],
            "first_accepted_at": rows[0].accepted_at if rows else None,
            "last_accepted_at": rows[-1].accepted_at if rows else None,
        }
        if include_rows:
            result["offset"] = offset
            result["rows"] = [r._asdict() for r in rows[offset : offset + limit]]
        return result
