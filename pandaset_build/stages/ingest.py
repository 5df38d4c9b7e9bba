"""The ingest stage: read a dataset on disk into `sources/<part>/` parquet shards.

A part is one source read with one set of options (root, split, folders, depth); its
`_part.json` says which. A second ingest with other options adds a part, never replaces one,
and a part's images stay when it is ingested again (`--limit`, `--tags` only add).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pandaset_build.engine.executors import Executor
from pandaset_build.engine.shards import Failure, Shard, ShardOutcome, make_shards
from pandaset_build.engine.stage import Stage, StageReport
from pandaset_build.errors import BadInput, UsageError
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.splits import SplitRule
from pandaset_build.sources import READERS
from pandaset_build.sources.common import Item, ReaderOptions
from pandaset_build.sources.depth_files import find_depth
from pandaset_build.store.atomic import write_json_atomic
from pandaset_build.store.build import Build
from pandaset_build.store.images import image_format, read_rgb, write_png
from pandaset_build.store.records import SourceRecord
from pandaset_build.store.tables import SOURCES, parquet_files, write_table

FILE_KEYS = ("image", "mask", "reference", "distorted")  # item payload keys naming input files
Listing = tuple[list[Item], list[BadInput]]
FLAGS = {"split": "--split", "annotations": "--annotations", "images": "--images",
         "masks": "--masks", "mask_encoding": "--mask-encoding"}  # fmt: skip


@dataclass(frozen=True)
class IngestOptions:
    """What every ingest shard needs besides its items."""

    source: str
    depth: str | None = None
    part: str = ""

    @property
    def folder(self) -> str:
        return self.part or self.source


def item_files(item: Item) -> list[str]:
    """The input files an item names (image, mask, ISP image)."""
    return [str(item.payload[k]) for k in FILE_KEYS if isinstance(item.payload.get(k), str)]


def normalise(build: Build, record: SourceRecord) -> Path | None:
    """Point the record at an 8-bit RGB copy where a plain reader would read the file otherwise.

    16-bit, palette, alpha, CMYK and EXIF-oriented images are decoded as meant
    (`store.images`) and written as a PNG under `normalised/`, so every later stage and every
    export shows the pixels that were scored. Returns the copy, or None for a plain image.
    """
    found = image_format(record.image_path)
    record.bit_depth, record.colour_mode = found.bit_depth, found.mode
    record.orientation = found.orientation
    if found.plain:
        return None
    copy = build.layout.normalised_image(record.tag)
    write_png(copy, read_rgb(record.image_path), build.recipe.png_encoder, build.recipe.png_level)
    record.original_path = record.image_path
    record.image_path = str(copy.resolve())
    return copy


def usable(build: Build, record: SourceRecord) -> None:
    """Raise BadInput for an image later stages cannot use: too small, or without regions."""
    side = build.recipe.min_image_side
    if min(record.width, record.height) < side:
        raise BadInput(
            record.image_path,
            f"image is {record.width}x{record.height}, below the recipe's minimum side of "
            f"{side} px (min_image_side): use a larger image, or lower min_image_side",
        )
    if not record.regions:
        raise BadInput(
            record.image_path,
            "no regions: its mask labels no pixel, so there is nothing to distort or score; "
            "fix the mask, or leave the image out",
        )


def check_reader_options(source: str, options: ReaderOptions) -> None:
    """Refuse an unknown source, or an option its reader does not take (naming the ones it
    takes); nothing is done."""
    if source not in READERS:
        raise UsageError(f"--source {source}: unknown; known: {', '.join(sorted(READERS))}")
    reader = READERS[source]
    accepted = {
        name
        for name, p in inspect.signature(reader.list_items).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = [key for key in options if key not in accepted]
    if unknown:
        flags = ", ".join(f"--{key.replace('_', '-')}" for key in unknown)
        takes = [f"--{o.replace('_', '-')}" for o in reader.OPTIONS]
        raise UsageError(
            f"{flags}: --source {source} does not take "
            f"{'this option' if len(unknown) == 1 else 'these options'}; it takes "
            f"{', '.join(['--root', *takes, '--depth']) if takes else 'only --depth'}: "
            f"drop {flags}"
        )


def record_counts(outcome: ShardOutcome, record: SourceRecord) -> None:
    """Counts of an ingested record: images, regions, split, what the overlap rule changed."""
    outcome.add("images")
    outcome.add("regions", len(record.regions))
    outcome.add(f"split:{record.split}")
    if record.dropped_regions:
        outcome.add("regions dropped (empty)", record.dropped_regions)
    if record.overlap_share:
        outcome.add("images with overlapping masks")


def write_predicates(build: Build, source: str, items: list[Item]) -> None:
    """Record the source's predicate vocabulary (PSG's `predicate_classes`) where it has one."""
    names = next((i.payload.get("predicate_classes") for i in items), None)
    if names is not None:
        write_json_atomic(build.layout.source_predicates(source), list(names))


def ingest_shard(build: Build, shard: Shard, options: IngestOptions) -> ShardOutcome:
    """Load, validate, normalise and write one shard of source records."""
    reader = READERS[options.source]
    split_of = SplitRule(build.recipe)
    depth_dir = Path(options.depth) if options.depth else None
    outcome = ShardOutcome()
    rows = []
    item: Item
    for item in shard.items:
        outcome.read(*item_files(item))
        try:
            record = reader.load_item(item)
            usable(build, record)
            if depth_dir is not None:
                record.depth_path = find_depth(depth_dir, record.tag, record.image_path)
                outcome.read(record.depth_path)
            copy = normalise(build, record)
        except BadInput as err:
            outcome.fail(err.path, err.problem)
            continue
        if copy is not None:
            outcome.wrote(copy)
        record.source = options.source
        record.split = split_of(record.tag, record.split)
        rows.append(record.to_row())
        record_counts(outcome, record)
    path = build.layout.source_shard(options.folder, shard.name)
    write_table(path, rows, SOURCES)
    outcome.wrote(path)
    return outcome


@dataclass(frozen=True)
class PartIdentity:
    """What makes two ingests the same part: source, root, reader options and depth folder."""

    source: str
    root: str  # absolute; "" for the bundled demo
    options: tuple[tuple[str, str], ...]  # sorted (option, value) pairs
    depth: str | None

    @classmethod
    def of(
        cls, source: str, root: Path, reader_options: ReaderOptions, depth: Path | None
    ) -> PartIdentity:
        resolve = lambda v: str(Path(v).resolve()) if isinstance(v, Path) else str(v)  # noqa: E731
        return cls(
            source=source,
            root="" if source == "demo" else str(Path(root).resolve()),
            options=tuple((k, resolve(v)) for k, v in sorted(reader_options.items())),
            depth=str(depth.resolve()) if depth else None,
        )

    def to_json(self) -> JsonObject:
        return {
            "source": self.source,
            "root": self.root,
            "options": dict(self.options),
            "depth": self.depth,
        }

    @property
    def command(self) -> str:
        """The ingest command line of the part (for messages that say what to rerun)."""
        words = ["ingest", "--source", self.source]
        if self.root:
            words += ["--root", self.root]
        for key, value in self.options:
            words += [FLAGS.get(key, f"--{key}"), value]
        if self.depth:
            words += ["--depth", self.depth]
        return " ".join(words)


def find_part(build: Build, identity: PartIdentity) -> str:
    """The part folder of this identity: the one whose _part.json matches, else a new name."""
    folder = build.layout.sources
    source = identity.source
    wanted = identity.to_json()
    if folder.is_dir():
        for child in sorted(p for p in folder.iterdir() if p.is_dir()):
            part = build.layout.source_part(child.name)
            if part.is_file() and json.loads(part.read_text())["identity"] == wanted:
                return child.name
        if (folder / source).is_dir() and not build.layout.source_part(source).exists():
            return source  # a part written before _part.json existed
    taken = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    name, n = source, 1
    while name in taken:
        n += 1
        name = f"{source}-{n}"
    return name


@dataclass(frozen=True)
class TagOwner:
    """Where an ingested tag lives: its part folder, its source and its image file."""

    part: str
    source: str
    image: str


def ingested_tags(build: Build) -> dict[str, TagOwner]:
    """Tag -> owner of every image already ingested into the build."""
    tags: dict[str, TagOwner] = {}
    for path in parquet_files(build.layout.sources):
        part = path.relative_to(build.layout.sources).parts[0]
        columns = ["tag", "source", "image_path", "original_path"]
        for row in pq.read_table(path, columns=columns).to_pylist():
            image = row["original_path"] or row["image_path"]
            tags[row["tag"]] = TagOwner(part, row["source"], image)
    return tags


def subset_rank(seed: int, tag: str) -> bytes:
    """The order of `--limit`: a seeded hash of the tag (unlike the split rule's), so a subset
    keeps its members when images are added, except those a new image outranks."""
    return hashlib.sha256(f"subset:{seed}:{tag}".encode()).digest()


def read_tag_list(path: Path) -> list[str]:
    """Tags of a `--tags` file: one per line; blank lines and `#` comments are skipped."""
    if not path.is_file():
        raise UsageError(f"--tags {path}: no such file; give a text file with one tag per line")
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    tags = [line for line in lines if line]
    if not tags:
        raise UsageError(f"--tags {path}: no tags in the file; give one tag per line")
    return tags


def select(
    items: list[Item],
    seed: int,
    limit: int | None = None,
    tags: Sequence[str] | None = None,
    keep: set[str] | frozenset[str] = frozenset(),
) -> Listing:
    """The items of `tags`, then the first `limit` by `subset_rank`; `keep` tags always stay."""
    failures: list[BadInput] = []
    chosen = items
    if tags is not None:
        wanted = set(tags)
        chosen = [i for i in chosen if i.tag in wanted]
        absent = sorted(wanted - {i.tag for i in chosen})
        failures += [BadInput(t, "listed in --tags but not in the source") for t in absent]
    if limit is not None:
        ranked = sorted(chosen, key=lambda i: subset_rank(seed, i.tag))
        first = {i.tag for i in ranked[:limit]}
        chosen = [i for i in chosen if i.tag in first]
    if keep:
        taken = {i.tag for i in chosen}
        chosen = [i for i in items if i.tag in taken or i.tag in keep]
    return chosen, failures


def list_source(source: str, root: Path, reader_options: ReaderOptions | None = None) -> Listing:
    """The items of a source on disk and its unusable entries; reads the source only."""
    if source not in READERS:
        raise UsageError(f"--source {source}: unknown; known: {', '.join(sorted(READERS))}")
    return READERS[source].list_items(root, **(reader_options or {}))


def ingest(
    build: Build,
    source: str,
    root: Path,
    executor: Executor,
    depth: Path | None = None,
    reader_options: ReaderOptions | None = None,
    *,
    limit: int | None = None,
    tags: Sequence[str] | None = None,
    retry_failed: bool = False,
    listing: Listing | None = None,
) -> StageReport:
    """Ingest one source into the build; rerunning resumes, other options or sources add parts.

    `listing` is the source's `list_source` when the caller already read it.
    """
    reader_options = reader_options or {}
    check_reader_options(source, reader_options)
    if depth is not None and not depth.is_dir():
        raise BadInput(depth, "--depth must be a folder of depth maps")
    items, listing_failures = listing or list_source(source, root, reader_options)
    identity = PartIdentity.of(source, root, reader_options, depth)
    part = find_part(build, identity)
    write_predicates(build, part, items)
    stage = Stage(f"ingest-{part}", ingest_shard)
    where = ingested_tags(build)
    own = {tag for tag, owner in where.items() if owner.part == part}
    items, subset_failures = select(items, build.recipe.seed, limit, tags, keep=own)
    kept = []
    for item in items:
        owner = where.get(item.tag)
        if owner is not None and owner.part != part:
            listing_failures.append(
                BadInput(
                    item.file,
                    f"duplicate tag {item.tag}: source {source} gives it to this file, and source "
                    f"{owner.source} already ingested it for {owner.image} into "
                    f"sources/{owner.part}; tags must be unique in a build: ingest one of them "
                    "into another --build",
                )
            )
        else:
            kept.append(item)
    shards = make_shards(stage.name, [i.tag for i in kept], kept, build.recipe.shard_size)
    record = {"identity": identity.to_json(), "command": identity.command, "images": len(kept)}
    write_json_atomic(build.layout.source_part(part), record)
    options = IngestOptions(source, str(depth) if depth else None, part)
    report = stage.run(build, shards, options, executor, retry_failed=retry_failed)
    report.extra_failures = [
        Failure(f.path, f.problem) for f in [*listing_failures, *subset_failures]
    ]
    write_split_lists(build)
    return report


def write_split_lists(build: Build) -> dict[str, list[str]]:
    """Write `splits.json`: the sorted tag list of every split over all sources."""
    splits: dict[str, list[str]] = {name: [] for name in build.recipe.splits}
    for path in parquet_files(build.layout.sources):
        table = pq.read_table(path, columns=["tag", "split"]).to_pydict()
        for tag, split in zip(table["tag"], table["split"], strict=True):
            splits.setdefault(split, []).append(tag)
    splits = {name: sorted(tags) for name, tags in splits.items()}
    write_json_atomic(build.layout.splits_file, splits)
    return splits
