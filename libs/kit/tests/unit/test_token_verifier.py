"""auth.TokenVerifier against a static JWKS with real ES256 keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from tucano_kit.auth import Caller, Role, StaticJwks, TokenVerifier
from tucano_kit.errors import Unauthenticated
from tucano_kit.testing import TokenFactory

ISSUER = "https://auth.tucano.test"
AUDIENCE = "tucano-api"


class Key:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk.update(kid=kid, alg="ES256", use="sig")

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(claims, self.private, algorithm="ES256",
                          headers={"kid": self.kid, **headers})


class CountingJwks(StaticJwks):
    def __init__(self, keys: list[dict[str, Any]]):
        super().__init__(keys)
        self.fetches = 0

    async def fetch(self) -> list[dict[str, Any]]:
        self.fetches += 1
        return await super().fetch()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


KEY = Key("k1")


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "tid": "tenant-1", "role": "admin",
        "sid": "session-1", "jti": str(uuid.uuid4()), "iat": now, "exp": now + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def verifier(source: StaticJwks | None = None, clock: FakeClock | None = None) -> TokenVerifier:
    return TokenVerifier(source or StaticJwks([KEY.jwk]), issuer=ISSUER, audience=AUDIENCE,
                         min_refresh_s=10.0, clock=clock or FakeClock())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()),
                     b64(signature)])


async def reason_for(token: str, v: TokenVerifier | None = None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await (v or verifier()).verify(token)
    return caught.value.reason


async def test_a_valid_user_token_gives_the_caller() -> None:
    c = claims()

    caller = await verifier().verify(KEY.sign(c))

    assert caller == Caller(subject="user-1", tenant_id="tenant-1", role=Role.ADMIN,
                            session_id="session-1", token_id=c["jti"], is_service=False,
                            is_platform_operator=False)


async def test_service_and_operator_tokens() -> None:
    service = await verifier().verify(KEY.sign(claims(typ="service", tid=None, role=None)))
    operator = await verifier().verify(KEY.sign(claims(op=True, tid=None, role=None)))

    assert (service.is_service, service.tenant_id, service.role) == (True, None, None)
    assert (operator.is_platform_operator, operator.is_service) == (True, False)


async def test_expired_token() -> None:
    now = int(time.time())
    assert await reason_for(KEY.sign(claims(iat=now - 7200, exp=now - 3600))) == "TOKEN_EXPIRED"


async def test_expiry_within_the_leeway_is_tolerated() -> None:
    await verifier().verify(KEY.sign(claims(exp=int(time.time()) - 5)))


@pytest.mark.parametrize("overrides", [
    {"aud": "someone-else"},
    {"iss": "https://evil.example"},
    {"exp": None},
    {"iat": None},
    {"jti": None},
    {"sub": None},
    {"nbf": int(time.time()) + 3600},
    {"role": "emperor"},
])
async def test_tokens_with_bad_claims_are_invalid(overrides: dict[str, Any]) -> None:
    assert await reason_for(KEY.sign(claims(**overrides))) == "INVALID_TOKEN"


async def test_alg_none_is_refused() -> None:
    token = unsigned({"alg": "none", "typ": "JWT", "kid": KEY.kid}, claims())

    assert await reason_for(token) == "BAD_ALGORITHM"


async def test_hs256_signed_with_the_public_key_is_refused() -> None:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KEY.kid}).encode())
    payload = b64(json.dumps(claims()).encode())
    mac = hmac.new(KEY.public_pem(), f"{header}.{payload}".encode(), hashlib.sha256).digest()

    assert await reason_for(f"{header}.{payload}.{b64(mac)}") == "BAD_ALGORITHM"


@pytest.mark.parametrize("header", [
    {"jku": "https://evil.example/jwks.json"},
    {"x5u": "https://evil.example/cert.pem"},
    {"jwk": {"kty": "EC"}},
])
async def test_headers_carrying_key_references_are_refused(header: dict[str, Any]) -> None:
    assert await reason_for(KEY.sign(claims(), **header)) == "BAD_HEADER"


async def test_a_tampered_payload_fails_the_signature() -> None:
    header, _, signature = KEY.sign(claims(role="viewer")).split(".")
    forged = b64(json.dumps(claims(role="owner")).encode())

    assert await reason_for(f"{header}.{forged}.{signature}") == "INVALID_TOKEN"


async def test_a_token_signed_by_another_key_with_a_known_kid_is_invalid() -> None:
    impostor = Key(KEY.kid)

    assert await reason_for(impostor.sign(claims())) == "INVALID_TOKEN"


async def test_a_token_without_kid_is_refused() -> None:
    token = jwt.encode(claims(), KEY.private, algorithm="ES256")

    assert await reason_for(token) == "UNKNOWN_KEY"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "..."])
async def test_malformed_tokens(token: str) -> None:
    assert await reason_for(token) == "MALFORMED_TOKEN"


async def test_an_unknown_kid_refetches_the_jwks_once_respecting_min_refresh() -> None:
    source, clock = CountingJwks([KEY.jwk]), FakeClock()
    v = verifier(source, clock)
    stranger = Key("unknown")

    await v.verify(KEY.sign(claims()))
    assert source.fetches == 1

    clock.now += 11  # past min_refresh_s: the unknown kid triggers exactly one refetch
    assert await reason_for(stranger.sign(claims()), v) == "UNKNOWN_KEY"
    assert source.fetches == 2

    clock.now += 5  # within min_refresh_s of that refetch: no new fetch
    assert await reason_for(stranger.sign(claims()), v) == "UNKNOWN_KEY"
    assert await reason_for(stranger.sign(claims()), v) == "UNKNOWN_KEY"
    assert source.fetches == 2

    await v.verify(KEY.sign(claims()))  # a known kid never refetches
    assert source.fetches == 2


async def test_a_rotated_key_is_picked_up_by_the_refetch() -> None:
    source, clock = CountingJwks([KEY.jwk]), FakeClock()
    v = verifier(source, clock)
    await v.verify(KEY.sign(claims()))
    new_key = Key("k2")
    source.keys = [KEY.jwk, new_key.jwk]

    clock.now += 11
    caller = await v.verify(new_key.sign(claims(sub="user-2")))

    assert caller.subject == "user-2"
    assert source.fetches == 2


async def test_keys_for_other_algorithms_are_ignored() -> None:
    other = Key("k-rs")
    other.jwk["alg"] = "RS256"
    v = verifier(StaticJwks([other.jwk]))

    assert await reason_for(other.sign(claims()), v) == "UNKNOWN_KEY"


async def test_a_malformed_key_in_the_set_is_skipped_not_fatal() -> None:
    factory = TokenFactory()
    broken = {"kty": "EC", "crv": "P-256", "x": "not-base64!", "y": "", "kid": "broken",
              "alg": "ES256"}
    verifier = TokenVerifier(StaticJwks([broken, *factory.jwks]), issuer=factory.issuer,
                             audience=factory.audience)
    caller = await verifier.verify(factory.token(tenant_id="t1", role="viewer"))
    assert caller.tenant_id == "t1"
