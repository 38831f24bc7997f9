"""A verification report as JUnit XML, the format CI systems read."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, ElementTree, SubElement

from sandbox.testing.verify import Report


def write_junit(report: Report, path: Path) -> None:
    suites = Element("testsuites")
    suite = SubElement(
        suites,
        "testsuite",
        name=f"{report.contract}-{report.version}",
        tests=str(len(report.results)),
        failures=str(len(report.failures)),
        errors="0",
    )
    SubElement(SubElement(suite, "properties"), "property", name="base_url", value=report.base_url)
    for result in report.results:
        case = SubElement(
            suite,
            "testcase",
            classname=f"{report.contract}.{result.case.operation}",
            name=f"{result.case.kind}: {result.case.name}",
        )
        if not result.passed:
            failure = SubElement(case, "failure", message=result.reason)
            failure.text = f"{result.case.method} {result.case.path} -> {result.status}"
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
