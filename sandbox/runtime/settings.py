"""Which node a process runs, from which topology, where: from the environment (GSP_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.runtime.logformat import LogFormat
from sandbox.topology.loading import DEFAULT_TOPOLOGY


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GSP_", extra="ignore")

    topology: str = Field(default=DEFAULT_TOPOLOGY, description="Shipped name or file path")
    nodes: list[str] = Field(default_factory=list, description="Nodes this process serves")
    data_dir: Path = Path("data")
    bind_host: str = "127.0.0.1"
    host_pattern: str = Field(
        default="127.0.0.1", description="How nodes reach each other; '{node}' under compose"
    )
    ports: dict[str, int] = Field(default_factory=dict, description="Per-node port overrides")
    https: bool = Field(
        default=True, description="Platforms also serve HTTPS, on their port + 443 (sandbox CA)"
    )
    tls_ports: dict[str, int] = Field(
        default_factory=dict, description="Per-platform HTTPS port overrides"
    )
    tls_names: list[str] = Field(
        default_factory=list,
        description="More names for the platforms' certificates (a LAN host name, say)",
    )
    tls_cert_file: Path | None = Field(
        default=None,
        description="Serve HTTPS with this certificate (PEM; Kubernetes: the Secret's tls.crt) "
        "instead of one made from the data dir's CA",
    )
    tls_key_file: Path | None = Field(default=None, description="Its key (tls.key)")
    instance: str = Field(
        default="", description="This launch's id, in every node's /healthz (set by `up`)"
    )
    log_level: str = Field(default="info", description="info logs one line per exchange")
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request's headers must arrive within this (else 408)"
    )
    log_format: LogFormat = Field(
        default="json", description="json: one object per line; pretty: text for people"
    )
