"""Who is calling: token verification against a JWKS, the verified caller, and access policies.

Every service verifies the access token again even behind Envoy (defence in depth). The
verifier accepts only ES256, requires `exp iat sub jti`, checks `iss` and `aud` with a small
leeway, and refetches the key set (at most every `min_refresh_s`) when it meets an unknown kid.

Access is declared per RPC in one mapping per service (`Policy`); a server refuses to start
when one of its RPCs has no entry, so no RPC is reachable by accident.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from tucano_kit.errors import FailedPrecondition, PermissionDenied, Unauthenticated, Unavailable

ALGORITHMS = ["ES256"]
log = logging.getLogger("tucano.auth")


class Role(enum.IntEnum):
    """Tenant roles; each includes the ones below it."""

    VIEWER = 10
    OPERATOR = 20
    ADMIN = 30
    OWNER = 40

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}") from None


@dataclass(frozen=True)
class Caller:
    """The verified identity behind a request."""

    subject: str
    tenant_id: str | None
    role: Role | None
    session_id: str | None
    token_id: str
    is_service: bool = False
    is_platform_operator: bool = False

    def require_tenant(self) -> str:
        if self.tenant_id is None:
            raise PermissionDenied("TENANT_REQUIRED", "this call needs a tenant-scoped token")
        return self.tenant_id


_caller: ContextVar[Caller | None] = ContextVar("caller", default=None)


def current_caller() -> Caller:
    """The caller of the RPC being served; only callable inside an authenticated RPC."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("UNAUTHENTICATED", "no authenticated caller")
    return caller


def set_caller(caller: Caller | None) -> None:
    _caller.set(caller)


@dataclass(frozen=True)
class Access:
    """What an RPC requires, and whether the Envoy edge exposes it. Build with the class
    methods. The edge renders its JWT rules and routes from these: `public` RPCs need no token
    there, `tenant` and `platform_operator` RPCs need a valid one, and `service` RPCs and
    `internal` ones are not routed at the edge at all (404)."""

    kind: str
    min_role: Role | None = None
    edge: bool = True
    writes: bool = False  # refused while the caller's tenant is suspended

    @classmethod
    def public(cls) -> Access:
        return cls("public")

    @classmethod
    def internal(cls) -> Access:
        """No token checked here (the request carries its own credential, or the caller is
        Envoy itself), and never reachable through the edge."""
        return cls("public", edge=False)

    @classmethod
    def tenant(cls, min_role: Role, *, writes: bool = False) -> Access:
        """A member of the caller's tenant with at least `min_role`. `writes`: the RPC sends,
        launches, imports or otherwise changes tenant data, which a suspended tenant may not."""
        return cls("tenant", min_role, writes=writes)

    @classmethod
    def service(cls) -> Access:
        return cls("service", edge=False)

    @classmethod
    def platform_operator(cls) -> Access:
        return cls("platform_operator")

    def authorize(self, caller: Caller | None) -> None:
        """Raise Unauthenticated/PermissionDenied unless `caller` may make the call."""
        if self.kind == "public":
            return
        if caller is None:
            raise Unauthenticated("UNAUTHENTICATED", "a valid access token is required")
        if self.kind == "service":
            if not caller.is_service:
                raise PermissionDenied("SERVICE_ONLY", "only internal services may call this")
            return
        if self.kind == "platform_operator":
            if not caller.is_platform_operator:
                raise PermissionDenied("PLATFORM_OPERATOR_ONLY", "platform operators only")
            return
        assert self.min_role is not None
        if caller.tenant_id is None or caller.role is None:
            raise PermissionDenied("TENANT_REQUIRED", "this call needs a tenant-scoped token")
        if caller.role < self.min_role:
            raise PermissionDenied(
                "ROLE_TOO_LOW", f"requires role {self.min_role.name.lower()} or higher",
                {"required_role": self.min_role.name.lower(),
                 "caller_role": caller.role.name.lower()})


@dataclass(frozen=True)
class TenantStanding:
    """What other services need to know of a tenant, as the tenants service reports it:
    lifecycle `state` ("active", "suspended", "closed"; "unknown" if there is no such tenant),
    the plan limits they enforce, and the country for phone numbers written without a code."""

    state: str
    max_contacts: int = 0
    monthly_message_quota: int = 0
    default_country: str = ""


UNKNOWN_TENANT = TenantStanding(state="unknown")


class TenantGate(Protocol):
    """A tenant's standing (cached briefly by implementations)."""

    async def standing(self, tenant_id: str) -> TenantStanding: ...


_standing: ContextVar[TenantStanding | None] = ContextVar("standing", default=None)


def current_standing() -> TenantStanding:
    """The standing of the caller's tenant, as checked for the RPC being served (the server's
    gate looks it up once per tenant-scoped RPC, so handlers read limits without another call)."""
    standing = _standing.get()
    if standing is None:
        raise Unavailable("TENANT_STANDING_UNKNOWN", "the tenant's standing is not known")
    return standing


def set_standing(standing: TenantStanding | None) -> None:
    _standing.set(standing)


def check_standing(access: Access, tenant_id: str, state: str) -> None:
    """A closed (or unknown) tenant's tokens are refused; a suspended tenant may only read."""
    if state in ("closed", "unknown"):
        raise Unauthenticated("TENANT_CLOSED", "this tenant is closed")
    if state == "suspended" and access.writes:
        raise FailedPrecondition("TENANT_SUSPENDED",
                                 "the tenant is suspended: it can read but not send or change",
                                 {"subject": tenant_id})


Policy = Mapping[str, Access]
"""Full gRPC method name (`/pkg.Service/Method`) -> what it requires."""


class JwksSource(Protocol):
    """Where public keys come from (auth's key store, auth's GetJwks RPC, a fixed set in tests)."""

    async def fetch(self) -> list[dict[str, Any]]: ...


class StaticJwks:
    def __init__(self, keys: list[dict[str, Any]]):
        self.keys = keys

    async def fetch(self) -> list[dict[str, Any]]:
        return self.keys


class TokenVerifier:
    """Verifies access tokens against a JWKS source, caching keys by kid."""

    def __init__(self, source: JwksSource, *, issuer: str, audience: str,
                 leeway_s: float = 30.0, min_refresh_s: float = 10.0,
                 clock: Any = time.monotonic):
        self._source = source
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_s
        self._min_refresh = min_refresh_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < self._min_refresh:
                return
            keys = await self._source.fetch()
            self._keys = {}
            for key in keys:
                try:
                    if key.get("alg") in ALGORITHMS and isinstance(key.get("kid"), str):
                        self._keys[key["kid"]] = jwt.PyJWK(key)
                except jwt.PyJWTError:
                    log.warning("skipping a malformed key in the JWKS",
                                extra={"kid": str(key.get("kid"))[:64]})
            self._fetched_at = now

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self._refresh()
        if kid not in self._keys:
            raise Unauthenticated("UNKNOWN_KEY", "token signed by an unknown key")
        return self._keys[kid]

    async def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("MALFORMED_TOKEN", "malformed access token") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("BAD_ALGORITHM", "token algorithm not allowed")
        if any(h in header for h in ("jku", "x5u", "jwk", "x5c")):
            raise Unauthenticated("BAD_HEADER", "token header carries key references")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("UNKNOWN_KEY", "token has no key id")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token, key=key, algorithms=ALGORITHMS, audience=self._audience,
                issuer=self._issuer, leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("TOKEN_EXPIRED", "access token expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("INVALID_TOKEN", "invalid access token") from None
        return caller_from_claims(claims)


def caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    """Map verified claims to a Caller; tokens with malformed claims are rejected."""
    try:
        role = claims.get("role")
        operator = claims.get("op", False)
        if not isinstance(operator, bool):  # bool("false") would be True
            raise ValueError("op must be a boolean")
        return Caller(
            subject=str(claims["sub"]),
            tenant_id=str(claims["tid"]) if claims.get("tid") else None,
            role=Role.parse(role) if isinstance(role, str) and role else None,
            session_id=str(claims["sid"]) if claims.get("sid") else None,
            token_id=str(claims["jti"]),
            is_service=claims.get("typ") == "service",
            is_platform_operator=operator,
        )
    except (KeyError, ValueError):
        raise Unauthenticated("INVALID_TOKEN", "invalid access token claims") from None


def bearer_token(metadata: Mapping[str, str]) -> str | None:
    """The token of an `authorization: Bearer <token>` header, if any."""
    value = metadata.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
