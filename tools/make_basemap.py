"""Build the console's basemap (``node/console/data/basemap.json``) from ``world-atlas``.

The route on a notice page and the seizure map on the charts page are drawn
over Natural Earth's 1:110m coastlines and land borders (public domain),
as the npm package ``world-atlas`` ships them in TopoJSON. The node reads no
TopoJSON at run time: this script decodes it once and writes the land rings
and the borders between countries as flat lists of longitudes and latitudes
in tenths of a degree (integers), which the node projects onto each drawing.

    npm pack world-atlas            # world-atlas-2.0.2.tgz, from the npm registry
    .venv/bin/python tools/make_basemap.py world-atlas-2.0.2.tgz

Run it again only to change the source; the output is committed.
"""

from __future__ import annotations

import json
import sys
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "node" / "console" / "data" / "basemap.json"
Point = tuple[int, int]


def _member(archive: tarfile.TarFile, name: str) -> dict[str, Any]:
    extracted = archive.extractfile(f"package/{name}")
    if extracted is None:
        raise SystemExit(f"{name} is not in the package")
    loaded: dict[str, Any] = json.load(extracted)
    return loaded


def _arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Every arc in tenths of a degree: quantized deltas undone, the transform applied."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    out = []
    for arc in topology["arcs"]:
        x = y = 0
        points: list[Point] = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            point = (round((x * sx + tx) * 10), round((y * sy + ty) * 10))
            if not points or points[-1] != point:
                points.append(point)
        out.append(points)
    return out


def _ring(arcs: list[list[Point]], indexes: list[int]) -> list[Point]:
    ring: list[Point] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(arc if not ring else arc[1:])
    return ring


def _polygons(geometry: dict[str, Any]) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    return []


def _flat(points: list[Point]) -> list[int]:
    return [c for point in points for c in point]


def build(package: Path) -> dict[str, Any]:
    """Land rings and country borders of the 1:110m scale."""
    with tarfile.open(package) as archive:
        land = _member(archive, "land-110m.json")
        countries = _member(archive, "countries-110m.json")
    land_arcs = _arcs(land)
    rings = []
    for geometry in land["objects"]["land"]["geometries"]:
        for polygon in _polygons(geometry):
            for indexes in polygon:
                ring = _ring(land_arcs, indexes)
                if len(ring) >= 4:
                    rings.append(_flat(ring))
    # A border is an arc two countries share (a coastline belongs to one).
    country_arcs = _arcs(countries)
    used: Counter[int] = Counter()
    for geometry in countries["objects"]["countries"]["geometries"]:
        mine = set()
        for polygon in _polygons(geometry):
            for indexes in polygon:
                mine.update(i if i >= 0 else ~i for i in indexes)
        used.update(mine)
    borders = [_flat(country_arcs[i]) for i, n in sorted(used.items()) if n >= 2]
    return {
        "source": "Natural Earth 1:110m (public domain), via world-atlas 2.0.2",
        "unit": "tenths of a degree, longitude then latitude",
        "land": rings,
        "borders": [b for b in borders if len(b) >= 4],
    }


def main(argv: list[str]) -> int:
    """Write the basemap from the package file named on the command line."""
    if len(argv) != 2:
        print(__doc__)
        return 2
    OUT.write_text(json.dumps(build(Path(argv[1])), separators=(",", ":")) + "\n")
    print(f"{OUT}: {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
