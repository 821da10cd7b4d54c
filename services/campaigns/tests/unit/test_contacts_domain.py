import pytest
from tucano_campaigns.domain.contacts import InvalidPhoneNumber, normalize_phone, normalize_tags


@pytest.mark.parametrize(("raw", "e164"), [
    ("+55 11 98765-4321", "+5511987654321"),
    ("+1 (650) 555-0123", "+16505550123"),
    ("+447911123456", "+447911123456"),
])
def test_phone_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "+1 555", "hello", "+999 1234567", ""])
def test_invalid_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)


def test_a_national_number_needs_a_default_region() -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone("(11) 98765-4321")
    assert normalize_phone("(11) 98765-4321", "BR") == "+5511987654321"


def test_tags_are_lowercased_and_deduplicated_in_order() -> None:
    assert normalize_tags(["VIP", "b2b", "vip", " Lead:2026 "]) == ["vip", "b2b", "lead:2026"]


@pytest.mark.parametrize("tags", [["has space"], [""], ["-leading"], ["x" * 65],
                                  [f"t{i}" for i in range(51)]])
def test_bad_tags_are_refused(tags: list[str]) -> None:
    with pytest.raises(ValueError, match=r"tag|at most"):
        normalize_tags(tags)
