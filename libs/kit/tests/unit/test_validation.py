"""validation.Violations: every bad field of a request reported at once."""

from __future__ import annotations

import uuid

import pytest
from tucano_kit.errors import FieldViolation, InvalidArgument
from tucano_kit.validation import Violations


def test_collects_every_violation_and_raises_them_together() -> None:
    with pytest.raises(InvalidArgument) as caught, Violations() as v:
        v.text("   ", "display_name", required=True)
        v.uuid("not-a-uuid", "tenant_id")
        v.check(False, "page_size", "must be positive")
        v.text("x" * 11, "note", max_len=10)

    assert caught.value.violations == [
        FieldViolation("display_name", "is required"),
        FieldViolation("tenant_id", "must be a UUID"),
        FieldViolation("page_size", "must be positive"),
        FieldViolation("note", "must be at most 10 characters"),
    ]
    assert caught.value.reason == "INVALID_ARGUMENT"


def test_a_valid_request_raises_nothing_and_returns_parsed_values() -> None:
    tenant = uuid.uuid4()

    with Violations() as v:
        name = v.text("  Acme  ", "display_name", required=True)
        tenant_id = v.uuid(str(tenant), "tenant_id")
        assert v.check(True, "x", "never")

    assert (name, tenant_id) == ("Acme", tenant)
    assert v.items == []


def test_text_allows_exactly_max_len_characters_after_trimming() -> None:
    with Violations() as v:
        assert v.text(" " + "x" * 10 + " ", "note", max_len=10) == "x" * 10


def test_optional_empty_text_is_fine() -> None:
    with Violations() as v:
        assert v.text("", "note") == ""


def test_uuid_required_and_optional() -> None:
    v = Violations()
    assert v.uuid("", "tenant_id") is None
    assert v.uuid("", "campaign_id", required=False) is None
    assert v.items == [FieldViolation("tenant_id", "is required")]


@pytest.mark.parametrize("bad", ["nope", "1234", "g" * 32, "0f0e0d0c-0b0a-0908-0706-05040302010"])
def test_malformed_uuids_are_violations(bad: str) -> None:
    v = Violations()
    assert v.uuid(bad, "id") is None
    assert v.items == [FieldViolation("id", "must be a UUID")]


def test_an_exception_inside_the_block_is_not_masked() -> None:
    with pytest.raises(KeyError), Violations() as v:
        v.add("field", "bad")
        raise KeyError("boom")


def test_raise_if_any_outside_a_with_block() -> None:
    v = Violations()
    v.raise_if_any()
    v.add("a", "b")
    with pytest.raises(InvalidArgument):
        v.raise_if_any()
