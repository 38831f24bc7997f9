"""`gsp-sandbox verify` (a back end against its contract) and `audit-verify` (a hash chain)."""

from __future__ import annotations

import argparse
import asyncio
import difflib
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from sandbox.cli.options import Subcommands, add, console, errors


def register(sub: Subcommands) -> None:
    verify = add(
        sub,
        "audit-verify",
        lambda args: _audit_verify(args.database),
        help="check a platform's audit log hash chain; names the first broken record",
    )
    verify.add_argument("database", type=Path, help="e.g. data/lgsp-bac-giang.audit.sqlite3")

    provider = add(
        sub,
        "verify",
        run_verify,
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


def _audit_verify(database: Path) -> int:
    from gateway.messagelog.audit_chain import key_path_of, verify_chain

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


def run_verify(args: argparse.Namespace) -> int:
    from contracts.registry import contracts
    from sandbox.testing.junit import write_junit
    from sandbox.testing.verify import verify

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
