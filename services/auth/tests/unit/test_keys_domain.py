from datetime import UTC, datetime, timedelta

from tucano_auth.domain.keys import VERIFY_LEEWAY, SigningKey, published

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def key(kid: str, age_min: int, retired_min_ago: int | None = None) -> SigningKey:
    retired = NOW - timedelta(minutes=retired_min_ago) if retired_min_ago is not None else None
    return SigningKey(kid, {"kid": kid}, NOW - timedelta(minutes=age_min), retired)


def test_the_active_key_and_recently_retired_keys_are_published_newest_first() -> None:
    keys = [key("old", 60, retired_min_ago=5), key("new", 5)]
    assert [k.kid for k in published(keys, NOW, TTL)] == ["new", "old"]


def test_a_key_retired_longer_ago_than_a_token_lives_is_no_longer_published() -> None:
    gone = key("gone", 120, retired_min_ago=11)
    keep = SigningKey("edge", {}, NOW - timedelta(hours=1),
                      NOW - TTL - VERIFY_LEEWAY + timedelta(seconds=1))
    assert [k.kid for k in published([gone, keep, key("new", 1)], NOW, TTL)] == ["new", "edge"]
