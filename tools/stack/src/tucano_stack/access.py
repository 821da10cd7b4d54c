"""What the edge exposes, and how: the services' access policies joined with the descriptor set.

Each service declares, per RPC, who may call it (`tucano_<service>.entrypoints.grpc.policy.POLICY`,
an `Access` per full gRPC method). The edge renders its routes and JWT rules from that table and
from the RPCs' `google.api.http` rules, so there is one source for both:

    public, edge=True             routed; no token at the edge (the allow-list)
    tenant, platform_operator     routed; a valid token required
    edge=False (service, internal)   not routed: 404 (like an unknown path)
    in the descriptor set but in no policy   not routed either (a service refuses to start
                                  with an RPC its policy does not name, so this is drift)
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tucano_kit.auth import Access

from tucano_stack.descriptors import Catalogue, HttpRule
from tucano_stack.services import BY_PACKAGE, SERVICES, ServiceSpec

Policies = Mapping[str, Mapping[str, Access]]  # service name -> its POLICY


class Exposure(enum.Enum):
    PUBLIC = "public"  # routed, no token at the edge
    TOKEN = "token"  # routed, valid token required
    HIDDEN = "hidden"  # not routed: 404


def exposure(access: Access | None) -> Exposure:
    if access is None or not access.edge:
        return Exposure.HIDDEN
    return Exposure.PUBLIC if access.kind == "public" else Exposure.TOKEN


@dataclass(frozen=True)
class EdgeRpc:
    path: str  # gRPC path: /tucano.auth.v1.AuthService/Login
    service: ServiceSpec  # the process that serves it
    access: Access | None  # None: named by no policy
    http: tuple[HttpRule, ...] = ()

    @property
    def exposure(self) -> Exposure:
        return exposure(self.access)

    @property
    def name(self) -> str:
        """`tucano.auth.v1.AuthService.Login`, as HttpRule.rpc spells it."""
        return self.path[1:].replace("/", ".")


def policy_module(spec: ServiceSpec) -> str:
    return f"tucano_{spec.key}.entrypoints.grpc.policy"


def load_policies(services: Iterable[ServiceSpec] = SERVICES) -> dict[str, Mapping[str, Access]]:
    """Each service's POLICY; a service whose code is not written yet has none (its RPCs are
    then not routed)."""
    found: dict[str, Mapping[str, Access]] = {}
    for spec in services:
        try:
            module = importlib.import_module(policy_module(spec))
        except ModuleNotFoundError:
            continue
        found[spec.name] = module.POLICY
    return found


def grpc_path(rpc: str) -> str:
    """`tucano.auth.v1.AuthService.Login` -> `/tucano.auth.v1.AuthService/Login`."""
    service, method = rpc.rsplit(".", 1)
    return f"/{service}/{method}"


def edge_table(catalogue: Catalogue, policies: Policies) -> list[EdgeRpc]:
    """Every RPC of the descriptor set and of the policies, in a stable order."""
    by_name = {spec.name: spec for spec in SERVICES}
    rpcs: dict[str, EdgeRpc] = {}
    for package, paths in catalogue.methods_by_package.items():
        spec = BY_PACKAGE[package]
        rules = catalogue.http_rules.get(package, ())
        for path in paths:
            http = tuple(r for r in rules if grpc_path(r.rpc) == path)
            rpcs[path] = EdgeRpc(path, spec, None, http)
    for service, policy in policies.items():
        spec = by_name[service]
        for path, access in policy.items():
            known = rpcs.get(path) or EdgeRpc(path, spec, None)
            rpcs[path] = EdgeRpc(path, known.service, access, known.http)
    return [rpcs[path] for path in sorted(rpcs)]


# ---------------------------------------------------------------------------- path templates
def template_regex(template: str) -> str:
    """A google.api.http path template as an RE2 regex over the request path (no query).

    Variables and `*` match one segment without `:` and `**` matches anything without `:`, so
    a template never matches a custom method's `:verb` path (`/v1/tenants/t1:suspend` is not a
    `/v1/tenants/{id}`): paths the edge lets through without a token must not be wider than
    the transcoder's own matching. A path none of the regexes matches still gets transcoded;
    it just falls to the catch-all route and rule (a token required)."""
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char == "{":
            end = template.index("}", i)
            _, _, inner = template[i + 1:end].partition("=")
            out.append(template_regex(inner) if inner else "[^/:]+")
            i = end + 1
        elif template.startswith("**", i):
            out.append("[^:]*")
            i += 2
        elif char == "*":
            out.append("[^/:]+")
            i += 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def sample_path(template: str) -> str:
    """A concrete path the template matches (each variable or wildcard segment -> `x1`)."""
    out: list[str] = []
    i = 0
    while i < len(template):
        if template[i] == "{":
            end = template.index("}", i)
            _, _, inner = template[i + 1:end].partition("=")
            out.append(sample_path(inner) if inner else "x1")
            i = end + 1
        elif template.startswith("**", i):
            out.append("x1")
            i += 2
        else:
            out.append("x1" if template[i] == "*" else template[i])
            i += 1
    return "".join(out)
