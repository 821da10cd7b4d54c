"""Bad configuration stops a service at start with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tucano_kit.testing import migrated_service_dsn
from tucano_webhooks_gateway.adapters.postgres import MIGRATIONS as WEBHOOKS

pytestmark = pytest.mark.integration


def run(program: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = f"from {program}.__main__ import main; main()"
    return subprocess.run([sys.executable, "-c", script], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
async def webhooks_dsn(admin_url: str, test_database: str) -> str:
    """A migrated gateway schema, so the broker is the only thing wrong below."""
    return await migrated_service_dsn(admin_url, test_database, "webhooks", "tucano_webhooks",
                                      WEBHOOKS)


@pytest.mark.parametrize(("program", "env", "setting"), [
    ("tucano_campaigns", {"TUCANO_CAMPAIGNS_DATABASE_URL": ""}, "TUCANO_CAMPAIGNS_DATABASE_URL"),
    ("tucano_tenants", {"TUCANO_TENANTS_DATABASE_URL": "mysql://x@127.0.0.1/db"},
     "TUCANO_TENANTS_DATABASE_URL"),
    ("tucano_messaging", {"TUCANO_MESSAGING_DATABASE_URL":
                          "postgresql://tucano_messaging@127.0.0.1:1/tucano"},
     "TUCANO_MESSAGING_DATABASE_URL"),
    ("tucano_webhooks_gateway", {"TUCANO_WEBHOOKS_APP_SECRET": "x" * 20,
                                 "TUCANO_WEBHOOKS_VERIFY_TOKEN": "y" * 20,
                                 "TUCANO_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"},
     "TUCANO_AMQP_URL"),
    ("tucano_auth", {}, "TUCANO_AUTH_KEY_ENCRYPTION_KEY"),
    ("tucano_tenants", {"TUCANO_TENANTS_GRPC_PORT": "99999"}, "TUCANO_TENANTS_GRPC_PORT"),
])
def test_bad_setting_is_one_line_naming_it(program: str, env: dict[str, str], setting: str,
                                           webhooks_dsn: str) -> None:
    env = {"TUCANO_AUTH_KEY_ENCRYPTION_KEY": "", "TUCANO_DEPENDENCY_TIMEOUT_S": "3",
           "TUCANO_WEBHOOKS_DATABASE_URL": webhooks_dsn, **env}
    result = run(program, **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "configuration error" in lines[0] and setting in lines[0]
    assert "Traceback" not in result.stderr
