"""paging: opaque page tokens bound to their list, and page_size bounds."""

from __future__ import annotations

import base64
import json

import pytest
from tucano_kit.errors import FieldViolation, InvalidArgument
from tucano_kit.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode, encode, page_size


def test_a_token_round_trips_its_cursor() -> None:
    cursor = ["2025-01-02T03:04:05+00:00", "0f0e0d0c-0b0a-0908-0706-050403020100", 7, None]

    token = encode("campaigns.list", cursor)

    assert decode("campaigns.list", token) == cursor
    assert "=" not in token and "+" not in token and "/" not in token


def test_an_empty_token_means_the_first_page() -> None:
    assert decode("campaigns.list", "") is None


def test_a_token_from_another_list_is_rejected() -> None:
    token = encode("contacts.list", [1])

    with pytest.raises(InvalidArgument) as caught:
        decode("campaigns.list", token)

    assert caught.value.violations == [
        FieldViolation("page_token", "is not a page token of this list")]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("token", [
    "%%%not-base64%%%",
    "é",
    _b64(b"not json"),
    _b64(b"\xff\xfe"),
    _b64(json.dumps([1, 2]).encode()),
    _b64(json.dumps("campaigns.list").encode()),
    _b64(json.dumps(42).encode()),
    _b64(json.dumps({"s": "campaigns.list"}).encode()),
    _b64(json.dumps({"s": "campaigns.list", "c": "not a list"}).encode()),
    _b64(json.dumps({"c": [1]}).encode()),
    _b64(b"[" * 100_000),  # nesting deep enough to blow the JSON parser's recursion limit
])
def test_garbage_tokens_are_invalid_arguments_on_the_named_field(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        decode("campaigns.list", token, field="next_page_token")

    assert [v.field for v in caught.value.violations] == ["next_page_token"]


@pytest.mark.parametrize(("requested", "granted"), [
    (0, DEFAULT_PAGE_SIZE),
    (1, 1),
    (MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    (MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE),
    (10**9, MAX_PAGE_SIZE),
])
def test_page_size_defaults_and_clamps(requested: int, granted: int) -> None:
    assert page_size(requested) == granted


def test_a_negative_page_size_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as caught:
        page_size(-1)

    assert caught.value.violations == [FieldViolation("page_size", "must not be negative")]
