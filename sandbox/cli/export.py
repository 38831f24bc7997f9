"""`gsp-sandbox export kubernetes` and `contracts`: the topology and the contracts as files."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from contracts.topology import Topology
from sandbox.cli.options import DATA_DIR, Subcommands, add, console, errors
from sandbox.export.kubernetes import (
    DEFAULT_IMAGE,
    DEFAULT_NAMESPACE,
    DEFAULT_STORAGE,
    ExportError,
    ExportOptions,
    TlsPair,
    write_manifests,
)
from sandbox.topology.loading import TopologyError, load_topology
from services.common.seeds import SeedError


def register(sub: Subcommands) -> None:
    exported = add(sub, "contracts", run_contracts, help="contract documents")
    exported.add_argument(
        "action",
        choices=["export", "fidelity"],
        help="export: rewrite contracts/openapi, schemas and docs/fidelity.md; "
        "fidelity: rewrite docs/fidelity.md (the fidelity ledger) only",
    )

    exporter = sub.add_parser("export", help="the topology for another runtime")
    targets = exporter.add_subparsers(dest="target", required=True)
    k8s = add(
        targets,
        "kubernetes",
        run_kubernetes,
        help="manifests: per node a Deployment, a Service and a volume",
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


def run_contracts(args: argparse.Namespace) -> int:
    from sandbox.export.contracts import export, write_fidelity_table

    for path in export() if args.action == "export" else [write_fidelity_table()]:
        console.print(str(path), highlight=False)
    return 0


def run_kubernetes(args: argparse.Namespace) -> int:
    from sandbox.pki.authority import CA_FILE, ensure_ca, pki_dir

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


def _kubernetes_tls(topology: Topology, data_dir: Path, namespace: str) -> dict[str, TlsPair]:
    """Each platform's HTTPS certificate for the cluster, from the PKI in `data_dir`: made
    once (kept under pki/tls/kubernetes-NAMESPACE/) and made again only when it no longer fits."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from sandbox.pki.tls import ensure_server_credentials, kubernetes_names, server_names

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
