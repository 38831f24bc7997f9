"""Topology files: the shipped ones load; a broken one is explained by file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from contracts.topology import Tier
from sandbox.topology.loading import SHIPPED_DIR, TopologyError, load_topology, shipped_topologies


def test_shipped_files_declare_the_reported_bac_giang_figures() -> None:
    assert {"bac-giang-2022", "bac-giang-2023"} <= set(shipped_topologies())
    for name, national, intra in (("bac-giang-2022", 9, 3), ("bac-giang-2023", 13, 26)):
        topology = load_topology(name)
        assert len(topology.upstream_services("lgsp-bac-giang")) == national
        provincial = topology.services_at("lgsp-bac-giang")
        assert len(provincial) == intra
        assert all(s.tier is Tier.PROVINCIAL for s in provincial)


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load((SHIPPED_DIR / "bac-giang-2022.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t["services"][0].pop("owner"), "services[0].owner: Field required"),
        (
            lambda t: t["platforms"]["ngsp"].update(port="eighty"),
            "platforms.ngsp.port: Input should be a valid integer",
        ),
        (
            lambda t: t["services"][10].update(backend="nowhere"),
            "services[10] (apiQLVB).backend: 'nowhere' is not a backend node",
        ),
        (
            lambda t: t["platforms"]["lgsp-bac-giang"]["national_services"].append("apiNope"),
            "platforms.lgsp-bac-giang.national_services[9]: 'apiNope' is not a national service",
        ),
        (
            lambda t: t["consumers"][2].update(agency="H04"),
            "consumers[2].agency: String should match pattern",
        ),
        (
            lambda t: t["services"][0].update(address="http://example.test"),
            "give exactly one of 'backend' (a node here) or 'address' (a URL)",
        ),
        (
            lambda t: t["backends"]["tax"].update(port=8101),
            "ports used twice: [8101]",
        ),
    ],
)
def test_broken_file_names_the_file_and_the_field(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, mutate)
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message


def test_not_yaml_and_missing_file_are_explained(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("platforms: [unclosed", encoding="utf-8")
    with pytest.raises(TopologyError, match=r"bad\.yaml: not valid YAML"):
        load_topology(bad)
    with pytest.raises(TopologyError, match="no-such-topology: no such topology file"):
        load_topology("no-such-topology")


def test_a_code_is_unique_per_platform_not_per_file(tmp_path: Path) -> None:
    def second_province(t: dict) -> None:  # type: ignore[type-arg]
        t["platforms"]["lgsp-bac-ninh"] = {
            "tier": "provincial",
            "title": "LGSP tỉnh Bắc Ninh",
            "agency": "000.00.12.H04",
            "port": 8002,
        }
        t["services"].append({**t["services"][10], "platform": "lgsp-bac-ninh"})

    assert len(load_topology(_write(tmp_path, second_province)).services) == 13

    def twice_at_one_platform(t: dict) -> None:  # type: ignore[type-arg]
        t["services"].append(dict(t["services"][10]))

    with pytest.raises(TopologyError, match=r"apiQLVB/1\.0 declared twice at lgsp-bac-giang"):
        load_topology(_write(tmp_path, twice_at_one_platform))

    def shadows_a_national_one(t: dict) -> None:  # type: ignore[type-arg]
        t["services"].append(
            {**t["services"][0], "tier": "provincial", "platform": "lgsp-bac-giang"}
        )

    with pytest.raises(TopologyError, match=r"also reaches the national apiCSDLDC/1\.0"):
        load_topology(_write(tmp_path, shadows_a_national_one))
