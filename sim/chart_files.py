"""The charts of a run as files: which charts it has (CHARTS, and a world map per region set),
their file names, and each one's PNG or SVG bytes, the same for the same run.

Each chart is a job for sim.fork_pool: drawn and saved on this process or a fork of it, then
dropped, so that no more than two figures are alive at a time; the maps are two jobs, each
redrawing one figure (sim.maps.LatencyMap) for half of the region sets.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from functools import partial

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim.fork_pool import Job
from sim.maps import LatencyMap, latency_scale
from sim.plots import covers_a_day

CHARTS = {  # file stem: (Result method, caption)
    "latency_cdf": ("plot_cdf", "latency CDF per region set"),
    "cost_latency": ("plot_cost_latency", "p99 latency against monthly cost"),
    "continents": ("plot_continents", "p50 and p99 by user continent"),
    "latency_parts": ("plot_parts", "where the time goes, by continent"),
    "cost_breakdown": ("plot_cost", "monthly cost by item"),
    "latency_daily": ("plot_daily", "latency over the day"),
}
SLOWEST = ("latency_parts", "latency_cdf")  # drawn first, so that the two processes end together
FORMATS = {"png": ("png",), "svg": ("svg",), "both": ("png", "svg"), "none": ()}  # --charts
DPI = 150  # 1,200 pixels across a chart: sharp on a high-density screen at the report's width
SVG_REPRODUCIBLE = {"Date": None}  # the same run, the same bytes
PNG_LEVEL = 3  # zlib's: for these images smaller and no slower than 1


def captions(result: sim.Result) -> dict[str, str]:
    """The run's charts: file stem -> caption; latency over the day only when the run covers
    DAILY_MIN_HOURS, a map per region set."""
    shown = {stem: caption for stem, (_, caption) in CHARTS.items()
             if stem != "latency_daily" or covers_a_day(result.requests)}  # fmt: skip
    for name, stem in unique_stems(list(result.scenario.candidates)).items():
        shown[f"map_{stem}"] = f"{name}: users by p50"
    return shown


def chart_jobs(result: sim.Result, kinds: tuple[str, ...]) -> list[Job]:
    """A job per chart of `captions`, the slowest first, each drawing its chart and saving it
    as each of ``kinds``; none when ``kinds`` is empty."""
    if not kinds:
        return []
    draws = {stem: getattr(result, CHARTS[stem][0]) for stem in captions(result)
             if stem in CHARTS}  # fmt: skip
    order = [stem for stem in SLOWEST if stem in draws] + [s for s in draws if s not in SLOWEST]
    jobs = [partial(chart_file, stem, draws[stem], kinds) for stem in order]
    scale = latency_scale(result.requests)  # every map's, computed once
    maps = list(unique_stems(list(result.scenario.candidates)).items())
    for share in (maps[0::2], maps[1::2]):  # a job for each process
        if share:
            names = [name for name, _ in share]
            rows = result.requests[result.requests["region_set"].isin(names)]
            jobs.append(partial(map_files, rows, share, scale, kinds))
    return jobs


def chart_file(stem: str, draw: Callable[[], Figure], kinds: tuple[str, ...]) -> dict[str, bytes]:
    """One chart drawn and saved as each of ``kinds``: ``{stem}.png`` and/or ``{stem}.svg``."""
    figure = draw()
    return {f"{stem}.{kind}": image(figure, kind) for kind in kinds}


def map_files(
    requests: pd.DataFrame,
    maps: list[tuple[str, str]],
    scale: tuple[float, float],
    kinds: tuple[str, ...],
) -> dict[str, bytes]:
    """The p50 map of each (region set, file stem) of ``maps`` as ``map_{stem}.png`` and/or
    ``.svg``, on one LatencyMap: its PNGs painted over the world painted once."""
    world = LatencyMap(requests, scale)
    files = {}
    for name, stem in maps:
        world.show(name)
        for kind in kinds:
            data = png(world.pixels(DPI), DPI) if kind == "png" else image(world.figure, kind)
            files[f"map_{stem}.{kind}"] = data
    return files


def image(figure: Figure, kind: str) -> bytes:
    """The figure as PNG or SVG bytes, the same for the same run (no dates, fixed SVG ids)."""
    buffer = io.BytesIO()
    if kind == "svg":
        with matplotlib.rc_context({"svg.hashsalt": "globalness"}):
            figure.savefig(buffer, format="svg", dpi=DPI, metadata=SVG_REPRODUCIBLE)
        return buffer.getvalue()
    figure.savefig(buffer, format="rgba", dpi=DPI)  # the pixels of savefig's PNG
    width = int(figure.get_figwidth() * DPI)
    rgba = np.frombuffer(buffer.getbuffer(), np.uint8).reshape(-1, width, 4)
    return png(rgba[:, :, :3], DPI)


def png(rgb: np.ndarray, dpi: float) -> bytes:
    """An RGB image (rows x columns x 3 bytes) as a PNG file: each row unfiltered, zlib at
    PNG_LEVEL, its resolution, and nothing else (no time, no software: the same pixels, the
    same bytes). The charts are opaque, so no alpha channel; their flat colours need no row
    filter. Both halve the time of savefig's PNG (Pillow's RGBA, a filter chosen per row),
    and the seed scenario's charts take 14 % fewer bytes."""
    height, width, _ = rgb.shape
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # each row: filter 0 (none), pixels
    rows[:, 1:] = rgb.reshape(height, -1)
    per_metre = round(dpi / 0.0254)
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),  # 8-bit RGB
        png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        png_chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_LEVEL)),
        png_chunk(b"IEND", b""),
    ])  # fmt: skip


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: its length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def unique_stems(names: list[str]) -> dict[str, str]:
    """Each name's file stem, unique: a stem already taken (``a b`` and ``a-b``,
    ``hetzner:fsn1`` beside a set ``hetzner-fsn1``) gets ``-2``, ``-3``... in the names' order,
    compared without case (for case-insensitive file systems)."""
    taken: set[str] = set()
    stems = {}
    for name in names:
        stem, k = file_stem(name), 2
        candidate = stem
        while candidate.lower() in taken:
            candidate, k = f"{stem}-{k}", k + 1
        taken.add(candidate.lower())
        stems[name] = candidate
    return stems


def file_stem(name: str) -> str:
    """A region set's name as part of a file name: letters, digits and + _ . - only."""
    return re.sub(r"[^A-Za-z0-9+_.-]", "-", name).strip(".-") or "set"
