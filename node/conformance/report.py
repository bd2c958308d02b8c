"""What a run prints (one line per check, a summary) and the JUnit XML it writes for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from baliza.node.conformance.checks import Check, Outcome


def line(outcome: Outcome) -> str:
    """``PASS  05 §1    requests.unsigned  title`` or ``FAIL … — reason``."""
    item = outcome.check
    head = f"{'PASS' if outcome.passed else 'FAIL'}  {item.section:<7} {item.name:<40} {item.title}"
    return head if outcome.passed else f"{head}\n      -> {outcome.reason}"


def summary(outcomes: list[Outcome]) -> str:
    """The last line: how many checks in how many areas, how many passed and failed."""
    areas = len({o.check.area for o in outcomes})
    failed = sum(not o.passed for o in outcomes)
    verdict = "CONFORMS" if not failed else "DOES NOT CONFORM"
    return (
        f"{len(outcomes)} checks in {areas} areas: {len(outcomes) - failed} passed, "
        f"{failed} failed — {verdict}"
    )


def listing(checks: list[Check]) -> list[str]:
    """``--list``: every check with its area, section and what it proves."""
    return [f"{c.section:<7} {c.name:<40} {c.title}" for c in checks]


def write_junit(path: Path, outcomes: list[Outcome], target: str) -> None:
    """JUnit XML: one testsuite per area, one testcase per check, failures with their reason."""
    root = ET.Element("testsuites", name=f"baliza conformance {target}")
    total = failures = 0
    total_time = 0.0
    for area in dict.fromkeys(o.check.area for o in outcomes):
        mine = [o for o in outcomes if o.check.area == area]
        failed = sum(not o.passed for o in mine)
        seconds = sum(o.seconds for o in mine)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=area,
            tests=str(len(mine)),
            failures=str(failed),
            errors="0",
            skipped="0",
            time=f"{seconds:.3f}",
        )
        for o in mine:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"conformance.{area}",
                name=f"{o.check.name} [{o.check.section}]",
                time=f"{o.seconds:.3f}",
            )
            if not o.passed:
                failure = ET.SubElement(case, "failure", message=o.reason, type="nonconformance")
                failure.text = f"{o.check.title}\n{o.reason}"
        total += len(mine)
        failures += failed
        total_time += seconds
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", f"{total_time:.3f}")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
