"""PandaBench Easy / Medium / Hard: published pair lists or seeded samples of the test split."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pandaset_build.config import vocab
from pandaset_build.config.manifests import read_manifest_json, resolve_manifest_path
from pandaset_build.errors import ManifestError, UsageError
from pandaset_build.formats.card import card_yaml, front_matter
from pandaset_build.formats.features import BENCH
from pandaset_build.formats.manifest import write_manifest
from pandaset_build.formats.shard_writer import ShardWriter
from pandaset_build.labels.pairs import DIFFICULTIES, difficulty, make_pair
from pandaset_build.labels.splits import count_shortfall
from pandaset_build.store.atomic import staged_folder, write_bytes_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.predicates import PREDICATE_FILE
from pandaset_build.store.records import Row
from pandaset_build.store.scored import ScoredBuild, ScoredImage, name_some

BENCH_SPLIT = "test"
IMAGE_CACHE = 16
Triple = tuple[str, str, str]


@dataclass
class BenchSummary:
    folder: Path
    pairs: dict[str, int]  # the bench splits written (those with pairs) and their pair counts
    selection: str


def load_bench_manifest(name_or_path: str) -> dict[str, list[Triple]]:
    """Difficulty -> [(anchor_version, target_version, tag)] in the manifest's order."""
    path = resolve_manifest_path(name_or_path)
    data = read_manifest_json(path)
    lists = {k: [tuple(t) for t in data[k]] for k in DIFFICULTIES if k in data}
    if not lists:
        raise ManifestError(f"{path}: needs at least one of {list(DIFFICULTIES)}")
    return lists  # type: ignore[return-value]


def check_manifest(scored: ScoredBuild, lists: dict[str, list[Triple]]) -> None:
    """Refuse a manifest naming tags or versions the build does not hold."""
    tags = sorted(
        {tag for triples in lists.values() for _, _, tag in triples} - set(scored.split_of)
    )
    versions = sorted(
        {v for triples in lists.values() for a, t, _ in triples for v in (a, t)}
        - set(scored.versions)
    )
    problems = []
    if tags:
        problems.append(f"tags the build lacks: {name_some(tags)}")
    if versions:
        problems.append(f"versions the recipe lacks: {name_some(versions)}")
    wrong = [f"{a}/{t}/{tag} in {k}" for k, (a, t, tag) in _flat(lists) if difficulty(a, t) != k]
    if wrong:
        problems.append(f"pairs in the wrong difficulty list: {name_some(wrong)}")
    if problems:
        raise ManifestError("bench manifest does not fit this build: " + "; ".join(problems))


def _flat(lists: dict[str, list[Triple]]) -> list[tuple[str, Triple]]:
    return [(k, triple) for k, triples in lists.items() for triple in triples]


def hard_pairs(tags: list[str]) -> list[Triple]:
    """(mixed, mixed2) and (mixed2, mixed) of every tag."""
    first, second = vocab.MIXED_VERSIONS
    return [pair for tag in tags for pair in ((first, second, tag), (second, first, tag))]


def candidates(tags: list[str], versions: list[str], kind: str) -> list[Triple]:
    """Every ordered pair of a difficulty class over the given tags."""
    if kind == "hard":
        return hard_pairs(tags) if set(vocab.MIXED_VERSIONS) <= set(versions) else []
    return [
        (a, t, tag)
        for tag in tags
        for a in versions
        for t in versions
        if a != t and difficulty(a, t) == kind
    ]


def sample(triples: list[Triple], size: int, seed: int, kind: str) -> list[Triple]:
    """`size` triples drawn without replacement with a generator fixed by (seed, kind)."""
    if len(triples) <= size:
        return triples
    rng = np.random.default_rng([seed, DIFFICULTIES.index(kind)])
    picked = rng.choice(len(triples), size=size, replace=False)
    if kind == "hard":
        picked = np.sort(picked)
    return [triples[i] for i in picked]


def select(scored: ScoredBuild, manifest: str | None) -> tuple[dict[str, list[Triple]], str]:
    """The pairs of each bench split and a description of how they were chosen."""
    recipe = scored.build.recipe
    sizes = {"easy": recipe.bench.easy, "medium": recipe.bench.medium, "hard": recipe.bench.hard}
    tags = scored.tags(BENCH_SPLIT)
    chosen = {}
    listed: dict[str, list[Triple]] = {}
    if manifest is not None:
        listed = load_bench_manifest(manifest)
        check_manifest(scored, listed)
    for kind in DIFFICULTIES:
        if kind in listed:
            chosen[kind] = listed[kind]
        else:
            pool = candidates(tags, scored.versions, kind)
            chosen[kind] = sample(pool, sizes[kind], recipe.seed, kind)
    sampled = f"sampled from the {BENCH_SPLIT} split with recipe seed {recipe.seed}"
    how = f"manifest {manifest}, unlisted splits {sampled}" if manifest else sampled
    return chosen, how


def bench_row(
    build: Build, image: ScoredImage, anchor: str, target: str, predicate_id: dict[str, int]
) -> Row:
    """One bench row (the BENCH features): both images, per region both sides' labels, and the
    scene relations with the ids of the build's predicate vocabulary."""
    pair = make_pair(image, anchor, target, build.recipe.comparison)
    sides = {"anchor": anchor, "target": target}
    row: Row = {"tag": image.tag, "anchor_version": anchor, "target_version": target}
    for side, version in sides.items():
        path = build.layout.version_image(version, image.split, image.tag)
        row[f"{side}_image"] = {"bytes": path.read_bytes(), "path": None}
        row[f"{side}_image_score"] = image.image_scores[version]
    row["image_comparison"] = pair.image_comparison
    regions = []
    for i, (region, comparison) in enumerate(zip(image.source.regions, pair.regions, strict=True)):
        entry = {
            "region_id": region.region_id,
            "name": region.name,
            "description": region.description,
            "category_id": region.category_id,
            "bbox": region.bbox,
            "mask": region.mask,
            "comparison": comparison.comparison,
            "iscrowd": region.iscrowd,
        }
        for side, version in sides.items():
            plan = image.plans[version][i]
            entry[f"{side}_distortion"] = vocab.DISTORTION_ID[plan.distortion]
            entry[f"{side}_severity"] = vocab.SEVERITY_ID[plan.severity]
            entry[f"{side}_score"] = image.region_scores[version][i]
        regions.append(entry)
    row["regions"] = regions
    row["relations"] = [
        {
            "subject": r.subject,
            "object": r.object,
            "predicate": r.predicate,
            "predicate_id": predicate_id[r.predicate],
        }
        for r in image.source.relations
    ]
    return row


def bench_card(kind: str, pairs: int, selection: str, build: Build) -> str:
    header = card_yaml({kind: BENCH}, {kind: [BENCH_SPLIT]})
    header["configs"][0]["data_files"][0]["path"] = f"data/{BENCH_SPLIT}-*.parquet"
    return front_matter(header) + (
        f"\n# PandaBench {kind.capitalize()}\n\n"
        f"{pairs} ordered pairs of versions of {BENCH_SPLIT} images of the build made with recipe "
        f"`{build.recipe.name}` ({build.recipe.digest()[:12]}); pairs: {selection}.\n"
        "Each row holds the anchor and target images (the scored lossless PNGs), and per region "
        "(matched by index) its mask (COCO RLE), box (xywh), name, both sides' distortion, "
        "severity and score, and the comparison label of anchor relative to target.\n\n"
        f"```python\nload_dataset('bench/{kind}', split='{BENCH_SPLIT}')\n```\n"
    )


def without_empty(scored: ScoredBuild, chosen: dict[str, list[Triple]]) -> dict[str, list[Triple]]:
    """The bench splits that have pairs (an empty parquet split cannot be loaded); refuse an
    empty test split, or a recipe whose versions make no pair of any class."""
    kept = {kind: triples for kind, triples in chosen.items() if triples}
    if len(kept) == len(chosen):
        return kept
    counts = ", ".join(f"{s} {scored.count(s)}" for s in scored.splits) or "none"
    if not scored.tags(BENCH_SPLIT):
        images = sum(scored.count(s) for s in scored.splits)
        shortfall = count_shortfall(scored.build.recipe, images)
        counts += f"; {shortfall}" if shortfall else ""
        raise UsageError(
            f"{scored.build.root}: the {BENCH_SPLIT} split is empty (images per split: {counts}), "
            f"and benches are drawn from it: give the recipe's `splits` a {BENCH_SPLIT} share "
            f"(or a split_manifest naming {BENCH_SPLIT} tags) and rebuild with --restart, or "
            "pass --manifest with every bench list"
        )
    if not kept:
        raise UsageError(
            f"{scored.build.root}: the recipe's versions ({', '.join(scored.versions)}) make no "
            "bench pair: easy needs two single-family versions, medium one of mixed/mixed2 and "
            "another, hard both mixed and mixed2"
        )
    return kept


def split_bench(build: Build, manifest: str | None = None) -> BenchSummary:
    """Write `bench/easy|medium|hard`, each a parquet dataset with a card."""
    scored = ScoredBuild(build)
    scored.check()
    chosen, selection = select(scored, manifest)
    chosen = without_empty(scored, chosen)
    load: Callable[[str], ScoredImage] = lru_cache(maxsize=IMAGE_CACHE)(scored.image)
    predicates_json = json.dumps(scored.predicates, indent=1) + "\n"
    final = build.layout.bench
    with staged_folder(final) as out:
        for kind, triples in chosen.items():
            writer = ShardWriter(
                out / kind / "data",
                BENCH_SPLIT,
                BENCH,
                len(triples),
                build.recipe.export.shard_bytes,
            )
            for anchor, target, tag in triples:
                writer.write(bench_row(build, load(tag), anchor, target, scored.predicate_id))
            writer.close()
            write_bytes_atomic(out / kind / PREDICATE_FILE, predicates_json.encode())
            card = bench_card(kind, len(triples), selection, build)
            write_bytes_atomic(out / kind / "README.md", card.encode())
            write_manifest(out / kind, build, "bench", {kind: {BENCH_SPLIT: len(triples)}})
    return BenchSummary(final, {k: len(v) for k, v in chosen.items()}, selection)
