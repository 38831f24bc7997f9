"""Kubernetes manifests for a topology: `gsp-sandbox export kubernetes TOPOLOGY`.

The same image and the same node process as docker-compose.yml, laid out for a cluster:
per node a Deployment (one replica, `python -m sandbox.runtime.node` with GSP_NODES naming that
node), a Service of the node's own name and port, and a PersistentVolumeClaim for its
SQLite files; one ConfigMap holds the topology (and its seeds, if it names any, and the
sandbox PKI's CA certificate, the platforms' trust anchor for signed documents), mounted
where every node reads it. Nodes reach each other as compose's do, by host name
(GSP_HOST_PATTERN={node}): here the Service's DNS name in the namespace.

Every platform also serves HTTPS (its port + 443, a second port of its Service) with a
certificate the export makes once from the same sandbox PKI (its names: the Service's, short
and qualified, and localhost for `kubectl port-forward`), handed to the pod in a Secret of
type kubernetes.io/tls: a pod's own volume cannot hold what every client must trust.

Everything is built as plain dicts and dumped as YAML by PyYAML, one multi-document file.
tests/test_kubernetes.py validates the output against the Kubernetes schemas and runs each
Deployment's container as a local process.
"""

from __future__ import annotations

import base64
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
from sandbox.topology.addresses import AddressBook
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
TLS_PORT_NAME = "https"
# A platform's HTTPS certificate and key (its Secret), apart from the ConfigMap's mount.
TLS_DIR = "/etc/gsp-sandbox-tls"
TLS_CERT_KEY, TLS_KEY_KEY = "tls.crt", "tls.key"  # the keys of a kubernetes.io/tls Secret
# Read by the pod's group only (fsGroup: the image's user).
TLS_FILE_MODE = 0o440
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
class TlsPair:
    """A platform's HTTPS certificate and key, PEM."""

    certificate: str
    key: str


@dataclass(frozen=True)
class ExportOptions:
    image: str = DEFAULT_IMAGE
    namespace: str = DEFAULT_NAMESPACE
    storage: str = DEFAULT_STORAGE
    storage_class: str | None = None  # None: the cluster's default StorageClass
    # The PEM of the CA whose agency certificates the platforms accept on signed documents.
    # Each pod has a volume of its own, so the CA travels in the ConfigMap (it is public).
    trust_anchor_pem: str | None = None
    # Per platform, the certificate it serves HTTPS with (a Secret each); none: HTTP only.
    tls: dict[str, TlsPair] | None = None

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


def tls_secret_name(node: str) -> str:
    return f"{node}-tls"


def _tls_pair(layout: _Layout, node: str) -> TlsPair | None:
    if layout.options.tls is None or node not in layout.topology.platforms:
        return None
    return layout.options.tls.get(node)


def _tls_secret(layout: _Layout, node: str, pair: TlsPair) -> Manifest:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode("ascii")).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": layout.metadata(tls_secret_name(node), node),
        "type": "kubernetes.io/tls",
        "data": {TLS_CERT_KEY: b64(pair.certificate), TLS_KEY_KEY: b64(pair.key)},
    }


def _service(layout: _Layout, node: str) -> Manifest:
    port = layout.addresses.port(node)
    ports = [{"name": PORT_NAME, "port": port, "targetPort": PORT_NAME, "protocol": "TCP"}]
    tls_port = layout.addresses.tls_port(node)
    if tls_port is not None and _tls_pair(layout, node) is not None:
        ports.append(
            {
                "name": TLS_PORT_NAME,
                "port": tls_port,
                "targetPort": TLS_PORT_NAME,
                "protocol": "TCP",
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": layout.metadata(node, node),
        "spec": {
            "type": "ClusterIP",
            "selector": layout.selector(node),
            # The node's own port, so `http://{node}:{port}` is the URL the others build
            # (and a platform's HTTPS one, `https://{node}:{port + 443}`).
            "ports": ports,
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
    pair = _tls_pair(layout, node)
    tls_port = layout.addresses.tls_port(node)
    ports = [{"name": PORT_NAME, "containerPort": layout.addresses.port(node), "protocol": "TCP"}]
    mounts = [
        {"name": "data", "mountPath": DATA_DIR},
        {"name": "topology", "mountPath": CONFIG_DIR, "readOnly": True},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": claim_name(node)}},
        {"name": "topology", "configMap": {"name": CONFIG_MAP}},
    ]
    if pair is not None and tls_port is not None:
        env["GSP_TLS_CERT_FILE"] = f"{TLS_DIR}/{TLS_CERT_KEY}"
        env["GSP_TLS_KEY_FILE"] = f"{TLS_DIR}/{TLS_KEY_KEY}"
        ports.append({"name": TLS_PORT_NAME, "containerPort": tls_port, "protocol": "TCP"})
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "tls",
                "secret": {"secretName": tls_secret_name(node), "defaultMode": TLS_FILE_MODE},
            }
        )
    annotations = {"checksum/topology": checksum}
    if pair is not None:
        annotations["checksum/tls"] = hashlib.sha256(
            pair.certificate.encode(), usedforsecurity=False
        ).hexdigest()
    if pair is None and node in layout.topology.platforms:
        # Without a certificate from the export's CA a pod would make one of its own CA,
        # which no client trusts: HTTP only.
        env["GSP_HTTPS"] = "false"
    container = {
        "name": "node",
        "image": layout.options.image,
        # A locally built image loaded into the cluster (kind, minikube) is used as is;
        # `Always`, the default for a `:latest` tag, would try a registry first.
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "sandbox.runtime.node"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "ports": ports,
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
        "volumeMounts": mounts,
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
                    # Nodes read the topology (and a platform its certificate) at start: a
                    # changed one restarts them.
                    "annotations": annotations,
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
                    "volumes": volumes,
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
    """The Namespace, the topology's ConfigMap, then per node its claim, (a platform's TLS
    Secret,) Service and Deployment: the order `kubectl apply -f` creates them in."""
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
        pair = _tls_pair(layout, node)
        docs += [_claim(layout, node)]
        docs += [_tls_secret(layout, node, pair)] if pair is not None else []
        docs += [_service(layout, node), _deployment(layout, node, checksum)]
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
