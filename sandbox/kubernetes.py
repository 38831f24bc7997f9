"""Kubernetes manifests for a topology: `gsp-sandbox export kubernetes TOPOLOGY`.

The same image and the same node process as docker-compose.yml, laid out for a cluster:
per node a Deployment (one replica, `python -m sandbox.node` with GSP_NODES naming that
node), a Service of the node's own name and port, and a PersistentVolumeClaim for its
SQLite files; one ConfigMap holds the topology (and its seeds, if it names any, and the
sandbox PKI's CA certificate, the platforms' trust anchor for signed documents), mounted
where every node reads it. Nodes reach each other as compose's do, by host name
(GSP_HOST_PATTERN={node}): here the Service's DNS name in the namespace.

Everything is built as plain dicts and dumped as YAML by PyYAML, one multi-document file.
tests/test_kubernetes.py validates the output against the Kubernetes schemas and runs each
Deployment's container as a local process.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.seeds import SeedFile
from contracts.topology import Topology
from sandbox.addresses import AddressBook
from services.common.seeds import load_seeds

DEFAULT_IMAGE = "gsp-sandbox:latest"  # the name docker-compose.yml builds
DEFAULT_NAMESPACE = "gsp-sandbox"
DEFAULT_STORAGE = "1Gi"

# Where each container keeps its SQLite files and finds its topology.
DATA_DIR = "/data"
CONFIG_DIR = "/etc/gsp-sandbox"
TOPOLOGY_KEY = "topology.yaml"
SEEDS_KEY = "seeds.json"
# The sandbox PKI's root certificate: every platform's trust anchor for signed documents.
TRUST_ANCHOR_KEY = "ca.pem"
CONFIG_MAP = "gsp-topology"
HEALTH_PATH = "/healthz"
PORT_NAME = "http"
# The image's `gsp` user (Dockerfile): fsGroup makes the claimed volume writable by it.
IMAGE_UID = 10001
# The API server refuses a ConfigMap over 1 MiB (etcd's object size).
CONFIG_MAP_LIMIT = 1024 * 1024

# Service and namespace names are DNS labels (RFC 1035 for Services, 1123 for namespaces);
# a topology's node names allow a trailing hyphen, which neither does.
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")

Manifest = dict[str, Any]


class ExportError(ValueError):
    """A topology or an option that cannot become valid manifests; the message says which."""


@dataclass(frozen=True)
class ExportOptions:
    image: str = DEFAULT_IMAGE
    namespace: str = DEFAULT_NAMESPACE
    storage: str = DEFAULT_STORAGE
    storage_class: str | None = None  # None: the cluster's default StorageClass
    # The PEM of the CA whose agency certificates the platforms accept on signed documents.
    # Each pod has a volume of its own, so the CA travels in the ConfigMap (it is public).
    trust_anchor_pem: str | None = None

    def check(self) -> None:
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise ExportError(f"--image: {self.image!r} is not an image reference")
        if len(self.namespace) > 63 or not _DNS_1123_LABEL.match(self.namespace):
            raise ExportError(
                f"--namespace: {self.namespace!r} is not a DNS label "
                "(lower-case letters, digits and '-', at most 63, no '-' at either end)"
            )
        if not _QUANTITY.match(self.storage):
            raise ExportError(f"--storage: {self.storage!r} is not a quantity such as 1Gi")


def _label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63]
    return cleaned.strip("-_.") or "topology"


def topology_document(topology: Topology, seeds_file: str | None) -> str:
    """The topology as one self-contained YAML file: `extends:` already applied, and the
    seeds (a path on this machine) replaced by a file beside it in the ConfigMap."""
    fields = topology.model_dump(mode="json", exclude_defaults=True, exclude={"seeds"})
    if seeds_file is not None:
        fields["seeds"] = seeds_file  # read relative to the topology file
    text: str = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
    return text


def seeds_document(topology: Topology) -> str | None:
    if topology.seeds is None:
        return None
    seeded = load_seeds([topology.seeds])  # a bad seed fails here, not in the cluster
    content = SeedFile(
        citizens=list(seeded.citizens),
        enterprises=list(seeded.enterprises),
        dossiers=list(seeded.dossiers),
    )
    return content.model_dump_json(indent=1)


class _Layout:
    """Names, labels and shared pieces of one export."""

    def __init__(self, topology: Topology, options: ExportOptions) -> None:
        self.topology = topology
        self.options = options
        self.instance = _label_value(topology.name)
        self.addresses = AddressBook(topology, host_pattern="{node}")

    def labels(self, node: str | None = None) -> dict[str, str]:
        labels = {
            "app.kubernetes.io/part-of": "gsp-sandbox",
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/managed-by": "gsp-sandbox",
        }
        if node is not None:
            labels["app.kubernetes.io/name"] = node
            labels["app.kubernetes.io/component"] = (
                "platform" if node in self.topology.platforms else "backend"
            )
        return labels

    def selector(self, node: str) -> dict[str, str]:
        return {"app.kubernetes.io/instance": self.instance, "app.kubernetes.io/name": node}

    def metadata(self, name: str, node: str | None = None) -> dict[str, Any]:
        return {"name": name, "namespace": self.options.namespace, "labels": self.labels(node)}


def _namespace(layout: _Layout) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": layout.options.namespace, "labels": layout.labels()},
    }


def _config_map(layout: _Layout) -> Manifest:
    seeds = seeds_document(layout.topology)
    data = {TOPOLOGY_KEY: topology_document(layout.topology, SEEDS_KEY if seeds else None)}
    if seeds is not None:
        data[SEEDS_KEY] = seeds
    if layout.options.trust_anchor_pem is not None:
        data[TRUST_ANCHOR_KEY] = layout.options.trust_anchor_pem
    size = sum(len(k) + len(v.encode()) for k, v in data.items())
    if size > CONFIG_MAP_LIMIT:
        raise ExportError(
            f"{layout.topology.name}: topology and seeds take {size} bytes; a ConfigMap holds "
            f"at most {CONFIG_MAP_LIMIT}"
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": layout.metadata(CONFIG_MAP),
        "data": data,
    }


def _claim(layout: _Layout, node: str) -> Manifest:
    spec: dict[str, Any] = {
        # One pod writes a node's SQLite files; SQLite's locks do not hold over network
        # file systems shared between pods, so the volume is never shared.
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": layout.options.storage}},
    }
    if layout.options.storage_class is not None:
        spec["storageClassName"] = layout.options.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": layout.metadata(claim_name(node), node),
        "spec": spec,
    }


def claim_name(node: str) -> str:
    return f"{node}-data"


def _service(layout: _Layout, node: str) -> Manifest:
    port = layout.addresses.port(node)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": layout.metadata(node, node),
        "spec": {
            "type": "ClusterIP",
            "selector": layout.selector(node),
            # The node's own port, so `http://{node}:{port}` is the URL the others build.
            "ports": [
                {"name": PORT_NAME, "port": port, "targetPort": PORT_NAME, "protocol": "TCP"}
            ],
        },
    }


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _deployment(layout: _Layout, node: str, checksum: str) -> Manifest:
    env = {
        "GSP_TOPOLOGY": f"{CONFIG_DIR}/{TOPOLOGY_KEY}",
        "GSP_NODES": json.dumps([node]),
        "GSP_DATA_DIR": DATA_DIR,
        "GSP_BIND_HOST": "0.0.0.0",
        # The Service of the node's name: its DNS name within the namespace.
        "GSP_HOST_PATTERN": layout.addresses.host_pattern,
    }
    if layout.options.trust_anchor_pem is not None and node in layout.topology.platforms:
        env["GSP_DOCUMENT_TRUST_ANCHORS"] = f"{CONFIG_DIR}/{TRUST_ANCHOR_KEY}"
    container = {
        "name": "node",
        "image": layout.options.image,
        # A locally built image loaded into the cluster (kind, minikube) is used as is;
        # `Always`, the default for a `:latest` tag, would try a registry first.
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "sandbox.node"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "ports": [
            {"name": PORT_NAME, "containerPort": layout.addresses.port(node), "protocol": "TCP"}
        ],
        # Up within two minutes, or restarted; then out of the Service while /healthz fails
        # (a platform's audit log or document store cannot be written), restarted after a
        # minute of failing.
        "startupProbe": _probe(period=2, failures=60),
        "readinessProbe": _probe(period=5, failures=3),
        "livenessProbe": _probe(period=10, failures=6),
        # A node is about 70 MB when idle and below 90 MB under the benchmark's load.
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "topology", "mountPath": CONFIG_DIR, "readOnly": True},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": layout.metadata(node, node),
        "spec": {
            # One writer per set of SQLite files: one replica, and the old pod gone before
            # the new one mounts the volume.
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": layout.selector(node)},
            "template": {
                "metadata": {
                    "labels": layout.labels(node),
                    # Nodes read the topology at start: a changed one restarts them.
                    "annotations": {"checksum/topology": checksum},
                },
                "spec": {
                    # Dozens of Services would each add variables to every container;
                    # nodes find each other by DNS.
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": IMAGE_UID,
                        "runAsGroup": IMAGE_UID,
                        "fsGroup": IMAGE_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": claim_name(node)}},
                        {"name": "topology", "configMap": {"name": CONFIG_MAP}},
                    ],
                },
            },
        },
    }


def _check_nodes(topology: Topology) -> None:
    bad = [n for n in AddressBook(topology).nodes() if not _DNS_1035_LABEL.match(n)]
    if bad:
        raise ExportError(
            f"{topology.name}: node names that cannot be Service names (a letter first, "
            f"no '-' at the end): {', '.join(bad)}"
        )


def manifests(topology: Topology, options: ExportOptions | None = None) -> list[Manifest]:
    """The Namespace, the topology's ConfigMap, then per node its claim, Service and
    Deployment: the order `kubectl apply -f` creates them in."""
    options = options or ExportOptions()
    options.check()
    _check_nodes(topology)
    layout = _Layout(topology, options)
    config = _config_map(layout)
    checksum = hashlib.sha256(
        json.dumps(config["data"], sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    docs = [_namespace(layout), config]
    for node in layout.addresses.nodes():
        docs += [_claim(layout, node), _service(layout, node), _deployment(layout, node, checksum)]
    return docs


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's files) as literal blocks, readable in the file."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(docs: Iterable[Manifest]) -> str:
    text: str = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def write_manifests(topology: Topology, options: ExportOptions, out: Path) -> Path:
    """One multi-document file, `<out>/<topology>.yaml`, for `kubectl apply -f`."""
    text = render(manifests(topology, options))  # before touching `out`: it may fail
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{_label_value(topology.name)}.yaml"
    header = (
        f"# gsp-sandbox export kubernetes {topology.name}: apply with `kubectl apply -f {path}`\n"
        "# Generated: change the topology and export again rather than editing this file.\n"
    )
    path.write_text(header + text, encoding="utf-8")
    return path
