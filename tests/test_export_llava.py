"""`export --layout llava`: JSON that loads, image paths that exist, answers equal bench labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scored_build import make_scored_build

from pandaset_build.config import vocab
from pandaset_build.pairsets import load_pairs
from pandaset_build.stages.bench import split_bench
from pandaset_build.stages.export import export
from pandaset_build.store.build import Build

TAGS = {"train": ["a.png", "b.png"], "test": ["c.png", "d.png"]}
PAPER_LIST = (
    "['blur', 'brightness', 'clean', 'compression', 'contrast-decrease', 'contrast-increase', "
    "'darken', 'haze', 'noise', 'oversharpen', 'pixelate', 'rain', 'saturate-decrease', "
    "'saturate-increase', 'snow']"
)
RANKINGS = (
    "{0: 'same', 1: 'slightly-worse', 2: 'significantly-worse', 3: 'slightly-better', "
    "4: 'significantly-better'}"
)
HYPHENATED = {
    "contrast_inc": "contrast-increase",
    "contrast_dec": "contrast-decrease",
    "saturate_inc": "saturate-increase",
    "saturate_dec": "saturate-decrease",
    "slightly_worse": "slightly-worse",
    "significantly_worse": "significantly-worse",
    "slightly_better": "slightly-better",
    "significantly_better": "significantly-better",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Build:
    build = make_scored_build(tmp_path_factory.mktemp("llava"), TAGS)
    split_bench(build)
    export(build, "llava")
    return build


def paper(name: str) -> str:
    return HYPHENATED.get(name, name)


def test_files_load_and_every_image_exists(exported: Build) -> None:
    out = exported.layout.export("llava")
    assert sorted(p.name for p in out.glob("[!.]*.json")) == ["test.json", "train.json"]
    for split, tags in TAGS.items():
        conversations = json.loads((out / f"{split}.json").read_text())
        assert len(conversations) == len(tags) * 16 * 15
        for item in conversations:
            (_, anchor, s, name), (_, target, _, _) = (Path(p).parts for p in item["image"])
            tag = name.removesuffix(".png")
            assert (s, item["id"]) == (split, f"{tag}_{anchor}_{target}")
            for path, version in zip(item["image"], (anchor, target), strict=True):
                local = exported.layout.version_image(version, split, tag)
                assert (out / path).read_bytes() == local.read_bytes()
            human, gpt = item["conversations"]
            assert (human["from"], gpt["from"]) == ("human", "gpt")
            assert human["value"].startswith("<image>\n<image>\n")


def test_question_is_the_papers_type_b_prompt(exported: Build) -> None:
    item = json.loads((exported.layout.export("llava") / "test.json").read_text())[0]
    text = item["conversations"][0]["value"]
    assert "You are an image quality assessor. Respond with **JSON only** matching:" in text
    assert f"pick one for each region from this list {PAPER_LIST}." in text
    assert f"These are the rankings to choose from: {RANKINGS}." in text
    regions = text.split("Regions:\n", 1)[1].splitlines()
    # strips of 32 px in three: rows 0-9, 10-20, 21-31; all but the last two columns
    assert regions == [
        "1. Region: thing0 | Box: [x1=0.0, y1=0.0, x2=30.0, y2=10.0]",
        "2. Region: thing1 | Box: [x1=0.0, y1=10.0, x2=30.0, y2=21.0]",
        "3. Region: thing2 | Box: [x1=0.0, y1=21.0, x2=30.0, y2=32.0]",
    ]


def test_answers_equal_the_bench_labels(exported: Build) -> None:
    items = json.loads((exported.layout.export("llava") / "test.json").read_text())
    by_id = {item["id"]: json.loads(item["conversations"][1]["value"]) for item in items}
    checked = 0
    for kind in ("easy", "medium", "hard"):
        for pair in load_pairs(exported.layout.bench_split(kind)):
            answer = by_id[pair.key]
            assert [r["index"] for r in answer["regions"]] == list(range(1, len(pair.regions) + 1))
            for got, region in zip(answer["regions"], pair.regions, strict=True):
                for key, labels in (("a", region.anchor), ("b", region.target)):
                    assert got[key]["distortion"] == paper(vocab.DISTORTIONS[labels.distortion])
                    assert got[key]["severity"] == labels.severity
                    assert got[key]["score"] == pytest.approx(labels.score, abs=5e-5)
                assert got["comparison"] == paper(vocab.COMPARISONS[region.comparison])
            checked += 1
    assert checked > 10
