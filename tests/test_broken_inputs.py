"""The catalogue of broken inputs: every misuse and fault a user can meet, through the CLI.

Each case runs the command line in this process (through the one error boundary, as
`pandaset-build` does) and asserts the exit code, one `error:` line that names the file, key or
option, and no traceback. Some are rerun after the fix and must give the bytes of a clean build.
Read-only and full-disk cases mount a small tmpfs as root (skipped otherwise, with the reason).
`scripts/errors_doc.py` runs this module with PANDASET_ERRORS_DOC set and writes docs/errors.md
from the messages; `test_the_doc_lists_every_case` keeps the two in step.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from conftest import lock_held_elsewhere, make_folder_dataset, tree_bytes, write_recipe

from pandaset_build.cli import app
from pandaset_build.stages import distort as distort_module

DOC = Path(__file__).parent.parent / "docs" / "errors.md"
DOC_ENV = "PANDASET_ERRORS_DOC"
COMPARED = ("versions", "plans", "scores", "export")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def lines(self, kind: str) -> list[str]:
        """The stderr lines of one kind: `error:`, `warning:`, or `failed` (per-item failures)."""
        return [line for line in self.stderr.splitlines() if line.startswith(kind)]


def cli(*args: str | Path) -> Outcome:
    """Run the command line in this process through its error boundary."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            app([str(a) for a in args], prog_name="pandaset-build")
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return Outcome(code, out.getvalue(), err.getvalue())


@dataclass
class World:
    """Shared inputs: a folder dataset, a recipe, and builds at several stages (copied per case)."""

    root: Path
    data: Path
    recipe: Path
    builds: dict[str, Path] = field(default_factory=dict)


@dataclass
class Place:
    """One case's folder, with the world it may copy from."""

    world: World
    dir: Path

    def build(self, stage: str, name: str = "b") -> Path:
        """A copy of the world's build at `stage` (times kept: the records still hold)."""
        target = self.dir / name
        shutil.copytree(self.world.builds[stage], target, symlinks=True)
        return target

    def recipe(self, name: str, **overrides: object) -> Path:
        return write_recipe(self.dir / f"{name}.yaml", **{"shard_size": 1, **overrides})

    def file(self, name: str, text: str = "not what was asked for\n") -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


def make_world(root: Path, count: int, stages: tuple[str, ...]) -> World:
    data = make_folder_dataset(root / "data", count=count, size=40)
    world = World(root, data, write_recipe(root / "r.yaml", shard_size=1))
    build = root / "clean"
    steps = {
        "ingested": ("ingest", "--source", "folder", "--root", data, "--recipe", world.recipe),
        "distorted": ("distort",),
        "scored": ("score",),
        "exported": ("export",),
    }
    for stage in stages:
        outcome = cli(*steps[stage], "--build", build)
        assert outcome.code == 0, outcome.stderr
        world.builds[stage] = root / stage
        shutil.copytree(build, world.builds[stage], symlinks=True)
    return world


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("small"), 2, ("ingested", "distorted"))


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(
        tmp_path_factory.mktemp("full"), 4, ("ingested", "distorted", "scored", "exported")
    )


Args = Callable[[Place], list[str | Path]]


@dataclass(frozen=True)
class Case:
    """A broken input: the command, the exit code, what the message must name."""

    name: str
    situation: str
    args: Args
    code: int
    names: tuple[str, ...]
    world: str = "small"
    kind: str = "error:"  # or "warning:", or "failed " (per-item failures, one line each)


def ingest_args(p: Place, *extra: str | Path, build: str | Path = "b") -> list[str | Path]:
    target = build if isinstance(build, Path) else p.dir / build
    return ["ingest", "--source", "folder", "--root", p.world.data, "--build", target, *extra]


def recipe_case(name: str, situation: str, names: tuple[str, ...], **overrides: object) -> Case:
    return Case(
        name,
        situation,
        lambda p: ingest_args(p, "--recipe", p.recipe(name, **overrides)),
        2,
        (f"{name}.yaml", *names),
    )


def weights_file(p: Place, kind: str) -> Path:
    path = p.dir / f"{kind}.pth"
    if kind == "garbage":
        path.write_text("garbage\n")
    elif kind == "other":
        torch.save({"params": {"head.weight": torch.zeros(3)}}, path)
    else:
        torch.save({"model": {}}, path)
    return path


def held(p: Place) -> list[str | Path]:
    return ["distort", "--build", p.build("ingested")]


def changed_version(p: Place) -> list[str | Path]:
    build = p.build("distorted")
    version = sorted((build / "versions").rglob("*.png"))[0]
    version.write_bytes(version.read_bytes() + b"\0")
    return ["distort", "--build", build]


def export_in_the_way(p: Place) -> Path:
    build = p.build("scored")
    (build / "export").write_text("a file where the export folder goes\n")
    return build


def foreign_build(p: Place) -> list[str | Path]:
    p.file("b/build.json", json.dumps({"tool": "another"}))
    return ingest_args(p)


def restart_with_others(p: Place) -> list[str | Path]:
    build = p.build("ingested")
    (build / "thesis.tex").write_text("mine\n")
    return ingest_args(p, "--recipe", p.recipe("other", seed=7), "--restart", build=build)


def duplicate_tags(p: Place) -> list[str | Path]:
    build = p.build("ingested")
    copy = p.dir / "copy"
    shutil.copytree(p.world.data, copy)
    return ["ingest", "--source", "folder", "--root", copy, "--images", copy / "images",
            "--build", build]  # fmt: skip


CASES: list[Case] = [
    # paths and the file system
    Case(
        "build-is-a-file",
        "`--build` names a file",
        lambda p: ingest_args(p, build=p.file("f")),
        2,
        ("--build", "/f", "exists and is a file"),
    ),
    Case(
        "build-under-a-file",
        "`--build` below a file",
        lambda p: ingest_args(p, build=p.file("f") / "b"),
        2,
        ("/f is a file", "not a directory"),
    ),
    Case(
        "distort-build-is-a-file",
        "`distort --build` names a file",
        lambda p: ["distort", "--build", p.file("f")],
        2,
        ("--build", "exists and is a file"),
    ),
    Case(
        "unset-variable",
        "`--build '$NOPE/b'` with NOPE not set",
        lambda p: ingest_args(p, build="$PANDASET_UNSET_VARIABLE/b"),
        2,
        ("--build", "PANDASET_UNSET_VARIABLE", "not set"),
    ),
    Case(
        "gallery-out-is-a-file",
        "`gallery --out` names a file",
        lambda p: ["gallery", "--build", p.build("distorted"), "--out", p.file("g")],
        2,
        ("--out", "/g", "exists and is a file"),
    ),
    Case(
        "train-out-is-a-file",
        "`train-panda --out` names a file",
        lambda p: ["train-panda", "--build", p.dir, "--out", p.file("o")],
        2,
        ("--out", "/o", "exists and is a file"),
    ),
    # recipes
    recipe_case(
        "negative-sigma",
        "a negative Gaussian sigma",
        ("distortions.blur.gaussian.sigma",),
        distortions={"blur": {"gaussian": {"sigma": [-1, -2, -3, -4, -5]}}},
    ),
    recipe_case(
        "text-sigma",
        "a word among the sigmas",
        ("distortions.blur.gaussian.sigma",),
        distortions={"blur": {"gaussian": {"sigma": [1, 2, "x", 4, 5]}}},
    ),
    recipe_case(
        "jpeg-quality",
        "a JPEG quality above 100",
        ("compression.jpeg.quality",),
        distortions={"compression": {"jpeg": {"quality": [101, 18, 12, 8, 5]}}},
    ),
    recipe_case(
        "unknown-parameter",
        "a parameter the sub-type does not take",
        ("distortions.blur.gaussian.sigmaa", "sigma"),
        distortions={"blur": {"gaussian": {"sigmaa": [1, 2, 3, 4, 5]}}},
    ),
    recipe_case(
        "unknown-family",
        "a distortion family that does not exist",
        ("blurr", "blur"),
        distortions={"blurr": {}},
    ),
    recipe_case(
        "thresholds-order",
        "`same_below` above `significant_from`",
        ("comparison", "same_below"),
        comparison={"same_below": 0.5, "significant_from": 0.2},
    ),
    recipe_case(
        "no-versions", "an empty `versions` list", ("versions", "at least one"), versions=[]
    ),
    recipe_case(
        "missing-split-manifest",
        "a `split_manifest` that does not exist",
        ("split_manifest", "nothere.json"),
        split_manifest="/nothere.json",
    ),
    recipe_case(
        "unknown-key", "a mistyped top-level key", ("versoins", "versions"), versoins=["blur"]
    ),
    recipe_case("negative-shard-size", "a shard size below 1", ("shard_size",), shard_size=0),
    Case(
        "split-manifest-not-json",
        "a `split_manifest` that is not JSON",
        lambda p: ingest_args(
            p, "--recipe", p.recipe("m", split_manifest=str(p.file("m.json", "{broken")))
        ),
        2,
        ("split_manifest", "m.json", "not a valid JSON"),
    ),
    Case(
        "split-manifest-no-splits",
        "a `split_manifest` without a `splits` mapping",
        lambda p: ingest_args(
            p, "--recipe", p.recipe("m", split_manifest=str(p.file("m.json", "{}")))
        ),
        2,
        ("split_manifest", "m.json", "'splits'"),
    ),
    Case(
        "recipe-not-found",
        "`--recipe` names no file and no bundled recipe",
        lambda p: ingest_args(p, "--recipe", p.dir / "nothere.yaml"),
        2,
        ("nothere.yaml",),
    ),
    Case(
        "recipe-not-yaml",
        "a recipe that is not YAML",
        lambda p: ingest_args(p, "--recipe", p.file("bad.yaml", "a: [1,\n")),
        2,
        ("bad.yaml",),
    ),
    Case(
        "split-counts-beyond-data",
        "split counts asking for more images than ingested",
        lambda p: ingest_args(
            p, "--recipe", p.recipe("counts", splits={"train": 2000, "test": 150})
        ),
        0,
        ("counts", "splits ask for 2150 images", "holds 2"),
        kind="warning:",
    ),
    # sources
    Case(
        "no-root",
        "`--source folder` without `--root`",
        lambda p: ["ingest", "--source", "folder", "--build", p.dir / "b"],
        2,
        ("--root",),
    ),
    Case(
        "demo-with-root",
        "`--source demo` with `--root`",
        lambda p: ["ingest", "--source", "demo", "--root", p.dir, "--build", p.dir / "b"],
        2,
        ("--root", "drop --root"),
    ),
    Case(
        "root-missing",
        "a mistyped `--root`",
        lambda p: ["ingest", "--source", "folder", "--root", p.dir / "dta", "--build", p.dir / "b"],
        2,
        ("--root", "/dta", "no such folder"),
    ),
    Case(
        "build-inside-root",
        "`--build` inside the dataset",
        lambda p: ingest_args(p, build=p.world.data / "build"),
        2,
        ("--build", "inside"),
    ),
    Case(
        "option-not-taken",
        "an option the source does not take",
        lambda p: ingest_args(p, "--split", "val"),
        2,
        ("--split", "does not take"),
    ),
    Case(
        "tags-missing",
        "a `--tags` file that does not exist",
        lambda p: ingest_args(p, "--tags", p.dir / "subset.txt"),
        2,
        ("--tags", "subset.txt"),
    ),
    Case(
        "duplicate-tags",
        "the same tags from a second source",
        duplicate_tags,
        1,
        ("duplicate tag", "img0000.png", "another --build"),
        kind="failed ",
    ),
    # the build directory
    Case(
        "no-build",
        "a command after ingest on a folder without a build",
        lambda p: ["distort", "--build", p.dir / "b"],
        2,
        ("/b", "no build here", "ingest"),
    ),
    Case(
        "foreign-build-json",
        "a `build.json` another tool wrote",
        foreign_build,
        2,
        ("build.json", "not written by pandaset-build"),
    ),
    Case(
        "other-recipe",
        "another recipe than the recorded one",
        lambda p: ingest_args(p, "--recipe", p.recipe("other", seed=7), build=p.build("ingested")),
        2,
        ("built with recipe", "--restart"),
    ),
    Case(
        "restart-with-other-files",
        "`--restart` on a folder that also holds other files",
        restart_with_others,
        2,
        ("thesis.tex", "--force"),
    ),
    Case("in-use", "a second command while another holds the lock", held, 2, ("in use by",)),
    Case(
        "score-before-distort",
        "`score` before `distort`",
        lambda p: ["score", "--build", p.build("ingested")],
        2,
        ("distort",),
    ),
    Case(
        "export-before-score",
        "`export` before `score`",
        lambda p: ["export", "--build", p.build("distorted")],
        2,
        ("score",),
    ),
    Case(
        "changed-version",
        "a version image changed since distort wrote it",
        changed_version,
        2,
        ("versions/", "changed since", "--retry-failed"),
    ),
    Case(
        "other-metric",
        "`score --metric` other than the metric of the build's scores",
        lambda p: ["score", "--build", p.build("scored"), "--metric", "psnr"],
        2,
        ("other settings", "psnr", "--retry-failed"),
        world="full",
    ),
    # metrics and weights
    Case(
        "weights-garbage",
        "`--weights` names a file that is not a checkpoint",
        lambda p: [
            "score",
            "--build",
            p.build("distorted"),
            "--metric",
            "topiq_fr",
            "--weights",
            weights_file(p, "garbage"),
        ],
        2,
        ("--weights", "garbage.pth", "not a PyTorch checkpoint", "topiq_fr"),
    ),
    Case(
        "weights-other-model",
        "`--weights` names the checkpoint of another model",
        lambda p: [
            "score",
            "--build",
            p.build("distorted"),
            "--metric",
            "topiq_fr",
            "--weights",
            weights_file(p, "other"),
        ],
        2,
        ("other.pth", "another model", "topiq_fr"),
    ),
    Case(
        "weights-without-params",
        "`--weights` names a checkpoint without pyiqa's `params`",
        lambda p: [
            "score",
            "--build",
            p.build("distorted"),
            "--metric",
            "topiq_fr",
            "--weights",
            weights_file(p, "noparams"),
        ],
        2,
        ("noparams.pth", "'params'"),
    ),
    Case(
        "weights-for-fsim",
        "`--weights` with a metric that has none (fsim)",
        lambda p: [
            "score",
            "--build",
            p.build("distorted"),
            "--metric",
            "fsim",
            "--weights",
            weights_file(p, "garbage"),
        ],
        2,
        ("--weights", "garbage.pth", "fsim has no weights", "drop --weights"),
    ),
    Case(
        "weights-missing",
        "`--weights` names no file",
        lambda p: [
            "score",
            "--build",
            p.build("distorted"),
            "--metric",
            "topiq_fr",
            "--weights",
            p.dir / "nothere.pth",
        ],
        2,
        ("nothere.pth", "no such file"),
    ),
    Case(
        "unknown-metric",
        "`--metric` that pyiqa does not have",
        lambda p: ["score", "--build", p.build("distorted"), "--metric", "fsimm"],
        2,
        ("--metric", "fsimm"),
    ),
    Case(
        "eval-without-model",
        "`eval-panda` without `--checkpoint` or `--baseline`",
        lambda p: ["eval-panda", "--build", p.dir],
        2,
        ("--checkpoint", "--baseline"),
    ),
    # a scored build
    Case(
        "bench-manifest-not-json",
        "`split-bench --manifest` with broken JSON",
        lambda p: [
            "split-bench",
            "--build",
            p.build("exported"),
            "--manifest",
            p.file("pairs.json", "{broken"),
        ],
        2,
        ("pairs.json", "not a valid JSON"),
        world="full",
    ),
    Case(
        "export-target-is-a-file",
        "the export folder exists as a file",
        lambda p: ["export", "--build", export_in_the_way(p)],
        2,
        ("export", "is a file"),
        world="full",
    ),
    Case(
        "checkpoint-garbage",
        "`eval-panda --checkpoint` that is not a checkpoint",
        lambda p: [
            "eval-panda",
            "--build",
            p.build("exported"),
            "--bench",
            p.dir / "b" / "export" / "hf",
            "--split",
            "test",
            "--mode",
            "all",
            "--checkpoint",
            weights_file(p, "garbage"),
        ],
        2,
        ("--checkpoint", "garbage.pth", "train-panda"),
        world="full",
    ),
    Case(
        "backbone-weights-garbage",
        "`train-panda --backbone-weights` that is not a checkpoint",
        lambda p: [
            "train-panda",
            "--build",
            p.build("exported"),
            "--backbone-weights",
            weights_file(p, "garbage"),
        ],
        2,
        ("--backbone-weights", "garbage.pth", "not a PyTorch"),
        world="full",
    ),
    Case(
        "backbone-weights-other-model",
        "`train-panda --backbone-weights` of another model",
        lambda p: [
            "train-panda",
            "--build",
            p.build("exported"),
            "--backbone-weights",
            weights_file(p, "other"),
        ],
        2,
        ("other.pth", "another model"),
        world="full",
    ),
]


def normalise(text: str, place: Place) -> str:
    """A message with the case's and the world's folders as placeholders (for the doc)."""
    text = text.replace(str(place.dir), "CASE").replace(str(place.world.root), "WORLD")
    holder = r"in use by pid \d+ on \S+ since [\d-]+ \d\d:\d\d:\d\d"
    text = re.sub(holder, "in use by pid N on HOST since TIME", text)
    return text.removeprefix("error: ").removeprefix("warning: ")


def record(name: str, situation: str, code: int, message: str) -> None:
    """Append a case's message to the file the doc script reads (when it asks)."""
    target = os.environ.get(DOC_ENV)
    if target:
        with open(target, "a") as handle:
            entry = {"name": name, "situation": situation, "code": code, "message": message}
            handle.write(json.dumps(entry) + "\n")


def check_one_line(
    outcome: Outcome, code: int, names: tuple[str, ...], kind: str = "error:"
) -> str:
    """Exit code, no traceback, one line of `kind` (per-item failures: one per item) naming
    `names`; that line."""
    assert outcome.code == code, outcome.stderr
    assert "Traceback" not in outcome.stderr
    lines = outcome.lines(kind)
    assert len(lines) == 1 or (kind == "failed " and lines), outcome.stderr
    line = next((x for x in lines if names[-1] in x), lines[0])
    for name in names:
        assert name in line, (name, line)
    return line


def listing(root: Path) -> set[str]:
    """Every path under `root` but the lock files (a refused command still took the lock)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.name != ".lock"}


PARAMS = [
    pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.world == "full" else []) for c in CASES
]


@pytest.mark.parametrize("case", PARAMS)
def test_case(case: Case, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    world = request.getfixturevalue(case.world)
    place = Place(world, tmp_path)
    if case.name == "in-use":
        build = place.build("ingested")
        before = listing(tmp_path)
        with lock_held_elsewhere(build):
            outcome = cli("distort", "--build", build)
    else:
        args = case.args(place)
        before = listing(tmp_path)
        outcome = cli(*args)
    line = check_one_line(outcome, case.code, case.names, case.kind)
    if case.code == 2:
        assert listing(tmp_path) == before, "a refused command changed the folder"
    record(case.name, case.situation, case.code, normalise(line, place))


def test_a_worker_failing_on_the_disk_is_a_sentence(
    small: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError inside a shard (here too many open files) reaches the boundary as a sentence;
    the shard records nothing, and the rerun gives the bytes of the clean build."""
    place = Place(small, tmp_path)
    build = place.build("ingested")
    real = distort_module.write_png

    def failing(path: Path, *args: object) -> None:
        if "img0001" in path.name:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE), str(path))
        real(path, *args)

    monkeypatch.setattr(distort_module, "write_png", failing)
    outcome = cli("distort", "--build", build)
    line = check_one_line(outcome, 1, ("img0001", "too many open files", "ulimit -n"))
    assert not (build / "_done" / "distort" / "00001.json").exists()
    record("too-many-open-files", "a shard runs out of file handles", 1, normalise(line, place))
    monkeypatch.setattr(distort_module, "write_png", real)
    assert cli("distort", "--build", build).code == 0
    for folder in ("versions", "plans"):
        assert tree_bytes(build / folder) == tree_bytes(small.builds["distorted"] / folder)


def test_a_real_file_handle_limit_is_a_sentence(small: World, tmp_path: Path) -> None:
    """With 16 file handles a 2-worker pool cannot start: the command says so, naming the build."""
    import resource

    place = Place(small, tmp_path)
    build = place.build("ingested")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))

    command = ["distort", "--build", str(build), "--workers", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "pandaset_build", *command],
        capture_output=True,
        text=True,
        preexec_fn=limit,
    )
    outcome = Outcome(done.returncode, done.stdout, done.stderr)
    line = check_one_line(outcome, 1, (str(build), "too many open files", "ulimit -n"))
    assert not list((build / "_done").glob("distort/*.json"))
    record("file-handle-limit", "a 2-worker `distort` under `ulimit -n 16`", 1,
           normalise(line, place))  # fmt: skip


def test_a_refused_build_path_then_fixed_gives_the_clean_bytes(small: World, tmp_path: Path):
    place = Place(small, tmp_path)
    blocker = place.file("b")
    outcome = cli(*ingest_args(place))
    check_one_line(outcome, 2, ("exists and is a file",))
    blocker.unlink()
    assert cli(*ingest_args(place, "--recipe", small.recipe)).code == 0
    assert cli("distort", "--build", tmp_path / "b").code == 0
    for folder in ("sources", "versions", "plans"):
        assert tree_bytes(tmp_path / "b" / folder) == tree_bytes(small.builds["distorted"] / folder)


def test_a_quoted_tilde_build_is_the_home_folder(
    small: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--build "~/x"` (the shell left `~` alone) gives the build of the expanded path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    ingest = ["ingest", "--source", "folder", "--root", small.data, "--recipe", small.recipe]
    assert cli(*ingest, "--build", "~/x").code == 0
    assert cli("distort", "--build", "~/x").code == 0
    assert not (tmp_path / "~").exists() and (home / "x" / "build.json").exists()
    tilde = tmp_path / "tilde"
    shutil.move(home / "x", tilde)
    assert cli(*ingest, "--build", home / "x").code == 0
    assert cli("distort", "--build", home / "x").code == 0
    ignored = ("_done/",)  # completion records hold the seconds each shard took
    got = {k: v for k, v in tree_bytes(tilde).items() if not k.startswith(ignored)}
    want = {k: v for k, v in tree_bytes(home / "x").items() if not k.startswith(ignored)}
    assert got == want and "build.json" in got


# read-only and full file systems: a small tmpfs, as root


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the read-only and full-disk cases are skipped")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, option: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{option}", str(folder)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """A file taking all but `leave` bytes of the file system's free space."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


READ_ONLY = [
    ("ingest", lambda p, b: ingest_args(p, build=b / "new")),
    ("distort", lambda p, b: ["distort", "--build", b]),
    ("export", lambda p, b: ["export", "--build", b]),
]


@pytest.mark.parametrize(("command", "args"), READ_ONLY, ids=[c for c, _ in READ_ONLY])
def test_a_read_only_file_system_is_a_sentence(
    command: str, args: Callable[[Place, Path], list[str | Path]], small: World, tmp_path: Path
) -> None:
    place = Place(small, tmp_path)
    with tmpfs(tmp_path / "ro", "4m") as disk:
        shutil.copytree(small.builds["distorted"], disk / "b", symlinks=True)
        remount(disk, "ro")
        outcome = cli(*args(place, disk / "b"))
        line = check_one_line(outcome, 2, (str(disk), "read-only"))
        record(f"read-only-{command}", f"`{command}` on a read-only file system", 2,
               normalise(line, place))  # fmt: skip


DONE = {"distort": "distorted", "score": "scored", "export": "exported"}


def test_a_folder_without_write_permission_is_a_sentence(small: World, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write into any folder: the read-only tmpfs cases stand in for this")
    place = Place(small, tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        outcome = cli(*ingest_args(place, build=locked / "b"))
    finally:
        locked.chmod(0o755)
    line = check_one_line(outcome, 2, (str(locked), "permission denied"))
    record("permission-denied", "`--build` in a folder the user may not write", 2,
           normalise(line, place))  # fmt: skip


FULL = [  # stage, the build it starts from, the space it is left, options (2 workers: a pool)
    ("distort", "ingested", 350_000, ("--workers", "2")),
    ("score", "distorted", 24_000, ()),
    ("export", "scored", 200_000, ()),
]


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "start", "leave", "options"), FULL, ids=[s[0] for s in FULL])
def test_a_full_disk_names_the_build_and_the_space_then_resumes_to_clean_bytes(
    stage: str, start: str, leave: int, options: tuple[str, ...], full: World, tmp_path: Path
) -> None:
    place = Place(full, tmp_path)
    with tmpfs(tmp_path / "disk", "8m") as disk:
        build = disk / "b"
        shutil.copytree(full.builds[start], build, symlinks=True)
        filler = fill(disk, leave)
        outcome = cli(stage, "--build", build, *options)
        need = "packs the version images" if stage == "export" else "more"
        line = check_one_line(outcome, 1, (str(build), "no space left", "free", need))
        assert not list(build.rglob(".*.tmp")) and not list(build.rglob(".*.staging"))
        record(f"full-disk-{stage}", f"`{stage}` on a full disk", 1, normalise(line, place))
        filler.unlink()
        rerun = cli(stage, "--build", build, *options)
        assert rerun.code == 0, rerun.stderr
        clean = full.builds[DONE[stage]]
        for folder in COMPARED:
            if (clean / folder).exists():
                assert tree_bytes(build / folder) == tree_bytes(clean / folder), folder


def test_the_doc_lists_every_case() -> None:
    """docs/errors.md is generated from this catalogue (scripts/errors_doc.py): every case."""
    if os.environ.get(DOC_ENV):
        pytest.skip("the doc is being written from this run")
    text = DOC.read_text()
    missing = [c.name for c in CASES if f"`{c.name}`" not in text]
    assert not missing, f"docs/errors.md lacks {missing}: run scripts/errors_doc.py"
    assert len(CASES) >= 40


ERRNOS = [
    (errno.ENOTDIR, 2, "not a directory"),
    (errno.EEXIST, 2, "already exists"),
    (errno.EISDIR, 2, "is a folder"),
    (errno.EACCES, 2, "permission denied"),
    (errno.EPERM, 2, "permission denied"),
    (errno.EROFS, 2, "read-only"),
    (errno.ENOSPC, 1, "no space left"),
    (errno.EDQUOT, 1, "no space left"),
    (errno.EMFILE, 1, "too many open files"),
    (errno.ENFILE, 1, "too many open files"),
]


@pytest.mark.parametrize(("code", "exit_code", "says"), ERRNOS, ids=[str(e[0]) for e in ERRNOS])
def test_each_file_system_error_is_explained(
    code: int, exit_code: int, says: str, tmp_path: Path
) -> None:
    """Each errno the boundary explains: its exit code and sentence, naming the path; pyarrow's
    errors, whose errno is only in their text, too; an unknown errno stays an OSError (a bug)."""
    from pandaset_build.store.oserrors import explain

    path = tmp_path / "x"
    explained = explain(OSError(code, os.strerror(code), str(path)))
    assert explained is not None and explained.exit_code == exit_code
    assert str(explained).startswith(str(path)) and says in str(explained)
    arrow = explain(OSError(f"Error writing bytes to file. Detail: [errno {code}] ..."), path)
    assert arrow is not None and says in str(arrow) and str(path) in str(arrow)
    assert explain(OSError(errno.EIO, os.strerror(errno.EIO), str(path))) is None
