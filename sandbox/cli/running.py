"""Commands against a running sandbox: `status`, `topology`, `call`, `audit` and `faults`.

Each finds the sandbox as `up` left it (the same topology and --port-offset, or --url) and
asks its platforms; what is shown is drawn by `sandbox/cli/live.py`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx
from rich.markup import escape

from sandbox.cli.options import Subcommands, add, console, errors, where
from sandbox.cli.which import topology_ref
from sandbox.topology.loading import load_topology
from sandbox.topology.parties import choose_platform, default_caller


def register(sub: Subcommands) -> None:
    chaos = add(sub, "faults", run_faults, help="a running platform's fault rules (admin)")
    chaos.add_argument("action", choices=["list", "add", "set", "clear"])
    chaos.add_argument(
        "rule", nargs="?", help='add: a rule as JSON; set: a file of {"rules": [...]}'
    )
    where(chaos)

    status = add(
        sub,
        "status",
        run_status,
        help="each service of a running sandbox: health, p50/p95 latency, errors",
    )
    where(status)

    tree = add(sub, "topology", run_topology, help="a running sandbox as a tree, with its counts")
    where(tree)

    call = add(
        sub,
        "call",
        run_call,
        help="a routed call with a token fetched for you; prints status and message id",
    )
    call.add_argument("method", type=str.upper, help="GET, POST, …")
    call.add_argument("path", help="e.g. /apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=2400011234")
    call.add_argument("--data", help="request body, or @file")
    call.add_argument("--consumer", help="call as this consumer (default: the one-stop shop)")
    call.add_argument(
        "-H", "--header", action="append", default=[], help="'Name: value', repeatable"
    )
    where(call)

    audit = add(sub, "audit", run_audit, help="a platform's audited exchanges; --follow for live")
    audit.add_argument("--limit", type=int, default=20, help="how many of the latest to show")
    audit.add_argument("--follow", "-f", action="store_true", help="keep showing new ones")
    audit.add_argument("--message-id", help="only this exchange")
    audit.add_argument("--json", action="store_true", help="one JSON record per line")
    where(audit)


def run_status(args: argparse.Namespace) -> int:
    from sandbox.cli.live import fetch_state, traffic_table
    from sandbox.cli.platform_client import platform_client

    topology = load_topology(topology_ref(args))
    names = [choose_platform(topology, args.platform)] if args.platform or args.url else []
    failed = 0
    for name in names or list(topology.platforms):
        with platform_client(topology, name, url=args.url, port_offset=args.port_offset) as c:
            try:
                state = fetch_state(c)
            except httpx.HTTPError as exc:
                errors.print(f"[red]{name} at {c.base_url}: {escape(str(exc))}[/]", highlight=False)
                failed += 1
                continue
        console.print(traffic_table(state))
    return 1 if failed else 0


def run_topology(args: argparse.Namespace) -> int:
    from sandbox.cli.live import fetch_reports, topology_tree

    topology = load_topology(topology_ref(args))
    names = [choose_platform(topology, args.platform)] if args.url else list(topology.platforms)
    reports, failures = fetch_reports(topology, names, args.url, args.port_offset)
    if args.url:
        # One platform named by URL: it is the whole tree that can be asked.
        only = {n: topology.platforms[n] for n in names}
        topology = topology.model_copy(update={"platforms": only})
    console.print(topology_tree(topology, reports))
    for name, why in failures.items():
        errors.print(f"[red]{name} did not answer: {escape(str(why))}[/]", highlight=False)
    return 1 if failures else 0


def run_call(args: argparse.Namespace) -> int:
    from sandbox.cli.live import parse_header, print_call, request_body, routed_call
    from sandbox.cli.platform_client import platform_client

    topology = load_topology(topology_ref(args))
    platform = choose_platform(topology, args.platform)
    try:
        extra = dict(parse_header(raw) for raw in args.header)
        body = request_body(args.data)
    except (ValueError, OSError) as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    consumer = args.consumer or default_caller(topology, platform).id
    path = args.path if args.path.startswith("/") else f"/{args.path}"
    with platform_client(topology, platform, url=args.url, port_offset=args.port_offset) as c:
        try:
            result = routed_call(c, consumer, args.method, path, body, extra)
        except httpx.InvalidURL as exc:
            errors.print(f"[red]{path!r}: {escape(str(exc))}[/]", highlight=False)
            return 2
        except httpx.HTTPError as exc:
            errors.print(f"[red]{c.base_url}: {escape(str(exc))}[/]", highlight=False)
            return 1
    print_call(result, console, errors)
    return 0 if result.status < 400 else 1


def run_audit(args: argparse.Namespace) -> int:
    from contracts.audit import AuditRecord
    from sandbox.cli.live import audit_line, follow_audit, read_audit
    from sandbox.cli.platform_client import platform_client

    topology = load_topology(topology_ref(args))
    platform = choose_platform(topology, args.platform)

    def show(record: AuditRecord) -> None:
        if args.json:
            print(json.dumps(record.model_dump(mode="json"), ensure_ascii=False), flush=True)
        else:
            console.print(audit_line(record), highlight=False)

    with platform_client(topology, platform, url=args.url, port_offset=args.port_offset) as c:
        try:
            records = read_audit(c, args.limit, args.message_id)
            for record in records:
                show(record)
            if args.follow:
                last = records[-1].id if records else 0
                follow_audit(c, show, last_id=last, message_id=args.message_id)
        except httpx.HTTPError as exc:
            errors.print(f"[red]{platform} at {c.base_url}: {escape(str(exc))}[/]", highlight=False)
            return 1
        except KeyboardInterrupt:
            return 0
    return 0


def run_faults(args: argparse.Namespace) -> int:
    """List, add, replace or clear a running platform's fault rules, as its admin."""
    from contracts.faults import FaultRule, FaultRules
    from sandbox.cli.platform_client import platform_client

    topology = load_topology(topology_ref(args))
    platform = choose_platform(topology, args.platform)
    body: dict[str, object] | None = None
    try:
        if args.action == "add":
            body = FaultRule.model_validate_json(args.rule or "").model_dump(mode="json")
        elif args.action == "set":
            body = FaultRules.model_validate_json(Path(args.rule or "").read_text()).model_dump(
                mode="json"
            )
    except (ValueError, OSError) as exc:
        errors.print(f"[red]rule: {escape(str(exc))}[/]", highlight=False)
        return 2
    method = {"list": "GET", "add": "POST", "set": "PUT", "clear": "DELETE"}[args.action]
    with platform_client(topology, platform, url=args.url, port_offset=args.port_offset) as c:
        try:
            reply = c.http.request(method, "/_sandbox/faults", json=body, headers=c.admin_headers())
        except httpx.HTTPError as exc:
            errors.print(f"[red]{c.base_url}: {escape(str(exc))}[/]", highlight=False)
            return 1
    if reply.status_code >= 400:
        errors.print(f"[red]{reply.status_code}: {escape(reply.text)}[/]", highlight=False)
        return 1
    console.print_json(json.dumps(reply.json()))
    return 0
