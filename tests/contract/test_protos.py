"""Contract checks: generated code is fresh and every RPC has exactly one access rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FileDescriptor
from tucano.auth.v1 import auth_pb2
from tucano.campaigns.v1 import contacts_pb2
from tucano.messaging.v1 import channels_pb2
from tucano.tenants.v1 import events_pb2 as tenant_events_pb2
from tucano.tenants.v1 import tenants_pb2
from tucano.vendor import envoy_rls_pb2
from tucano.webhooks.v1 import webhooks_pb2
from tucano_auth.entrypoints.grpc.policy import POLICY as AUTH
from tucano_campaigns.entrypoints.grpc.policy import POLICY as CAMPAIGNS
from tucano_kit.auth import Policy
from tucano_messaging.entrypoints.grpc.policy import POLICY as MESSAGING
from tucano_tenants.entrypoints.grpc.policy import POLICY as TENANTS
from tucano_webhooks_gateway.entrypoints.grpc.policy import POLICY as WEBHOOKS

ROOT = Path(__file__).resolve().parents[2]

SERVICES: list[tuple[str, list[FileDescriptor], Policy]] = [
    ("auth", [auth_pb2.DESCRIPTOR], AUTH),
    ("tenants", [tenants_pb2.DESCRIPTOR, tenant_events_pb2.DESCRIPTOR], TENANTS),
    ("campaigns", [contacts_pb2.DESCRIPTOR], CAMPAIGNS),
    ("messaging", [channels_pb2.DESCRIPTOR], MESSAGING),
    ("webhooks", [webhooks_pb2.DESCRIPTOR], WEBHOOKS),
]


def test_generated_code_is_fresh() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_proto_file_belongs_to_a_listed_service() -> None:
    listed = {fd.name for _, fds, _ in SERVICES for fd in fds}
    on_disk = {str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto")}
    assert on_disk == listed


# Third-party APIs a service implements besides its own (proto-vendor/).
EXTRA_SERVICES: dict[str, list[FileDescriptor]] = {"tenants": [envoy_rls_pb2.DESCRIPTOR]}


@pytest.mark.parametrize(("name", "files", "policy"), SERVICES, ids=[s[0] for s in SERVICES])
def test_every_rpc_has_exactly_one_access_rule(name: str, files: list[FileDescriptor],
                                               policy: Policy) -> None:
    files = [*files, *EXTRA_SERVICES.get(name, [])]
    rpcs = {f"/{svc.full_name}/{m.name}" for fd in files
            for svc in fd.services_by_name.values() for m in svc.methods}
    assert rpcs == set(policy)


# A suspended tenant can read but not act (ARCHITECTURE.md): in the contexts where a tenant's
# business happens, every tenant RPC that is not a read is marked `writes`, so the gate refuses
# it while the tenant is suspended. (Tenants' own member and settings RPCs stay open to let a
# suspended tenant's owner put things right.) New sends, launches and imports inherit this.
READS = ("Get", "List")


@pytest.mark.parametrize("policy", [CAMPAIGNS, MESSAGING], ids=["campaigns", "messaging"])
def test_every_tenant_rpc_that_acts_is_refused_to_a_suspended_tenant(policy: Policy) -> None:
    acting = {path: access for path, access in policy.items()
              if access.kind == "tenant" and not path.rsplit("/", 1)[1].startswith(READS)}
    assert {path for path, access in acting.items() if not access.writes} == set()
    reading = {path: access for path, access in policy.items()
               if access.kind == "tenant" and path.rsplit("/", 1)[1].startswith(READS)}
    assert reading and not any(access.writes for access in reading.values())
