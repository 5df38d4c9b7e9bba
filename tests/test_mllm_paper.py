"""The paper's MLLM protocol: prompts verbatim (figures 9, 10), its answer forms (figures 13, 14),
the figure 5 hint, and the protocol recorded in the results."""

from __future__ import annotations

import hashlib
import io
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mllm_data import Answer, ChatServer, image_hashes, write_bench
from PIL import Image

from pandaset_build.config.vocab import COMPARISONS, DISTORTIONS
from pandaset_build.mllm.prompts import Templates, pair_prompt, region_prompts
from pandaset_build.mllm.run import eval_mllm
from pandaset_build.mllm.views import DIM, RED, decode_data_url, region_views
from pandaset_build.pairsets import load_pairs
from pandaset_build.store.masks import encode_mask

# The paper's text (appendix figures 9 and 10), copied verbatim; `[dist-list]`, `[comp-set]`
# and `n_regions` are the figure's own placeholders.
PAPER_REGION_SYSTEM = (
    "You are a careful vision inspector. Respond with a SINGLE JSON object only. Do not include "
    "any extra text before or after the JSON."
)
PAPER_REGION_USER = (
    "Analyze only the specified region, bench, in red bounding box: [423, 295, 473, 357] "
    "(x1,y1,x2,y2). You are given two images: 1) A region crop of bench 2) The full image with "
    "everything outside the region of interest (in red) dimmed. Classify the region into one of "
    "the following distortion types: ['blur', 'brightness', 'clean', 'compression', "
    "'contrast-decrease', 'contrast-increase', 'darken', 'haze', 'noise', 'oversharpen', "
    "'pixelate', 'rain', 'saturate-decrease', 'saturate-increase', 'snow'], and one of the "
    "following severity types: ['minor', 'moderate', 'none', 'severe']. For example: "
    '{"distortion": ..., "severity": ...} and replace ... with appropriate distortion and '
    "severity type."
)
PAPER_PAIR_SYSTEM = (
    "You are an image quality assessor. Respond with **JSON only** matching:\n"
    '{"regions": [{"index": int>=1, "a": {"distortion": one of [dist-list], "severity": 0..3, '
    '"score": 0..1}, "b": {"distortion": same set, "severity": 0..3, "score": 0..1}, '
    '"comparison": one of [comp-set]  # A relative to B} x n_regions]}\n'
    "Note: Regions in image A are same as regions in image B."
)
PAPER_PAIR_USER = (
    "Provide an image quality assessment for each of the regions in image A and image B based on "
    "their bounding boxes and names. Identify the distortion present in each region, and pick one "
    "for each region from this list ['blur', 'brightness', 'clean', 'compression', "
    "'contrast-decrease', 'contrast-increase', 'darken', 'haze', 'noise', 'oversharpen', "
    "'pixelate', 'rain', 'saturate-decrease', 'saturate-increase', 'snow'].\n"
    "Identify the severity of distortion for each region from: [0, 1, 2, 3], where 0 means clean, "
    "and 3 means highest severity.\n"
    "Compare the regions in image A and image B, and rank them based on image A.\n"
    "These are the rankings to choose from: {0: 'same', 1: 'slightly-worse', 2: "
    "'significantly-worse', 3: 'slightly-better', 4: 'significantly-better'}.\n"
    "Give a score between 0 and 1 for each region, based on the degradation and their severity, "
    "where 0 means severely bad image, and 1 means clean image.\n"
    "Regions:\n"
    "1. Region: field | Box: [x1=0.0, y1=290.0, x2=1023.0, y2=675.0] ... N. Region: ... | Box: "
    "[x1...]"
)
# The paper's spellings of this project's labels, written out by hand.
PAPER_NAME = {
    "contrast_inc": "contrast-increase",
    "contrast_dec": "contrast-decrease",
    "saturate_inc": "saturate-increase",
    "saturate_dec": "saturate-decrease",
    "slightly_worse": "slightly-worse",
    "significantly_worse": "significantly-worse",
    "slightly_better": "slightly-better",
    "significantly_better": "significantly-better",
}
SEVERITY_WORD = ("none", "minor", "moderate", "severe")
WIDTH, HEIGHT = 1024, 683
REGION_LINE = re.compile(
    r"(\d+)\. Region: (.+) \| Box: \[x1=(-?\d+\.\d), y1=(-?\d+\.\d), x2=(-?\d+\.\d), "
    r"y2=(-?\d+\.\d)\]"
)


def paper_name(label: str) -> str:
    return PAPER_NAME.get(label, label)


def smooth_png(seed: int, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A small-to-encode PNG: a colour gradient, different for every seed."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x + 37 * seed) % 256, (y + 11 * seed) % 256, (x + y) // 8 % 256], -1)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def region(name: str, bbox: list[float], labels: tuple[int, ...], mask: Any = None) -> dict:
    ad, asev, td, tsev, comparison = labels
    return {
        "region_id": 0,
        "name": name,
        "description": "",
        "category_id": 0,
        "bbox": bbox,
        "mask": mask,
        "anchor_distortion": ad,
        "anchor_severity": asev,
        "anchor_score": 0.8,
        "target_distortion": td,
        "target_severity": tsev,
        "target_score": 0.3,
        "comparison": comparison,
    }


def pair_row(n: int, regions: list[dict[str, Any]], size: tuple[int, int] = (WIDTH, HEIGHT)):
    return {
        "tag": f"scene{n}.png",
        "anchor_version": "mixed",
        "target_version": "mixed2",
        "anchor_image": {"bytes": smooth_png(2 * n, *size), "path": None},
        "target_image": {"bytes": smooth_png(2 * n + 1, *size), "path": None},
        "anchor_image_score": 0.8,
        "target_image_score": 0.3,
        "image_comparison": 4,
        "regions": regions,
    }


D = {name: i for i, name in enumerate(DISTORTIONS)}
C = {name: i for i, name in enumerate(COMPARISONS)}
LABELS = [  # (anchor distortion, anchor severity, target distortion, target severity, comparison)
    [(D["clean"], 0, D["contrast_dec"], 2, C["significantly_better"]),
     (D["blur"], 1, D["saturate_inc"], 3, C["slightly_worse"])],
    [(D["contrast_inc"], 3, D["clean"], 0, C["same"]),
     (D["saturate_dec"], 2, D["pixelate"], 1, C["significantly_worse"])],
    [(D["haze"], 1, D["noise"], 2, C["slightly_better"]),
     (D["darken"], 3, D["snow"], 1, C["same"])],
]  # fmt: skip


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    rows = [
        pair_row(
            n,
            [
                region("field", [0.0, 290.0, 1023.0, 385.0], LABELS[n][0]),
                region("bench", [423.0, 295.0, 50.0, 62.0], LABELS[n][1]),
            ],
        )
        for n in range(3)
    ]
    return write_bench(tmp_path / "bench" / "hard", rows, shards=1)


def test_type_b_prompt_is_the_papers(bench: Path) -> None:
    pair = load_pairs(bench, limit=1)[0]
    prompt = pair_prompt(Templates.load(), 0, pair)
    fixed, example = PAPER_PAIR_USER.split("Regions:\n")
    head, lines = prompt.text.split("Regions:\n")
    assert head == fixed
    first_paper_line = example.split(" ... ")[0]
    assert lines.splitlines()[0] == first_paper_line
    for number, line in enumerate(lines.splitlines(), 1):
        match = REGION_LINE.fullmatch(line)
        assert match and int(match.group(1)) == number
        x, y, w, h = pair.regions[number - 1].bbox
        assert [float(v) for v in match.groups()[2:]] == [x, y, x + w, y + h]
    assert (
        lines.splitlines()[1] == "2. Region: bench | Box: [x1=423.0, y1=295.0, x2=473.0, y2=357.0]"
    )
    # the system prompt: the figure's text, its placeholders filled with the user text's lists
    dist_list = re.search(r"from this list (\[.*?\])", PAPER_PAIR_USER).group(1)
    rankings = re.search(r"choose from: (\{.*?\})", PAPER_PAIR_USER).group(1)
    comp_list = str(re.findall(r"'([a-z-]+)'", rankings))
    expected = (
        PAPER_PAIR_SYSTEM.replace("[dist-list]", dist_list)
        .replace("[comp-set]", comp_list)
        .replace("n_regions", "2")
    )
    assert prompt.system == expected
    messages = prompt.messages()
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == expected
    urls = [p["image_url"]["url"] for p in messages[1]["content"] if p["type"] == "image_url"]
    assert [decode_data_url(u) for u in urls] == [pair.anchor_image, pair.target_image]


def test_type_a_prompt_is_the_papers(bench: Path) -> None:
    pair = load_pairs(bench, limit=1)[0]
    prompts = region_prompts(Templates.load(), 0, pair)
    assert [(p.region, p.side) for p in prompts] == [
        (0, "anchor"), (0, "target"), (1, "anchor"), (1, "target"),
    ]  # fmt: skip
    bench_region = [p for p in prompts if p.region == 1]
    for prompt in bench_region:
        assert prompt.text == PAPER_REGION_USER  # the figure's example, verbatim
        assert prompt.system == PAPER_REGION_SYSTEM
        assert [m["role"] for m in prompt.messages()] == ["system", "user"]
    crop, context = (Image.open(io.BytesIO(b)) for b in bench_region[1].images)
    full = np.asarray(Image.open(io.BytesIO(pair.target_image)).convert("RGB"))
    assert np.array_equal(np.asarray(crop), full[295:357, 423:473])  # 1) the crop
    ctx = np.asarray(context)
    assert np.array_equal(ctx[295:357, 423:473], full[295:357, 423:473])  # 2) inside: untouched
    assert tuple(ctx[294, 440]) == RED  # the red box just outside the region's box
    outside = np.round(full[100, 100].astype(float) * DIM)
    assert np.array_equal(ctx[100, 100], outside)  # everything else dimmed


def test_type_a_dims_outside_the_box_even_with_a_mask(tmp_path: Path) -> None:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[300:350, 430:440] = True  # covers part of the box only
    row = pair_row(
        0, [region("bench", [423.0, 295.0, 50.0, 62.0], LABELS[0][0], encode_mask(mask))]
    )
    pair = load_pairs(write_bench(tmp_path / "b", [row], shards=1))[0]
    prompt = region_prompts(Templates.load(), 0, pair)[0]
    assert prompt.images == list(region_views(pair.anchor_image, pair.regions[0].bbox, None))
    extended = region_prompts(Templates.load(prompt_set="extended"), 0, pair)[0]
    assert extended.images != prompt.images  # the extended set dims outside the mask


def schema_entry(n: int, i: int, **changes: Any) -> dict[str, Any]:
    """A type (b) answer entry in the paper's schema for region i of pair n (truth labels)."""
    ad, asev, td, tsev, comparison = LABELS[n][i]
    entry = {
        "index": i + 1,
        "a": {"distortion": paper_name(DISTORTIONS[ad]), "severity": asev, "score": 0.71},
        "b": {"distortion": paper_name(DISTORTIONS[td]), "severity": tsev, "score": 0.25},
        "comparison": paper_name(COMPARISONS[comparison]),
    }
    entry.update(changes)
    return entry


def loose_answer(n: int) -> str:
    """Figure 14's form: `1. A: {dist: blur, sev: minor, score: 0.78}, B: {...}, comparison:
    slightly-worse}`, severities as words."""
    parts = []
    for i, (ad, asev, td, tsev, comparison) in enumerate(LABELS[n]):
        parts.append(
            f"{i + 1}. A: {{dist: {paper_name(DISTORTIONS[ad])}, sev: {SEVERITY_WORD[asev]}, "
            f"score: 0.6{i}}}, B: {{dist: {paper_name(DISTORTIONS[td])}, sev: "
            f"{SEVERITY_WORD[tsev]}, score: 0.2{i}}}, comparison: "
            f"{paper_name(COMPARISONS[comparison])}}}"
        )
    return "Here is my assessment of the regions:\n" + "\n".join(parts)


def predictions(out: Path) -> list[dict[str, Any]]:
    lines = (out / "run0" / "predictions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_paper_answers_parse_to_the_right_labels(bench: Path, tmp_path: Path) -> None:
    pairs = load_pairs(bench)
    by_image = {hashlib.sha256(p.anchor_image).hexdigest(): n for n, p in enumerate(pairs)}
    answers = {
        0: "```json\n"
        + json.dumps({"regions": [schema_entry(0, 0), schema_entry(0, 1)]})
        + "\n```",
        1: loose_answer(1),
        # the schema with severity words and the ranking's number, regions in reverse order
        2: json.dumps(
            {
                "regions": [
                    schema_entry(2, 1, comparison=LABELS[2][1][4]),
                    schema_entry(
                        2,
                        0,
                        a={"distortion": "haze", "severity": "minor", "score": "0.5"},
                        b={"distortion": "noise", "severity": "moderate", "score": 0.1},
                    ),
                ]
            }
        ),
    }

    def script(body: dict[str, Any]) -> Answer:
        return Answer(answers[by_image[image_hashes(body)[0]]])

    out = tmp_path / "out"
    with ChatServer(script) as server:
        result = eval_mllm(bench, "m", server.url, out, runs=1, quiet=True)
    for body in server.received:
        assert body["messages"][0]["role"] == "system"
        assert body["max_tokens"] == 8192
    for n, line in enumerate(predictions(out)):
        for i, entry in enumerate(line["regions"]):
            pred = entry["pred"]
            ad, asev, td, tsev, comparison = LABELS[n][i]
            assert (pred["anchor_distortion"], pred["anchor_severity"]) == (ad, asev)
            assert (pred["target_distortion"], pred["target_severity"]) == (td, tsev)
            assert pred["comparison"] == comparison
    scores = [[e["pred"]["anchor_score"] for e in line["regions"]] for line in predictions(out)]
    assert scores == [[0.71, 0.71], [0.60, 0.61], [0.5, 0.71]]
    run = result["runs"][0]
    assert run["comparison"]["acc"] == 1.0 and run["distortion"]["avg"]["acc"] == 1.0
    assert run["failures"]["unparseable_answers"] == 0


def test_type_a_answers_words_and_figure_13_form(bench: Path, tmp_path: Path) -> None:
    pairs = load_pairs(bench)
    views = {}
    for n, pair in enumerate(pairs):
        for r in pair.regions:
            for side in ("anchor", "target"):
                crop, _ = region_views(pair.image(side), r.bbox, None)
                views[hashlib.sha256(crop).hexdigest()] = (n, r.index, side)

    def script(body: dict[str, Any]) -> Answer:
        n, i, side = views[image_hashes(body)[0]]
        ad, asev, td, tsev, _ = LABELS[n][i]
        if (n, i) == (1, 1):  # figure 13's form: both sides in one object
            return Answer(
                json.dumps(
                    {
                        "anchor": {"distortion": paper_name(DISTORTIONS[ad]), "severity": "x"},
                        "target": {
                            "distortion": paper_name(DISTORTIONS[td]),
                            "severity": SEVERITY_WORD[tsev],
                        },
                    }
                )
            )
        d, s = (ad, asev) if side == "anchor" else (td, tsev)
        words = {"distortion": paper_name(DISTORTIONS[d]), "severity": SEVERITY_WORD[s]}
        return Answer(json.dumps(words))

    out = tmp_path / "out"
    with ChatServer(script) as server:
        result = eval_mllm(bench, "m", server.url, out, prompt_type="region", runs=1, quiet=True)
    assert len(server.received) == 3 * 2 * 2  # one request per region and image
    assert all("max_tokens" not in body for body in server.received)
    preds = predictions(out)
    for n, line in enumerate(preds):
        for i, entry in enumerate(line["regions"]):
            ad, asev, td, tsev, _ = LABELS[n][i]
            target = (td, tsev)
            anchor = (ad, None) if (n, i) == (1, 1) else (ad, asev)  # "x" is no severity
            got = entry["pred"]
            assert (got["anchor_distortion"], got["anchor_severity"]) == anchor
            assert (got["target_distortion"], got["target_severity"]) == target
    assert result["runs"][0]["failures"]["missed_regions"] == 1
    assert "per region and image" in result["protocol"]["requests"]


def test_protocol_recorded_in_every_result_file(bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    answer = json.dumps({"regions": [schema_entry(0, 0)]})
    with ChatServer(lambda body: Answer(answer)) as server:
        result = eval_mllm(bench, "vlm", server.url, out, limit=1, quiet=True, temperature=0.0,
                           max_tokens_field="max_completion_tokens")  # fmt: skip
        assert [b["seed"] for b in server.received] == [0, 1, 2]  # three runs by default
        assert all(b["max_completion_tokens"] == 8192 for b in server.received)
    assert len(result["runs"]) == 3 and "std" in result["summary"]["comparison.acc"]
    bundled = resources.files("pandaset_build.mllm") / "templates" / "paper"
    saved = json.loads((out / "results.json").read_text())
    protocol = saved["protocol"]
    assert protocol["prompts"] == "paper" and protocol["system_message"] is True
    for name in ("pair_system", "pair", "region_system", "region", "hint"):
        digest = hashlib.sha256((bundled / f"{name}.txt").read_bytes()).hexdigest()
        assert protocol["templates"][name] == {"source": f"bundled:paper/{name}", "sha256": digest}
    assert protocol["model"] == "vlm" and protocol["params"]["temperature"] == 0.0
    assert saved["run_params"][2]["seed"] == 2
    for run in range(3):
        line = json.loads((out / f"run{run}" / "predictions.jsonl").read_text())
        assert line["protocol"]["templates"] == protocol["templates"]
        assert line["protocol"]["params"]["seed"] == run
    system = (out / "rendered" / "0001_scene0.png_mixed_mixed2" / "pair_system.txt").read_text()
    assert system.startswith("You are an image quality assessor.")


def graph_for(names: list[str], values: list[tuple[str, str, str, str, str, str, str]]) -> dict:
    """A graph as the published graph_inference writes it, written out by hand."""
    r = len(names)
    objects, attributes, art = [], [], []
    for i, (name, (da, dt, sa, st, qa, qt, comparison)) in enumerate(
        zip(names, values, strict=True)
    ):
        objects += [{"id": str(i), "name": name, "image": "1"},
                    {"id": str(i + r), "name": name, "image": "2"}]  # fmt: skip
        for k, value in enumerate((da, dt, sa, st, qa, qt)):
            obj, image = (str(i), "1") if k % 2 == 0 else (str(i + r), "2")
            attributes.append({"attribute": value, "object": obj, "image": image})
        art.append({"predicate": comparison, "object": str(i), "subject": str(i + r)})
    return {"objects": objects, "attributes": attributes, "relationships": [], "art": art}


def test_hint_in_figure_5_form_for_the_kept_regions(tmp_path: Path) -> None:
    size = 448  # twice 224: torch's nearest resize keeps only even rows and columns
    masks = [np.zeros((size, size), dtype=bool) for _ in range(3)]
    masks[0][:200, :] = True
    masks[1][101, 101] = True  # one odd pixel: empty at 224 px, so PANDA drops the region
    masks[2][300:, 300:] = True
    regions = [
        region(name, [0.0, 0.0, 10.0, 10.0], LABELS[0][0], encode_mask(m))
        for name, m in zip(("sky", "bird", "grass"), masks, strict=True)
    ]
    row = pair_row(0, regions, (size, size))
    bench = write_bench(tmp_path / "b", [row], shards=1)
    pair = load_pairs(bench)[0]
    graph = graph_for(
        ["sky", "grass"],
        [("clean", "brightness", "clean", "minor", "0.9678", "0.9241", "same"),
         ("contrast_dec", "blur", "severe", "moderate", "0.1", "1.2", "significantly_worse")],
    )  # fmt: skip
    text = pair_prompt(Templates.load(), 0, pair, graph).text
    expected = (
        '1. {"anchor": {"distortion": "clean", "severity": 0, "score": 0.9678}, "target": '
        '{"distortion": "brightness", "severity": 1, "score": 0.9241}, "comparison": "same"}\n'
        '3. {"anchor": {"distortion": "contrast-decrease", "severity": 3, "score": 0.1}, '
        '"target": {"distortion": "blur", "severity": 2, "score": 1.2}, "comparison": '
        '"significantly-worse"}'
    )
    assert text.endswith(expected)
    assert "fall back to the pixels" in text
    region_text = region_prompts(Templates.load(), 0, pair, graph)[5].text  # grass, target
    assert region_text.endswith(expected.splitlines()[1][3:])
    assert "image B (target)" in region_text
    assert "Distortion Graph" not in region_prompts(Templates.load(), 0, pair, graph)[2].text
    wrong = graph_for(["sky"], [("clean", "clean", "clean", "clean", "1", "1", "same")])
    with pytest.raises(ValueError, match="1 regions, but the bench pair has 3, 2 of them kept"):
        pair_prompt(Templates.load(), 0, pair, wrong)


def test_a_graph_that_does_not_fit_stops_the_run_before_any_request(
    bench: Path, tmp_path: Path
) -> None:
    pairs = load_pairs(bench)
    hints = tmp_path / "graphs"
    hints.mkdir()
    good = graph_for(
        ["field", "bench"], [("clean", "blur", "clean", "minor", "1", "0.5", "same")] * 2
    )
    bad = graph_for(
        ["field", "tree"], [("clean", "blur", "clean", "minor", "1", "0.5", "same")] * 2
    )
    for n, pair in enumerate(pairs, 1):
        (hints / f"{n}_{pair.key}_exp.json").write_text(json.dumps(bad if n == 3 else good))
    with ChatServer(lambda body: Answer("{}")) as server:
        with pytest.raises(ValueError, match=r"scene2.png.*object 1 is 'tree'.*'bench'"):
            eval_mllm(bench, "m", server.url, tmp_path / "out", hint_dir=hints, quiet=True)
        assert server.received == []
