"""The Ray executor on a local cluster: the same bytes as the local executor, workers killed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, tree_bytes

OUTPUTS = ("sources", "versions", "plans", "scores")


@pytest.fixture(scope="module")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("local") / "b"
    run_cli("run", "--recipe", "quickstart", "--build", str(build), "--workers", "2")
    return build


def test_quickstart_through_ray_equals_the_local_build(local_build: Path, tmp_path: Path) -> None:
    build = tmp_path / "ray"
    run_cli("run", "--recipe", "quickstart", "--build", str(build), "--executor", "ray")
    for folder in OUTPUTS:
        assert tree_bytes(build / folder) == tree_bytes(local_build / folder), folder
