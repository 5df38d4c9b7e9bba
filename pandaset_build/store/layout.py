"""Every path of a build directory, answered by one object.

```
build.json  .lock  splits.json
sources/<part>/<shard>.parquet  sources/<part>/_part.json    normalised/<tag>.png
sources/<part>/predicate_classes.json
depth/<tag>.npy            (haze distance of the depth model tier)
plans/<shard>.parquet      scores/<shard>.parquet
versions/<version>/<split>/<tag>.png
export/<layout>/   bench/<kind>/   report/   gallery/   preview/   panda/   eval/   eval-mllm/
_done/<stage>/<shard>.json
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildLayout:
    """The paths of the build rooted at `root`."""

    root: Path

    # Every top-level entry a build may create; `--restart` deletes these and nothing else.
    ENTRIES = (
        "build.json",
        "sources",
        "splits.json",
        "versions",
        "plans",
        "scores",
        "export",
        "bench",
        "report",
        "gallery",
        "preview",
        "panda",
        "eval",
        "eval-mllm",
        "_done",
        "normalised",
        "depth",
    )
    LOCK = ".lock"

    @property
    def build_file(self) -> Path:
        return self.root / "build.json"

    @property
    def lock_file(self) -> Path:
        return self.root / self.LOCK

    @property
    def splits_file(self) -> Path:
        return self.root / "splits.json"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    def source_shard(self, source: str, shard: str) -> Path:
        """A shard of one ingested part (a source read with one set of options)."""
        return self.sources / source / f"{shard}.parquet"

    def source_predicates(self, source: str) -> Path:
        """The predicate names of a source that numbers them (PSG's `predicate_classes`)."""
        return self.sources / source / "predicate_classes.json"

    def source_part(self, part: str) -> Path:
        """What one ingest part was read from (`_part.json`: parquet readers skip `_` names)."""
        return self.sources / part / "_part.json"

    @property
    def normalised(self) -> Path:
        return self.root / "normalised"

    def normalised_image(self, tag: str) -> Path:
        """The 8-bit RGB copy of a source image a plain reader would read differently."""
        return self.normalised / f"{tag}.png"

    @property
    def depth_maps(self) -> Path:
        return self.root / "depth"

    def depth_map(self, tag: str) -> Path:
        """The haze distance map of an image (`depth` stage, model tier): float32 .npy."""
        return self.depth_maps / f"{tag}.npy"

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    def version_image(self, version: str, split: str, tag: str) -> Path:
        """A rendered version: lossless PNG named after the tag."""
        return self.versions / version / split / f"{tag}.png"

    @property
    def plans(self) -> Path:
        return self.root / "plans"

    def plan_shard(self, shard: str) -> Path:
        return self.plans / f"{shard}.parquet"

    @property
    def scores(self) -> Path:
        return self.root / "scores"

    def score_shard(self, shard: str) -> Path:
        return self.scores / f"{shard}.parquet"

    def export(self, layout: str) -> Path:
        return self.root / "export" / layout

    @property
    def bench(self) -> Path:
        return self.root / "bench"

    def bench_split(self, kind: str) -> Path:
        return self.bench / kind

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def gallery(self) -> Path:
        return self.root / "gallery"

    @property
    def preview(self) -> Path:
        return self.root / "preview"

    @property
    def panda(self) -> Path:
        return self.root / "panda"

    @property
    def evaluations(self) -> Path:
        return self.root / "eval"

    def evaluation(self, name: str) -> Path:
        return self.evaluations / name

    def mllm_evaluation(self, name: str) -> Path:
        return self.root / "eval-mllm" / name

    def done_dir(self, stage: str) -> Path:
        return self.root / "_done" / stage

    def done_record(self, stage: str, shard: str) -> Path:
        """A shard's completion record, written last by the task that did the work."""
        return self.done_dir(stage) / f"{shard}.json"
