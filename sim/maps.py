"""A world map of one region set: where its users are, how long they wait, who serves them.

Equirectangular (longitude and latitude as x and y), drawn with matplotlib alone on the
Natural Earth 1:110m country outlines that ship in ``data/world_110m.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.patheffects import withStroke

from sim.data import sites, world_outlines
from sim.plots import REGION_COLOURS, Chart, set_order
from sim.report import latency_quantiles

LON_LIMITS, LAT_LIMITS = (-180, 180), (-60, 80)
LAND, COAST = "#dcdcdc", "#ffffff"
NO_ANSWER = "#B2182B"  # dark red: places with no ok request; in no palette of the charts
LATENCY_TICKS_MS = (10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000)
LABEL_PT = 9  # region code labels [pt]
POINT_SIZE = 5  # user points [pt²]
# A legend of up to 5 regions (and "no ok request") fits on the South Pacific; more go outside.
LEGEND_INSIDE = 5
TITLE_REGIONS = 3  # regions named in the title of a map by region
AXES_WIDTH_PT = 0.85 * 11 * 72  # the map's width in the 11-inch figure [pt], to place labels
# The p50 map's layout, fixed (left, bottom, width, height as figure fractions): where
# constrained layout puts the map and its colour bar in the 11 x 4.7 inch figure, every time,
# since their ticks are the same; fixing it saves a layout pass per map (0.15 s of 0.5) and lets
# LatencyMap paint only what changes from one set to the next.
P50_SIZE = (11, 4.7)
P50_MAP_BOX = (0.057, 0.110, 0.857, 0.780)  # 360 x 140 degrees at equal aspect
P50_BAR_BOX = (0.935, 0.143, 0.011, 0.714)
# viridis without its last tenth: pale yellow points vanish on light grey land
LATENCY_COLOURS = ListedColormap(colormaps["viridis"](np.linspace(0, 0.9, 230))).with_extremes(
    bad=NO_ANSWER
)


def plot_map(
    requests: pd.DataFrame,
    region_set: str,
    by: str = "p50",
    scale: tuple[float, float] | None = None,
) -> Figure:
    """The users of one region set on a world map, coloured by their p50 latency [ms] over ok
    requests (``by="p50"``, on one colour scale for every set of the run: ``scale``, by
    default `latency_scale`, which the maps of a run compute once) or by the region that
    served most of their requests (``by="region"``), with the set's regions marked and
    labelled."""
    if by not in ("p50", "region"):
        raise ValueError(f"by={by!r}: use 'p50' or 'region'")
    names = set_order(requests["region_set"])
    if region_set not in names:
        raise ValueError(f"{region_set!r} is not in the log; region sets: {', '.join(names)}")
    rows = requests[requests["region_set"] == region_set]
    if by == "p50":
        return LatencyMap(rows, scale or latency_scale(requests)).show(region_set)
    codes = regions_of(rows, region_set)
    legend_inside = len(codes) <= LEGEND_INSIDE
    fig = Chart(figsize=(10 if legend_inside else 11, 4.7), layout="constrained")
    ax = fig.subplots()  # laid out each time: the legend's size varies
    draw_world(ax)
    title = draw_regions(fig, ax, users_of(rows), codes, region_set, legend_inside)
    draw_sites(ax, codes, region_colours(codes))
    ax.set_title(title)
    return fig


class LatencyMap:
    """The p50 maps of a run's region sets as one figure, redrawn set by set on one colour
    scale: the world, the axes and the colour bar are built once; `show` replaces the last
    set's points, sites, legend and title with a set's, and `pixels` paints only those over
    the rest, painted once (blitting): the seed scenario's 9 maps took 0.43 s each as figures of
    their own, 0.16 s here (`chart_files.map_files`, the figure's setup included)."""

    def __init__(self, requests: pd.DataFrame, scale: tuple[float, float] | None = None):
        self.requests = requests
        self.norm = LogNorm(*(scale or latency_scale(requests)))
        self.users = users_of(requests)  # every set's places, in one pass
        self.p50_ms = latency_quantiles(requests, ["region_set"])["p50_ms"]
        self.figure = Chart(figsize=P50_SIZE)
        self.ax = self.figure.add_axes(P50_MAP_BOX)
        draw_world(self.ax)
        draw_colour_bar(self.figure, self.norm)
        self.shown: list = []  # the artists of the set shown
        self.painted: tuple[float, object] | None = None  # (dpi, the pixels of the rest)

    def show(self, region_set: str) -> Figure:
        """The figure with ``region_set``'s users, sites and title (and no other set's)."""
        for artist in self.shown:
            artist.remove()
        ax = self.ax
        before = set(ax.get_children())
        users = self.users[self.users["region_set"] == region_set]
        draw_latency(ax, users, self.norm)
        rows = self.requests[self.requests["region_set"] == region_set]
        draw_sites(ax, regions_of(rows, region_set))
        self.shown = [artist for artist in ax.get_children() if artist not in before]
        p50_ms = self.p50_ms.get(region_set, np.nan)
        ax.set_title(
            f"{region_set}: half of the requests are answered within {p50_ms:,.0f} ms"
            if np.isfinite(p50_ms)
            else f"{region_set}: no request was answered"
        )
        return self.figure

    def pixels(self, dpi: float) -> np.ndarray:
        """The figure as shown, as RGB (rows x columns x 3) at ``dpi``: the pixels savefig
        makes, with the set's artists (and the frame, which lies over the points) painted over
        the rest of the figure, which is painted once per ``dpi``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)
        ax = self.ax
        over = sorted([*self.shown, *ax.spines.values(), ax.title], key=lambda a: a.get_zorder())
        if self.painted is None or self.painted[0] != dpi:
            self.figure.set_dpi(dpi)
            title = ax.get_title()
            ax.set_title("")  # not hidden: matplotlib would move a hidden title onto the map
            for artist in over:
                artist.set_visible(artist is ax.title)
            canvas.draw()
            self.painted = (dpi, canvas.copy_from_bbox(self.figure.bbox))
            for artist in over:
                artist.set_visible(True)
            ax.set_title(title)
        canvas.restore_region(self.painted[1])
        for artist in over:
            ax.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def draw_world(ax: Axes) -> None:
    """The land, equirectangular, with its longitude and latitude axes."""
    # an artist, not a patch: the limits are set below, and add_patch would walk each of the
    # outlines' vertices in Python to widen them
    ax.add_artist(PathPatch(land_path(), facecolor=LAND, edgecolor=COAST, lw=0.5, zorder=0))
    ax.set_xlim(*LON_LIMITS)
    ax.set_ylim(*LAT_LIMITS)
    ax.set_aspect("equal")
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-60, 81, 20))
    ax.set_xlabel("longitude [°]")
    ax.set_ylabel("latitude [°]")


def land_path() -> Path:
    """Every country polygon as one compound path; holes wind the other way, so they stay open."""
    vertices, codes = [], []
    for polygon in world_outlines():
        for ring in polygon["rings"]:
            vertices.extend(ring)
            codes.extend([Path.MOVETO] + [Path.LINETO] * (len(ring) - 2) + [Path.CLOSEPOLY])
    return Path(np.array(vertices, dtype=float), np.array(codes, dtype=Path.code_type))


def users_of(requests: pd.DataFrame) -> pd.DataFrame:
    """One row per region set and place of users (a distinct user_lat, user_lon): p50 of ok
    requests [ms] (NaN when none was ok) and the region that served most of them (NaN when
    none was served)."""
    ok = requests[requests["outcome"] == "ok"]
    place = ["region_set", "user_lat", "user_lon"]
    table = pd.DataFrame(index=requests.groupby(place, observed=True).size().index)
    table["p50_ms"] = ok.groupby(place, observed=True)["total_ms"].median().astype(float)
    served = ok.dropna(subset=["served_region"])
    counts = served.groupby(place + ["served_region"], observed=True).size()
    mode = counts.sort_values(ascending=False, kind="stable").reset_index()
    mode = mode.drop_duplicates(place).set_index(place)["served_region"].astype(str)
    table["region"] = mode.reindex(table.index)
    return table.reset_index()


def regions_of(requests: pd.DataFrame, region_set: str) -> list[str]:
    """The set's sites: the codes of a ``a+b+c`` label that are sites, in that order, then any
    other region that served a request (a set named in a mapping has only those)."""
    known = sites().index
    named = [code for code in region_set.split("+") if code in known]
    served = {str(code) for code in pd.unique(requests["served_region"].dropna())}
    return named + sorted(served - set(named))


def label_offsets(lons: np.ndarray, lats: np.ndarray, codes: list[str], deg_per_pt: float):
    """Offsets [pt] that keep the region labels off each other and off the other markers.

    Greedy, west to east: each label takes the first of eight places around its marker whose
    box overlaps no label placed so far and no marker.
    """
    width_pt = [0.62 * LABEL_PT * len(code) for code in codes]
    height_pt = LABEL_PT
    side = 8 * deg_per_pt  # a marker's box
    taken = [(x - side / 2, y - side / 2, side, side) for x, y in zip(lons, lats, strict=True)]
    offsets = [(0.0, 0.0)] * len(codes)
    for i in np.argsort(lons, kind="stable"):
        w = width_pt[i]
        places = [
            (5, 3), (5, -3 - height_pt), (-5 - w, 3), (-5 - w, -3 - height_pt),
            (-w / 2, 6), (-w / 2, -6 - height_pt), (8, -height_pt / 2), (-8 - w, -height_pt / 2),
        ]  # fmt: skip
        boxes = [
            (
                lons[i] + dx * deg_per_pt,
                lats[i] + dy * deg_per_pt,
                w * deg_per_pt,
                height_pt * deg_per_pt,
            )
            for dx, dy in places
        ]
        free = [k for k, box in enumerate(boxes) if not any(overlaps(box, t) for t in taken)]
        k = free[0] if free else 0  # nowhere free: the first place, overlapping
        offsets[i] = places[k]
        taken.append(boxes[k])
    return offsets


def overlaps(a, b) -> bool:
    """Whether two boxes (x, y, width, height) overlap."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def latency_scale(requests: pd.DataFrame) -> tuple[float, float]:
    """The colour scale [ms] of every p50 map of a run: the places' p50 over all its region
    sets, the fastest and slowest 1 % taking the end colours so that outliers set no scale."""
    place = ["region_set", "user_lat", "user_lon"]
    ok = requests[requests["outcome"] == "ok"]
    answered = ok.groupby(place, observed=True)["total_ms"].median().astype(float)
    if not len(answered):
        return 1.0, 2.0
    low, high = max(answered.quantile(0.01), 1.0), answered.quantile(0.99)
    return (low, high) if high > low else (low / 2, low * 2)


def draw_colour_bar(fig: Figure, norm: LogNorm) -> None:
    """The p50 maps' colour bar: LATENCY_COLOURS on the log scale ``norm`` [ms]."""
    bar = fig.colorbar(
        ScalarMappable(norm, LATENCY_COLOURS), cax=fig.add_axes(P50_BAR_BOX), extend="both"
    )
    bar.set_label("p50 latency [ms]")
    ticks = [t for t in LATENCY_TICKS_MS if norm.vmin <= t <= norm.vmax]
    if len(ticks) >= 2:
        bar.set_ticks(ticks, labels=[f"{t:,}" for t in ticks])
        bar.ax.minorticks_off()


def draw_latency(ax: Axes, users: pd.DataFrame, norm: LogNorm) -> None:
    """Places of users as points in the colour of their p50 [ms] on ``norm``; places with
    no ok request in dark red, counted in a legend."""
    p50 = users["p50_ms"]
    order = np.argsort(p50.fillna(np.inf).to_numpy(), kind="stable")[::-1]  # fastest on top
    ax.scatter(
        users["user_lon"].to_numpy()[order],
        users["user_lat"].to_numpy()[order],
        c=p50.to_numpy()[order],
        s=POINT_SIZE,
        linewidths=0,
        cmap=LATENCY_COLOURS,
        norm=norm,
        plotnonfinite=True,
        zorder=2,
        rasterized=True,  # in an SVG one image, not thousands of paths
    )
    failed = int(p50.isna().sum())
    if failed:
        ax.legend(
            handles=[marker(NO_ANSWER, f"no ok request ({failed:,} places of users)")],
            loc="lower left",
            fontsize="small",
        )


def draw_regions(
    fig: Figure,
    ax: Axes,
    users: pd.DataFrame,
    codes: list[str],
    region_set: str,
    legend_inside: bool,
) -> str:
    """Users as points in the colour of the region that served most of their requests, a
    legend entry per region (on the South Pacific, or right of the map); returns the title:
    the regions that serve the most users and their shares."""
    groups = [
        (users[users["region"] == code], colour, code)
        for code, colour in region_colours(codes).items()
    ]
    groups.append((users[users["region"].isna()], NO_ANSWER, "no ok request"))
    handles = []
    for group, colour, label in groups:
        if group.empty:
            continue
        ax.scatter(
            group["user_lon"], group["user_lat"], s=POINT_SIZE, linewidths=0, color=colour,
            zorder=2, rasterized=True,
        )  # fmt: skip
        handles.append(marker(colour, f"{label}: {len(group):,} places of users"))
    (ax if legend_inside else fig).legend(
        handles=handles,
        loc="lower left" if legend_inside else "outside right upper",
        fontsize="small",
        title="served by",
        title_fontsize="small",
    )
    shares = users["region"].value_counts() / len(users)
    if shares.empty:
        return f"{region_set}: no user got an answer"
    parts = [f"{shares.index[0]} serves {shares.iloc[0]:.0%} of the places of users"]
    parts += [f"{code} {share:.0%}" for code, share in shares.iloc[1:TITLE_REGIONS].items()]
    rest = shares.iloc[TITLE_REGIONS:]
    if len(rest):
        parts.append(f"{len(rest)} others {rest.sum():.0%}")
    return f"{region_set}: {', '.join(parts)}"


def region_colours(codes: list[str]) -> dict[str, str]:
    """Region code -> colour (REGION_COLOURS, never a region set's), in the set's order."""
    return {code: REGION_COLOURS[i % len(REGION_COLOURS)] for i, code in enumerate(codes)}


def draw_sites(ax: Axes, codes: list[str], colours: dict[str, str] | None = None) -> None:
    """The set's regions as triangles (black, or their region colour), labelled with the code."""
    table = sites().loc[codes]
    lons, lats = table["lon"].to_numpy(float), table["lat"].to_numpy(float)
    deg_per_pt = (LON_LIMITS[1] - LON_LIMITS[0]) / AXES_WIDTH_PT
    offsets = label_offsets(lons, lats, codes, deg_per_pt)
    halo = [withStroke(linewidth=2.5, foreground="white")]
    for code, lon, lat, (dx, dy) in zip(codes, lons, lats, offsets, strict=True):
        face = colours[code] if colours else "black"
        ax.plot(lon, lat, "^", ms=9, mfc=face, mec="black" if colours else "white", mew=1, zorder=3)
        ax.annotate(
            code,
            (lon, lat),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=LABEL_PT,
            fontweight="bold",
            path_effects=halo,
            zorder=4,
        )


def marker(colour, label: str) -> Line2D:
    """A legend handle: one round point, larger than the map's."""
    return Line2D([], [], ls="", marker="o", ms=6, mfc=colour, mec="none", label=label)
