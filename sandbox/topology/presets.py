"""Expand a short description of the whole country into a topology's fields.

`sandbox/topology/shipped/vietnam.yaml` lists the provinces (name, level-1 code), the seed
provinces' own presets, the ministries that receive documents, and one rule for every other
province. `expand_national` turns that into the fields a `Topology` validates: the seed
provinces exactly as in their presets (only ports change, so every node of the country has
its own), the others from the rule. Nothing here counts anything: the platforms report what
is registered and reachable when they run.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

GENERATOR_KEY = "generate"
NATIONAL = "national"
NATIONAL_PLATFORM = "ngsp"

Fields = dict[str, Any]
ReadPreset = Callable[[str], Fields]


class PresetError(ValueError):
    """A description that cannot be expanded; the message names the field."""


def slug(name: str) -> str:
    """`Bà Rịa - Vũng Tàu` -> `ba-ria-vung-tau`: node names are ASCII."""
    plain = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    ascii_only = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_only).split())


def province_agency(code: str, group: str = "00") -> str:
    """An agency of a province: `000.00.{group}.{code}` (group 00: the People's Committee)."""
    return f"000.00.{group}.{code}"


def is_generated(raw: Fields) -> bool:
    return GENERATOR_KEY in raw


def expand(raw: Fields, read_preset: ReadPreset) -> Fields:
    kind = raw.get(GENERATOR_KEY)
    if kind != NATIONAL:
        raise PresetError(f"{GENERATOR_KEY}: unknown generator {kind!r}; known: {NATIONAL!r}")
    return expand_national(raw, read_preset)


def expand_national(raw: Fields, read_preset: ReadPreset) -> Fields:
    seed = int(raw.get("seed", 2023))
    national = _required(raw, "national")
    out: Fields = {
        "name": _required(raw, "name"),
        "description": raw.get("description", ""),
        "seed": seed,
        "agencies": [],
        "platforms": {
            NATIONAL_PLATFORM: {
                "tier": "national",
                "title": _required(national, "title", "national"),
                "agency": _required(national, "agency", "national"),
                "port": 0,
            }
        },
        "backends": {},
        "services": [],
        "consumers": [],
        "mailboxes": [],
        "axis_systems": [],
    }
    merged = _Merged(out)
    admin = _required(national, "admin", "national")
    merged.consumer(
        {
            **admin,
            "name": "Quản trị NGSP",
            "platform": NATIONAL_PLATFORM,
            "agency": national["agency"],
            "roles": ["admin"],
        }
    )
    provinces = _provinces(raw)
    seeded = {
        _merge_seed(merged, read_preset(name), name, provinces)
        for name in raw.get("seed_provinces", [])
    }
    for ministry in raw.get("ministries", []):
        _add_ministry(merged, ministry, seed)
    national_codes = [s["code"] for s in out["services"] if s["tier"] == "national"]
    rule = raw.get("rule", {})
    wanted = rule.get("national_services", "all")
    reached = national_codes if wanted == "all" else list(wanted)
    for code, province in provinces.items():
        if code not in seeded:
            _add_province(merged, province, rule, reached, seed)
    _assign_ports(out, int(raw.get("ports", {}).get("base", 8000)))
    return out


class _Merged:
    """The topology's fields being built; national parts shared by seeds are kept once."""

    def __init__(self, out: Fields) -> None:
        self.out = out

    def agency(self, agency: Fields) -> None:
        known = {a["code"]: a for a in self.out["agencies"]}
        if agency["code"] not in known:
            self.out["agencies"].append(agency)

    def backend(self, name: str, backend: Fields, where: str) -> None:
        known = self.out["backends"].get(name)
        shape = {k: v for k, v in backend.items() if k != "port"}
        if known is not None and {k: v for k, v in known.items() if k != "port"} != shape:
            raise PresetError(f"{where}: back end {name!r} differs from one already merged")
        self.out["backends"][name] = {**shape, "port": 0}

    def national_service(self, service: Fields, where: str) -> None:
        key = (service["code"], service.get("version", "1.0"))
        for known in self.out["services"]:
            if (known["code"], known.get("version", "1.0")) == key and known["platform"] == service[
                "platform"
            ]:
                if known != service:
                    raise PresetError(f"{where}: national service {key} differs between seeds")
                return
        self.out["services"].append(service)

    def consumer(self, consumer: Fields, where: str = "national") -> None:
        for known in self.out["consumers"]:
            if known["id"] == consumer["id"]:
                if known != consumer:
                    raise PresetError(f"{where}: consumer {consumer['id']!r} differs")
                return
        self.out["consumers"].append(consumer)

    def mailbox(self, box: Fields) -> None:
        if not any(m["agency"] == box["agency"] for m in self.out["mailboxes"]):
            self.out["mailboxes"].append(box)


def _required(raw: Fields, key: str, where: str = "") -> Any:
    if key not in raw:
        raise PresetError(f"{where + '.' if where else ''}{key}: required")
    return raw[key]


def _provinces(raw: Fields) -> dict[str, Fields]:
    provinces: dict[str, Fields] = {}
    slugs: set[str] = set()
    for i, entry in enumerate(_required(raw, "provinces")):
        where = f"provinces[{i}]"
        code, name = _required(entry, "code", where), _required(entry, "name", where)
        if ("source" in entry) == bool(entry.get("unverified")):
            raise PresetError(f"{where} ({name}): give a `source` or `unverified: true`")
        if code in provinces or slug(name) in slugs:
            raise PresetError(f"{where}: {code} {name} listed twice")
        provinces[code] = entry
        slugs.add(slug(name))
    return provinces


def _province_title(province: Fields) -> str:
    kind = "thành phố" if province.get("city") else "tỉnh"
    return f"{kind} {province['name']}"


def _merge_seed(merged: _Merged, preset: Fields, name: str, provinces: dict[str, Fields]) -> str:
    """Lay a seed province's preset into the country; return its level-1 code."""
    provincial = {n: p for n, p in preset["platforms"].items() if p["tier"] == "provincial"}
    if len(provincial) != 1:
        raise PresetError(f"seed_provinces: {name} must have exactly one provincial platform")
    ((lgsp, platform),) = provincial.items()
    code = platform["agency"].rsplit(".", 1)[1]
    if code not in provinces:
        raise PresetError(f"seed_provinces: {name}'s code {code} is not in provinces")
    national = {n for n, p in preset["platforms"].items() if p["tier"] == "national"}
    if national != {NATIONAL_PLATFORM}:
        raise PresetError(f"seed_provinces: {name}'s national platform must be {NATIONAL_PLATFORM}")
    merged.out["platforms"][lgsp] = {**platform, "port": 0}
    for agency in preset["agencies"]:
        merged.agency(agency)
    for node, backend in preset.get("backends", {}).items():
        merged.backend(node, backend, f"seed_provinces: {name}")
    for service in preset["services"]:
        if service["tier"] == "national":
            merged.national_service(service, f"seed_provinces: {name}")
        else:
            merged.out["services"].append(service)
    for consumer in preset["consumers"]:
        if consumer["platform"] == NATIONAL_PLATFORM and "admin" in consumer.get("roles", []):
            continue  # the country has one NGSP operator, `national.admin`
        merged.consumer(consumer, f"seed_provinces: {name}")
    for box in preset.get("mailboxes", []):
        merged.mailbox(box)
    # A seed's systems at the national platform (the ministries') are the country's already.
    merged.out["axis_systems"] += [
        s for s in preset.get("axis_systems", []) if s["platform"] != NATIONAL_PLATFORM
    ]
    return str(code)


def _add_ministry(merged: _Merged, ministry: Fields, seed: int) -> None:
    code = ministry["code"]
    merged.agency({"code": code, "name": ministry["name"]})
    if "backend" in ministry:
        merged.mailbox(
            {"agency": code, "platform": NATIONAL_PLATFORM, "backend": ministry["backend"]}
        )
        return
    merged.mailbox({"agency": code, "platform": NATIONAL_PLATFORM})
    reader = f"vanthu-{code.rsplit('.', 1)[1].lower()}"
    merged.consumer(
        {
            "id": reader,
            "name": f"{ministry['name']} (nhận văn bản qua hộp thư)",
            "platform": NATIONAL_PLATFORM,
            "agency": code,
            "client_id": f"{reader}-key",
            "client_secret": f"{reader}-secret-{seed}",
        }
    )


def _add_province(
    merged: _Merged, province: Fields, rule: Fields, national: list[str], seed: int
) -> None:
    code, where = province["code"], _province_title(province)
    name = slug(province["name"])
    lgsp, eoffice = f"lgsp-{name}", f"e-office-{name}"
    office = province_agency(code, rule.get("office", "01"))
    department = province_agency(code, rule.get("department", "12"))
    for agency in (
        {"code": province_agency(code), "name": f"Ủy ban nhân dân {where}"},
        {"code": office, "name": f"Văn phòng UBND {where}"},
        {"code": department, "name": f"Sở Thông tin và Truyền thông {where}"},
    ):
        merged.agency(agency)
    merged.out["platforms"][lgsp] = {
        "tier": "provincial",
        "title": f"Nền tảng tích hợp, chia sẻ dữ liệu {where} (LGSP)",
        "agency": department,
        "port": 0,
        "upstream": {
            "platform": NATIONAL_PLATFORM,
            "consumer": lgsp,
            "return_consumer": f"ngsp-at-{name}",
        },
        "national_services": list(national),
    }
    merged.backend(eoffice, {"app": "e-office"}, where)
    merged.out["services"].append(
        {
            "code": "apiQLVB",
            "title": f"Hệ thống quản lý văn bản và điều hành {where}",
            "owner": office,
            "tier": "provincial",
            "platform": lgsp,
            "backend": eoffice,
            "contract": "vn.gov.edxml.document",
        }
    )

    def consumer(cid: str, title: str, platform: str, agency: str | None, **extra: Any) -> None:
        merged.consumer(
            {
                "id": cid,
                "name": title,
                "platform": platform,
                **({"agency": agency} if agency is not None else {}),
                "client_id": f"{cid}-key",
                "client_secret": f"{cid}-secret-{seed}",
                **extra,
            }
        )

    consumer(
        lgsp, f"LGSP {where}", NATIONAL_PLATFORM, department, roles=["platform"], grants=national
    )
    consumer(
        f"ngsp-at-{name}",
        f"NGSP (chuyển văn bản xuống {where})",
        lgsp,
        merged.out["platforms"][NATIONAL_PLATFORM]["agency"],
        roles=["platform"],
    )
    # An operator's credential acts for no agency: it reads no agency's documents.
    consumer(f"{lgsp}-admin", f"Quản trị LGSP {where}", lgsp, None, roles=["admin"])
    consumer(
        f"qlvb-{name}",
        f"Hệ thống quản lý văn bản {where}",
        lgsp,
        office,
        grants=["apiQLVB", *(["apiTrucVBQG"] if "apiTrucVBQG" in national else [])],
    )
    consumer(f"stttt-{name}", f"Sở TT&TT {where} (nhận văn bản qua hộp thư)", lgsp, department)
    merged.mailbox({"agency": office, "platform": lgsp, "backend": eoffice})
    merged.mailbox({"agency": department, "platform": lgsp})
    # The department's e-office on the document axis: reads its inbox through the SDK.
    merged.out["axis_systems"].append(
        {
            "systemid": f"vxp.{name}.stttt",
            "secret": f"vxp-{name}-stttt-secret-{seed}",
            "agency": department,
            "platform": lgsp,
            "name": f"Hệ thống QLVB Sở TT&TT {where}",
        }
    )


def _assign_ports(out: Fields, base: int) -> None:
    """NGSP at base, LGSP Hxx at base + xx, back ends from base + 100 and base + 200."""
    out["platforms"][NATIONAL_PLATFORM]["port"] = base
    for platform in out["platforms"].values():
        if platform["tier"] == "provincial":
            platform["port"] = base + int(platform["agency"].rsplit(".H", 1)[1])
    national_backends = {s["backend"] for s in out["services"] if s["tier"] == "national"}
    national_backends |= {
        m["backend"]
        for m in out["mailboxes"]
        if m["platform"] == NATIONAL_PLATFORM and "backend" in m
    }
    national_port, provincial_port = base + 100, base + 200
    for name, backend in out["backends"].items():
        if name in national_backends:
            backend["port"], national_port = national_port, national_port + 1
        else:
            backend["port"], provincial_port = provincial_port, provincial_port + 1
