"""The gallery in a real browser (headless Chromium from Debian, driven by Playwright), opened
from disk: pair count, a filter, a clicked region's labels, the predicted graph, no errors."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_cli

from pandaset_build.config import vocab
from pandaset_build.errors import BuildError, RecipeError
from pandaset_build.gallery import build_gallery
from pandaset_build.gallery.content import SUPER_CATEGORIES, outline_paths
from pandaset_build.labels.pairs import DIFFICULTIES
from pandaset_build.pairsets import PairRecord, load_pairs
from pandaset_build.store.build import Build, open_build
from pandaset_build.store.masks import decode_mask

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "build" / "quickstart"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "build" / "gallery-screenshot.png"  # for people to look at (not tracked)
DOCS_PICTURE = ROOT / "docs" / "img" / "gallery.png"  # refreshed with PANDASET_UPDATE_DOCS=1
SAMPLE = 24
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def quickstart_build(tmp: Path) -> Build:
    """The README's quickstart build when it is there and current, else a fresh one in `tmp`."""
    if (QUICKSTART / "eval").is_dir():
        try:
            return open_build(QUICKSTART)
        except (RecipeError, BuildError):
            pass
    run_cli("run", "--recipe", "quickstart", "--build", str(tmp), "--workers", "2",
            "--panda", "panda_quickstart", "--random-backbone")  # fmt: skip
    return open_build(tmp)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Build, Path]:
    build = quickstart_build(tmp_path_factory.mktemp("quickstart") / "build")
    out = tmp_path_factory.mktemp("gallery") / "gallery"
    build_gallery(build, out, SAMPLE)
    return build, out


def chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    message = "no /usr/bin/chromium: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI must run the browser test)")
    pytest.skip(message)


def has_distortion(pair: PairRecord, distortion: int) -> bool:
    return any(distortion in (r.anchor.distortion, r.target.distortion) for r in pair.regions)


def interior_point(mask: dict) -> tuple[int, int]:
    """The pixel of a region farthest from its border (x, y)."""
    pixels = np.pad(decode_mask(mask).astype(np.uint8), 1)
    distance = cv2.distanceTransform(pixels, cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(x) - 1, int(y) - 1


def test_outline_of_a_square_is_its_border() -> None:
    mask = np.zeros((10, 12), dtype=bool)
    mask[2:6, 3:9] = True
    from pandaset_build.store.masks import encode_mask

    path = outline_paths(encode_mask(mask))
    corners = sorted(zip(*[iter(map(float, re.findall(r"[\d.]+", path)))] * 2, strict=True))
    assert corners == [(3.5, 2.5), (3.5, 5.5), (8.5, 2.5), (8.5, 5.5)]


def test_super_categories_cover_every_label_once() -> None:
    grouped = [f for families in SUPER_CATEGORIES.values() for f in families]
    assert sorted(grouped) == sorted(vocab.DISTORTIONS)


@pytest.mark.slow
def test_gallery_in_chromium(gallery: tuple[Build, Path], tmp_path: Path) -> None:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    build, out = gallery
    benches = {k: load_pairs(build.layout.bench_split(k)) for k in DIFFICULTIES}
    per_image = len(build.recipe.versions) * (len(build.recipe.versions) - 1)
    counts = {s: sum(1 for p in (build.layout.versions / "blur" / s).glob("*.png")) for s in
              build.recipe.splits}  # fmt: skip
    expected_total = sum(map(len, benches.values()))
    expected_total += sum(min(SAMPLE, n * per_image) for n in counts.values())
    hard = benches["hard"]
    distortion = next(r.target.distortion for r in hard[0].regions if r.target.distortion)
    matching = [p for p in hard if has_distortion(p, distortion)]

    errors: list[str] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "index.html").as_uri())
        page.wait_for_selector(".card")
        assert int(page.inner_text("#count")) == expected_total
        assert page.locator(".card").count() == min(24, expected_total)

        page.select_option("#filter-bench", "hard")
        page.select_option("#filter-distortion", str(distortion))
        assert int(page.inner_text("#count")) == len(matching)
        assert page.locator(".card").count() == min(24, len(matching))

        pair = matching[0]
        page.locator(".card").first.click()
        title = page.inner_text("#detail-title")
        assert pair.tag in title and f"{pair.anchor_version} vs {pair.target_version}" in title
        page.wait_for_selector('#sides .side[data-side="anchor"] .region')
        region = max(pair.regions, key=lambda r: int(decode_mask(r.mask).sum()))
        x, y = interior_point(region.mask)
        box = page.locator('#sides .side[data-side="anchor"] img').bounding_box()
        width, height = decode_mask(region.mask).shape[::-1]
        page.mouse.click(box["x"] + (x + 0.5) * box["width"] / width,
                         box["y"] + (y + 0.5) * box["height"] / height)  # fmt: skip

        def field(name: str) -> str:
            return page.inner_text(f'#region-info [data-field="{name}"]')

        assert field("name") == region.label
        for side in ("anchor", "target"):
            labels = getattr(region, side)
            assert field(f"{side}-distortion") == vocab.DISTORTIONS[labels.distortion]
            assert field(f"{side}-severity") == vocab.SEVERITIES[labels.severity]
            assert field(f"{side}-score") == f"{labels.score:.4f}"
        assert field("comparison") == vocab.COMPARISONS[region.comparison]
        titles = page.locator(".graph h3").all_inner_texts()
        assert titles[0] == "Distortion Graph: ground truth"
        assert any(t.startswith("Distortion Graph: predicted by") for t in titles[1:])
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1400, "height": 1400})
        page.screenshot(path=str(SCREENSHOT))
        if os.environ.get("PANDASET_UPDATE_DOCS") == "1":
            shutil.copyfile(SCREENSHOT, DOCS_PICTURE)

        page.click("#tab-stats")
        stats = page.inner_text("#stats-view")
        metric = build.recipe.scoring.metric
        assert f"Region scores: {metric}" in stats and "camera/equipment" in stats
        assert page.locator("#stats-view svg.chart").count() == 4
        context.close()
    assert errors == []
