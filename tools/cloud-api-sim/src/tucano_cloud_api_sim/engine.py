"""The simulator's domain core: state (accounts, templates, limits, ledger) and the send path.

No I/O here. Webhook events leave through ``emit([(delay_s, event), ...])`` and timed state
changes through ``later(delay_s, callback)``; the HTTP layer wires both to the event loop and
the webhook dispatcher, tests wire them to lists. Reads, template management and admin
operations live in ``management``.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .accounts import Accounts, PhoneNumber
from .errors import GraphError, bad_token, invalid_parameter, missing_object, webhook_error
from .ids import IdFactory
from .ledger import Ledger
from .outcomes import (
    FAILED,
    ForceRegistry,
    PlannedStatus,
    plan_statuses,
    pricing,
)
from .payloads import WebhookEvent
from .ratelimit import PairLimiter, ThroughputLimiter
from .settings import Settings, apply_overrides
from .templates import (
    Template,
    TemplateRegistry,
    validate_components,
)

Emit = Callable[[list[tuple[float, WebhookEvent]]], None]
Later = Callable[[float, Callable[[], None]], None]

SERVICE_WINDOW_S = 24 * 3600
ENTRY_POINT_WINDOW_S = 72 * 3600
_PHONE_PUNCT = str.maketrans("", "", "+ -().")


def normalize_recipient(to: str) -> str | None:
    """wa_id for a phone number given in E.164 or loosely formatted; None if not a number."""
    digits = to if to.isdigit() else to.translate(_PHONE_PUNCT)
    if digits.isdigit() and 7 <= len(digits) <= 15:
        return digits
    return None


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


@dataclass(slots=True)
class Accepted:
    response: dict[str, Any]
    slow_s: float


class Simulator:
    def __init__(
        self,
        settings: Settings,
        emit: Emit,
        later: Later,
        *,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.initial_settings = settings
        self.emit = emit
        self.later = later
        self.clock = clock
        self.wallclock = wallclock
        self.reset()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget everything: back to the state at start-up, including settings."""
        self.settings = s = self.initial_settings
        self.rng = random.Random(s.seed)
        # A separate stream for ids keeps outcome decisions stable when ids are drawn.
        self.ids = IdFactory(random.Random(None if s.seed is None else s.seed + 1))
        self._conv_salt = str(self.rng.random()).encode()[:64]
        self.accounts = Accounts(self.ids)
        self.templates = TemplateRegistry()
        self.ledger = Ledger()
        self.forces = ForceRegistry()
        self.throughput = ThroughputLimiter(s.throughput_burst_s)
        self.pairs = PairLimiter(s.pair_window_s, s.pair_burst)
        self.windows: dict[tuple[str, str], float] = {}
        self.entry_points: dict[tuple[str, str], float] = {}  # free entry point windows
        self._plans: dict[int | None, list[PlannedStatus]] = {}
        self.generation = getattr(self, "generation", 0) + 1

    def configure(self, overrides: Mapping[str, Any]) -> Settings:
        self.settings = s = apply_overrides(self.settings, overrides)
        self._plans.clear()
        self.throughput.set_burst(s.throughput_burst_s)
        self.pairs.configure(s.pair_window_s, s.pair_burst)
        return s

    def fbtrace_id(self) -> str:
        return self.ids.fbtrace_id()

    # ------------------------------------------------------------------ auth

    def number(self, phone_number_id: str) -> PhoneNumber:
        number = self.accounts.numbers.get(phone_number_id)
        if number is None:
            raise missing_object(phone_number_id)
        return number

    def authorize_number(self, phone_number_id: str, authorization: str | None) -> PhoneNumber:
        token = _bearer(authorization)
        number = self.accounts.numbers.get(phone_number_id)
        if number is not None and token == number.access_token:
            return number
        # A valid token for another object learns that this id does not exist; anything else
        # is an authentication failure (190), as with Graph.
        if number is None and token is not None and self._token_known(token):
            raise missing_object(phone_number_id)
        raise bad_token()

    def _token_known(self, token: str) -> bool:
        return any(n.access_token == token for n in self.accounts.numbers.values())

    def authorize_waba(self, waba_id: str, authorization: str | None) -> str:
        token = _bearer(authorization)
        if token is None or not self._token_known(token):
            raise bad_token()
        if waba_id not in self.accounts.wabas:
            raise missing_object(waba_id)
        if not self.accounts.waba_accepts_token(waba_id, token):
            raise GraphError(
                200,
                "The access token does not have permission on this WhatsApp Business Account",
                message="(#200) Permissions error",
                http_status=403,
            )
        return waba_id

    # ------------------------------------------------------------------ send

    def send(self, phone_number_id: str, authorization: str | None, body: Any) -> Accepted:
        """Decide one POST /messages. Returns the 200 body or raises GraphError; every refusal
        after authentication is counted in the ledger by code."""
        number = self.authorize_number(phone_number_id, authorization)
        try:
            return self._send(number, body)
        except GraphError as exc:
            self.ledger.reject(phone_number_id, exc.code)
            raise

    def _send(self, number: PhoneNumber, body: Any) -> Accepted:
        s = self.settings
        pnid = number.id
        if not isinstance(body, dict):
            raise invalid_parameter("The request body must be a JSON object.")
        if body.get("messaging_product") != "whatsapp":
            raise invalid_parameter("The parameter messaging_product is required.")
        to = body.get("to")
        if not isinstance(to, str) or not to:
            raise invalid_parameter("The parameter to is required.")
        opaque = body.get("biz_opaque_callback_data")
        if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
            raise invalid_parameter(
                "The parameter biz_opaque_callback_data must be a string of at most 512 characters."
            )
        recipient = normalize_recipient(to)

        force = self.forces.take(recipient or to, pnid) if self.forces.entries else None
        slow_s = 0.0
        failure: int | None = None
        held = False
        if force is not None:
            if force.outcome == "error":
                raise GraphError(131000 if force.code is None else force.code)
            if force.outcome == "fail":
                failure = force.code
            elif force.outcome == "slow":
                slow_s = force.seconds
            elif force.outcome == "held":
                held = True

        if recipient is None:
            raise GraphError(131026, "Recipient phone number is not a valid WhatsApp phone number")
        if recipient == number.display_phone_number:
            raise GraphError(131021)

        msg_type = body.get("type", "text")
        template: Template | None = None
        now_wall = self.wallclock()
        if msg_type == "template":
            template = self._template_for_send(number, body.get("template"))
            category = template.category.lower()
        elif msg_type == "text":
            text = body.get("text")
            text_body = text.get("body") if isinstance(text, dict) else None
            if not isinstance(text_body, str) or not text_body:
                raise invalid_parameter("The parameter text['body'] is required.")
            if len(text_body) > 4096:
                raise invalid_parameter("Param text['body'] must be at most 4096 characters long.")
            category = "service"
            if (
                failure is None
                and s.enforce_service_window
                and self.windows.get((pnid, recipient), 0.0) <= now_wall
            ):
                failure = 131047  # Meta accepts, then fails it in the status webhook
        else:
            raise GraphError(131051, f"Message type {msg_type!r} is not supported by the simulator")

        if force is None or force.outcome != "accept":
            rng = self.rng
            if s.error_rate and rng.random() < s.error_rate:
                raise GraphError(131000)
            if s.unavailable_rate and rng.random() < s.unavailable_rate:
                raise GraphError(131016)
            if s.slow_rate and rng.random() < s.slow_rate:
                slow_s = s.slow_s

        now = self.clock()
        if not self.throughput.try_acquire(pnid, number.mps, now):
            raise GraphError(130429)
        if not self.pairs.try_acquire(pnid, recipient, now):
            raise GraphError(131056)

        # ---- accepted: nothing below may fail or await, so the ledger stays exact
        if failure is None and s.unreachable_prefix and recipient.startswith(s.unreachable_prefix):
            failure = 131026
        if not held and category == "marketing" and s.held_rate and self.rng.random() < s.held_rate:
            held = True
        wamid = self.ids.wamid(recipient)
        plan = self._plans.get(failure)
        if plan is None:
            plan = plan_statuses(self.rng, s, failure)
            if s.read_rate >= 1.0 and not s.skip_delivered_rate and not s.out_of_order_rate:
                # No randomness in the plan: every message with this outcome shares it.
                self._plans[failure] = plan
        message_status = "held_for_quality_assessment" if held else "accepted"
        self.ledger.record(
            wamid,
            pnid,
            number.waba_id,
            to,
            recipient,
            msg_type,
            template.name if template else None,
            template.language if template else None,
            category,
            opaque,
            message_status,
            f"failed:{failure}" if failure is not None else plan[-1].status,
            now_wall,
        )
        self._emit_statuses(
            number=number,
            wamid=wamid,
            recipient=recipient,
            opaque=opaque,
            category=category,
            plan=plan,
            failure=failure,
            now_wall=now_wall,
        )
        return Accepted(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": recipient}],
                "messages": [{"id": wamid, "message_status": message_status}],
            },
            slow_s,
        )

    def _template_for_send(self, number: PhoneNumber, spec: Any) -> Template:
        if not isinstance(spec, dict):
            raise invalid_parameter("The parameter template is required.")
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise invalid_parameter("The parameter template['name'] is required.")
        language = spec.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(code, str) or not code:
            raise invalid_parameter("The parameter template['language']['code'] is required.")
        template = self.templates.lookup(number.waba_id, name, code)
        if template is None:
            raise GraphError(132001, f"template name ({name}) does not exist in {code}")
        if template.status == "PAUSED":
            raise GraphError(132015, f"Template {name} is paused due to low quality")
        if template.status == "DISABLED":
            raise GraphError(132016, f"Template {name} has been disabled")
        if template.status != "APPROVED":
            raise GraphError(
                132001, f"template name ({name}) is {template.status.lower()} in {code}"
            )
        validate_components(template, spec.get("components"))
        return template

    def _emit_statuses(
        self,
        *,
        number: PhoneNumber,
        wamid: str,
        recipient: str,
        opaque: str | None,
        category: str,
        plan: list[PlannedStatus],
        failure: int | None,
        now_wall: float,
    ) -> None:
        s = self.settings
        in_window = category != "marketing" and self.windows.get((number.id, recipient), 0.0) > (
            now_wall
        )
        entry_point = (
            bool(self.entry_points)
            and self.entry_points.get((number.id, recipient), 0.0) > now_wall
        )
        price = pricing(category, in_window, entry_point) if failure is None else None
        if entry_point:
            category = "referral_conversion"  # the conversation origin Meta reports then
        conversation_id = ""
        if price is not None and s.include_conversation:
            conversation_id = self._conversation_id(number.id, recipient, category, now_wall)
        contact = {"wa_id": recipient} if s.status_contacts else None
        first_priced = True
        origin = {"type": category}  # shared: payload objects are only ever serialised
        events: list[tuple[float, WebhookEvent]] = []
        channel = number.statuses_channel
        for step in plan:
            item: dict[str, Any] = {
                "id": wamid,
                "status": step.status,
                "timestamp": str(int(now_wall + step.happened_after)),
                "recipient_id": recipient,
            }
            if opaque is not None:
                item["biz_opaque_callback_data"] = opaque
            if step.with_pricing and price is not None:
                if s.include_conversation:
                    conversation: dict[str, Any] = {"id": conversation_id}
                    if first_priced:
                        conversation["expiration_timestamp"] = str(int(now_wall) + SERVICE_WINDOW_S)
                    conversation["origin"] = origin
                    item["conversation"] = conversation
                item["pricing"] = price
                first_priced = False
            if step.status == FAILED and failure is not None:
                item["errors"] = [webhook_error(failure)]
            event = (channel, item, contact, 0)
            events.append((step.deliver_after, event))
            if s.duplicate_rate and self.rng.random() < s.duplicate_rate:
                # Meta delivers at least once; a duplicate arrives a little later.
                events.append((step.deliver_after + s.delivered_delay_s / 2 + 0.01, event))
        self.emit(events)

    def _conversation_id(self, pnid: str, recipient: str, category: str, now: float) -> str:
        # Stateless: same number, user, category and day give the same id.
        day = int(now // SERVICE_WINDOW_S)
        key = f"{pnid}:{recipient}:{category}:{day}".encode()
        return hashlib.blake2b(key, digest_size=16, key=self._conv_salt).hexdigest()
