"""The topology file: platforms, agencies, back ends, services and consumers, as data.

A topology says who exists and who may call what; the running registry is built from it
and every count the platforms report is computed from that registry, never typed in.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from contracts.faults import FaultRule
from contracts.openapi_store import document_path

AGENCY_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
AgencyCode = Annotated[str, StringConstraints(pattern=AGENCY_CODE_PATTERN)]
# Service codes are WSO2 API contexts: one URL segment, letters and digits.
ServiceCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{1,63}$")]
Version = Annotated[str, StringConstraints(pattern=r"^[a-z]{0,3}\d+(\.\d+){0,2}$")]
NodeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
Port = Annotated[int, Field(ge=1, le=65535)]
# Every platform serves HTTPS beside HTTP on its port plus this (8000 -> 8443): one rule, so a
# second sandbox's --port-offset moves both, and nothing per platform to configure.
HTTPS_PORT_OFFSET = 443


def https_port(port: int) -> int:
    """The HTTPS port of a platform whose HTTP port is `port`."""
    return port + HTTPS_PORT_OFFSET


class Tier(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"


class Role(StrEnum):
    ADMIN = "admin"
    # A platform calling the next tier on behalf of its own consumers; only such a caller
    # may name the original consumer of an exchange.
    PLATFORM = "platform"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    code: AgencyCode
    name: str = Field(min_length=1)


class UpstreamLink(_Strict):
    """How a provincial platform reaches the national one: which platform, as which consumer."""

    platform: NodeName
    consumer: str = Field(min_length=1, description="A consumer registered at that platform")
    return_consumer: str | None = Field(
        default=None,
        description="A consumer with role 'platform' at this provincial platform, which the "
        "national one uses to hand documents down to it",
    )


class Platform(_Strict):
    tier: Tier
    title: str = Field(min_length=1)
    agency: AgencyCode = Field(description="The agency that operates the platform")
    port: Port
    upstream: UpstreamLink | None = None
    national_services: list[ServiceCode] = Field(
        default_factory=list,
        description="National services this provincial platform connects to through upstream",
    )
    validate_requests: bool = Field(
        default=False,
        description="Check each request against its service's contract at the first hop and "
        "refuse a mismatch with 422 (WSO2 API Manager, which the real platforms run, passes "
        "requests on unchecked by default; GSP_VALIDATE_REQUESTS=true turns it on everywhere)",
    )
    token_format: Literal["opaque", "jwt"] = Field(
        default="opaque",
        description="Access tokens from POST /token: opaque UUIDs as the NGSP guide shows them, "
        "or signed JWTs",
    )
    document_signatures: Literal["off", "verify-if-present", "required"] = Field(
        default="verify-if-present",
        description="What this platform does with an official document's XML-DSig signature on "
        "receipt: `verify-if-present` (default) refuses a signed package whose signature is "
        "broken, from a signer the sandbox CA did not certify, or from another agency than the "
        "sender, and lets unsigned ones through (JSON senders cannot sign); `required` also "
        "refuses unsigned ones, as a province whose agencies all sign would; `off` checks "
        "nothing (a signed package is still kept and delivered byte for byte)",
    )
    # Provincial variants (README "Provincial variants"; docs/fidelity.md names the sources).
    unversioned_paths: bool = Field(
        default=False,
        description="Also answer /{context}/{resource} without the version, as some LGSPs "
        "publish their services (unverified: no public client shows it); a context "
        "registered in several versions is answered by its newest",
    )
    lgsp_access_token: bool = Field(
        default=False,
        description="Also accept an `lgspaccesstoken` header instead of a bearer token: base64 "
        "of the JSON {AccessKey, SecretKey, AppName, PartnerCode, PartnerCodeCus}, the "
        "consumer's key and secret as AccessKey and SecretKey, as the Hậu Giang LGSP's "
        "clients send it on every call (VietOpenCPS/opencps-v2, QLVBIntegrationActionImpl)",
    )
    context_aliases: dict[ServiceCode, ServiceCode] = Field(
        default_factory=dict,
        description="Contexts this platform also answers a service at: {alias: service code}, "
        "e.g. {hotich: apiHoTichTuPhap} as Gia Lai's LGSP publishes civil status "
        "(/hotich/1.0/dangKyHoTich); the audit records the service's own code",
    )


class Backend(_Strict):
    app: str = Field(
        default="",
        description="Key of a sample back-end app (services.catalog); or give openapi or replay",
    )
    port: Port
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    openapi: str | None = Field(
        default=None,
        min_length=1,
        description="An OpenAPI 3.0 or 3.1 file of the agency's own (relative to this file): "
        "the back end answers every operation from its examples or schemas (app: openapi)",
    )
    replay: str | None = Field(
        default=None,
        min_length=1,
        description="A cassette written by `gsp-sandbox record` (relative to this file): the "
        "back end answers from the recorded exchanges (app: replay; params.match: which of "
        "method,path,query,body must match)",
    )

    @model_validator(mode="before")
    @classmethod
    def _own_backend(cls, data: Any) -> Any:
        # `{openapi: file}` is the openapi app with the file as its param (and replay alike),
        # so every later step (config, launcher, catalog) sees an app like any other.
        if not isinstance(data, dict) or data.get("app"):
            return data
        for key, app, param in (("openapi", "openapi", "spec"), ("replay", "replay", "cassette")):
            if isinstance(data.get(key), str):
                given = data.get("params")
                params: dict[str, Any] = given if isinstance(given, dict) else {}
                return {**data, "app": app, "params": {**params, param: data[key]}}
        return data

    @model_validator(mode="after")
    def _one_app(self) -> Self:
        if not self.app:
            raise ValueError("give 'app' (a sample back end), 'openapi' (a file) or 'replay'")
        if self.openapi is not None and self.replay is not None:
            raise ValueError("give at most one of 'openapi' and 'replay'")
        return self

    @property
    def contract_file(self) -> str | None:
        """The OpenAPI document the back end answers from, which its calls are checked
        against at the hop (the mock's own spec)."""
        spec = self.params.get("spec") if self.app == "openapi" else None
        return str(spec) if spec is not None else None


class Service(_Strict):
    code: ServiceCode = Field(description="The API context, first segment of its public path")
    version: Version = "1.0"
    title: str = Field(min_length=1)
    owner: AgencyCode
    tier: Tier
    platform: NodeName = Field(description="The platform the service is registered at")
    backend: NodeName | None = Field(default=None, description="A back-end node of this file")
    address: AnyHttpUrl | None = Field(
        default=None, description="Or the base URL of a back end running elsewhere"
    )
    contract: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9.-]{2,120}$",
        description="The contract id its requests and responses are validated against "
        "(contracts/openapi/{contract}-{version}.json); none: not validated",
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=300, description="How long a call may take; none: the default"
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.code.lower() in RESERVED_CODES:
            raise ValueError(f"code {self.code!r} is reserved for the platform's own API")
        if (self.backend is None) == (self.address is None):
            raise ValueError("give exactly one of 'backend' (a node here) or 'address' (a URL)")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.code, self.version)


class Mailbox(_Strict):
    """Where an agency receives official documents: pushed to its back end, or an inbox."""

    agency: AgencyCode
    platform: NodeName = Field(description="The platform the agency receives documents at")
    backend: NodeName | None = Field(default=None, description="Push to this back-end node")
    address: AnyHttpUrl | None = Field(default=None, description="Or push to this base URL")
    path: str = Field(
        default="/nhanVanBan",
        pattern=r"^/[A-Za-z0-9/_-]*$",
        description="The receiving endpoint on the back end (push only)",
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.backend is not None and self.address is not None:
            raise ValueError("give at most one of 'backend' and 'address' (none: pull inbox)")
        return self

    @property
    def push(self) -> bool:
        return self.backend is not None or self.address is not None


class RateLimit(_Strict):
    per_second: float = Field(gt=0, description="Sustained requests per second")
    burst: int = Field(ge=1, description="Requests allowed at once above the sustained rate")


# Paths of the platforms' own API: no service may be published under them.
RESERVED_CODES = frozenset(
    {
        "token",
        "revoke",
        "oauth2",
        "topology",
        "audit",
        "healthz",
        "admin",
        "catalog",
        "metrics",
        "documents",
        "dashboard",
        "_sandbox",
        "vxp",
    }
)


class Consumer(_Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    name: str = Field(min_length=1)
    platform: NodeName
    agency: AgencyCode | None = Field(
        default=None,
        description="The agency the consumer acts for; none for an operator's credential "
        "(an admin), which then sends, receives and reads no official documents",
    )
    client_id: str = Field(min_length=8)
    client_secret: str = Field(min_length=12)
    grants: list[ServiceCode | Literal["*"]] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    rate_limit: RateLimit | None = Field(default=None, description="None: not limited")


class AxisSystem(_Strict):
    """An agency's e-office system as the national document axis knows it: the `systemId`
    and `secret` its vendor SDK (SDKVXP) is configured with, and the agency it acts for."""

    systemid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    secret: str = Field(min_length=12, max_length=256)
    agency: AgencyCode
    platform: NodeName = Field(description="The platform whose /vxp endpoint the system calls")
    name: str = Field(min_length=1)
    registers_agencies: bool = Field(
        default=False,
        description="The system may register and delete agencies (registerAgency, "
        "deleteAgency): the agencies it registers are listed to every system",
    )


class Topology(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = 2022
    seeds: Path | None = Field(
        default=None,
        description="A seed folder or file of the agency's own citizens, enterprises and "
        "dossiers (contracts/seeds.py), added to the generated data; relative to this file",
    )
    agencies: list[Agency]
    platforms: dict[NodeName, Platform]
    backends: dict[NodeName, Backend] = Field(default_factory=dict)
    services: list[Service]
    consumers: list[Consumer]
    mailboxes: list[Mailbox] = Field(
        default_factory=list, description="Who receives official documents, and how"
    )
    faults: list[FaultRule] = Field(
        default_factory=list,
        description="Faults the platforms inject from the start (a repeatable demo)",
    )
    axis_systems: list[AxisSystem] = Field(
        default_factory=list,
        description="E-office systems that call the platforms' document axis endpoint (/vxp) "
        "through the vendor SDK, each with its systemId and secret",
    )

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems: list[str] = []
        agencies = {a.code for a in self.agencies}
        if len(agencies) != len(self.agencies):
            problems.append("agencies: agency codes must be unique")
        nodes = list(self.platforms) + list(self.backends)
        if len(set(nodes)) != len(nodes):
            clash = sorted({n for n in nodes if nodes.count(n) > 1})
            problems.append(f"platforms/backends: node names used twice: {clash}")
        ports = [p.port for p in self.platforms.values()] + [b.port for b in self.backends.values()]
        ports += [https_port(p.port) for p in self.platforms.values()]
        if len(set(ports)) != len(ports):
            clash_ports = sorted({p for p in ports if ports.count(p) > 1})
            problems.append(
                f"platforms/backends: ports used twice: {clash_ports} (a platform's HTTPS "
                f"port is its port + {HTTPS_PORT_OFFSET})"
            )
        too_high = [n for n, p in self.platforms.items() if https_port(p.port) > 65535]
        if too_high:
            problems.append(
                f"platforms: HTTPS port (port + {HTTPS_PORT_OFFSET}) above 65535: {too_high}"
            )
        national = [n for n, p in self.platforms.items() if p.tier is Tier.NATIONAL]
        if len(national) != 1:
            problems.append(f"platforms: exactly one national platform expected, found {national}")

        for name, platform in self.platforms.items():
            where = f"platforms.{name}"
            if platform.agency not in agencies:
                problems.append(f"{where}.agency: {platform.agency} is not in agencies")
            if platform.tier is Tier.NATIONAL:
                if platform.upstream or platform.national_services:
                    problems.append(f"{where}: a national platform has no upstream")
                continue
            if platform.upstream is None:
                if platform.national_services:
                    problems.append(f"{where}.upstream: needed to reach national_services")
                continue
            up = self.platforms.get(platform.upstream.platform)
            if up is None or up.tier is not Tier.NATIONAL:
                problems.append(
                    f"{where}.upstream.platform: {platform.upstream.platform!r} "
                    "is not a national platform of this file"
                )
            elif not any(
                c.id == platform.upstream.consumer
                and c.platform == platform.upstream.platform
                and Role.PLATFORM in c.roles
                for c in self.consumers
            ):
                problems.append(
                    f"{where}.upstream.consumer: {platform.upstream.consumer!r} is not a "
                    f"consumer with role 'platform' at {platform.upstream.platform}"
                )
            national_codes = {s.code for s in self.services if s.tier is Tier.NATIONAL}
            for i, code in enumerate(platform.national_services):
                if code not in national_codes:
                    problems.append(
                        f"{where}.national_services[{i}]: {code!r} is not a national service"
                    )
            codes = {s.code.lower() for s in self.services}
            for alias, code in platform.context_aliases.items():
                if alias.lower() in RESERVED_CODES or alias.lower() in codes:
                    problems.append(
                        f"{where}.context_aliases.{alias}: already a path of the platform or "
                        "a service's own context"
                    )
                if code.lower() not in codes:
                    problems.append(f"{where}.context_aliases.{alias}: {code!r} is no service")

        # A code is unique per platform, not per file: every province's LGSP publishes its
        # own apiMotCua, as the real ones do.
        seen: set[tuple[str, str, str]] = set()
        national_keys = {s.key for s in self.services if s.tier is Tier.NATIONAL}
        for i, service in enumerate(self.services):
            where = f"services[{i}] ({service.code})"
            if (service.platform, *service.key) in seen:
                problems.append(
                    f"{where}: {service.code}/{service.version} declared twice "
                    f"at {service.platform}"
                )
            seen.add((service.platform, *service.key))
            reached = self.platforms.get(service.platform)
            if (
                service.tier is Tier.PROVINCIAL
                and service.key in national_keys
                and reached is not None
                and service.code in reached.national_services
            ):
                problems.append(
                    f"{where}: {service.platform} also reaches the national "
                    f"{service.code}/{service.version} through its upstream"
                )
            if service.owner not in agencies:
                problems.append(f"{where}.owner: {service.owner} is not in agencies")
            host = self.platforms.get(service.platform)
            if host is None:
                problems.append(f"{where}.platform: {service.platform!r} is not a platform")
            elif host.tier is not service.tier:
                problems.append(
                    f"{where}.tier: {service.tier.value} service registered at "
                    f"{host.tier.value} platform {service.platform!r}"
                )
            if service.backend is not None and service.backend not in self.backends:
                problems.append(f"{where}.backend: {service.backend!r} is not a backend node")
            if service.contract and not document_path(service.contract, service.version).is_file():
                problems.append(
                    f"{where}.contract: no contract {service.contract!r} version "
                    f"{service.version} in contracts/openapi"
                )

        ids = [c.id for c in self.consumers]
        if len(set(ids)) != len(ids):
            problems.append("consumers: consumer ids must be unique")
        client_ids = [c.client_id for c in self.consumers]
        if len(set(client_ids)) != len(client_ids):
            problems.append("consumers: client_id values must be unique")
        codes = {s.code for s in self.services}
        for i, consumer in enumerate(self.consumers):
            where = f"consumers[{i}] ({consumer.id})"
            if consumer.platform not in self.platforms:
                problems.append(f"{where}.platform: {consumer.platform!r} is not a platform")
            if consumer.agency is not None and consumer.agency not in agencies:
                problems.append(f"{where}.agency: {consumer.agency} is not in agencies")
            for j, grant in enumerate(consumer.grants):
                if grant != "*" and grant not in codes:
                    problems.append(f"{where}.grants[{j}]: {grant!r} is not a service")

        problems += self._mailbox_problems(agencies)
        problems += self._axis_problems(agencies)
        for i, rule in enumerate(self.faults):
            if rule.service not in codes:
                problems.append(f"faults[{i}].service: {rule.service!r} is not a service")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _mailbox_problems(self, agencies: set[str]) -> list[str]:
        problems: list[str] = []
        seen: set[str] = set()
        for i, box in enumerate(self.mailboxes):
            where = f"mailboxes[{i}] ({box.agency})"
            if box.agency in seen:
                problems.append(f"{where}.agency: has two mailboxes")
            seen.add(box.agency)
            if box.agency not in agencies:
                problems.append(f"{where}.agency: {box.agency} is not in agencies")
            if box.platform not in self.platforms:
                problems.append(f"{where}.platform: {box.platform!r} is not a platform")
            if box.backend is not None and box.backend not in self.backends:
                problems.append(f"{where}.backend: {box.backend!r} is not a backend node")
        for name, platform in self.platforms.items():
            link = platform.upstream
            if link is None or link.return_consumer is None:
                continue
            if not any(
                c.id == link.return_consumer and c.platform == name and Role.PLATFORM in c.roles
                for c in self.consumers
            ):
                problems.append(
                    f"platforms.{name}.upstream.return_consumer: {link.return_consumer!r} is "
                    f"not a consumer with role 'platform' at {name}"
                )
        return problems

    def _axis_problems(self, agencies: set[str]) -> list[str]:
        problems: list[str] = []
        ids = [s.systemid for s in self.axis_systems]
        if len(set(ids)) != len(ids):
            problems.append("axis_systems: systemid values must be unique")
        for i, system in enumerate(self.axis_systems):
            where = f"axis_systems[{i}] ({system.systemid})"
            if system.agency not in agencies:
                problems.append(f"{where}.agency: {system.agency} is not in agencies")
            if system.platform not in self.platforms:
                problems.append(f"{where}.platform: {system.platform!r} is not a platform")
            box = self.mailbox_of(system.agency)
            if box is not None and box.platform != system.platform:
                problems.append(
                    f"{where}.platform: {system.agency} receives documents at {box.platform}, "
                    f"so its system must call {box.platform}"
                )
        return problems

    # -- views -------------------------------------------------------------------------

    def services_at(self, platform: str) -> list[Service]:
        return [s for s in self.services if s.platform == platform]

    def mailbox_of(self, agency: str) -> Mailbox | None:
        return next((m for m in self.mailboxes if m.agency == agency), None)

    def axis_systems_at(self, platform: str) -> list[AxisSystem]:
        return [s for s in self.axis_systems if s.platform == platform]

    def consumers_at(self, platform: str) -> list[Consumer]:
        return [c for c in self.consumers if c.platform == platform]

    def agency_name(self, code: str) -> str:
        return next((a.name for a in self.agencies if a.code == code), code)

    def downstream_of(self, platform: str) -> list[str]:
        """Provincial platforms whose upstream is this one."""
        return [
            n
            for n, p in self.platforms.items()
            if p.upstream is not None and p.upstream.platform == platform
        ]

    def upstream_services(self, platform: str) -> list[Service]:
        """National services a provincial platform reaches through its upstream."""
        wanted = set(self.platforms[platform].national_services)
        return [s for s in self.services if s.tier is Tier.NATIONAL and s.code in wanted]
