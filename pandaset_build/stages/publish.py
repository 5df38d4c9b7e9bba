"""`publish`: upload a build's exports to a Hugging Face dataset repo, resumably.

The repo gets `export/hf` at its root (the generated card as README.md), and when asked
`bench/<kind>/` and `pandabench/` (the `export --layout pandabench` folder). Files are those the
exports recorded; an export that is missing, incomplete or stale is refused before anything is
sent. The upload is `huggingface_hub`'s `upload_folder`: with `hf_xet` installed (a dependency of
`datasets`) it commits in batches and a rerun after an interruption skips what was committed and
deduplicates what was uploaded; without it, the LFS objects already stored are not sent again.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from pandaset_build.errors import PublishError, RunError
from pandaset_build.formats.card import REPO_PLACEHOLDER, front_matter
from pandaset_build.formats.features import BENCH
from pandaset_build.formats.manifest import export_problems, find_manifest
from pandaset_build.json_types import JsonObject
from pandaset_build.labels.pairs import DIFFICULTIES
from pandaset_build.store.build import Build

BENCH_SPLIT = "test"


@dataclass(frozen=True)
class Part:
    """One exported folder and where it goes in the repo."""

    folder: Path
    repo_prefix: str
    layout: str


@dataclass(frozen=True)
class RepoFile:
    """A file to upload: its path in the repo, its path on disk and its size."""

    repo_path: str
    local: Path
    size: int


@dataclass(frozen=True)
class PublishPlan:
    """Everything one publish sends: the files and the card that becomes README.md."""

    repo_id: str
    files: list[RepoFile]
    card: str
    parts: list[Part]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files) + len(self.card.encode())

    @property
    def delete_patterns(self) -> list[str]:
        """Remote files under the published parts that this upload does not hold are deleted,
        so a re-export with fewer shards leaves no stale shard for the configs' globs."""
        return ["data/*" if not p.repo_prefix else f"{p.repo_prefix}/*" for p in self.parts]


def parts(build: Build, bench: bool, pandabench: bool) -> list[Part]:
    """The folders to publish: `export/hf`, and the benches and PandaBench layout if asked."""
    chosen = [Part(build.layout.export("hf"), "", "hf")]
    if bench:
        kinds = [k for k in DIFFICULTIES if build.layout.bench_split(k).is_dir()]
        if not kinds:
            raise PublishError(f"{build.root}: --bench but no bench/; run `split-bench` first")
        chosen += [Part(build.layout.bench_split(k), f"bench/{k}", "bench") for k in kinds]
    if pandabench:
        chosen.append(Part(build.layout.export("pandabench"), "pandabench", "pandabench"))
    return chosen


def check_parts(build: Build, chosen: list[Part]) -> None:
    """Refuse missing, incomplete or stale exports, naming each and the command to run."""
    problems = [
        line for part in chosen for line in export_problems(part.folder, build, part.layout)
    ]
    if problems:
        raise PublishError("refusing to publish:\n" + "\n".join(f"- {line}" for line in problems))


def recorded_files(part: Part) -> list[RepoFile]:
    manifest = find_manifest(part.folder)
    if manifest is None:
        raise PublishError(f"{part.folder}: no export manifest; run the export again")
    files = []
    for rel, size in sorted(manifest.files.items()):
        if part.layout == "hf" and rel == "README.md":
            continue  # replaced by the publish card
        repo_path = f"{part.repo_prefix}/{rel}" if part.repo_prefix else rel
        files.append(RepoFile(repo_path, part.folder / rel, size))
    return files


def publish_card(hf_card: str, repo_id: str, chosen: list[Part]) -> str:
    """The export's card with the repo id in its snippet and a config per published bench."""
    _, header, body = hf_card.split("---\n", 2)
    meta: JsonObject = yaml.safe_load(header)
    extra = []
    for part in chosen:
        if part.layout == "bench":
            name = "bench_" + PurePosixPath(part.repo_prefix).name
            path = f"{part.repo_prefix}/data/{BENCH_SPLIT}-*.parquet"
            meta["configs"].append(
                {"config_name": name, "data_files": [{"split": BENCH_SPLIT, "path": path}]}
            )
            meta["dataset_info"].append({"config_name": name, "features": BENCH._to_yaml_list()})
            extra.append(f"- `{name}` (`{part.repo_prefix}/`): PandaBench {name[6:]} pairs")
        elif part.layout == "pandabench":
            extra.append("- `pandabench/`: the published PandaBench folder layout (images, stats)")
    body = body.replace(f'"{REPO_PLACEHOLDER}"', f'"{repo_id}"')
    if extra:
        body += "\n## Also in this repository\n\n" + "\n".join(extra) + "\n"
    return front_matter(meta) + body


def check_folders(files: list[RepoFile], limit: int) -> None:
    """Refuse a repo folder with more than `limit` files (the Hub advises < 10,000)."""
    counts = Counter(str(PurePosixPath(f.repo_path).parent) for f in files)
    crowded = [(n, folder) for folder, n in counts.items() if n > limit]
    if crowded:
        n, folder = max(crowded)
        raise PublishError(
            f"repo folder {folder}/ would hold {n} files, more than export.max_files_per_folder "
            f"({limit}); raise export.shard_bytes, or leave that part out"
        )


def plan_publish(
    build: Build, repo_id: str, bench: bool = False, pandabench: bool = False
) -> PublishPlan:
    """Check the exports and list what a publish sends; nothing is contacted."""
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"--repo {repo_id!r}: expected NAMESPACE/NAME, e.g. alice/pandaset")
    chosen = parts(build, bench, pandabench)
    check_parts(build, chosen)
    files = [f for part in chosen for f in recorded_files(part)]
    check_folders(files, build.recipe.export.max_files_per_folder)
    card = publish_card((chosen[0].folder / "README.md").read_text(), repo_id, chosen)
    return PublishPlan(repo_id, files, card, chosen)


def describe(plan: PublishPlan) -> str:
    """The files, their sizes and the card, as `publish --dry-run` prints them."""
    lines = [
        f"dataset repo {plan.repo_id}: {len(plan.files) + 1} files, {plan.total_bytes:,} bytes"
    ]
    lines += [f"{f.size:>14,}  {f.repo_path}" for f in plan.files]
    lines.append(f"{len(plan.card.encode()):>14,}  README.md (the card below)")
    lines.append(f"remote files removed unless re-sent: {', '.join(plan.delete_patterns)}")
    return "\n".join(lines) + "\n\n" + plan.card


def stage(plan: PublishPlan, folder: Path) -> None:
    """Lay the repo out in `folder`: a symlink per file, and the card as README.md."""
    for f in plan.files:
        target = folder / f.repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(f.local.resolve())
    (folder / "README.md").write_text(plan.card)


def publish(plan: PublishPlan, private: bool = False, endpoint: str | None = None) -> str:
    """Create the dataset repo (if needed) and upload the plan; returns the commit URL."""
    from huggingface_hub import HfApi, get_token

    if get_token() is None:
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN, or run `hf auth login` (a write token)"
        )
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=endpoint)
    try:
        api.create_repo(plan.repo_id, repo_type="dataset", private=private, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pandaset-publish-") as tmp:
            stage(plan, Path(tmp))
            info = api.upload_folder(
                repo_id=plan.repo_id,
                repo_type="dataset",
                folder_path=tmp,
                commit_message=f"Publish PandaSet build ({len(plan.files) + 1} files)",
                delete_patterns=plan.delete_patterns,
            )
    except HfHubHTTPError as err:
        raise RunError(
            f"{plan.repo_id}: the Hub refused or failed ({err}); files already sent are kept, "
            "rerun `publish` to send the rest"
        ) from None
    return str(info.commit_url)  # type: ignore[union-attr]
