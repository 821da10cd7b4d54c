"""What the descriptor set (build/descriptors.binpb) says: Tucano's gRPC services and REST rules.

The edge's transcoder service list, its routes and the stack's health checks all come from
here, so adding a service to a proto is enough for the edge to serve it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2
from tucano_kit.settings import ConfigError

TUCANO_PACKAGE_PREFIX = "tucano."


@dataclass(frozen=True)
class HttpRule:
    method: str  # GET, POST, ...
    path: str  # e.g. /v1/plans, /v1/contacts/{contact_id}
    rpc: str  # full gRPC method name, e.g. tucano.tenants.v1.TenantsService.ListPlans


@dataclass(frozen=True)
class Catalogue:
    """Tucano's gRPC services, by proto package, and their HTTP rules."""

    services_by_package: dict[str, tuple[str, ...]]  # package -> full service names
    http_rules: dict[str, tuple[HttpRule, ...]]  # package -> rules
    methods_by_package: dict[str, tuple[str, ...]]  # package -> gRPC paths (/pkg.Svc/Method)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s for names in self.services_by_package.values() for s in names)


def load_set(path: Path) -> descriptor_pb2.FileDescriptorSet:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"TUCANO_EDGE_DESCRIPTORS: cannot read {path}: {exc.strerror}; "
                          "run scripts/gen_protos.py") from None
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(data)  # google.api.http is parsed: annotations_pb2 registers it
    return fds


def _rule(rule: http_pb2.HttpRule, rpc: str) -> list[HttpRule]:
    pattern = rule.WhichOneof("pattern")
    rules = []
    if pattern == "custom":
        rules.append(HttpRule(rule.custom.kind.upper(), rule.custom.path, rpc))
    elif pattern is not None:
        rules.append(HttpRule(pattern.upper(), str(getattr(rule, pattern)), rpc))
    for extra in rule.additional_bindings:
        rules.extend(_rule(extra, rpc))
    return rules


def catalogue(path: Path) -> Catalogue:
    """Every service declared in a `tucano.` package of the descriptor set at `path`."""
    services: dict[str, list[str]] = defaultdict(list)
    rules: dict[str, list[HttpRule]] = defaultdict(list)
    methods: dict[str, list[str]] = defaultdict(list)
    for file in load_set(path).file:
        if not file.package.startswith(TUCANO_PACKAGE_PREFIX):
            continue
        for service in file.service:
            full = f"{file.package}.{service.name}"
            services[file.package].append(full)
            for method in service.method:
                methods[file.package].append(f"/{full}/{method.name}")
                if method.options.HasExtension(annotations_pb2.http):
                    rules[file.package].extend(_rule(
                        method.options.Extensions[annotations_pb2.http], f"{full}.{method.name}"))
    if not services:
        raise ConfigError(f"TUCANO_EDGE_DESCRIPTORS: {path} declares no service in a "
                          f"`{TUCANO_PACKAGE_PREFIX}` package; run scripts/gen_protos.py")
    return Catalogue(
        services_by_package={p: tuple(sorted(names)) for p, names in sorted(services.items())},
        http_rules={p: tuple(r) for p, r in sorted(rules.items())},
        methods_by_package={p: tuple(m) for p, m in sorted(methods.items())})
