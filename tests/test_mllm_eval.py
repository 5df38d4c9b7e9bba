"""`eval_mllm` end to end against a scripted chat-completions server started by the test."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mllm_data import Answer, ChatServer, bench_rows, entry, image_hashes, request_text, write_bench
from PIL import Image
from scipy import stats
from sklearn import metrics as skm

from pandaset_build.config.vocab import DISTORTIONS
from pandaset_build.mllm import run as run_module
from pandaset_build.mllm.run import eval_mllm
from pandaset_build.mllm.views import decode_data_url, region_views
from pandaset_build.pairsets import load_pairs

MISS = -1
FAST = {"timeout": 0.3, "max_retries": 2, "backoff": 0.01, "quiet": True, "prompts": "extended"}
ONE = {**FAST, "runs": 1}  # the tests below that count requests assume one run


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    return write_bench(tmp_path / "bench" / "hard", bench_rows(6, regions=3))


def pair_answers(pairs: list[Any]) -> dict[int, Any]:
    """What the server does per pair and attempt (1-based); see `expected` for the parse."""
    p = pairs
    wrong = entry(p[1], 1, comparison="same", anchor__distortion="noise", target__severity=0)
    return {
        # correct, in a fence with prose, labels as a model may spell them
        0: lambda n: Answer(
            "Here is my assessment:\n```json\n"
            + json.dumps(
                {
                    "regions": [
                        entry(
                            p[0],
                            i,
                            comparison=entry(p[0], i)["comparison"].replace("_", "-").title(),
                            target__severity=str(p[0].regions[i].target.severity),
                        )
                        for i in range(3)
                    ]
                }
            )
            + "\n```"
        ),
        # region 0 right, region 1 wrong, region 2 absent; trailing commas
        1: lambda n: Answer(
            json.dumps({"regions": [entry(p[1], 0), wrong]}).replace("}]}", "},],}")
        ),
        # no JSON at all
        2: lambda n: Answer("I am sorry, I cannot assess image quality."),
        # 429 first, then a correct answer in reverse order, bad fields in region 0
        3: lambda n: (
            Answer(status=429, headers={"Retry-After": "0"})
            if n == 1
            else Answer(
                json.dumps(
                    [
                        entry(p[3], 2),
                        entry(p[3], 1),
                        entry(p[3], 0, anchor__distortion="wobble", target__score="high"),
                    ]
                )
            )
        ),
        # slower than the timeout once, then correct
        4: lambda n: Answer(
            json.dumps({"regions": [entry(p[4], i) for i in range(3)]}),
            delay=1.0 if n == 1 else 0.0,
        ),
        # always a server error: reported, every region a miss
        5: lambda n: Answer(status=500),
    }


def expected(pairs: list[Any]) -> dict[str, list[Any]]:
    """Predictions the script implies, written out independently of the parser."""
    names = [
        "comparison",
        "anchor_distortion",
        "target_distortion",
        "anchor_severity",
        "target_severity",
        "anchor_score",
        "target_score",
    ]
    rows: dict[str, list[Any]] = {k: [] for k in names}
    for n, pair in enumerate(pairs):
        for i, r in enumerate(pair.regions):
            ok = n in (0, 3, 4) or (n == 1 and i == 0)
            pred = {
                "comparison": r.comparison,
                "anchor_distortion": r.anchor.distortion,
                "target_distortion": r.target.distortion,
                "anchor_severity": r.anchor.severity,
                "target_severity": r.target.severity,
                "anchor_score": round(r.anchor.score * 0.8 + 0.1, 4),
                "target_score": round(r.target.score * 0.5 + 0.2, 4),
            }
            if not ok:
                pred = {k: MISS if "score" not in k else None for k in names}
            if n == 1 and i == 1:
                pred = {
                    "comparison": 0,
                    "anchor_distortion": DISTORTIONS.index("noise"),
                    "target_distortion": r.target.distortion,
                    "anchor_severity": r.anchor.severity,
                    "target_severity": 0,
                    "anchor_score": round(r.anchor.score * 0.8 + 0.1, 4),
                    "target_score": round(r.target.score * 0.5 + 0.2, 4),
                }
            if n == 3 and i == 0:
                pred["anchor_distortion"], pred["target_score"] = MISS, None
            for k in names:
                rows[k].append(pred[k])
    return rows


def sk_report(true: list[int], pred: list[int]) -> dict[str, float]:
    """sklearn metrics; misses are wrong and not a label of the macro average."""
    labels = sorted((set(true) | set(pred)) - {MISS})
    kw = {"labels": labels, "average": "macro", "zero_division": 0}
    return {
        "acc": skm.accuracy_score(true, pred),
        "precision": skm.precision_score(true, pred, **kw),
        "recall": skm.recall_score(true, pred, **kw),
        "f1": skm.f1_score(true, pred, **kw),
    }


class Script:
    """Routes a request to its pair by the anchor image's hash; counts requests per pair."""

    def __init__(self, pairs: list[Any]) -> None:
        self.by_image = {hashlib.sha256(p.anchor_image).hexdigest(): n for n, p in enumerate(pairs)}
        self.answers = pair_answers(pairs)
        self.count: Counter[int] = Counter()
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Answer:
        n = self.by_image[image_hashes(body)[0]]
        with self.lock:
            self.count[n] += 1
            attempt = self.count[n]
        return self.answers[n](attempt)


def test_pair_prompts_payloads_metrics_and_failures(bench: Path, tmp_path: Path) -> None:
    pairs = load_pairs(bench)
    script = Script(pairs)
    with ChatServer(script) as server:
        result = eval_mllm(bench, "test-model", server.url, tmp_path / "out", concurrency=3, **ONE)

    # payloads: both images as PNG data URLs, every region's name and box, the model and seed
    for body in server.received:
        n = script.by_image[image_hashes(body)[0]]
        urls = [
            p["image_url"]["url"]
            for p in body["messages"][0]["content"]
            if p["type"] == "image_url"
        ]
        assert all(u.startswith("data:image/png;base64,") for u in urls)
        assert [decode_data_url(u) for u in urls] == [pairs[n].anchor_image, pairs[n].target_image]
        text = request_text(body)
        for r in pairs[n].regions:
            x, y, w, h = (round(v) for v in r.bbox)
            assert f"{r.index}: {r.name}, box [{x}, {y}, {w}, {h}]" in text
        assert all(name in text for name in DISTORTIONS)
        assert "significantly_better" in text and '"comparison"' in text
        assert body["model"] == "test-model" and body["seed"] == 0
    assert script.count == {0: 1, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3}

    run = result["runs"][0]
    want = expected(pairs)
    truth = {
        "comparison": [r.comparison for p in pairs for r in p.regions],
        **{
            f"{s}_{k}": [getattr(getattr(r, s), k) for p in pairs for r in p.regions]
            for s in ("anchor", "target")
            for k in ("distortion", "severity", "score")
        },
    }
    assert run["comparison"] == pytest.approx(sk_report(truth["comparison"], want["comparison"]))
    for task in ("distortion", "severity"):
        sides = {
            s: sk_report(truth[f"{s}_{task}"], want[f"{s}_{task}"]) for s in ("anchor", "target")
        }
        for s in ("anchor", "target"):
            assert run[task][s] == pytest.approx(sides[s])
        assert run[task]["avg"] == pytest.approx(
            {k: (sides["anchor"][k] + sides["target"][k]) / 2 for k in sides["anchor"]}
        )
    for s in ("anchor", "target"):
        kept = [
            (t, p)
            for t, p in zip(truth[f"{s}_score"], want[f"{s}_score"], strict=True)
            if p is not None
        ]
        t, p = np.array(kept).T
        assert run["score"][s]["srcc"] == pytest.approx(stats.spearmanr(p, t).statistic)
        assert run["score"][s]["plcc"] == pytest.approx(stats.pearsonr(p, t).statistic)
        assert run["score"][s]["n"] == len(kept)

    failures = run["failures"]
    # regions with a miss: pair 1 region 2, pair 2 (3), pair 3 region 0, pair 5 (3)
    assert failures["missed_regions"] == 8
    assert failures["parse_failure_rate"] == pytest.approx(8 / 18)
    assert failures["field_misses"]["comparison"] == 7
    assert failures["field_misses"]["anchor_distortion"] == 8
    assert failures["field_misses"]["target_score"] == 8
    assert failures["unparseable_answers"] == 1
    assert failures["failed_requests"] == 1
    assert failures["errors"] == {"HTTP 500 after 3 attempts": 1}
    assert failures["retries"] == {"HTTP 429": 1, "timeout": 1, "HTTP 500": 2}
    assert failures["requests"] == 6
    assert failures["tokens_per_pair"]["total_tokens"] == pytest.approx(120 * 5 / 6)

    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["summary"]["comparison.acc"]["mean"] == pytest.approx(run["comparison"]["acc"])
    lines = (tmp_path / "out" / "run0" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 6
    assert (tmp_path / "out" / "rendered" / f"0001_{pairs[0].key}" / "pair.txt").exists()


def test_killed_run_resumes_from_cache(
    bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = load_pairs(bench)
    script = Script(pairs)
    out = tmp_path / "out"
    with ChatServer(script) as server:
        eval_mllm(bench, "m", server.url, out, limit=2, **ONE)
        assert script.count == {0: 1, 1: 1}

        calls = Counter()
        real = run_module.apply_reply

        def crash(*args: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt
            real(*args)

        monkeypatch.setattr(run_module, "apply_reply", crash)
        with pytest.raises(KeyboardInterrupt):
            eval_mllm(bench, "m", server.url, out, concurrency=1, **ONE)
        monkeypatch.setattr(run_module, "apply_reply", real)
        before = dict(script.count)
        assert before[0] == 1 and before[1] == 1  # cached by the limited run
        result = eval_mllm(bench, "m", server.url, out, concurrency=2, **ONE)
    assert before.get(5, 0) == 0  # the crash came before the last pair was sent
    # answered pairs were sent exactly as often as in one uninterrupted run (retries included)
    assert {n: script.count[n] for n in range(5)} == {0: 1, 1: 1, 2: 1, 3: 2, 4: 2}
    assert script.count[5] == 3  # a failure is not cached: the rerun tried it again
    assert result["runs"][0]["failures"]["requests"] == 6
    assert result["sent_requests"][0] == sum(script.count.values()) - sum(before.values())


def test_runs_mean_std_and_namespaces(bench: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pairs = load_pairs(bench, limit=3)

    def script(body: dict[str, Any]) -> Answer:
        n = [hashlib.sha256(p.anchor_image).hexdigest() for p in pairs].index(image_hashes(body)[0])
        flip = rng.uniform() < 0.5
        entries = [
            entry(pairs[n], i, comparison="same" if flip else entry(pairs[n], i)["comparison"])
            for i in range(3)
        ]
        return Answer(json.dumps({"regions": entries}))

    with ChatServer(script) as server:
        result = eval_mllm(bench, "m", server.url, tmp_path / "out", runs=3, limit=3, **FAST)
        assert len(server.received) == 9  # each run is its own cache namespace
        assert sorted(b["seed"] for b in server.received) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        again = eval_mllm(bench, "m", server.url, tmp_path / "out", runs=3, limit=3, **FAST)
        assert len(server.received) == 9
    accs = [r["comparison"]["acc"] for r in result["runs"]]
    summary = result["summary"]["comparison.acc"]
    assert summary["mean"] == pytest.approx(np.mean(accs))
    assert summary["std"] == pytest.approx(np.std(accs, ddof=1))
    assert again["summary"] == result["summary"]


def test_region_prompts(bench: Path, tmp_path: Path) -> None:
    pairs = load_pairs(bench, limit=2)
    views = {}
    for n, pair in enumerate(pairs):
        for r in pair.regions:
            for side in ("anchor", "target"):
                crop, _ = region_views(pair.image(side), r.bbox, r.mask)
                views[hashlib.sha256(crop).hexdigest()] = (n, r.index, side)

    def script(body: dict[str, Any]) -> Answer:
        n, i, side = views[image_hashes(body)[0]]
        r = getattr(pairs[n].regions[i], side)
        if (n, i, side) == (1, 2, "target"):
            return Answer("no idea")
        return Answer(
            json.dumps({"distortion": DISTORTIONS[r.distortion].upper(), "severity": r.severity})
        )

    with ChatServer(script) as server:
        result = eval_mllm(
            bench, "m", server.url, tmp_path / "out", prompt_type="region", limit=2, **ONE
        )
    assert len(server.received) == 2 * 3 * 2
    body = server.received[0]
    crop, context = (
        Image.open(io.BytesIO(decode_data_url(p["image_url"]["url"])))
        for p in body["messages"][0]["content"][1:]
    )
    assert crop.size == (8, 6) and context.size == (24, 16)
    run = result["runs"][0]
    assert run["comparison"] is None and run["score"] is None
    assert run["distortion"]["anchor"]["acc"] == 1.0
    assert run["distortion"]["target"]["acc"] == pytest.approx(5 / 6)
    assert run["failures"]["missed_regions"] == 1
    assert run["failures"]["unparseable_answers"] == 1
    folder = tmp_path / "out" / "rendered" / f"0002_{pairs[1].key}"
    assert (folder / "region002_target_context.png").exists()
    assert (folder / "region002_target_crop.png").exists()
    assert '"thing2"' in (folder / "region002_target.txt").read_text()


def test_hints_and_template_override(bench: Path, tmp_path: Path) -> None:
    pairs = load_pairs(bench, limit=2)
    hints = tmp_path / "graphs"
    hints.mkdir()
    graph = {
        "objects": [{"id": "0", "name": "thing0", "image": "1"}],
        "attributes": [],
        "art": [],
        "relationships": [],
    }
    for n, p in enumerate(pairs, 1):
        (hints / f"{n}_{p.key}_exp.json").write_text(json.dumps(graph))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "pair.txt").write_text("Custom: $count regions\n$regions\n$hint")
    with ChatServer(lambda body: Answer("{}")) as server:
        eval_mllm(
            bench,
            "m",
            server.url,
            tmp_path / "out",
            hint_dir=hints,
            templates=templates,
            limit=2,
            **ONE,
        )
        text = request_text(server.received[0])
        assert text.startswith("Custom: 3 regions\n0: thing0, box")
        assert json.dumps(graph) in text and "trust the pixels" in text
        with pytest.raises(FileNotFoundError, match="no graph"):
            eval_mllm(bench, "m", server.url, tmp_path / "out2", hint_dir=hints, limit=3, **ONE)


def test_printed_row(bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = load_pairs(bench, limit=2)
    answer = json.dumps({"regions": [entry(p, i) for p in pairs[:1] for i in range(3)]})
    with ChatServer(lambda body: Answer(answer)) as server:
        options = {**FAST, "quiet": False}
        eval_mllm(bench, "tiny-vlm", server.url, tmp_path / "out", runs=2, limit=2, **options)
    printed = capsys.readouterr().out
    assert "Model | Cmp A P R F1 | Dist(Avg) A P R F1 | Sev(Avg) A P R F1 | SRCC PLCC" in printed
    row = next(line for line in printed.splitlines() if line.startswith("tiny-vlm |"))
    assert row.count("±") == 14 and row.count("|") == 4
    assert "tokens and" in printed and "Distortion (Avg)" in printed
    lines = (tmp_path / "out" / "run1" / "predictions.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["answers"] == {"pair": answer}
