"""Graph reads, template management and the admin operations on a :class:`Simulator`.

Kept apart from ``engine`` (the send path) so each module stays small; same rule: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .accounts import QUALITY_RATINGS, PhoneNumber
from .engine import ENTRY_POINT_WINDOW_S, SERVICE_WINDOW_S, Simulator, normalize_recipient
from .errors import GraphError, invalid_parameter, missing_object
from .outcomes import FORCE_OUTCOMES, Force
from .payloads import TEMPLATE, Channel
from .settings import MAX_MPS
from .templates import CATEGORIES, EVENT_ONLY, HELLO_WORLD_COMPONENTS, Template
from .templates import STATUSES as TEMPLATE_STATUSES

_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")


def number_info(sim: Simulator, phone_number_id: str, authorization: str | None) -> dict[str, Any]:
    return sim.authorize_number(phone_number_id, authorization).graph_view()


def waba_numbers(sim: Simulator, waba_id: str, authorization: str | None) -> dict[str, Any]:
    sim.authorize_waba(waba_id, authorization)
    numbers = [sim.accounts.numbers[n] for n in sim.accounts.wabas[waba_id].phone_number_ids]
    return {"data": [n.graph_view() for n in numbers]}


def list_templates(
    sim: Simulator, waba_id: str, authorization: str | None, query: Mapping[str, str]
) -> tuple[dict[str, Any], bool, bool]:
    """Returns (body without next/previous links, has_next, has_previous)."""
    sim.authorize_waba(waba_id, authorization)
    try:
        limit = int(query.get("limit", "25"))
    except ValueError:
        raise invalid_parameter("Param limit must be an integer") from None
    if not 1 <= limit <= 1000:
        raise invalid_parameter("Param limit must be between 1 and 1000")
    filters = {k: query[k] for k in ("name", "status", "category", "language") if k in query}
    items, cursors, has_next, has_previous = sim.templates.page(
        waba_id,
        limit=limit,
        after=query.get("after"),
        before=query.get("before"),
        filters=filters,
    )
    body: dict[str, Any] = {"data": [t.graph_view() for t in items]}
    if cursors:
        body["paging"] = {"cursors": cursors}
    return body, has_next, has_previous


def create_template_graph(
    sim: Simulator, waba_id: str, authorization: str | None, body: Any
) -> dict[str, Any]:
    """POST /{waba_id}/message_templates: PENDING, approved after ``template_review_s``."""
    sim.authorize_waba(waba_id, authorization)
    review_s = sim.settings.template_review_s
    template = create_template(
        sim, waba_id, body, status="APPROVED" if review_s == 0 else "PENDING"
    )
    if review_s > 0:
        generation = sim.generation

        def approve() -> None:
            current = sim.templates.by_id.get(template.id)
            still_pending = current is template and template.status == "PENDING"
            if sim.generation == generation and still_pending:
                set_template_status(sim, template.id, "APPROVED")

        sim.later(review_s, approve)
    return {"id": template.id, "status": template.status, "category": template.category}


# --------------------------------------------------------------------------- admin


def create_phone_number(sim: Simulator, body: Mapping[str, Any]) -> PhoneNumber:
    mps = body.get("mps", sim.settings.default_mps)
    if not isinstance(mps, int) or isinstance(mps, bool) or not 1 <= mps <= MAX_MPS:
        raise invalid_parameter(f"mps must be an integer between 1 and {MAX_MPS}")
    display = body.get("display_phone_number")
    if display is not None and normalize_recipient(str(display)) is None:
        raise invalid_parameter("display_phone_number must be a phone number")
    quality = str(body.get("quality_rating", "GREEN")).upper()
    if quality not in QUALITY_RATINGS:
        raise invalid_parameter(f"quality_rating must be one of {sorted(QUALITY_RATINGS)}")
    for key in ("phone_number_id", "waba_id", "access_token", "verified_name"):
        if key in body and (not isinstance(body[key], str) or not body[key]):
            raise invalid_parameter(f"{key} must be a non-empty string")
    pnid = body.get("phone_number_id")
    if pnid is not None and pnid in sim.accounts.numbers:
        raise invalid_parameter(f"phone number {pnid} already exists")
    waba_id = body.get("waba_id")
    if waba_id is None or waba_id not in sim.accounts.wabas:
        waba = sim.accounts.create_waba(waba_id)
        # Every new WABA starts with Meta's sample template.
        sim.templates.add(
            template_id=sim.ids.node_id(),
            waba_id=waba.id,
            name="hello_world",
            language="en_US",
            category="UTILITY",
            status="APPROVED",
            components=[dict(c) for c in HELLO_WORLD_COMPONENTS],
        )
        waba_id = waba.id
    return sim.accounts.add_number(
        waba_id=waba_id,
        mps=mps,
        phone_number_id=pnid,
        display_phone_number=normalize_recipient(str(display)) if display else None,
        verified_name=body.get("verified_name"),
        access_token=body.get("access_token"),
        quality_rating=quality,
    )


def update_phone_number(
    sim: Simulator, phone_number_id: str, body: Mapping[str, Any]
) -> PhoneNumber:
    number = sim.number(phone_number_id)
    if "mps" in body:
        mps = body["mps"]
        if not isinstance(mps, int) or isinstance(mps, bool) or not 1 <= mps <= MAX_MPS:
            raise invalid_parameter(f"mps must be an integer between 1 and {MAX_MPS}")
        number.mps = mps
    if "quality_rating" in body:
        quality = str(body["quality_rating"]).upper()
        if quality not in QUALITY_RATINGS:
            raise invalid_parameter(f"quality_rating must be one of {sorted(QUALITY_RATINGS)}")
        number.quality_rating = quality
    return number


def create_template(sim: Simulator, waba_id: str, body: Any, *, status: str) -> Template:
    if waba_id not in sim.accounts.wabas:
        raise missing_object(waba_id)
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not _TEMPLATE_NAME.match(name):
        raise invalid_parameter(
            "Param name must be lowercase letters, digits and underscores (max 512)."
        )
    category = str(body.get("category", "")).upper()
    if category not in CATEGORIES:
        raise invalid_parameter(f"Param category must be one of {sorted(CATEGORIES)}")
    language = body.get("language")
    if not isinstance(language, str) or not language:
        raise invalid_parameter("The parameter language is required.")
    components = body.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise invalid_parameter("Param components must be an array of objects.")
    parameter_format = str(body.get("parameter_format", "POSITIONAL")).upper()
    if parameter_format not in {"POSITIONAL", "NAMED"}:
        raise invalid_parameter("Param parameter_format must be POSITIONAL or NAMED")
    status = str(body.get("status", status)).upper()
    if status not in TEMPLATE_STATUSES:
        raise invalid_parameter(f"status must be one of {sorted(TEMPLATE_STATUSES)}")
    if sim.templates.exists(waba_id, name, language):
        raise GraphError(
            100,
            f"Content in this language already exists: {name} ({language})",
            message="(#100) Invalid parameter",
            subcode=2388024,
        )
    return sim.templates.add(
        template_id=sim.ids.node_id(),
        waba_id=waba_id,
        name=name,
        language=language,
        category=category,
        status=status,
        components=components,
        parameter_format=parameter_format,
    )


def set_template_status(
    sim: Simulator,
    template_id: str,
    event: str,
    *,
    reason: str | None = None,
    other_info: Mapping[str, Any] | None = None,
) -> Template:
    """Change a template's status and emit ``message_template_status_update``."""
    template = sim.templates.by_id.get(template_id)
    if template is None:
        raise missing_object(template_id)
    event = event.upper()
    if event not in TEMPLATE_STATUSES and event not in EVENT_ONLY:
        allowed = sorted(TEMPLATE_STATUSES | set(EVENT_ONLY))
        raise invalid_parameter(f"status must be one of {allowed}")
    template.status = EVENT_ONLY.get(event, event)
    now = int(sim.wallclock())
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": reason if reason is not None else "NONE",
        "message_template_category": template.category,
    }
    if event == "DISABLED":
        value["disable_info"] = {"disable_date": now}
    if other_info:
        value["other_info"] = dict(other_info)
    waba = template.waba_id
    numbers = sim.accounts.wabas[waba].phone_number_ids
    pnid = numbers[0] if numbers else ""
    sim.emit([(0.0, (Channel(TEMPLATE, waba, pnid, ""), value, None, now))])
    return template


def inbound_text(
    sim: Simulator,
    phone_number_id: str,
    sender: str,
    text: str,
    name: str | None = None,
    *,
    entry_point: bool = False,
) -> str:
    """A WhatsApp user writes to a business number: ``messages`` webhook, and the 24 h
    customer-service window for that pair opens (as in production). With ``entry_point`` the
    user came from a click-to-WhatsApp ad: the message carries a ``referral`` and a 72 h free
    entry point window opens too."""
    number = sim.number(phone_number_id)
    wa_id = normalize_recipient(sender)
    if wa_id is None:
        raise invalid_parameter("from must be a phone number")
    if not text:
        raise invalid_parameter("text must be a non-empty string")
    now_wall = sim.wallclock()
    # Inbound traffic counts against the number's throughput too; never refused here.
    sim.throughput.try_acquire(number.id, number.mps, sim.clock())
    sim.windows[(number.id, wa_id)] = now_wall + SERVICE_WINDOW_S
    wamid = sim.ids.wamid(wa_id)
    item = {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(now_wall)),
        "type": "text",
        "text": {"body": text},
    }
    if entry_point:
        sim.entry_points[(number.id, wa_id)] = now_wall + ENTRY_POINT_WINDOW_S
        item["referral"] = {
            "source_url": "https://fb.me/tucano-sim-ad",
            "source_id": sim.ids.node_id(),
            "source_type": "ad",
            "headline": "Simulated click-to-WhatsApp ad",
            "body": "Chat with us",
            "ctwa_clid": sim.ids.conversation_id(),
        }
    contact = {"profile": {"name": name or "Sim User"}, "wa_id": wa_id}
    sim.emit([(0.0, (number.messages_channel, item, contact, 0))])
    return wamid


def set_force(sim: Simulator, body: Mapping[str, Any]) -> tuple[str, Force]:
    recipient = body.get("recipient")
    if not isinstance(recipient, str) or not recipient:
        raise invalid_parameter("recipient is required")
    outcome = body.get("outcome")
    if outcome not in FORCE_OUTCOMES:
        raise invalid_parameter(f"outcome must be one of {sorted(FORCE_OUTCOMES)}")
    code = body.get("code")
    if outcome in {"error", "fail"} and (not isinstance(code, int) or isinstance(code, bool)):
        raise invalid_parameter(f"outcome {outcome} needs an integer code")
    seconds = body.get("seconds", sim.settings.slow_s)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise invalid_parameter("seconds must be a non-negative number")
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise invalid_parameter("times must be a positive integer")
    pnid = body.get("phone_number_id")
    if pnid is not None and not isinstance(pnid, str):
        raise invalid_parameter("phone_number_id must be a string")
    key = normalize_recipient(recipient) or recipient
    force = Force(outcome, code, float(seconds), times, pnid)
    sim.forces.set(key, force)
    return key, force
