"""The command line every service shares: `serve` (default) and `migrate`, plus its own extras.

    tucano-tenants            # serve the gRPC API until SIGTERM/SIGINT
    tucano-tenants migrate    # provision roles/schema with the admin DSN, apply migrations
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tucano_kit.lifecycle import main_entry
from tucano_kit.logs import configure_logging
from tucano_kit.postgres.migrations import MigrationError, migrate, service_migrations
from tucano_kit.postgres.provision import SchemaSpec, provision
from tucano_kit.runtime import serve_until_stopped
from tucano_kit.settings import BaseServiceSettings, ConfigError, load_settings, redact
from tucano_kit.telemetry import configure_tracing

log = logging.getLogger("tucano.cli")

S = TypeVar("S", bound=BaseServiceSettings)


class HasServer(Protocol):
    server: Any


class DatabaseSettings(Protocol):
    database_url: str
    database_admin_url: str


Command = Callable[[Any, list[str]], Awaitable[None]]
"""An extra command: (settings, its own arguments)."""


@dataclass
class ServiceCli:
    """Describes one service's command line."""

    name: str  # e.g. "tenants"
    settings: type[BaseServiceSettings]
    schema: str
    migrations: Path
    build: Callable[[Any, contextlib.AsyncExitStack], Awaitable[HasServer]]
    extra_commands: Mapping[str, Command] = field(default_factory=dict)

    @property
    def program(self) -> str:
        return f"tucano-{self.name}"

    async def serve(self, settings: Any) -> None:
        async with contextlib.AsyncExitStack() as stack:
            app = await self.build(settings, stack)
            await serve_until_stopped(app.server, settings.shutdown_grace_s)

    async def migrate(self, settings: Any) -> None:
        spec = SchemaSpec.from_dsn(self.schema, settings.database_url)
        try:
            await provision(settings.database_admin_url, spec)
            applied = await migrate(settings.database_admin_url, spec,
                                    service_migrations(self.migrations))
        except MigrationError as exc:
            raise ConfigError(str(exc)) from None
        except OSError as exc:
            raise ConfigError(f"TUCANO_DATABASE_ADMIN_URL: cannot connect to "
                              f"{redact(settings.database_admin_url)}: {exc}") from None
        log.info("migrated", extra={"schema": self.schema, "applied": applied})

    def main(self, argv: list[str] | None = None) -> None:
        commands: dict[str, Command] = {"serve": lambda s, _: self.serve(s),
                                        "migrate": lambda s, _: self.migrate(s),
                                        **self.extra_commands}
        parser = argparse.ArgumentParser(prog=self.program)
        parser.add_argument("command", nargs="?", default="serve", choices=sorted(commands))
        parser.add_argument("args", nargs="*", help="arguments of the command")
        args = parser.parse_args(argv)

        async def run() -> None:
            settings = load_settings(self.settings)
            configure_logging(self.name, settings.log_level)
            configure_tracing(self.name, settings.otel_exporter_otlp_endpoint)
            await commands[args.command](settings, args.args)

        main_entry(self.program, run)
