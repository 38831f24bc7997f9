"""`gsp-sandbox mock|record|replay|check-cassette`: the agency's own service in the sandbox.

The service is laid over the topology by `sandbox.topology.own_services`; the result is
written beside the data and started as `up` starts a topology.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.markup import escape

from contracts.cassette import CassetteError, load_cassette, load_rules
from contracts.own_spec import SpecError, load_spec
from sandbox.cli.options import Subcommands, add, console, errors
from sandbox.cli.up import run_up
from sandbox.topology.loading import DEFAULT_TOPOLOGY, TopologyError, load_topology
from sandbox.topology.own_services import OwnServiceError, with_own_service, write_topology


def register(sub: Subcommands) -> None:
    mock = add(sub, "mock", _run, help="publish a back end from your own OpenAPI file and run")
    mock.add_argument("spec", type=Path, help="an OpenAPI 3.0 or 3.1 file (YAML or JSON)")
    _service_options(mock)
    _run_options(mock)

    record = add(
        sub, "record", _run, help="publish a real upstream through the sandbox and write a cassette"
    )
    record.add_argument("--upstream", required=True, help="the real service's base URL")
    record.add_argument(
        "--cassette", type=Path, help="where to write (default cassettes/CODE-VERSION.yaml)"
    )
    record.add_argument("--rules", type=Path, help="extra masking rules (YAML list)")
    record.add_argument("--contract", help="a committed contract to check the hop against")
    _service_options(record)
    _run_options(record)

    replay = add(sub, "replay", _run, help="publish a back end that answers from a cassette")
    replay.add_argument("cassette", type=Path)
    replay.add_argument(
        "--match", default=None, help="what must match: method,path,query,body (default all)"
    )
    replay.add_argument("--contract", help="a committed contract to check the hop against")
    _service_options(replay)
    _run_options(replay)

    check = add(
        sub,
        "check-cassette",
        _check_cassette,
        help="a cassette against its service's contract: drift report",
    )
    check.add_argument("cassette", type=Path)
    source = check.add_mutually_exclusive_group()
    source.add_argument("--spec", type=Path, help="an OpenAPI file to hold it against")
    source.add_argument("--contract", help="a committed contract id (contracts/openapi)")
    check.add_argument("--version", help="the contract's version (default: the cassette's)")
    check.add_argument(
        "--topology",
        default=DEFAULT_TOPOLOGY,
        help="find the contract of the cassette's service in this topology",
    )


def _service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", required=True, help="the service's API context (apiCuaToi)")
    parser.add_argument("--version", default="1.0")
    parser.add_argument("--title", help="the service's title in the catalog")
    parser.add_argument("--platform", help="where to publish it (default: the provincial one)")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="put it in place of the topology's service of the same code and version",
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topology", default=DEFAULT_TOPOLOGY, help="the topology to add the service to"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--pretty", action="store_true")
    parser.add_argument("--exit-when-ready", action="store_true")
    parser.set_defaults(
        restart=None,
        restart_max_attempts=None,
        restart_delay=None,
        restart_max_delay=None,
        restart_window=None,
        nodes_per_worker=None,
    )


def _check_cassette(args: argparse.Namespace) -> int:
    from sandbox.testing.cassette_check import check_cassette_command

    return check_cassette_command(args, console)


def _run(args: argparse.Namespace) -> int:
    """mock, record or replay: the topology with the service added, started as `up` does."""
    try:
        topology = load_topology(args.topology)
        if args.command == "mock":
            spec = load_spec(args.spec)  # says what cannot be served before anything starts
            console.print(
                f"{args.spec}: OpenAPI {spec.version}, {len(spec.operations)} operations",
                highlight=False,
            )
            own = with_own_service(topology, openapi=args.spec, **_service_args(args))
        elif args.command == "replay":
            cassette = load_cassette(args.cassette)
            console.print(
                f"{args.cassette}: {len(cassette['interactions'])} recorded exchanges",
                highlight=False,
            )
            own = with_own_service(
                topology,
                replay=args.cassette,
                match=args.match,
                contract=args.contract,
                **_service_args(args),
            )
        else:
            cassette_path = args.cassette or Path("cassettes") / f"{args.code}-{args.version}.yaml"
            load_rules(args.rules)  # a bad rule file stops here, and a URL that is none
            from services.own.recorder import checked_upstream

            checked_upstream(args.upstream)
            own = with_own_service(
                topology,
                record=(args.upstream, cassette_path),
                rules=args.rules,
                contract=args.contract,
                **_service_args(args),
            )
            console.print(f"recording to {cassette_path}", highlight=False)
    except (TopologyError, SpecError, CassetteError, OwnServiceError) as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    args.topology = str(write_topology(own, args.data_dir / f"{own.name}-{args.code}.yaml"))
    console.print(
        f"{args.code}/{args.version} at {own.services[-1].platform}: topology {args.topology}",
        highlight=False,
    )
    return asyncio.run(run_up(args))


def _service_args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "code": args.code,
        "version": args.version,
        "title": args.title,
        "platform": args.platform,
        "replace": args.replace,
    }
