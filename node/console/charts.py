"""Charts and the route view, drawn by the node as SVG (they work offline).

Pure geometry: counts become bars, coordinates become points on an
equirectangular map framed around the route. The templates only place the
shapes; no script and no style attribute is needed, so the console's strict
Content-Security-Policy holds on these pages too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baliza.node.console.places import Place

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 170
CHART_WIDTH = 640
MAX_BARS = 15
MAP_WIDTH = 640
MAP_HEIGHT = 320
MAP_MARGIN = 40


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a horizontal bar chart."""

    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class BarChart:
    """A horizontal bar chart: its bars and its drawing size."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int


@dataclass(frozen=True, slots=True)
class Stop:
    """One place of a route, projected onto the drawing."""

    place: Place
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class RouteView:
    """A route from its first place to its last, ready to draw."""

    stops: tuple[Stop, ...]
    width: int
    height: int

    @property
    def points(self) -> str:
        """The stops as an SVG ``points`` list."""
        return " ".join(f"{s.x},{s.y}" for s in self.stops)


def bar_chart(counts: Mapping[str, int], *, keep_order: bool = False) -> BarChart:
    """Bars for ``counts``, largest first (or in the given order), the longest full width."""
    items = list(counts.items()) if keep_order else Counter(counts).most_common()
    items = items[-MAX_BARS:] if keep_order else items[:MAX_BARS]
    top = max((v for _, v in items), default=1) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 60
    bars = tuple(
        Bar(label, value, i * (BAR_HEIGHT + BAR_GAP), max(1, value * span // top))
        for i, (label, value) in enumerate(items)
    )
    return BarChart(bars, CHART_WIDTH, max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP), LABEL_WIDTH)


@dataclass(frozen=True, slots=True)
class SeizureCounts:
    """Seizure notices counted by commodity, place and month."""

    by_commodity: dict[str, int]
    by_place: dict[str, int]
    by_month: dict[str, int]
    total: int


def count_seizures(notices: Iterable[Mapping[str, Any]]) -> SeizureCounts:
    """Count seizure notices (their JSON form) by commodity, place and month."""
    commodity: Counter[str] = Counter()
    place: Counter[str] = Counter()
    month: Counter[str] = Counter()
    total = 0
    for notice in notices:
        total += 1
        for category in {c.get("category", "other") for c in notice.get("commodities", [])}:
            commodity[category] += 1
        location = notice.get("location", {})
        place[location.get("locode") or location.get("airport") or "?"] += 1
        seized = datetime.fromtimestamp(notice.get("seized_ms", 0) / 1000, UTC)
        month[seized.strftime("%Y-%m")] += 1
    return SeizureCounts(dict(commodity), dict(place), dict(sorted(month.items())), total)


def route_view(places: Iterable[Place]) -> RouteView | None:
    """The route through ``places`` on a map framed around them; None under two places."""
    located = list(places)
    if len(located) < 2:
        return None
    lons = [p.lon for p in located]
    lats = [p.lat for p in located]
    span_lon = max(max(lons) - min(lons), 1.0)
    span_lat = max(max(lats) - min(lats), 1.0)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / span_lon, (MAP_HEIGHT - 2 * MAP_MARGIN) / span_lat)
    stops = tuple(
        Stop(
            p,
            int(MAP_MARGIN + (p.lon - min(lons)) * scale),
            int(MAP_HEIGHT - MAP_MARGIN - (p.lat - min(lats)) * scale),
        )
        for p in located
    )
    return RouteView(stops, MAP_WIDTH, MAP_HEIGHT)
