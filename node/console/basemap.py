"""Coastlines and borders under the console's maps, projected for one drawing.

The land and the borders between countries are Natural Earth's 1:110m
(public domain), shipped as ``data/basemap.json`` (built by
``tools/make_basemap.py`` from the npm package ``world-atlas``): no tile
server, nothing fetched at run time. A ``Frame`` maps longitude and latitude
onto a drawing of a given size (equirectangular, stretched by the cosine of
the frame's middle latitude so a country keeps its shape away from the
equator); ``outlines`` gives the SVG paths of what falls inside it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BASEMAP = Path(__file__).with_name("data") / "basemap.json"
# Rings are kept if they reach the frame widened by this much (of its size).
SLACK = 0.1


@dataclass(frozen=True, slots=True)
class Outlines:
    """The land (closed rings) and borders (lines) inside a frame, as SVG path data."""

    land: str
    borders: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """A drawing of width × height pixels centred on (lon, lat), per_px degrees a pixel."""

    width: int
    height: int
    lon: float
    lat: float
    per_px: float

    @property
    def stretch(self) -> float:
        """How much narrower a degree of longitude is than one of latitude, mid-frame."""
        return max(math.cos(math.radians(self.lat)), 0.2)

    def x(self, lon: float) -> float:
        """The drawing's x of a longitude."""
        return self.width / 2 + (lon - self.lon) * self.stretch / self.per_px

    def y(self, lat: float) -> float:
        """The drawing's y of a latitude (north up)."""
        return self.height / 2 - (lat - self.lat) / self.per_px

    def bounds(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the drawing (degrees), widened by ``SLACK``."""
        half_w = self.width * (0.5 + SLACK) * self.per_px / self.stretch
        half_h = self.height * (0.5 + SLACK) * self.per_px
        return self.lon - half_w, self.lat - half_h, self.lon + half_w, self.lat + half_h


def framing(
    points: list[tuple[float, float]], width: int, height: int, margin: int, min_span: float
) -> Frame:
    """The frame that shows every (lon, lat) of ``points`` at least ``margin`` from the edges."""
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    lon = (min(lons) + max(lons)) / 2
    lat = (min(lats) + max(lats)) / 2
    stretch = max(math.cos(math.radians(lat)), 0.2)
    span_x = max((max(lons) - min(lons)) * stretch, min_span)
    span_y = max(max(lats) - min(lats), min_span / 2)
    per_px = max(span_x / (width - 2 * margin), span_y / (height - 2 * margin))
    return Frame(width=width, height=height, lon=lon, lat=lat, per_px=per_px)


@cache
def _basemap() -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    raw = json.loads(BASEMAP.read_text(encoding="utf-8"))
    return tuple(map(tuple, raw["land"])), tuple(map(tuple, raw["borders"]))


def _path(lines: tuple[tuple[int, ...], ...], frame: Frame, *, closed: bool) -> str:
    west, south, east, north = frame.bounds()
    out = []
    for flat in lines:
        lons = flat[0::2]
        lats = flat[1::2]
        if max(lons) / 10 < west or min(lons) / 10 > east:
            continue
        if max(lats) / 10 < south or min(lats) / 10 > north:
            continue
        out.append(_projected(lons, lats, frame, closed=closed))
    return "".join(out)


def _projected(lons: tuple[int, ...], lats: tuple[int, ...], frame: Frame, *, closed: bool) -> str:
    """One ring or line as path data; a step across the antimeridian starts a new piece.

    Natural Earth keeps Fiji's and Chukotka's outlines whole across 180°, so
    drawn as one piece they would cross the whole map in a straight line.
    Points closer than a pixel are dropped; a piece under a pixel is left out.
    """
    pieces: list[list[str]] = [[]]
    last_lon = lons[0]
    last = ""
    for lon, lat in zip(lons, lats, strict=True):
        if abs(lon - last_lon) > 1800:
            pieces.append([])
            last = ""
        last_lon = lon
        point = f"{frame.x(lon / 10):.0f} {frame.y(lat / 10):.0f}"
        if point != last:
            pieces[-1].append(point)
            last = point
    whole = closed and len(pieces) == 1
    return "".join(
        "M" + "L".join(piece) + ("Z" if whole else "")
        for piece in pieces
        if len(piece) >= (3 if whole else 2)
    )


def outlines(frame: Frame) -> Outlines:
    """The coastlines and borders that reach ``frame``, projected onto it."""
    land, borders = _basemap()
    return Outlines(_path(land, frame, closed=True), _path(borders, frame, closed=False))
