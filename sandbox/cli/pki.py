"""`gsp-sandbox pki issue|export`: agencies' signing keys, and the CA for HTTPS clients."""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

from rich.markup import escape

from contracts.topology import Topology
from sandbox.cli.options import DATA_DIR, Subcommands, console, errors, running_topology_options
from sandbox.cli.which import topology_ref
from sandbox.topology.loading import load_topology, resolve_topology_path, shipped_topologies


def register(sub: Subcommands) -> None:
    pki = sub.add_parser("pki", help="the sandbox PKI: agencies' signing keys and certificates")
    pki_actions = pki.add_subparsers(dest="action", required=True)
    issue = pki_actions.add_parser(
        "issue",
        help="write an agency's key and certificate (PEM and PKCS#12) and the CA certificate",
    )
    issue.set_defaults(run=run_issue)
    issue.add_argument("agency", help="the agency's code (edXML OrganId), e.g. 000.00.01.H04")
    running_topology_options(issue)
    issue.add_argument("--out", type=Path, default=Path("."), help="folder to write into")

    ca_export = pki_actions.add_parser(
        "export",
        help="write the CA the platforms' HTTPS certificates chain to: PEM, DER and a Java "
        "truststore (PKCS#12)",
    )
    ca_export.set_defaults(run=run_export)
    ca_export.add_argument("--data-dir", type=Path, default=DATA_DIR, help="as given to `up`")
    ca_export.add_argument("--out", type=Path, default=Path("."), help="folder to write into")


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


def run_issue(args: argparse.Namespace) -> int:
    """An agency's signing key and certificate, so its own system signs its packages."""
    from sandbox.pki.authority import PKCS12_PASSWORD, issue

    topology = load_topology(topology_ref(args))
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


def run_export(args: argparse.Namespace) -> int:
    """The sandbox CA, for clients that call the platforms over HTTPS: no "trust all"."""
    from sandbox.pki.authority import PKCS12_PASSWORD, export_ca

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
