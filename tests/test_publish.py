"""`publish`: the dry-run listing, the upload to a local fake Hub, resume after a kill, refusals."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import patience, run_cli
from hub_fake import FakeHub
from huggingface_hub import DatasetCard
from scored_build import make_scored_build

from pandaset_build.formats.manifest import MANIFEST
from pandaset_build.stages.bench import split_bench
from pandaset_build.stages.export import export
from pandaset_build.stages.publish import PublishError, plan_publish
from pandaset_build.store.build import Build

TAGS = {"train": ["a.png", "b.png"], "test": ["c.png", "d.png"]}
REPO = "alice/pandaset"
LISTED = re.compile(r"^\s*[\d,]+  (\S+)", re.MULTILINE)


@pytest.fixture
def build(tmp_path: Path) -> Build:
    build = make_scored_build(tmp_path, TAGS, bench={"easy": 6, "medium": 6, "hard": 2})
    export(build, "hf")
    split_bench(build)
    return build


def hub_env(tmp_path: Path, token: str | None = "hf_fake_write_token") -> dict[str, str]:
    """A child environment with its own HF_HOME, the LFS protocol (see below) and a token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_DISABLE_XET": "1"}
    env |= {"HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def publish_args(build: Build, hub: FakeHub, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pandaset_build", "publish", "--repo", REPO, "--bench",
            "--build", str(build.root), "--endpoint", hub.url, *extra]  # fmt: skip


def local_files(build: Build) -> dict[str, Path]:
    """Repo path -> local file of everything a publish with --bench must send (but README)."""
    files = {}
    hf = build.layout.export("hf")
    for path in hf.rglob("*.parquet"):
        files[path.relative_to(hf).as_posix()] = path
    for path in build.layout.bench.rglob("*"):
        if path.is_file() and path.name != MANIFEST:
            files[path.relative_to(build.root).as_posix()] = path
    return files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_dry_run_lists_every_file_and_the_card(build: Build) -> None:
    out = run_cli("publish", "--repo", REPO, "--bench", "--build", str(build.root), "--dry-run")
    listed = LISTED.findall(out.stdout)
    assert sorted(listed) == sorted([*local_files(build), "README.md"])
    card = out.stdout[out.stdout.index("\n---\n") + 1 :]
    data = DatasetCard(card).data
    names = [c["config_name"] for c in data.configs]
    assert names == ["preview", "references", "versions", "pairs", *(f"bench_{k}" for k in
                     ("easy", "medium", "hard"))]  # fmt: skip
    assert f'REPO = "{REPO}"' in card
    assert data.license == "other"


@pytest.mark.slow
def test_publish_to_a_local_hub_resumes_after_a_kill(build: Build, tmp_path: Path) -> None:
    """The test speaks the LFS protocol (HF_HUB_DISABLE_XET=1): Xet storage needs the Hub's CAS
    service. `upload_folder` is the same call either way."""
    expected = local_files(build)
    lfs = {sha256(p) for rel, p in expected.items() if rel.endswith(".parquet")}
    with FakeHub() as hub:
        hub.hold_uploads_after(2)
        process = subprocess.Popen(
            publish_args(build, hub, "--private"),
            env=hub_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + patience(120)
        while hub.held == 0:
            assert process.poll() is None, "publish ended before any upload was held"
            assert time.monotonic() < deadline, "no LFS upload reached the fake hub"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()

        (create,) = hub.calls("POST", "/api/repos/create")
        assert create.body == {"name": "pandaset", "organization": "alice",
                               "visibility": "private", "type": "dataset"}  # fmt: skip
        stored = set(hub.objects)
        assert len(stored) == 2 and stored <= lfs
        assert not hub.calls("POST", r"/api/datasets/.*/commit/main")

        hub.hold_uploads_after(None)
        mark = len(hub.requests)
        result = subprocess.run(
            publish_args(build, hub), env=hub_env(tmp_path), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        puts = [r.path.rsplit("/", 1)[1] for r in hub.calls("PUT", r"/lfs-upload/.*", mark)]
        assert sorted(puts) == sorted(lfs - stored)
        (commit,) = hub.calls("POST", r"/api/datasets/alice/pandaset/commit/main", mark)
        sent = sorted(op["value"]["path"] for op in commit.body[1:])
        assert sent == sorted([*expected, "README.md"])
        repo = hub.repos[REPO]
        assert repo.private
        for rel, path in expected.items():
            assert repo.files[rel] == path.read_bytes(), rel
        card = DatasetCard(repo.files["README.md"].decode())
        assert card.data.pretty_name.startswith("PandaSet")

        mark = len(hub.requests)
        again = subprocess.run(
            publish_args(build, hub), env=hub_env(tmp_path), capture_output=True, text=True
        )
        assert again.returncode == 0, again.stderr
        assert not hub.calls("PUT", r"/lfs-upload/.*", mark)
        assert not hub.calls("POST", r"/api/datasets/.*/commit/main", mark)


@pytest.mark.slow
def test_republish_deletes_stale_shards(build: Build, tmp_path: Path) -> None:
    with FakeHub() as hub:
        env = hub_env(tmp_path)
        subprocess.run(publish_args(build, hub), env=env, check=True, capture_output=True)
        hub.repos[REPO].files["data/pairs/train-00000-of-00009.parquet"] = b"stale"
        subprocess.run(publish_args(build, hub), env=env, check=True, capture_output=True)
        assert "data/pairs/train-00000-of-00009.parquet" not in hub.repos[REPO].files
        assert "README.md" in hub.repos[REPO].files


@pytest.mark.slow
def test_without_a_token_publish_says_how_to_log_in(build: Build, tmp_path: Path) -> None:
    with FakeHub() as hub:
        result = subprocess.run(
            publish_args(build, hub), env=hub_env(tmp_path, None), capture_output=True, text=True
        )
        assert result.returncode == 2
        assert "HF_TOKEN" in result.stderr and "hf auth login" in result.stderr
        assert not hub.requests


def test_refuses_stale_or_incomplete_exports(build: Build) -> None:
    plan_publish(build, REPO, bench=True)
    shard = build.layout.scores / "00000.parquet"
    pq.write_table(pq.read_table(shard), shard, compression="snappy")  # rescored after the exports
    with pytest.raises(PublishError, match=r"export/hf: scores/00000\.parquet .* changed since"):
        plan_publish(build, REPO)
    with pytest.raises(PublishError, match=r"bench/easy: scores/00000\.parquet"):
        plan_publish(build, REPO, bench=True)
    export(build, "hf")
    plan_publish(build, REPO)
    next((build.layout.export("hf") / "data" / "pairs").glob("*.parquet")).unlink()
    with pytest.raises(PublishError, match=r"export/hf: 1 file\(s\) missing or changed"):
        plan_publish(build, REPO)
    with pytest.raises(PublishError, match=r"export/pandabench: no \.export\.json"):
        plan_publish(build, REPO, pandabench=True)
    with pytest.raises(PublishError, match="NAMESPACE/NAME"):
        plan_publish(build, "pandaset")


def test_refuses_an_export_of_another_recipe(build: Build) -> None:
    record = build.layout.export("hf") / MANIFEST
    record.write_text(record.read_text().replace(build.recipe.digest(), "0" * 64))
    with pytest.raises(PublishError, match="made with recipe hash 000000000000"):
        plan_publish(build, REPO)
