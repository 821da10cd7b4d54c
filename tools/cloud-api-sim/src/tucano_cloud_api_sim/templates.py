"""Message templates per WABA: registry, Meta-style cursor paging and send-time validation."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import GraphError, invalid_parameter

CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
STATUSES = frozenset(
    {
        "APPROVED",
        "PENDING",
        "REJECTED",
        "PAUSED",
        "DISABLED",
        "IN_APPEAL",
        "PENDING_DELETION",
        "DELETED",
        "ARCHIVED",
        "LIMIT_EXCEEDED",
        "LOCKED",
    }
)
# Webhook events that do not name a stored status of their own.
EVENT_ONLY = {"FLAGGED": "APPROVED", "REINSTATED": "APPROVED", "UNARCHIVED": "APPROVED"}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MEDIA_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})

HELLO_WORLD_COMPONENTS: list[dict[str, Any]] = [
    {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
    {
        "type": "BODY",
        "text": "Welcome and congratulations!! This message demonstrates your ability to send a "
        "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking "
        "the time to test with us.",
    },
    {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
]


def _placeholders(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for name in _PLACEHOLDER.findall(text):
        seen.setdefault(name, None)
    return list(seen)


@dataclass(slots=True)
class Expected:
    """Parameters a send must supply, by send component key ("header", "body", "button:0")."""

    slots: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    status: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    seq: int = 0
    expected: Expected = field(default_factory=Expected)

    def graph_view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }


def expected_parameters(components: list[dict[str, Any]]) -> Expected:
    """What a send must provide: one parameter per distinct placeholder in the header and body
    text, one media parameter for a media header, one per URL button with a placeholder."""
    slots: dict[str, list[str]] = {}
    for comp in components:
        kind = str(comp.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(comp.get("format", "TEXT")).upper()
            if fmt in _MEDIA_FORMATS:
                slots["header"] = [fmt.lower()]
            elif names := _placeholders(str(comp.get("text", ""))):
                slots["header"] = names
        elif kind == "BODY":
            if names := _placeholders(str(comp.get("text", ""))):
                slots["body"] = names
        elif kind == "BUTTONS":
            for index, button in enumerate(comp.get("buttons") or []):
                btype = str(button.get("type", "")).upper()
                if btype == "URL" and _placeholders(str(button.get("url", ""))):
                    slots[f"button:{index}"] = ["url"]
                elif btype in {"COPY_CODE", "OTP"}:
                    slots[f"button:{index}"] = ["code"]
    return Expected(slots)


def validate_components(template: Template, components: Any) -> None:
    """Raise 132000 when the send's parameters do not match the template (count, or names for
    NAMED templates). Mirrors Meta's 'localizable_params' wording in the details."""
    if not components and not template.expected.slots:
        return  # the common case (no variables) stays cheap on the send path
    if components is None:
        components = []
    if not isinstance(components, list):
        raise invalid_parameter("The parameter template['components'] must be an array.")
    given: dict[str, list[Any]] = {}
    for comp in components:
        if not isinstance(comp, dict):
            raise invalid_parameter("The parameter template['components'] is invalid.")
        kind = str(comp.get("type", "")).lower()
        params = comp.get("parameters") or []
        if not isinstance(params, list):
            raise invalid_parameter(f"The parameter {kind}['parameters'] must be an array.")
        key = f"button:{comp.get('index', '0')}" if kind == "button" else kind
        given.setdefault(key, []).extend(params)
    expected = template.expected.slots
    for key in sorted(set(expected) | set(given)):
        want = expected.get(key, [])
        got = given.get(key, [])
        if key.startswith("button:") and not want:
            continue  # quick-reply payloads are optional and not counted
        if len(got) != len(want):
            raise GraphError(
                132000,
                f"{key.split(':')[0]}: number of localizable_params ({len(got)}) does not match "
                f"the expected number of params ({len(want)})",
            )
        if template.parameter_format == "NAMED" and key in {"header", "body"}:
            names = {p.get("parameter_name") for p in got if isinstance(p, dict)}
            if names != set(want):
                raise GraphError(
                    132000,
                    f"{key}: parameter names {sorted(map(str, names))} do not match the "
                    f"template's named params {sorted(want)}",
                )


class TemplateRegistry:
    def __init__(self) -> None:
        self._by_waba: dict[str, dict[tuple[str, str], Template]] = {}
        self.by_id: dict[str, Template] = {}
        self._seq = 0

    def add(
        self,
        *,
        template_id: str,
        waba_id: str,
        name: str,
        language: str,
        category: str,
        status: str,
        components: list[dict[str, Any]],
        parameter_format: str = "POSITIONAL",
    ) -> Template:
        self._seq += 1
        template = Template(
            id=template_id,
            waba_id=waba_id,
            name=name,
            language=language,
            category=category,
            status=status,
            components=components,
            parameter_format=parameter_format,
            seq=self._seq,
            expected=expected_parameters(components),
        )
        waba = self._by_waba.setdefault(waba_id, {})
        old = waba.get((name, language))
        if old is not None:
            del self.by_id[old.id]
        waba[(name, language)] = template
        self.by_id[template.id] = template
        return template

    def lookup(self, waba_id: str, name: str, language: str) -> Template | None:
        return self._by_waba.get(waba_id, {}).get((name, language))

    def exists(self, waba_id: str, name: str, language: str) -> bool:
        return (name, language) in self._by_waba.get(waba_id, {})

    def for_waba(self, waba_id: str) -> list[Template]:
        return sorted(self._by_waba.get(waba_id, {}).values(), key=lambda t: t.seq)

    def page(
        self,
        waba_id: str,
        *,
        limit: int,
        after: str | None,
        before: str | None,
        filters: dict[str, str],
    ) -> tuple[list[Template], dict[str, str], bool, bool]:
        """One page in creation order. Cursors are opaque like Meta's (base64 of a position).
        Returns (items, cursors, has_next, has_previous)."""
        items = [t for t in self.for_waba(waba_id) if _matches(t, filters)]
        start = 0
        if after is not None:
            pos = _decode_cursor(after)
            start = next((i for i, t in enumerate(items) if t.seq > pos), len(items))
            end = min(len(items), start + limit)
        elif before is not None:
            pos = _decode_cursor(before)
            end = next((i for i, t in enumerate(items) if t.seq >= pos), len(items))
            start = max(0, end - limit)
        else:
            end = min(len(items), limit)
        chunk = items[start:end]
        cursors: dict[str, str] = {}
        if chunk:
            cursors = {
                "before": _encode_cursor(chunk[0].seq),
                "after": _encode_cursor(chunk[-1].seq),
            }
        return chunk, cursors, end < len(items), start > 0


def _matches(template: Template, filters: dict[str, str]) -> bool:
    if (name := filters.get("name")) and name not in template.name:
        return False
    for key in ("status", "category", "language"):
        wanted = filters.get(key)
        if wanted and getattr(template, key).upper() != wanted.upper():
            return False
    return True


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"tpl:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "tpl":
            raise ValueError(raw)
        return int(number)
    except ValueError:
        raise invalid_parameter("Invalid cursor") from None
