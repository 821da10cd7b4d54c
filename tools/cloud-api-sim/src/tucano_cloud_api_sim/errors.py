"""Meta's error codes as the simulator returns them: in Graph error envelopes (synchronous) and
in ``statuses[].errors[]`` of failed-status webhooks (asynchronous).

HTTP statuses follow Meta's table where a source gives one (YCloud's mirror of it); the rest
use 400, which is what Graph answers for a request it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: int
    http_status: int
    title: str
    details: str
    error_type: str = "OAuthException"
    subcode: int | None = None


_SPECS = [
    ErrorSpec(0, 401, "AuthException", "We were unable to authenticate the app user"),
    ErrorSpec(1, 400, "API Unknown", "Invalid request or possible server error"),
    ErrorSpec(2, 503, "API Service", "Temporary due to downtime or due to being overloaded"),
    ErrorSpec(4, 429, "API Too Many Calls", "The app has reached its API call rate limit"),
    ErrorSpec(10, 403, "Permission Denied", "Permission is either not granted or has been removed"),
    ErrorSpec(100, 400, "Invalid parameter", "Invalid parameter"),
    ErrorSpec(190, 401, "Access token has expired", "Invalid OAuth access token"),
    ErrorSpec(2500, 400, "Unknown path components", "Unknown path components"),
    ErrorSpec(368, 400, "Temporarily blocked for policies violations", "Temporarily blocked"),
    ErrorSpec(80007, 400, "Rate limit issues", "The business account reached its rate limit"),
    ErrorSpec(
        130429,
        429,
        "Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number in a short period of time",
        subcode=2494055,
    ),
    ErrorSpec(130472, 400, "User's number is part of an experiment", "Part of an experiment"),
    ErrorSpec(131000, 500, "Something went wrong", "Message failed to send: unknown error"),
    ErrorSpec(131005, 403, "Access denied", "Permission is either not granted or has been removed"),
    ErrorSpec(131008, 400, "Required parameter is missing", "A required parameter is missing"),
    ErrorSpec(131009, 400, "Parameter value is not valid", "A parameter value is not valid"),
    ErrorSpec(131016, 503, "Service unavailable", "A service is temporarily unavailable"),
    ErrorSpec(131021, 400, "Recipient cannot be sender", "Sender and recipient are the same"),
    ErrorSpec(
        131026,
        400,
        "Message undeliverable",
        "Message failed to send because the recipient is not a valid WhatsApp user, has not "
        "accepted the terms of service, or uses an old WhatsApp version",
    ),
    ErrorSpec(131031, 400, "Account has been locked", "The business account has been locked"),
    ErrorSpec(131042, 400, "Business eligibility payment issue", "Payment method issue"),
    ErrorSpec(
        131047,
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    ErrorSpec(131048, 400, "Spam rate limit hit", "Message failed to send because of spam limits"),
    ErrorSpec(
        131049,
        400,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    ErrorSpec(
        131050,
        400,
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
        "messages on WhatsApp from your business",
        "The user has stopped marketing messages from this business",
    ),
    ErrorSpec(131051, 400, "Unsupported message type", "Message type is not currently supported"),
    ErrorSpec(
        131056,
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time",
    ),
    ErrorSpec(131057, 400, "Account in maintenance mode", "Business Account is in maintenance"),
    ErrorSpec(
        132000,
        400,
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the number of variable "
        "parameters defined for the template",
    ),
    ErrorSpec(
        132001,
        404,
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or has not been approved",
    ),
    ErrorSpec(132005, 400, "Translated text too long", "Translated text is too long"),
    ErrorSpec(132007, 400, "Template format character policy violated", "Policy violated"),
    ErrorSpec(132012, 400, "Template parameter format mismatch", "Parameter format mismatch"),
    ErrorSpec(132015, 400, "Template is Paused", "Template is paused due to low quality"),
    ErrorSpec(132016, 400, "Template is Disabled", "Template has been paused too many times"),
    ErrorSpec(133010, 400, "Account not registered", "Phone number is not registered"),
]

CATALOGUE: dict[int, ErrorSpec] = {spec.code: spec for spec in _SPECS}


def spec_for(code: int) -> ErrorSpec:
    """Known spec, or a generic 400 one so forced unknown codes still produce a Meta shape."""
    return CATALOGUE.get(code) or ErrorSpec(code, 400, f"Error {code}", f"Error {code}")


class GraphError(Exception):
    """A synchronous Graph API error; rendered as Meta's ``{"error": {...}}`` envelope."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        message: str | None = None,
        error_type: str | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
    ) -> None:
        spec = spec_for(code)
        self.code = code
        self.http_status = http_status or spec.http_status
        self.details = details or spec.details
        self.message = message or f"(#{code}) {spec.title}"
        self.error_type = error_type or spec.error_type
        self.subcode = subcode if subcode is not None else spec.subcode
        super().__init__(self.message)

    def envelope(self, fbtrace_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id
        return {"error": error}


def invalid_parameter(details: str) -> GraphError:
    return GraphError(100, details, message=f"(#100) {details}")


def bad_token() -> GraphError:
    return GraphError(
        190,
        "Invalid OAuth access token",
        message="Invalid OAuth access token - Cannot parse access token",
    )


def missing_object(node_id: str) -> GraphError:
    return GraphError(
        100,
        f"Object with ID '{node_id}' does not exist",
        message=(
            f"Unsupported post request. Object with ID '{node_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please "
            "read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
        error_type="GraphMethodException",
        subcode=33,
    )


def webhook_error(code: int) -> dict[str, Any]:
    """The error object carried by a ``failed`` status (``statuses[].errors[]``)."""
    spec = spec_for(code)
    return {
        "code": code,
        "title": spec.title,
        "message": spec.title,
        "error_data": {"details": spec.details},
        "href": ERROR_CODES_HREF,
    }
