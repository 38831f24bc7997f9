"""The default topology plus a second province, for documents that cross provinces."""

from __future__ import annotations

from typing import Any

import yaml

from contracts.topology import Topology
from gateway.settings import GatewaySettings
from sandbox.testing.harness import fast_settings
from sandbox.topology.loading import SHIPPED_DIR

OTHER_LGSP = "lgsp-bac-ninh"
OTHER_EOFFICE = "e-office-bac-ninh"
BN_OFFICE = "000.00.01.H06"  # Văn phòng UBND tỉnh Bắc Ninh (receives by push)
BG_OFFICE = "000.00.01.H04"  # Văn phòng UBND tỉnh Bắc Giang (sender, consumer qlvb-bac-giang)
BG_STTTT = "000.00.12.H04"  # Sở TT&TT Bắc Giang, its own e-office (e-office-stttt)
BG_NOIVU = "000.00.05.H04"  # Sở Nội vụ Bắc Giang: pull inbox, consumer noivu-bac-giang
GOV_OFFICE = "000.00.00.G22"  # Văn phòng Chính phủ, behind NGSP (document-axis)


def document_topology() -> Topology:
    raw: dict[str, Any] = yaml.safe_load(
        (SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8")
    )
    raw["agencies"] += [
        {"code": "000.00.12.H06", "name": "Sở Thông tin và Truyền thông tỉnh Bắc Ninh"},
        {"code": BN_OFFICE, "name": "Văn phòng UBND tỉnh Bắc Ninh"},
    ]
    raw["platforms"][OTHER_LGSP] = {
        "tier": "provincial",
        "title": "LGSP tỉnh Bắc Ninh",
        "agency": "000.00.12.H06",
        "port": 8002,
        "upstream": {
            "platform": "ngsp",
            "consumer": OTHER_LGSP,
            "return_consumer": "ngsp-at-bac-ninh",
        },
    }
    raw["backends"][OTHER_EOFFICE] = {"app": "e-office", "port": 8302}
    raw["consumers"] += [
        {
            "id": OTHER_LGSP,
            "name": "LGSP tỉnh Bắc Ninh",
            "platform": "ngsp",
            "agency": "000.00.12.H06",
            "client_id": "lgsp-bac-ninh-key",
            "client_secret": "lgsp-bac-ninh-secret",
            "roles": ["platform"],
        },
        {
            "id": "ngsp-at-bac-ninh",
            "name": "NGSP at Bắc Ninh",
            "platform": OTHER_LGSP,
            "agency": "000.00.00.G10",
            "client_id": "ngsp-at-bac-ninh-key",
            "client_secret": "ngsp-at-bac-ninh-secret",
            "roles": ["platform"],
        },
        {
            "id": "lgsp-bac-ninh-admin",
            "name": "Quản trị LGSP Bắc Ninh",
            "platform": OTHER_LGSP,
            "agency": "000.00.12.H06",
            "client_id": "lgsp-bac-ninh-admin-key",
            "client_secret": "lgsp-bac-ninh-admin-secret",
            "roles": ["admin"],
        },
        {
            "id": "qlvb-bac-ninh",
            "name": "Hệ thống QLVB tỉnh Bắc Ninh",
            "platform": OTHER_LGSP,
            "agency": BN_OFFICE,
            "client_id": "qlvb-bac-ninh-key",
            "client_secret": "qlvb-bac-ninh-secret",
        },
    ]
    raw["mailboxes"].append({"agency": BN_OFFICE, "platform": OTHER_LGSP, "backend": OTHER_EOFFICE})
    return Topology.model_validate(raw)


def delivery_settings(data_dir: Any, **overrides: Any) -> GatewaySettings:
    """Fast retries, so a receiver that comes back is served within a fraction of a second."""
    values = fast_settings(data_dir).model_dump()
    values.update(delivery_base_delay_seconds=0.05, delivery_max_delay_seconds=0.3, **overrides)
    return GatewaySettings(**values)
