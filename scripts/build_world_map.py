"""Build the dashboard's world map (src/signwatch/ui/static/world.json) from Natural Earth shapes, once.

Run at development time only; the JSON it writes is committed and shipped in the package (no tile server,
no download at run time). The shapes are Natural Earth 1:110m admin-0 countries (public domain) as packed
by the npm package `world-atlas` (TopoJSON, numeric ISO 3166 ids); countries too small for 1:110m (Singapore,
Malta, Bahrain...) come from the 1:50m file as a dot at their centroid. Ids are mapped to ISO 3166 alpha-2
with pycountry (a development dependency only). Antarctica is left out.

    mkdir -p /tmp/wa && (cd /tmp/wa && npm pack world-atlas@2 && tar xzf world-atlas-*.tgz)
    .venv/bin/pip install pycountry
    .venv/bin/python scripts/build_world_map.py /tmp/wa/package
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import pycountry

OUT = Path(__file__).resolve().parents[1] / "src" / "signwatch" / "ui" / "static" / "world.json"
WIDTH = 1000.0  # viewBox units across the whole world
SCALE = WIDTH / (2 * math.pi * 0.8707)  # Natural Earth's x extent at the equator is ±0.8707 π
NORTH, SOUTH = 84.0, -57.0  # latitudes kept (no Antarctica)
# Shapes without an ISO numeric id in Natural Earth: a code, or None to fold them into their neighbour's map.
BY_NAME = {"Kosovo": "XK", "Somaliland": "SO", "N. Cyprus": "CY", "Taiwan": "TW"}
NAMES = {"XK": "Kosovo"}


def natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """The Natural Earth projection (Šavrič et al. 2011), as in d3-geo-projection; y grows southwards."""
    lam, phi = math.radians(lon), math.radians(lat)
    p2 = phi * phi
    p4 = p2 * p2
    x = lam * (0.8707 - 0.131979 * p2 + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4)))
    y = phi * (1.007226 + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4)))
    return x * SCALE, -y * SCALE


def decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """TopoJSON arcs: delta-encoded, quantized positions → absolute (lon, lat) lists."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i in indexes:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(points[1:] if out else points)
    return out


def unwrapped(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring crossing the antimeridian (Russia's far east, Fiji) drawn whole east of it and again shifted a
    world west; the SVG viewport clips each copy at the map's edge. Other rings as they are."""
    if not any(abs(a[0] - b[0]) > 180 for a, b in itertools.pairwise(points)):
        return [points]
    east = [(lon + 360 if lon < 0 else lon, lat) for lon, lat in points]
    return [east, [(lon - 360, lat) for lon, lat in east]]


def polygons(geometry: dict[str, Any]) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    return []


def code_of(geometry: dict[str, Any]) -> str | None:
    name = geometry.get("properties", {}).get("name", "")
    if name in BY_NAME:
        return BY_NAME[name]
    if "id" not in geometry:
        return None
    country = pycountry.countries.get(numeric=str(geometry["id"]).zfill(3))
    return None if country is None else str(country.alpha_2)


def name_of(code: str) -> str:
    if code in NAMES:
        return NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    return str(getattr(country, "common_name", None) or country.name) if country else code


def path(points: list[tuple[float, float]], x0: float, y0: float) -> str:
    """One closed ring as relative SVG path commands, in tenths of a unit; empty when it collapses."""
    coords = []
    for lon, lat in points:
        x, y = natural_earth(lon, max(min(lat, NORTH), SOUTH))
        coords.append((round((x - x0) * 10), round((y - y0) * 10)))
    kept = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
    if len(kept) < 3:
        return ""
    out = [f"M{kept[0][0] / 10:g} {kept[0][1] / 10:g}"]
    for (ax, ay), (bx, by) in itertools.pairwise(kept):
        out.append(f"{(bx - ax) / 10:g} {(by - ay) / 10:g}")
    return out[0] + "l" + " ".join(out[1:]) + "z"


def centroid(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(lon, lat, area) of a ring by the shoelace formula (small shapes: flat is fine)."""
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=False):
        f = x1 * y2 - x2 * y1
        a += f
        cx += (x1 + x2) * f
        cy += (y1 + y2) * f
    if abs(a) < 1e-12:
        xs, ys = zip(*points, strict=False)
        return sum(xs) / len(xs), sum(ys) / len(ys), 0.0
    return cx / (3 * a), cy / (3 * a), abs(a) / 2


def main(package: Path) -> None:
    small = json.loads((package / "countries-110m.json").read_text())
    arcs = decode_arcs(small)
    x0, y0 = natural_earth(-180, 0)[0], natural_earth(0, NORTH)[1]
    height = natural_earth(0, SOUTH)[1] - y0
    shapes: dict[str, list[str]] = {}
    for geometry in small["objects"]["countries"]["geometries"]:
        code = code_of(geometry)
        if code is None or code == "AQ":
            continue
        for polygon in polygons(geometry):
            for indexes in polygon:
                for points in unwrapped(ring(arcs, indexes)):
                    d = path(points, x0, y0)
                    if d:
                        shapes.setdefault(code, []).append(d)
    medium = json.loads((package / "countries-50m.json").read_text())
    arcs50 = decode_arcs(medium)
    dots: dict[str, dict[str, Any]] = {}
    for geometry in medium["objects"]["countries"]["geometries"]:
        code = code_of(geometry)
        if code is None or code in shapes or code == "AQ":
            continue
        best = max((centroid(ring(arcs50, p[0])) for p in polygons(geometry)), key=lambda c: c[2], default=None)
        if best is None:
            continue
        x, y = natural_earth(best[0], best[1])
        dots[code] = {"name": name_of(code), "x": round(x - x0, 1), "y": round(y - y0, 1)}
    doc = {
        "source": "Natural Earth 1:110m and 1:50m admin-0 countries (public domain), via world-atlas 2; "
        "Natural Earth projection; built by scripts/build_world_map.py",
        "viewBox": [0, 0, round(WIDTH, 1), round(height, 1)],
        "countries": {c: {"name": name_of(c), "d": "".join(ds)} for c, ds in sorted(shapes.items())},
        "dots": dict(sorted(dots.items())),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(shapes)} shapes, {len(dots)} dots, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wa/package"))
