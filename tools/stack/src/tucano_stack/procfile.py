"""The processes of the stack, written to var/Procfile and supervised by honcho.

honcho starts each process in its own session, prefixes its output with its name, stops all
of them (SIGTERM to each process group, SIGKILL 5 s later) as soon as one exits, and does the
same on Ctrl-C. Envoy runs under it like everything else, never as an orphan (envoy.md).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from honcho.manager import Manager
from honcho.printer import Printer

from tucano_stack.services import SIM_COMMAND, ServiceSpec
from tucano_stack.settings import StackSettings, command_path, venv_bin

# Envoy's access logger writes through a buffer flushed every 10 s by default; 1 s keeps the
# log close to live without a write per request.
ENVOY_FLUSH_INTERVAL_MS = 1000


@dataclass(frozen=True)
class Proc:
    name: str
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        """A shell command (honcho runs `sh -c`); `exec` makes signals reach the process."""
        return f"exec {shlex.join(self.argv)}"


def _bin(command: str) -> str:
    """The command's absolute path (the venv's first), so the Procfile does not depend on PATH."""
    return command_path(command) or str(venv_bin() / command)


def envoy_proc(settings: StackSettings, config: Path) -> Proc:
    return Proc("envoy", (
        _bin("envoy"), "-c", str(config), "--log-level", settings.edge_log_level,
        # no shared-memory hot restart: a second stack (the e2e tests) can run next to this one
        "--disable-hot-restart",
        "--file-flush-interval-msec", str(ENVOY_FLUSH_INTERVAL_MS),
    ))


def ready_proc(services: Sequence[ServiceSpec], with_sim: bool) -> Proc:
    return Proc("ready", (
        sys.executable, "-m", "tucano_stack", "wait-ready", "--hold",
        "--services", ",".join(s.name for s in services),
        "--sim" if with_sim else "--no-sim",
    ))


def processes(settings: StackSettings, envoy_config: Path, with_sim: bool) -> list[Proc]:
    procs = [Proc(spec.name, (_bin(spec.command), "serve")) for spec in settings.services]
    if with_sim:
        procs.append(Proc("sim", (_bin(SIM_COMMAND),)))
    procs.append(envoy_proc(settings, envoy_config))
    procs.append(ready_proc(settings.services, with_sim))
    return procs


def write(procs: Sequence[Proc], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Rendered by `tucano-stack up`; run with the same environment:",
             "#   honcho -f var/Procfile start",
             *(f"{p.name}: {p.command}" for p in procs)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(procs: Sequence[Proc], env: Mapping[str, str], cwd: Path) -> int:
    """Run every process under honcho until one exits or we get SIGINT/SIGTERM."""
    manager = Manager(Printer(sys.stdout))
    for proc in procs:
        manager.add_process(proc.name, proc.command, env=dict(env), cwd=str(cwd))
    manager.loop()
    return int(manager.returncode or 0)
