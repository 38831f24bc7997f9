"""The agency's own services in a topology: a mock from its OpenAPI, a recorder, a replay.

`with_own_service` lays one more service over a topology (a back-end node, the service at a
platform, the grants to call it, and for a national service the provinces' route to it
through NGSP); the CLI commands `mock`, `record` and `replay` (`sandbox/cli/own.py`) run the
result like `up` does, and the pytest plugin's users pass it to `start_sandbox` or return it
from `gsp_topology`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from contracts.topology import Role, Tier, Topology
from sandbox.topology.parties import default_caller, provincial_platform


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
