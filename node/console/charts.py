"""Charts and the route view, drawn by the node as SVG (they work offline).

Pure geometry: counts become bars, coordinates become points on an
equirectangular map framed around the route, over Natural Earth's coastlines
and borders (``basemap``); seizures by place become circles on a world map,
their area in proportion to the count. The templates only place the
shapes; no script and no style attribute is needed, so the console's strict
Content-Security-Policy holds on these pages too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baliza.node.console.basemap import Frame, Outlines, framing, outlines
from baliza.node.console.places import Place

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 170
CHART_WIDTH = 640
MAX_BARS = 15
MAP_WIDTH = 640
MAP_HEIGHT = 320
MAP_MARGIN = 40
# A route shows at least this many degrees across (a harbour-to-harbour leg
# would otherwise be drawn at a scale the 1:110m coastline cannot hold).
MIN_SPAN = 12.0
LABEL_GAP = 9
LABEL_MAX = 28
NO_OUTLINES = Outlines("", "")
# The seizure map: the world from 60° south to 80° north, circles up to this radius.
WORLD_WIDTH = 640
WORLD_HEIGHT = 250
MAX_RADIUS = 18
MIN_RADIUS = 4


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
    label_x: int = 0
    label_y: int = 0
    anchor: str = "start"

    @property
    def label(self) -> str:
        """Code and name, shortened so the label stays inside the drawing."""
        text = f"{self.place.code} · {self.place.name}"
        return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


@dataclass(frozen=True, slots=True)
class RouteView:
    """A route from its first place to its last, ready to draw."""

    stops: tuple[Stop, ...]
    width: int
    height: int
    outlines: Outlines = NO_OUTLINES

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
    """The route through ``places`` over the coastlines framed around it; None under two places.

    Each label is written toward the middle of the drawing (left of a stop in
    its right half, below one near the top), so none is cut by the edge.
    """
    located = list(places)
    if len(located) < 2:
        return None
    frame = framing([(p.lon, p.lat) for p in located], MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN, MIN_SPAN)
    return RouteView(
        tuple(_stop(p, frame) for p in located), MAP_WIDTH, MAP_HEIGHT, outlines(frame)
    )


def _stop(place: Place, frame: Frame) -> Stop:
    x, y = round(frame.x(place.lon)), round(frame.y(place.lat))
    right_half = x > frame.width / 2
    return Stop(
        place,
        x,
        y,
        label_x=x - LABEL_GAP if right_half else x + LABEL_GAP,
        label_y=y + 2 * LABEL_GAP if y < 3 * LABEL_GAP else y - LABEL_GAP,
        anchor="end" if right_half else "start",
    )


@dataclass(frozen=True, slots=True)
class Spot:
    """One place on the seizure map: a circle whose area says the count."""

    code: str
    name: str
    count: int
    x: int
    y: int
    r: int


@dataclass(frozen=True, slots=True)
class SeizureMap:
    """Seizures by place on the world map."""

    spots: tuple[Spot, ...]
    width: int
    height: int
    outlines: Outlines


def seizure_map(by_place: Mapping[str, int], locate: Callable[[str], Place | None]) -> SeizureMap:
    """Circles for the places ``locate`` (code → ``Place`` or None) knows, largest first.

    Drawn largest first so a small count near a large one stays visible on top.
    """
    frame = Frame(
        width=WORLD_WIDTH, height=WORLD_HEIGHT, lon=0.0, lat=10.0, per_px=140 / WORLD_HEIGHT
    )
    # No stretch on a world map: the frame's middle latitude is near the equator.
    top = max(by_place.values(), default=1) or 1
    spots = []
    for code, count in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0])):
        place = locate(code)
        if place is None:
            continue
        r = round(MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * (count / top) ** 0.5)
        x = min(max(round(frame.x(place.lon)), r), frame.width - r)
        y = min(max(round(frame.y(place.lat)), r), frame.height - r)
        spots.append(Spot(code, place.name, count, x, y, r))
    return SeizureMap(tuple(spots), frame.width, frame.height, outlines(frame))
