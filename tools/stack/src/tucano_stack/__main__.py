"""`tucano-stack`: run Tucano locally, every process under one supervisor.

    tucano-stack up                  # protos, checks, migrations, topology, then run everything
    tucano-stack render-edge [--out FILE]   # Envoy's config (stdout without --out)
    tucano-stack wait-ready          # wait until every component is healthy, print addresses

Settings are the services' own environment variables (TUCANO_*_GRPC_PORT, TUCANO_EDGE_PORT,
TUCANO_DATABASE_ADMIN_URL, ...), plus TUCANO_STACK_SERVICES (a subset to run),
TUCANO_STACK_VAR_DIR (default <repo>/var) and TUCANO_STACK_READY_TIMEOUT_S (default 60).
A bad setting or an unreachable dependency stops with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tucano_kit.settings import ConfigError

from tucano_stack import edge
from tucano_stack.errors import StackError
from tucano_stack.services import BY_NAME, SIM_COMMAND, ServiceSpec
from tucano_stack.settings import StackSettings, load

# `up` and `wait-ready` import their heavier modules (drivers, grpc, honcho) when they run, so
# `render-edge` and `--help` stay quick.

PROG = "tucano-stack"


def cmd_up(settings: StackSettings, args: argparse.Namespace) -> int:
    from tucano_stack import preflight, procfile  # noqa: PLC0415
    from tucano_stack.preflight import say  # noqa: PLC0415

    preflight.check_services(settings)
    with_sim = preflight.sim_available()
    preflight.ensure_protos(settings)
    edge.config(settings)  # a descriptor set the edge cannot serve fails before anything runs
    preflight.check_dependencies(settings)
    env = preflight.process_env(settings)
    preflight.migrate(settings, env)
    preflight.declare_rabbitmq_topology(settings)
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    config = edge.write(settings, var / "envoy.yaml")
    procs = procfile.processes(settings, config, with_sim)
    procfile.write(procs, var / "Procfile")
    say(f"wrote {config} and {var / 'Procfile'}; starting {', '.join(p.name for p in procs)}")
    return procfile.run(procs, env, cwd=settings.root)


def cmd_render_edge(settings: StackSettings, args: argparse.Namespace) -> int:
    descriptors = Path(args.descriptors) if args.descriptors else None
    if args.out:
        edge.write(settings, Path(args.out), descriptors)
    else:
        sys.stdout.write(edge.render(settings, descriptors))
    return 0


def _services(value: str | None, settings: StackSettings) -> list[ServiceSpec]:
    if not value:
        return list(settings.services)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        raise ConfigError(f"--services: unknown {unknown}; known: {sorted(BY_NAME)}")
    return [BY_NAME[n] for n in names]


def cmd_wait_ready(settings: StackSettings, args: argparse.Namespace) -> int:
    from tucano_stack import ready  # noqa: PLC0415
    from tucano_stack.descriptors import catalogue  # noqa: PLC0415
    from tucano_stack.preflight import missing_command  # noqa: PLC0415

    services = _services(args.services, settings)
    with_sim = args.sim if args.sim is not None else missing_command(SIM_COMMAND) is None
    timeout = args.timeout if args.timeout is not None else settings.stack_ready_timeout_s
    return ready.run(settings, services, catalogue(settings.descriptors), with_sim=with_sim,
                     timeout_s=timeout, keep_running=args.hold)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="prepare and run the whole stack (Ctrl-C stops it)")
    up.set_defaults(run=cmd_up)
    render = sub.add_parser("render-edge", help="render Envoy's config")
    render.add_argument("--out", help="file to write (default: stdout)")
    render.add_argument("--descriptors", help="descriptor set (default: build/descriptors.binpb)")
    render.set_defaults(run=cmd_render_edge)
    wait = sub.add_parser("wait-ready", help="wait until every component is healthy")
    wait.add_argument("--services", help="comma-separated (default: TUCANO_STACK_SERVICES)")
    wait.add_argument("--sim", action=argparse.BooleanOptionalAction, default=None,
                      help="check the simulator (default: if it is installed)")
    wait.add_argument("--timeout", type=float, help="seconds (TUCANO_STACK_READY_TIMEOUT_S)")
    wait.add_argument("--hold", action="store_true",
                      help="once ready, keep running until SIGTERM/SIGINT (the `ready` process)")
    wait.set_defaults(run=cmd_wait_ready)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        code = args.run(load(), args)
    except (ConfigError, StackError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
