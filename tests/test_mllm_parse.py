"""Answer parsing: JSON extraction, label normalisation, region matching and misses."""

from __future__ import annotations

import json

import pytest

from pandaset_build.config.vocab import COMPARISON_ID, DISTORTION_ID
from pandaset_build.mllm.parse import (
    comparison_id,
    distortion_id,
    extract_json,
    parse_pair_answer,
    parse_region_answer,
    score_value,
    severity_id,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Here you go:\n```json\n{"a": [1, 2]}\n```\nThanks', {"a": [1, 2]}),
        ('The answer is {"a": {"b": "}"}} as asked.', {"a": {"b": "}"}}),
        ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}),
        ("{'a': 'x', 'b': true, 'c': null}", {"a": "x", "b": True, "c": None}),
        ('[{"index": 0}]', [{"index": 0}]),
        ('noise {not json} then {"ok": 1}', {"ok": 1}),
        ("I cannot judge these images.", None),
        ('{"a": 1', None),
        ("", None),
        (None, None),
    ],
)
def test_extract_json(text: str | None, expected: object) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("contrast-decrease", "contrast_dec"),
        ("Contrast Decrease", "contrast_dec"),
        ("contrast_dec", "contrast_dec"),
        ("decreased contrast", "contrast_dec"),
        ("Contrast increase", "contrast_inc"),
        ("saturation decrease", "saturate_dec"),
        ("Saturate-Inc", "saturate_inc"),
        ("JPEG compression", "compression"),
        ("Gaussian noise", "noise"),
        ("noise", "noise"),
        ("blurry", "blur"),
        ("Motion Blur", "blur"),
        ("pixelated", "pixelate"),
        ("over-sharpening", "oversharpen"),
        ("brightness decrease", "darken"),
        ("None", "clean"),
        ("CLEAN", "clean"),
    ],
)
def test_distortion_labels(label: str, name: str) -> None:
    assert distortion_id(label) == DISTORTION_ID[name]


@pytest.mark.parametrize("label", ["contrast", "weird", "", 3, None, ["blur"]])
def test_unknown_distortions_are_misses(label: object) -> None:
    assert distortion_id(label) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (3, 3),
        (2.0, 2),
        ("1", 1),
        ("2.0", 2),
        ("minor", 1),
        ("Moderate", 2),
        ("severe", 3),
        ("none", 0),
        ("clean", 0),
        ("3 (severe)", 3),
        ("moderate (2)", 2),
        (4, None),
        (-1, None),
        (1.5, None),
        (True, None),
        ("extreme", None),
        (None, None),
    ],
)
def test_severity_values(value: object, expected: int | None) -> None:
    assert severity_id(value) == expected


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("significantly-worse", "significantly_worse"),
        ("Significantly Better", "significantly_better"),
        ("slightly worse than the target", "slightly_worse"),
        ("significant_worse", "significantly_worse"),
        ("slight-better", "slightly_better"),
        ("Same", "same"),
        ("similar", "same"),
    ],
)
def test_comparison_labels(label: str, name: str) -> None:
    assert comparison_id(label) == COMPARISON_ID[name]


@pytest.mark.parametrize("label", ["worse", "better", "much worse", 5, -1, True, "7", None])
def test_unknown_comparisons_are_misses(label: object) -> None:
    assert comparison_id(label) is None


def test_scores() -> None:
    assert score_value(0.25) == 0.25
    assert score_value("0.5") == 0.5
    assert score_value("85%") == pytest.approx(0.85)
    assert score_value(1) == 1.0
    for bad in ("high", float("nan"), None, True, [0.3]):
        assert score_value(bad) is None


def test_pair_answer_matches_by_index_and_counts_misses() -> None:
    text = """Sure.
```json
{"regions": [
  {"index": 2, "anchor": {"distortion": "Blur", "severity": "severe", "score": 0.2},
   "target": {"distortion": "contrast-decrease", "severity": 1, "score": "0.9"},
   "comparison": "significantly-worse"},
  {"index": 0, "anchor": {"distortion": "nonsense", "severity": 7},
   "target": {"distortion": "clean", "severity": 0, "score": 1},
   "comparison": "better"},
  {"index": 0, "comparison": "same"},
  {"index": 9, "comparison": "same"},
]}
```"""
    answers = parse_pair_answer(text, 3)
    two = answers[2].fields()
    assert two == {
        "comparison": COMPARISON_ID["significantly_worse"],
        "anchor_distortion": DISTORTION_ID["blur"],
        "anchor_severity": 3,
        "anchor_score": 0.2,
        "target_distortion": DISTORTION_ID["contrast_dec"],
        "target_severity": 1,
        "target_score": 0.9,
    }
    zero = answers[0].fields()  # the first entry with index 0 wins; bad fields are misses
    assert zero == {
        "comparison": None,
        "anchor_distortion": None,
        "anchor_severity": None,
        "anchor_score": None,
        "target_distortion": DISTORTION_ID["clean"],
        "target_severity": 0,
        "target_score": 1.0,
    }
    assert all(v is None for v in answers[1].fields().values())  # absent region: all misses


def test_pair_answer_without_indices_matches_by_position() -> None:
    text = '[{"comparison": "same"}, {"comparison": "slightly_better"}]'
    assert [a.comparison for a in parse_pair_answer(text, 3)] == [0, 3, None]


def test_unparseable_pair_answer_is_all_misses() -> None:
    answers = parse_pair_answer("I am unable to help with that.", 2)
    assert len(answers) == 2
    assert all(v is None for a in answers for v in a.fields().values())


def test_region_answer() -> None:
    assert parse_region_answer('```\n{"distortion": "Haze", "severity": "minor"}\n```') == (
        DISTORTION_ID["haze"],
        1,
    )
    assert parse_region_answer('{"distortion": "fog"}') == (DISTORTION_ID["haze"], None)
    assert parse_region_answer("hazy, minor") == (None, None)


def test_comparison_numbers_of_the_papers_ranking_dict() -> None:
    assert [comparison_id(k) for k in (0, 1, 2, 3, 4, "3")] == [0, 1, 2, 3, 4, 3]


def test_paper_schema_numbered_from_one_with_a_and_b() -> None:
    text = json.dumps(
        {
            "regions": [
                {
                    "index": 2,
                    "a": {"distortion": "saturate-increase", "severity": 3, "score": 0.1},
                    "b": {"distortion": "clean", "severity": 0, "score": 0.9},
                    "comparison": "significantly-worse",
                },
                {"index": 1, "A": {"dist": "pixelate", "sev": "moderate"}, "comparison": 0},
            ]
        }
    )
    answers = parse_pair_answer(text, 2, first_index=1)
    assert answers[1].fields() == {
        "comparison": COMPARISON_ID["significantly_worse"],
        "anchor_distortion": DISTORTION_ID["saturate_inc"],
        "anchor_severity": 3,
        "anchor_score": 0.1,
        "target_distortion": DISTORTION_ID["clean"],
        "target_severity": 0,
        "target_score": 0.9,
    }
    assert answers[0].distortion["anchor"] == DISTORTION_ID["pixelate"]
    assert answers[0].severity["anchor"] == 2 and answers[0].comparison == 0
    # a 1-based prompt answered 0-based (an index 0, none equal to the count) is read as 0-based
    zero_based = text.replace('"index": 2', '"index": 1').replace(
        '"index": 1, "A"', '"index": 0, "A"'
    )
    assert parse_pair_answer(zero_based, 2, first_index=1)[1].comparison == 2


def test_figure_14_loose_form() -> None:
    text = (
        "Sure! Here are the results.\n"
        "1. A: {dist: blur, sev: minor, score: 0.78}, B: {dist: contrast-decrease, sev: severe, "
        "score: 0.31}, comparison: slightly-worse}\n"
        "2. A: {dist: clean, sev: 0, score: 1}, B: {dist: haze, sev: 2, score: .4}, "
        "comparison: same}"
    )
    answers = parse_pair_answer(text, 2, first_index=1)
    assert answers[0].fields() == {
        "comparison": COMPARISON_ID["slightly_worse"],
        "anchor_distortion": DISTORTION_ID["blur"],
        "anchor_severity": 1,
        "anchor_score": 0.78,
        "target_distortion": DISTORTION_ID["contrast_dec"],
        "target_severity": 3,
        "target_score": 0.31,
    }
    assert answers[1].fields() == {
        "comparison": 0,
        "anchor_distortion": 0,
        "anchor_severity": 0,
        "anchor_score": 1.0,
        "target_distortion": DISTORTION_ID["haze"],
        "target_severity": 2,
        "target_score": 0.4,
    }


def test_region_answer_of_figure_13_gives_the_asked_side() -> None:
    text = (
        '{"anchor": {"distortion": "pixelate", "severity": "moderate"}, '
        '"target": {"distortion": "blur", "severity": "severe"}}'
    )
    assert parse_region_answer(text, "anchor") == (DISTORTION_ID["pixelate"], 2)
    assert parse_region_answer(text, "target") == (DISTORTION_ID["blur"], 3)
