"""The agency's own services in a topology: a mock from its OpenAPI, a recorder, a replay.

`with_own_service` lays one more service over a topology (a back-end node, the service at a
platform, the grants to call it, and for a national service the provinces' route to it
through NGSP); the CLI commands `mock`, `record` and `replay` run the result like `up` does,
and the pytest plugin's users pass it to `start_sandbox` or return it from `gsp_topology`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from rich.markup import escape

from contracts.cassette import CassetteError, load_cassette, load_rules
from contracts.own_spec import SpecError, load_spec
from contracts.topology import Role, Tier, Topology
from sandbox.consoles import stderr_console, stdout_console
from sandbox.platform_client import default_caller, provincial_platform
from sandbox.topology import DEFAULT_TOPOLOGY, TopologyError, load_topology
from services.own.recorder import checked_upstream

OWN_COMMANDS = ("mock", "record", "replay", "check-cassette")


class OwnServiceError(ValueError):
    """The service cannot be added as asked; the message says why."""


def _node_name(code: str) -> str:
    return "own-" + "".join(c if c.isalnum() else "-" for c in code.lower())[:58]


def with_own_service(
    topology: Topology,
    *,
    code: str,
    version: str = "1.0",
    title: str | None = None,
    platform: str | None = None,
    openapi: str | Path | None = None,
    replay: str | Path | None = None,
    record: tuple[str, str | Path] | None = None,
    match: str | None = None,
    rules: str | Path | None = None,
    contract: str | None = None,
    replace: bool = False,
) -> Topology:
    """The topology with one more service `code`/`version`, answered by the agency's own
    OpenAPI file (`openapi`), a cassette (`replay`), or a real upstream recorded to a
    cassette (`record=(upstream_url, cassette)`). It is published at `platform` (default:
    the provincial one); a service at the national platform is also reached from every
    provincial platform through its upstream. The platform's broadest consumer (the
    one-stop shop) is granted it, and so is each province's platform consumer at NGSP.
    With `replace`, a service of the topology with the same code and version gives way
    (at its own platform unless another is named): a sample national database replaced by
    the recording of the real one, under its real code."""
    given = [x for x in (openapi, replay, record) if x is not None]
    if len(given) != 1:
        raise OwnServiceError("give exactly one of openapi, replay and record")
    raw: dict[str, Any] = topology.model_dump(mode="json", exclude_none=True)
    if raw.get("seeds"):
        raw["seeds"] = str(Path(raw["seeds"]).resolve())
    for backend in raw["backends"].values():  # the file is written elsewhere: absolute paths
        for key in ("spec", "cassette", "rules"):
            if isinstance(backend.get("params", {}).get(key), str):
                backend["params"][key] = str(Path(backend["params"][key]).resolve())
        backend.pop("openapi", None)
        backend.pop("replay", None)
    same = [s for s in topology.services if (s.code, s.version) == (code, version)]
    host = platform or (same[0].platform if same else provincial_platform(topology))
    if host not in topology.platforms:
        raise OwnServiceError(f"no platform {host!r} in {topology.name}")
    if any(s.platform == host for s in same) and not replace:
        raise OwnServiceError(
            f"{code}/{version} is already a service of {topology.name} (at {host}); "
            "replace it (--replace), or choose another code"
        )
    # A code is unique per platform: another province's service of that code stays.
    raw["services"] = [
        s
        for s in raw["services"]
        if (s["code"], s.get("version", "1.0"), s["platform"]) != (code, version, host)
    ]
    tier = topology.platforms[host].tier
    node = _node_name(code)
    if node in raw["backends"]:
        raise OwnServiceError(f"{topology.name} already has a back end {node!r}")
    ports = [p["port"] for p in raw["platforms"].values()] + [
        b["port"] for b in raw["backends"].values()
    ]
    entry: dict[str, Any] = {"port": max(ports) + 1}
    if openapi is not None:
        entry.update(app="openapi", params={"spec": str(Path(openapi).resolve())})
    elif replay is not None:
        params: dict[str, Any] = {"cassette": str(Path(replay).resolve())}
        if match:
            params["match"] = match
        entry.update(app="replay", params=params)
    else:
        assert record is not None
        upstream, cassette = record
        params = {
            "upstream": upstream,
            "cassette": str(Path(cassette).resolve()),
            "service": code,
            "version": version,
        }
        if rules is not None:
            params["rules"] = str(Path(rules).resolve())
        entry.update(app="recorder", params=params)
    raw["backends"][node] = entry
    service: dict[str, Any] = {
        "code": code,
        "version": version,
        "title": title or f"{code} (dịch vụ của đơn vị)",
        "owner": topology.platforms[host].agency,
        "tier": tier.value,
        "platform": host,
        "backend": node,
    }
    if contract:
        service["contract"] = contract
    raw["services"].append(service)
    _grant(topology, raw, host, code)
    if tier is Tier.NATIONAL:
        for name, other in topology.platforms.items():
            if other.upstream is not None and other.upstream.platform == host:
                wanted = raw["platforms"][name].setdefault("national_services", [])
                wanted += [] if code in wanted else [code]
                _grant(topology, raw, name, code)
                for consumer in raw["consumers"]:
                    if consumer["id"] == other.upstream.consumer and consumer["platform"] == host:
                        grants = consumer.setdefault("grants", [])
                        grants += [] if code in grants or "*" in grants else [code]
    try:
        return Topology.model_validate(raw)
    except ValidationError as exc:
        found = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()[:5])
        raise OwnServiceError(f"{code}/{version}: {found}") from None


def _grant(topology: Topology, raw: dict[str, Any], platform: str, code: str) -> None:
    plain = [c for c in topology.consumers_at(platform) if Role.ADMIN not in c.roles]
    if not plain:
        return
    caller = default_caller(topology, platform) if any(not c.roles for c in plain) else plain[0]
    for consumer in raw["consumers"]:
        grants = consumer.setdefault("grants", []) if consumer["id"] == caller.id else None
        if grants is not None and "*" not in grants and code not in grants:
            grants.append(code)


def write_topology(topology: Topology, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = topology.model_dump(mode="json", exclude_none=True)
    for backend in raw["backends"].values():
        backend.pop("openapi", None)
        backend.pop("replay", None)
    path.write_text(
        "# Written by gsp-sandbox for one run; the service at the end is the agency's own.\n"
        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=110),
        encoding="utf-8",
    )
    return path


# -- the commands ----------------------------------------------------------------------


def add_commands(sub: Any) -> None:
    """`mock`, `record`, `replay` and `check-cassette` on the CLI's subcommand parser."""
    mock = sub.add_parser("mock", help="publish a back end from your own OpenAPI file and run")
    mock.add_argument("spec", type=Path, help="an OpenAPI 3.0 or 3.1 file (YAML or JSON)")
    _service_options(mock)
    _run_options(mock)

    record = sub.add_parser(
        "record", help="publish a real upstream through the sandbox and write a cassette"
    )
    record.add_argument("--upstream", required=True, help="the real service's base URL")
    record.add_argument(
        "--cassette", type=Path, help="where to write (default cassettes/CODE-VERSION.yaml)"
    )
    record.add_argument("--rules", type=Path, help="extra masking rules (YAML list)")
    record.add_argument("--contract", help="a committed contract to check the hop against")
    _service_options(record)
    _run_options(record)

    replay = sub.add_parser("replay", help="publish a back end that answers from a cassette")
    replay.add_argument("cassette", type=Path)
    replay.add_argument(
        "--match", default=None, help="what must match: method,path,query,body (default all)"
    )
    replay.add_argument("--contract", help="a committed contract to check the hop against")
    _service_options(replay)
    _run_options(replay)

    check = sub.add_parser(
        "check-cassette", help="a cassette against its service's contract: drift report"
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


def run_command(args: argparse.Namespace, up: Callable[[argparse.Namespace], int]) -> int:
    """Run one of OWN_COMMANDS; `up` starts a topology file as `gsp-sandbox up` does."""
    errors = stderr_console()
    console = stdout_console()
    try:
        if args.command == "check-cassette":
            from sandbox.cassette_check import check_cassette_command

            return check_cassette_command(args, console)
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
    return up(args)


def _service_args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "code": args.code,
        "version": args.version,
        "title": args.title,
        "platform": args.platform,
        "replace": args.replace,
    }
