"""gsp-sandbox: run the sandbox topology, one node, or check a topology file."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import httpx
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from contracts.platform import TopologyReport
from contracts.topology import Topology
from gateway.messagelog.audit_chain import key_path_of, verify_chain
from sandbox.addresses import AddressBook, ephemeral_range
from sandbox.consoles import stderr_console, stdout_console
from sandbox.control import Handler as ControlHandler
from sandbox.kubernetes import (
    DEFAULT_IMAGE,
    DEFAULT_NAMESPACE,
    DEFAULT_STORAGE,
    ExportError,
    ExportOptions,
    TlsPair,
    write_manifests,
)
from sandbox.launcher import AUTO_WORKERS, PACK_ABOVE_NODES, Launcher, auto_nodes_per_worker
from sandbox.own_services import OWN_COMMANDS
from sandbox.own_services import add_commands as add_own_commands
from sandbox.own_services import run_command as run_own_command
from sandbox.running import topology_ref
from sandbox.supervisor import RestartCondition, RestartPolicy, Supervisor
from sandbox.topology import (
    DEFAULT_TOPOLOGY,
    TopologyError,
    load_topology,
    resolve_topology_path,
    shipped_topologies,
)
from sandbox.topology_counts import count
from services.common.seeds import SeedError, load_seeds, seed_paths

_Record = TypeVar("_Record")

console = stdout_console()
# Where `up` and the commands that talk to it keep and find the sandbox's files. GSP_DATA_DIR
# (the node processes' own setting) moves it: the image sets /data, its volume.
DATA_DIR = Path(os.environ.get("GSP_DATA_DIR") or "data")
errors = stderr_console()


def _health(value: bool | None) -> str:
    return {True: "[green]healthy[/]", False: "[red]down[/]", None: "[yellow]unknown[/]"}[value]


def status_table(
    topology: Topology, addresses: AddressBook, reports: dict[str, TopologyReport]
) -> Table:
    table = Table(title=f"GSP sandbox · topology {topology.name}")
    for column in ("node", "kind", "serves", "url", "health"):
        table.add_column(column)
    services_health = {
        (s.code, s.version): s.healthy
        for r in reports.values()
        for group in (r.national, r.intra)
        if group
        for s in group.services
        if s.route == "backend"
    }
    for name, platform in topology.platforms.items():
        report = reports.get(name)
        table.add_row(
            name,
            f"{platform.tier.value} platform",
            platform.title,
            "\n".join(addresses.urls(name)),  # HTTP, and HTTPS beneath it
            _health(report is not None),
        )
    for name in topology.backends:
        served = [s for s in topology.services if s.backend == name]
        healthy = [services_health.get(s.key) for s in served]
        mail = [f"documents for {m.agency}" for m in topology.mailboxes if m.backend == name]
        if not served:
            # A back end that only receives documents has no service for a platform to
            # health-check; it answered /healthz before this table was drawn.
            healthy = [True]
        table.add_row(
            name,
            f"{served[0].tier.value} back end" if served else "mailbox back end",
            ", ".join([*(f"/{s.code}/{s.version}/" for s in served), *mail]) or "(no service)",
            addresses.url(name),
            _health(all(healthy) if healthy and None not in healthy else None),
        )
    return table


def ephemeral_ports(addresses: AddressBook) -> list[tuple[str, int]]:
    """(node, port) pairs in the kernel's ephemeral range, HTTPS ports included."""
    low, high = ephemeral_range()
    return [(n, p) for n, p in addresses.all_ports() if low <= p <= high]


def _warn_ephemeral(addresses: AddressBook) -> None:
    exposed = ephemeral_ports(addresses)
    if not exposed:
        return
    low, high = ephemeral_range()
    ports = sorted(p for _, p in exposed)
    errors.print(
        f"[yellow]warning: {len({n for n, _ in exposed})} node(s) listen in the kernel's "
        "ephemeral port range "
        f"{low}–{high} (ports {ports[0]}–{ports[-1]}): any program's outgoing connection can "
        "take such a port between the check above and the node's bind, and that node then "
        "fails to start. Choose a --port-offset that keeps every node below "
        f"{low}.[/]",
        highlight=False,
    )


async def _up(args: argparse.Namespace) -> int:
    from sandbox import control
    from sandbox.supervisor import CannotKeepUp

    topology = load_topology(args.topology)
    load_seeds(seed_paths(topology.seeds))  # a bad seed file stops here, before any node
    addresses = AddressBook(topology).shifted(args.port_offset)
    try:
        policy = _restart_policy(args)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(map(str, error["loc"]))
            errors.print(f"[red]restart policy: {where}: {error['msg']}[/]", highlight=False)
        return 2
    if control.running(args.data_dir):
        errors.print(
            f"[red]another `gsp-sandbox up` is running with data dir {args.data_dir}[/]: "
            "stop it, or give this one its own --data-dir and --port-offset",
            highlight=False,
        )
        return 1
    if args.pretty:
        os.environ["GSP_LOG_FORMAT"] = "pretty"  # the node processes inherit it
    if args.nodes_per_worker is not None and args.nodes_per_worker < 1:
        errors.print("[red]--nodes-per-worker must be 1 or more[/]", highlight=False)
        return 2
    per_worker = args.nodes_per_worker or auto_nodes_per_worker(len(addresses.nodes()))
    try:
        launcher = Launcher(
            args.topology,
            topology,
            args.data_dir,
            addresses,
            fork=True,
            nodes_per_worker=per_worker,
        )
    except ValueError as exc:
        errors.print(f"[red]cannot pack: {exc}[/]", highlight=False)
        return 2
    if launcher.packed:
        _say(
            f"{len(addresses.nodes())} nodes packed into {len(launcher.units)} worker "
            f"processes of at most {per_worker} nodes (--nodes-per-worker)"
        )
    taken = await launcher.check_ports()
    if taken:
        errors.print(
            f"[red]cannot start: {len(taken)} of the {len(addresses.all_ports())} ports this "
            "sandbox needs are taken[/]",
            highlight=False,
        )
        for port in taken:
            errors.print(f"  {port.describe()}", highlight=False)
        ports = sorted(port for _, port in addresses.all_ports())
        clear = (ports[-1] - ports[0]) // 1000 * 1000 + 1000  # an offset past the whole span
        errors.print(
            f"This topology uses ports {ports[0]}–{ports[-1]}. Another sandbox? Stop it, or "
            f"start this one beside it with --port-offset {clear} and its own --data-dir.",
            highlight=False,
        )
        return 1
    _warn_ephemeral(addresses)
    supervisor = Supervisor(launcher, policy, _say, health_within=args.timeout)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    server: asyncio.Server | None = None
    watch: asyncio.Task[None] | None = None
    try:
        loaded = str(resolve_topology_path(args.topology).resolve())
        server = await control.serve(args.data_dir, _control_handler(supervisor, loaded))
        await supervisor.start()
        watch = asyncio.create_task(supervisor.run(), name="supervisor")
        waiter = asyncio.create_task(stop.wait())
        with console.status("starting nodes…") as status:
            ready = asyncio.create_task(
                launcher.wait_ready(
                    args.timeout,
                    lambda done, total: status.update(f"starting nodes… {done}/{total} healthy"),
                    # Under `--restart no` a node that exits while starting stays down.
                    fail_on_exit=policy.condition is RestartCondition.NO,
                )
            )
            await asyncio.wait({ready, watch, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                if watch.done():
                    await watch  # raises CannotKeepUp
                return 130  # Ctrl-C before everything was up
            reports = await ready
        supervisor.mark_up()
        elapsed = time.monotonic() - started
        console.print(status_table(topology, addresses, reports))
        for report in sorted(reports.values(), key=lambda r: r.tier.value, reverse=True):
            console.print(f"[bold]{report.summary}[/]")
        lgsp = next((n for n, p in topology.platforms.items() if p.upstream), None)
        if lgsp is not None:
            console.print(
                f"dashboard {addresses.url(lgsp)}/dashboard · try: gsp-sandbox status, "
                "gsp-sandbox samples, gsp-sandbox call, gsp-sandbox logs -f --pretty",
                highlight=False,
            )
        if addresses.https:
            console.print(
                f"https: the platforms' certificates chain to {args.data_dir}/pki/ca.pem · "
                f"gsp-sandbox pki export --data-dir {args.data_dir} writes it for Java, .NET, "
                "Node and Python (README, HTTPS)",
                highlight=False,
            )
        console.print(
            f"ready in {elapsed:.1f} s · data in {args.data_dir} · logs in "
            f"{args.data_dir / 'logs'} · {policy.describe()} · "
            f"gsp-sandbox stop|start|restart NODE --data-dir {args.data_dir} · "
            "Ctrl-C stops everything",
            highlight=False,
        )
        if args.exit_when_ready:
            return 0
        await asyncio.wait({waiter, watch}, return_when=asyncio.FIRST_COMPLETED)
        if watch.done():
            await watch  # raises CannotKeepUp
        return 0
    except CannotKeepUp as exc:
        errors.print(f"[red]cannot keep the sandbox up:[/] {exc}", highlight=False)
        return 1
    except (RuntimeError, TimeoutError) as exc:
        errors.print(f"[red]start-up failed:[/] {escape(str(exc))}", highlight=False)
        return 1
    finally:
        console.print("stopping…")
        await supervisor.shutdown()
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, CannotKeepUp):
                await watch
        if server is not None:
            server.close()
            control.remove(args.data_dir)
        await launcher.stop()
        console.print("all nodes stopped")


def _say(message: str) -> None:
    console.print(f"{time.strftime('%H:%M:%S')} {message}", highlight=False)


def _restart_policy(args: argparse.Namespace) -> RestartPolicy:
    given = {
        "condition": args.restart,
        "max_attempts": args.restart_max_attempts,
        "delay_seconds": args.restart_delay,
        "max_delay_seconds": args.restart_max_delay,
        "window_seconds": args.restart_window,
    }
    return RestartPolicy(**{k: v for k, v in given.items() if v is not None})


def _control_handler(supervisor: Supervisor, topology: str) -> ControlHandler:
    from sandbox.supervisor import PackedNode, UnknownNode

    async def handle(message: dict[str, object]) -> dict[str, object]:
        command = message.get("command")
        if command == "ps":
            addresses = supervisor.launcher.addresses
            nodes = supervisor.status()
            for unit in nodes:
                unit["urls"] = {n: addresses.urls(n) for n in unit["nodes"]}
            return {
                "ok": True,
                "instance": supervisor.launcher.instance,
                "topology": topology,  # what the other commands load (sandbox.running)
                "nodes": nodes,
            }
        actions = {
            "stop": supervisor.stop_node,
            "start": supervisor.start_node,
            "restart": supervisor.restart_node,
        }
        node = message.get("node")
        if command not in actions or not isinstance(node, str):
            return {"ok": False, "error": f"unknown command {command!r}"}
        try:
            return {"ok": True, "message": await actions[command](node)}
        except UnknownNode as exc:
            return {"ok": False, "error": str(exc), "unknown_node": True}
        except PackedNode as exc:
            return {"ok": False, "error": str(exc)}
        except RuntimeError as exc:
            return {"ok": False, "error": f"{node}: {exc}"}

    return handle


def _node_command(args: argparse.Namespace) -> int:
    """stop, start, restart or ps: asks the running `up` for this data dir."""
    from sandbox import control

    message: dict[str, object] = {"command": args.command}
    if args.command != "ps":
        message["node"] = args.node
    try:
        answer = control.request(args.data_dir, message)
    except control.NotRunning as exc:
        errors.print(f"[red]{exc}[/] (start it with `gsp-sandbox up`)", highlight=False)
        return 1
    except (OSError, ValueError) as exc:
        errors.print(f"[red]{args.data_dir}: the running `up` did not answer: {exc}[/]")
        return 1
    if not answer.get("ok"):
        errors.print(f"[red]{answer.get('error', 'refused')}[/]", highlight=False)
        return 2 if answer.get("unknown_node") else 1
    if args.command == "ps":
        table = Table(title=f"nodes of the sandbox in {args.data_dir}")
        packed = any(n.get("nodes", [n["node"]]) != [n["node"]] for n in answer["nodes"])
        for column in ("worker" if packed else "node", "status", "pid", "restarts", "last exit"):
            table.add_column(column)
        table.add_column("nodes" if packed else "urls")
        for n in answer["nodes"]:
            urls: dict[str, list[str]] = n.get("urls", {})
            if packed:
                # A worker's back ends are listed by name; its platforms with their URLs,
                # the HTTPS one beside the HTTP one.
                listed = [
                    f"{m} {' '.join(urls[m])}" if len(urls.get(m, [])) > 1 else m
                    for m in n.get("nodes", [])
                ]
                last = ", ".join(listed)
            else:
                last = "\n".join(urls.get(n["node"], []))
            table.add_row(
                n["node"],
                n["status"],
                str(n["pid"] or "-"),
                str(n["restarts"]),
                n["last_exit"] or "",
                last,
            )
        console.print(table)
        return 0
    console.print(answer["message"], highlight=False)
    return 0


def _audit_verify(database: Path) -> int:
    if not database.exists():
        errors.print(f"[red]{database}: no such audit database[/]", highlight=False)
        return 2
    check = verify_chain(database)
    if check.intact:
        anchored = (
            "head anchored"
            if check.head_authenticated
            else f"head not authenticated (no key at {key_path_of(database)})"
        )
        console.print(
            f"{database}: {check.records} records, hash chain intact, {anchored}",
            highlight=False,
        )
        return 0
    errors.print(
        f"[red]{database}: hash chain broken at record id {check.first_broken_id}[/]: "
        f"{check.reason}",
        highlight=False,
    )
    return 1


def _verify(args: argparse.Namespace) -> int:
    from contracts.registry import contracts
    from sandbox.junit import write_junit
    from sandbox.verify import verify

    headers = {}
    for raw in args.header:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            errors.print(f"[red]--header {raw!r}: expected 'Name: value'[/]", highlight=False)
            return 2
        headers[name.strip()] = value.strip()
    try:
        report = asyncio.run(
            verify(
                args.base_url,
                args.contract,
                args.version,
                headers=headers,
                keep_records=args.keep_records,
            )
        )
    except LookupError as exc:
        close = difflib.get_close_matches(args.contract, list(contracts()), n=5, cutoff=0.3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        errors.print(f"[red]{escape(str(exc))}{hint}[/]", highlight=False)
        return 2
    table = Table(title=f"{report.contract} {report.version} at {report.base_url}")
    for column in ("operation", "case", "status", "result"):
        table.add_column(column)
    for r in report.results:
        table.add_row(
            r.case.operation,
            f"{r.case.kind}: {r.case.name}",
            str(r.status or "-"),
            "[green]pass[/]" if r.passed else f"[red]FAIL[/] {escape(r.reason)}",
        )
    console.print(table)
    if args.junit:
        write_junit(report, args.junit)
    failed = len(report.failures)
    console.print(
        f"{len(report.results) - failed} passed, {failed} failed · {report.cleanup}"
        + (f" · JUnit report {args.junit}" if args.junit else "")
    )
    return 0 if report.passed else 1


def _faults(args: argparse.Namespace) -> int:
    """List, add, replace or clear a running platform's fault rules, as its admin."""
    import json

    from contracts.faults import FaultRule, FaultRules
    from sandbox.platform_client import choose_platform, platform_client

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


def _where(parser: argparse.ArgumentParser, *, platform: bool = True) -> None:
    """Options that find a running sandbox: the same topology and ports `up` used."""
    _running_topology_options(parser)
    parser.add_argument("--port-offset", type=int, default=0, help="as given to `up`")
    if platform:
        parser.add_argument(
            "--platform", help="e.g. ngsp or lgsp-bac-giang (default: the provincial one)"
        )
    parser.add_argument("--url", help="the platform's base URL, if not where the topology says")


def _running_topology_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topology",
        help="shipped name or file (default: what the running sandbox says, see --data-dir; "
        f"else {DEFAULT_TOPOLOGY})",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="of the running `up` (default data)"
    )


def _status(args: argparse.Namespace) -> int:
    from sandbox.live import fetch_state, traffic_table
    from sandbox.platform_client import choose_platform, platform_client

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


def _topology(args: argparse.Namespace) -> int:
    from sandbox.live import fetch_reports, topology_tree
    from sandbox.platform_client import choose_platform

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


def _call(args: argparse.Namespace) -> int:
    from sandbox.live import parse_header, print_call, request_body, routed_call
    from sandbox.platform_client import choose_platform, default_caller, platform_client

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


def _audit(args: argparse.Namespace) -> int:
    import json

    from contracts.audit import AuditRecord
    from sandbox.live import audit_line, follow_audit, read_audit
    from sandbox.platform_client import choose_platform, platform_client

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


def _logs(args: argparse.Namespace) -> int:
    from sandbox.logview import NoLogs, existing_lines, follow, log_files

    try:
        files = log_files(args.data_dir, args.nodes)
    except NoLogs as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    lines, tails = existing_lines(files, args.lines, args.message_id)
    for line in lines:
        print(line.render(args.pretty), flush=True)
    if args.follow:
        try:
            for line in follow(tails, args.message_id):
                print(line.render(args.pretty), flush=True)
        except KeyboardInterrupt:
            return 0
    return 0


def _own_first(records: tuple[_Record, ...], own: int) -> list[_Record]:
    """Seeded records come last in the sample data; here first: an agency added them."""
    split = len(records) - own
    return [*records[split:], *records[:split]]


def _samples(args: argparse.Namespace) -> int:
    """IDs the sample back ends know, seeded ones included: something real to call with."""
    from services.common.backend_data import SampleData

    topology = load_topology(topology_ref(args))
    data = SampleData(topology.seed, load_seeds(seed_paths(topology.seeds)))
    people = Table(title=f"citizens (population, civil status, insurance) · {topology.name}")
    for column in ("soDinhDanh", "hoTen", "ngaySinh", "gioiTinh", "maSoBhxh"):
        people.add_column(column)
    for c in _own_first(data.citizens, len(data.seeded.citizens))[: args.count]:
        born = c.ngay_sinh
        people.add_row(
            c.so_dinh_danh, c.ho_ten, born.strftime("%d/%m/%Y"), str(c.gioi_tinh), c.so_bhxh
        )
    firms = Table(title="enterprises (business registration: msdn; tax: mst)")
    for column in ("msdn", "NAME", "ENTERPRISE_STATUS_NAME"):
        firms.add_column(column)
    for e in _own_first(data.enterprises, len(data.seeded.enterprises))[: args.count]:
        firms.add_row(e.msdn, e.ten, e.tinh_trang)
    console.print(people, firms)
    console.print(
        "business registration dossiers: in_journal_no 240000001 … 240000240 "
        "(tinhTrangHoSo); dates dd/MM/yyyy (danhSachHoSo, at most 5 days)",
        highlight=False,
    )
    if data.dossiers:
        dossiers = Table(title="seeded dossiers (one-stop shop)")
        for column in ("maHoSo", "maThuTuc"):
            dossiers.add_column(column)
        for d in data.dossiers[: args.count]:
            dossiers.add_row(d.maHoSo, d.maThuTuc)
        console.print(dossiers)
    return 0


def unknown_agency_hint(code: str, topology: Topology) -> str:
    """An agency code the topology does not have: the closest codes it has, by name."""
    names = {a.code: a.name for a in topology.agencies}
    close = difflib.get_close_matches(code, list(names), n=3, cutoff=0.6)
    listed = "; ".join(f"{c} {names[c]}" for c in close)
    shipped = topology.name in shipped_topologies()
    where = resolve_topology_path(topology.name) if shipped else "the topology file"
    return (
        f"unknown agency {code} in topology {topology.name}"
        + (f"; did you mean {listed}?" if listed else "")
        + f" Its {len(names)} agencies are under `agencies:` in {where}."
    )


def _pki_issue(args: argparse.Namespace) -> int:
    """An agency's signing key and certificate, so its own system signs its packages."""
    from sandbox.pki import PKCS12_PASSWORD, issue

    try:
        topology = load_topology(topology_ref(args))
    except (TopologyError, SeedError) as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    names = {a.code: a.name for a in topology.agencies}
    if args.agency not in names:
        errors.print(
            f"[red]{escape(unknown_agency_hint(args.agency, topology))}[/]", highlight=False
        )
        return 2
    issued = issue(args.data_dir, args.agency, names[args.agency], args.out)
    for label, path in (
        ("key (PEM, PKCS#8)", issued.key),
        ("certificate (PEM)", issued.certificate),
        (f"key and certificate (PKCS#12, password {PKCS12_PASSWORD!r})", issued.pkcs12),
        ("CA certificate (PEM)", issued.ca),
    ):
        console.print(f"{label}: {path}", highlight=False, soft_wrap=True)
    return 0


def _pki_export(args: argparse.Namespace) -> int:
    """The sandbox CA, for clients that call the platforms over HTTPS: no "trust all"."""
    from sandbox.pki import PKCS12_PASSWORD, export_ca

    try:
        exported = export_ca(args.data_dir, args.out)
    except OSError as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    for label, path in (
        (
            "CA certificate, PEM (Python SSL_CERT_FILE / httpx verify=, Node NODE_EXTRA_CA_CERTS)",
            exported.pem,
        ),
        ("CA certificate, DER (Windows / .NET certificate import)", exported.der),
        (
            f"Java truststore, PKCS#12, password {PKCS12_PASSWORD!r} "
            "(-Djavax.net.ssl.trustStore=…)",
            exported.truststore,
        ),
    ):
        console.print(f"{label}: {path}", highlight=False, soft_wrap=True)
    return 0


def _kubernetes_tls(topology: Topology, data_dir: Path, namespace: str) -> dict[str, TlsPair]:
    """Each platform's HTTPS certificate for the cluster, from the PKI in `data_dir`: made
    once (kept under pki/tls/kubernetes-NAMESPACE/) and made again only when it no longer fits."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sandbox.tls import ensure_server_credentials, kubernetes_names, server_names

    pairs = {}
    for node in topology.platforms:
        names = server_names(node, kubernetes_names(node, namespace))
        pem = ensure_server_credentials(
            data_dir, node, names, folder=f"kubernetes-{namespace}"
        ).read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        pairs[node] = TlsPair(
            certificate=x509.load_pem_x509_certificate(pem)
            .public_bytes(serialization.Encoding.PEM)
            .decode("ascii"),
            key=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii"),
        )
    return pairs


def _export_kubernetes(args: argparse.Namespace) -> int:
    from sandbox.pki import CA_FILE, ensure_ca, pki_dir

    options = ExportOptions(args.image, args.namespace, args.storage, args.storage_class)
    try:
        options.check()  # a wrong option is named before anything is made or written
        topology = load_topology(args.topology)
        ensure_ca(args.pki_data_dir)  # the CA the platforms will trust; made if missing
        ca_pem = (pki_dir(args.pki_data_dir) / CA_FILE).read_text(encoding="ascii")
        tls = _kubernetes_tls(topology, args.pki_data_dir, options.namespace)
        options = replace(options, trust_anchor_pem=ca_pem, tls=tls)
        path = write_manifests(topology, options, args.out)
    except (OSError, TopologyError, SeedError, ExportError) as exc:
        errors.print(f"[red]{exc}[/]", highlight=False)
        return 2
    console.print(
        f"wrote {path}\napply with: kubectl apply -f {path}\nsigned documents: the platforms "
        f"trust the CA in {pki_dir(args.pki_data_dir)}; give an agency its key with "
        f"`gsp-sandbox pki issue AGENCY --data-dir {args.pki_data_dir}`\nHTTPS: the platforms' "
        f"certificates chain to that CA; `gsp-sandbox pki export --data-dir "
        f"{args.pki_data_dir}` writes it for clients",
        highlight=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gsp-sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser(
        "up", help="start every node of a topology (a process each, or packed into workers)"
    )
    up.add_argument(
        "--topology",
        default=DEFAULT_TOPOLOGY,
        help=f"shipped name ({', '.join(shipped_topologies())}) or a file path",
    )
    up.add_argument("--data-dir", type=Path, default=DATA_DIR)
    up.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="add this to every port (to run a second sandbox)",
    )
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
    up.add_argument(
        "--pretty", action="store_true", help="node logs as text for people, not JSON lines"
    )
    up.add_argument(
        "--restart",
        choices=[c.value for c in RestartCondition],
        help="restart policy for a node that exits, as Compose's (default: unless-stopped)",
    )
    up.add_argument(
        "--restart-max-attempts",
        type=int,
        help="restarts in a row before `up` gives up and exits non-zero (0: never; default 5)",
    )
    up.add_argument(
        "--restart-delay", type=float, help="seconds before the first restart (default 0.5)"
    )
    up.add_argument(
        "--restart-max-delay", type=float, help="backoff doubles up to this (default 10)"
    )
    up.add_argument(
        "--restart-window",
        type=float,
        help="a node up this many seconds has recovered: its attempts reset (default 10)",
    )
    up.add_argument(
        "--nodes-per-worker",
        type=int,
        help=(
            "pack nodes into worker processes of at most N nodes each (1: a process per "
            f"node; default 1 up to {PACK_ABOVE_NODES} nodes, else {AUTO_WORKERS} workers)"
        ),
    )
    up.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="stop again once everything is healthy (a smoke check)",
    )

    for name, what in (
        ("stop", "stop a node of the running `up`; it stays down (an outage on purpose)"),
        ("start", "start a node of the running `up` again"),
        ("restart", "stop and start a node of the running `up`"),
    ):
        outage = sub.add_parser(name, help=what)
        outage.add_argument("node", help="e.g. population or lgsp-bac-giang")
        outage.add_argument("--data-dir", type=Path, default=DATA_DIR, help="as given to `up`")
    ps = sub.add_parser("ps", help="the nodes of the running `up`: status, pid, restarts")
    ps.add_argument("--data-dir", type=Path, default=DATA_DIR, help="as given to `up`")

    node = sub.add_parser("node", help="serve some nodes of a topology in this process")
    node.add_argument("nodes", nargs="+")
    node.add_argument("--topology", default=DEFAULT_TOPOLOGY)
    node.add_argument("--data-dir", type=Path, default=DATA_DIR)
    node.add_argument("--pretty", action="store_true", help="logs as text, not JSON lines")

    pki = sub.add_parser("pki", help="the sandbox PKI: agencies' signing keys and certificates")
    pki_actions = pki.add_subparsers(dest="action", required=True)
    issue = pki_actions.add_parser(
        "issue",
        help="write an agency's key and certificate (PEM and PKCS#12) and the CA certificate",
    )
    issue.add_argument("agency", help="the agency's code (edXML OrganId), e.g. 000.00.01.H04")
    _running_topology_options(issue)
    issue.add_argument("--out", type=Path, default=Path("."), help="folder to write into")

    ca_export = pki_actions.add_parser(
        "export",
        help="write the CA the platforms' HTTPS certificates chain to: PEM, DER and a Java "
        "truststore (PKCS#12)",
    )
    ca_export.add_argument("--data-dir", type=Path, default=DATA_DIR, help="as given to `up`")
    ca_export.add_argument("--out", type=Path, default=Path("."), help="folder to write into")

    check = sub.add_parser("validate", help="check a topology file and print its counts")
    check.add_argument("topology")

    verify = sub.add_parser(
        "audit-verify",
        help="check a platform's audit log hash chain; names the first broken record",
    )
    verify.add_argument("database", type=Path, help="e.g. data/lgsp-bac-giang.audit.sqlite3")

    provider = sub.add_parser(
        "verify",
        help="check that a running back end keeps a contract (for agency CI)",
    )
    provider.add_argument("--base-url", required=True, help="the back end's base URL")
    provider.add_argument(
        "--contract", required=True, help="contract id, e.g. vn.gov.csdldc.population"
    )
    provider.add_argument("--version", default="1.0")
    provider.add_argument("--junit", type=Path, help="also write a JUnit XML report here")
    provider.add_argument(
        "--header", action="append", default=[], help="'Name: value' sent with every call"
    )
    provider.add_argument(
        "--keep-records",
        action="store_true",
        help="keep what the valid write cases created (default: POST /_sandbox/reset after)",
    )

    chaos = sub.add_parser("faults", help="a running platform's fault rules (admin)")
    chaos.add_argument("action", choices=["list", "add", "set", "clear"])
    chaos.add_argument(
        "rule", nargs="?", help='add: a rule as JSON; set: a file of {"rules": [...]}'
    )
    _where(chaos)

    status = sub.add_parser(
        "status", help="each service of a running sandbox: health, p50/p95 latency, errors"
    )
    _where(status)

    tree = sub.add_parser("topology", help="a running sandbox as a tree, with its counts")
    _where(tree)

    call = sub.add_parser(
        "call", help="a routed call with a token fetched for you; prints status and message id"
    )
    call.add_argument("method", type=str.upper, help="GET, POST, …")
    call.add_argument("path", help="e.g. /apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=2400011234")
    call.add_argument("--data", help="request body, or @file")
    call.add_argument("--consumer", help="call as this consumer (default: the one-stop shop)")
    call.add_argument(
        "-H", "--header", action="append", default=[], help="'Name: value', repeatable"
    )
    _where(call)

    audit = sub.add_parser("audit", help="a platform's audited exchanges; --follow for live")
    audit.add_argument("--limit", type=int, default=20, help="how many of the latest to show")
    audit.add_argument("--follow", "-f", action="store_true", help="keep showing new ones")
    audit.add_argument("--message-id", help="only this exchange")
    audit.add_argument("--json", action="store_true", help="one JSON record per line")
    _where(audit)

    logs = sub.add_parser("logs", help="node logs of a sandbox started with `up`")
    logs.add_argument("nodes", nargs="*", help="node names (default: every node)")
    logs.add_argument("--data-dir", type=Path, default=DATA_DIR)
    logs.add_argument("--follow", "-f", action="store_true", help="keep showing new lines")
    logs.add_argument("--pretty", action="store_true", help="text for people, not JSON lines")
    logs.add_argument("--message-id", help="only lines of this exchange, on every node")
    logs.add_argument("--lines", "-n", type=int, default=50, help="last N lines (0: all)")

    samples = sub.add_parser("samples", help="IDs the sample back ends know, to call with")
    _running_topology_options(samples)
    samples.add_argument("--port-offset", type=int, default=0, help="as given to `up`")
    samples.add_argument("--url", help="a running platform's base URL (to find its topology)")
    samples.add_argument("-n", "--count", type=int, default=5)

    exported = sub.add_parser("contracts", help="contract documents")
    exported.add_argument(
        "action",
        choices=["export", "fidelity"],
        help="export: rewrite contracts/openapi, schemas and docs/fidelity.md; "
        "fidelity: rewrite docs/fidelity.md (the fidelity ledger) only",
    )

    exporter = sub.add_parser("export", help="the topology for another runtime")
    targets = exporter.add_subparsers(dest="target", required=True)
    k8s = targets.add_parser(
        "kubernetes", help="manifests: per node a Deployment, a Service and a volume"
    )
    k8s.add_argument("topology", help="shipped name or a file path")
    k8s.add_argument("--out", type=Path, default=Path("k8s"), help="folder to write into")
    k8s.add_argument("--image", default=DEFAULT_IMAGE, help="the image every node runs")
    k8s.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    k8s.add_argument(
        "--storage", default=DEFAULT_STORAGE, help="each node's volume for its SQLite files"
    )
    k8s.add_argument("--storage-class", help="default: the cluster's default StorageClass")
    k8s.add_argument(
        "--pki-data-dir",
        type=Path,
        default=DATA_DIR,
        help="the data dir whose sandbox PKI the platforms trust (its CA is made if missing)",
    )

    add_own_commands(sub)  # mock, record, replay, check-cassette (sandbox/own_services.py)

    args = parser.parse_args(argv)
    if args.command in OWN_COMMANDS:
        return run_own_command(args, lambda given: asyncio.run(_up(given)))
    if args.command == "export":
        return _export_kubernetes(args)
    if args.command == "contracts":
        from sandbox.contract_export import export, write_fidelity_table

        for path in export() if args.action == "export" else [write_fidelity_table()]:
            console.print(str(path), highlight=False)
        return 0
    if args.command == "verify":
        return _verify(args)
    if args.command == "audit-verify":
        return _audit_verify(args.database)
    live = {
        "status": _status,
        "topology": _topology,
        "call": _call,
        "audit": _audit,
        "faults": _faults,
    }
    if args.command in live:
        from sandbox.platform_client import PlatformNotFound

        try:
            return live[args.command](args)
        except (TopologyError, PlatformNotFound) as exc:
            errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
            return 2
    if args.command == "logs":
        return _logs(args)
    if args.command == "pki":
        return _pki_export(args) if args.action == "export" else _pki_issue(args)
    if args.command in ("stop", "start", "restart", "ps"):
        return _node_command(args)
    if args.command == "samples":
        try:
            return _samples(args)
        except (TopologyError, SeedError) as exc:
            errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
            return 2
    try:
        if args.command == "up":
            return asyncio.run(_up(args))
        if args.command == "node":
            from sandbox.node import run
            from sandbox.settings import SandboxSettings

            settings = SandboxSettings(
                topology=args.topology, nodes=args.nodes, data_dir=args.data_dir
            )
            if args.pretty:
                settings = settings.model_copy(update={"log_format": "pretty"})
            run(settings)
            return 0
        topology = load_topology(args.topology)
        seeds = seed_paths(topology.seeds)
        seeded = load_seeds(seeds)
    except (TopologyError, SeedError) as exc:
        errors.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return 2
    if seeds:
        console.print(f"seeds: {seeded.summary()} from {', '.join(map(str, seeds))}")
    for name, platform in topology.platforms.items():
        console.print(
            f"{name}: {len(topology.services_at(name))} services registered"
            + (
                f", {len(topology.upstream_services(name))} through {platform.upstream.platform}"
                if platform.upstream
                else ""
            )
        )
    for line in count(topology).lines():
        console.print(line, highlight=False)
    console.print(f"{topology.name}: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
