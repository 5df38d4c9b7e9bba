"""Statistics of the paper's figure 6 (table, JSON, plot) and sample sheets of a scored build."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from pandaset_build.config import vocab
from pandaset_build.config.recipe import SEVERITY_NAMES
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.pairs import image_pairs, make_pair
from pandaset_build.labels.stats import LabelStats
from pandaset_build.labels.visibility import VisibilityStats
from pandaset_build.render.sheets import YELLOW, contact_sheet, legend_tile, outlined, tile
from pandaset_build.store.atomic import atomic_path, write_bytes_atomic, write_json_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.images import encode_png, read_rgb
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.scored import ScoredBuild, ScoredImage

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TILE = 192
CAPTION = 28
COMPARISON_COLOURS = {
    "same": (255, 255, 0),
    "slightly_worse": (255, 140, 0),
    "significantly_worse": (255, 0, 0),
    "slightly_better": (0, 200, 255),
    "significantly_better": (0, 80, 255),
}


def collect_stats(scored: ScoredBuild) -> tuple[LabelStats, VisibilityStats]:
    """Label counts over every image and ordered pair, and the visibility audit, streamed."""
    stats, visibility = LabelStats(), VisibilityStats()
    for image in scored.iter_images():
        stats.add_image(image)
        visibility.add_image(image)
        for pair in image_pairs(image, scored.versions, scored.build.recipe.comparison):
            stats.add_pair(pair)
    return stats, visibility


def stats_table(stats: JsonObject) -> Table:
    """Regions per distortion and severity per split, and comparison shares."""
    splits = list(stats["images"])
    table = Table(title="PandaSet label statistics (regions over all versions)")
    table.add_column("label")
    for split in splits:
        table.add_column(f"{split} ({stats['images'][split]} images)", justify="right")
    for key in ("regions_per_distortion", "regions_per_severity"):
        for name in vocab.DISTORTIONS if key == "regions_per_distortion" else vocab.SEVERITIES:
            table.add_row(
                f"{key.split('_')[-1]}: {name}", *(str(stats[key][s][name]) for s in splits)
            )
    for name in vocab.COMPARISONS:
        shares = (f"{stats['comparison_shares'][s][name]:.1%}" for s in splits)
        table.add_row(f"comparison: {name}", *shares)
    return table


def visibility_table(visibility: JsonObject, minimum: float) -> Table:
    """One row per family, each cell minor / moderate / severe: degraded regions, the share
    under the minimum at the first draw, regions redrawn and relabelled, what stays under it in
    the written labels (`kept`), the mean region score and whether it falls with severity."""
    table = Table(
        title=f"Visibility audit (mean change >= {minimum:g} grey levels), minor/moderate/severe"
    )
    for name in ("family", "regions", "under min", "redrawn", "relabelled", "kept", "mean score"):
        table.add_column(name, justify="left" if name == "family" else "right")
    table.add_column("falls")

    def cells(rows: JsonObject, key: str, share: bool = False) -> str:
        values = [rows.get(s, {}).get(key) for s in SEVERITY_NAMES]
        return "/".join("-" if v is None else f"{v:.1%}" if share else str(v) for v in values)

    for family, rows in visibility["families"].items():
        order = visibility["severity_order"].get(family, {})
        means = order.get("mean_score", {})
        table.add_row(
            family,
            cells(rows, "regions"),
            cells(rows, "under_minimum_first_draw", share=True),
            cells(rows, "redrawn"),
            cells(rows, "relabelled"),
            cells(rows, "kept"),
            "/".join(f"{means[s]:.3f}" if s in means else "-" for s in SEVERITY_NAMES),
            "yes" if order.get("ordered") else "no",
        )
    table.add_row(
        "all",
        str(visibility["regions"]),
        f"{visibility['under_minimum_first_draw']:.2%}",
        str(visibility["redrawn"]),
        str(visibility["relabelled"]),
        str(visibility["kept"]),
        "",
        "",
    )
    return table


def stats_plot(stats: JsonObject, path: Path) -> None:
    """Grouped bars per split: distortion, severity, comparison share."""
    splits = list(stats["images"])
    panels = (
        ("regions_per_distortion", vocab.DISTORTIONS, "regions per distortion"),
        ("regions_per_severity", vocab.SEVERITIES, "regions per severity"),
        ("comparison_shares", vocab.COMPARISONS, "comparison share of region pairs"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(18, 5), gridspec_kw={"width_ratios": [3, 1, 1.5]})
    width = 0.8 / max(len(splits), 1)
    for ax, (key, names, title) in zip(axes, panels, strict=True):
        x = np.arange(len(names))
        for i, split in enumerate(splits):
            ax.bar(x + i * width, [stats[key][split][n] for n in names], width, label=split)
        ax.set_xticks(x + width * (len(splits) - 1) / 2, names, rotation=60, ha="right")
        ax.set_title(title)
    axes[0].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def _tile(image: np.ndarray, caption: str) -> Image.Image:
    return tile(image, caption, size=TILE, caption_height=CAPTION)


def labels_sheet(build: Build, image: ScoredImage) -> np.ndarray:
    """One image under all 15 labels: the reference (clean) and a version showing each family."""
    masks = [decode_mask(r.mask) for r in image.source.regions]
    tiles = [_tile(read_rgb(image.source.image_path), "clean (reference)")]
    for family in vocab.FAMILIES:
        found = [
            (v, [p.distortion == family for p in plans])
            for v, plans in image.plans.items()
            if any(p.distortion == family for p in plans)
        ]
        if not found:
            tiles.append(_tile(np.full((8, 8, 3), 255, np.uint8), f"{family}: not in this image"))
            continue
        version, chosen = found[0]
        pixels = read_rgb(build.layout.version_image(version, image.split, image.tag))
        picked = [m for m, c in zip(masks, chosen, strict=True) if c]
        tiles.append(
            _tile(outlined(pixels, picked, [YELLOW] * len(picked)), f"{family}\n({version})")
        )
    return contact_sheet(tiles, 5)


def example_pairs(versions: list[str]) -> list[tuple[str, str]]:
    """An easy, a medium and a hard pair from the recipe's versions, where it has them."""
    single = [v for v in versions if v not in vocab.MIXED_VERSIONS]
    mixed = [v for v in versions if v in vocab.MIXED_VERSIONS]
    pairs = []
    if len(single) >= 2:
        pairs.append((single[0], single[1]))
    if single and mixed:
        pairs.append((single[0], mixed[0]))
    if len(mixed) >= 2:
        pairs.append((mixed[0], mixed[1]))
    return pairs


def pairs_sheet(build: Build, image: ScoredImage, versions: list[str]) -> np.ndarray:
    """Easy / medium / hard example pairs; outlines coloured by the region comparison."""
    masks = [decode_mask(r.mask) for r in image.source.regions]
    tiles = []
    for anchor, target in example_pairs(versions):
        pair = make_pair(image, anchor, target, build.recipe.comparison)
        colours = [COMPARISON_COLOURS[vocab.COMPARISONS[r.comparison]] for r in pair.regions]
        for side, version in (("anchor", anchor), ("target", target)):
            pixels = read_rgb(build.layout.version_image(version, image.split, image.tag))
            caption = f"{pair.difficulty} {side}: {version}"
            tiles.append(_tile(outlined(pixels, masks, colours), caption))
    entries = list(COMPARISON_COLOURS.items())
    legend = legend_tile("outline: anchor vs target", entries, TILE, TILE + CAPTION)
    return contact_sheet([*tiles, legend], 2)


def distorted_regions(image: ScoredImage) -> int:
    """Degraded regions over all versions of an image."""
    return sum(p.distortion != "clean" for plans in image.plans.values() for p in plans)


def report(build: Build, console: Console | None = None) -> list[Path]:
    """Write `report/stats.json` (figure 6's counts and the visibility audit), `stats.png`,
    `labels_sheet.png`, `pairs_sheet.png`."""
    scored = ScoredBuild(build)
    scored.check()
    label_stats, visibility_stats = collect_stats(scored)
    stats = label_stats.to_json(scored.splits)
    stats["visibility"] = visibility_stats.to_json()
    console = console or Console()
    console.print(stats_table(stats))
    console.print(visibility_table(stats["visibility"], build.recipe.visibility.min_mean_change))
    out = build.layout.report
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        out / "stats.json",
        out / "stats.png",
        out / "labels_sheet.png",
        out / "pairs_sheet.png",
    ]
    write_json_atomic(paths[0], stats)
    stats_plot(stats, paths[1])
    image = max(scored.iter_images(), key=distorted_regions)
    write_bytes_atomic(paths[2], encode_png(labels_sheet(build, image)))
    write_bytes_atomic(paths[3], encode_png(pairs_sheet(build, image, scored.versions)))
    return paths
