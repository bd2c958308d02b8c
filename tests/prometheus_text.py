"""A strict reader of the Prometheus text format (0.0.4), for the metrics tests.

Stricter than Prometheus itself on purpose: every sample belongs to a family
declared by ``# HELP`` and ``# TYPE`` before it, no series appears twice,
counters are not negative, and a histogram's buckets are cumulative up to a
``+Inf`` bucket equal to its ``_count``. A node whose ``/metrics`` passes
this is scraped without complaint.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{((?:{_LABEL},?)*)\}})? (\S+)$")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count")}

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: its type, help and samples by (sample name, labels)."""

    name: str
    kind: str
    help: str
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def value(self, **labels: str) -> float:
        """The one sample of the family's own name whose labels include ``labels``."""
        found = [
            v
            for (name, have), v in self.samples.items()
            if name == self.name and set(labels.items()) <= set(have)
        ]
        assert len(found) == 1, f"{self.name}{labels}: {len(found)} samples"
        return found[0]


def _value(text: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    return float(text)


def parse(text: str) -> dict[str, Family]:
    """Every family of ``text``; raises AssertionError on anything malformed."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    families: dict[str, Family] = {}
    helps: dict[str, str] = {}
    current: Family | None = None
    for number, line in enumerate(text.splitlines(), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and help_text, where
            assert name not in helps, f"HELP twice, {where}"
            helps[name] = help_text
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in _TYPES, where
            assert name not in families, f"family declared twice, {where}"
            assert name in helps, f"TYPE without HELP, {where}"
            current = families[name] = Family(name, kind, helps[name])
            continue
        assert not line.startswith("#") and line, where
        match = _SAMPLE.match(line)
        assert match, f"not a sample, {where}"
        name, inside, raw = match.group(1), match.group(2) or "", match.group(5)
        assert current is not None, f"sample before any TYPE, {where}"
        allowed = {current.name} | {current.name + s for s in _SUFFIXES.get(current.kind, ())}
        assert name in allowed, f"sample outside its family {current.name}, {where}"
        labels = tuple(re.findall(_LABEL, inside))
        assert len({k for k, _ in labels}) == len(labels), f"label twice, {where}"
        key = (name, labels)
        assert key not in current.samples, f"series twice, {where}"
        value = _value(raw)
        if current.kind == "counter":
            assert value >= 0 and not math.isnan(value), f"negative counter, {where}"
        current.samples[key] = value
    for fam in families.values():
        if fam.kind == "histogram":
            _check_histogram(fam)
    return families


def _check_histogram(fam: Family) -> None:
    series: dict[Labels, list[tuple[float, float]]] = {}
    counts: dict[Labels, float] = {}
    for (name, labels), value in fam.samples.items():
        if name == fam.name + "_bucket":
            rest = tuple(kv for kv in labels if kv[0] != "le")
            le = dict(labels)["le"]
            series.setdefault(rest, []).append((_value(le), value))
        elif name == fam.name + "_count":
            counts[labels] = value
    assert series, f"{fam.name}: no buckets"
    for labels, buckets in series.items():
        bounds = [b for b, _ in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, f"{fam.name}: bucket order"
        values = [v for _, v in buckets]
        assert values == sorted(values), f"{fam.name}{labels}: buckets not cumulative"
        assert values[-1] == counts[labels], f"{fam.name}{labels}: +Inf bucket != count"


def metric_names(promql: str) -> set[str]:
    """The Baliza and process metric names a PromQL expression reads."""
    return set(re.findall(r"\b((?:baliza|process)_[a-z0-9_]+)\b", promql))


def family_of(sample_name: str, families: dict[str, Family]) -> str | None:
    """The family a sample name (``x_bucket``, ``x_sum``...) belongs to, if served."""
    if sample_name in families:
        return sample_name
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name.removesuffix(suffix)
        if base != sample_name and base in families and families[base].kind == "histogram":
            return base
    return None
