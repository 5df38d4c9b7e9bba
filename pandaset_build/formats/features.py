"""`datasets.Features` of the exported configurations and the bench splits."""

from __future__ import annotations

from datasets import ClassLabel, Features, Image, List, Value

from pandaset_build.config import vocab
from pandaset_build.labels.pairs import DIFFICULTIES

DISTORTION = ClassLabel(names=list(vocab.DISTORTIONS))
SEVERITY = ClassLabel(names=list(vocab.SEVERITIES))
COMPARISON = ClassLabel(names=list(vocab.COMPARISONS))
DIFFICULTY = ClassLabel(names=list(DIFFICULTIES))
BOX = List(Value("float32"), length=4)
MASK = {"size": List(Value("int32"), length=2), "counts": Value("string")}
RELATIONS = List(  # scene relations `subject predicate object` between regions (by index)
    {
        "subject": Value("int32"),
        "object": Value("int32"),
        "predicate": Value("string"),
        "predicate_id": Value("int32"),
    }
)

REFERENCES = Features(
    {
        "tag": Value("string"),
        "split": Value("string"),
        "source": Value("string"),
        "image": Image(),
        "width": Value("int32"),
        "height": Value("int32"),
        "regions": List(
            {
                "region_id": Value("int32"),
                "name": Value("string"),
                "category_id": Value("int32"),
                "isthing": Value("bool"),
                "bbox": BOX,
                "mask": MASK,
                "area": Value("int64"),
                "description": Value("string"),
                "iscrowd": Value("bool"),
            }
        ),
        "relations": RELATIONS,
    }
)

PROVENANCE = {
    "metric": Value("string"),
    "pyiqa_version": Value("string"),
    "weights": Value("string"),
    "precision": Value("string"),
    "device": Value("string"),
    "torch_version": Value("string"),
    "cuda_version": Value("string"),
    "cudnn_version": Value("string"),
    "weights_sha256": Value("string"),
    "batch_size": Value("int32"),
}

VERSIONS = Features(
    {
        "tag": Value("string"),
        "split": Value("string"),
        "version": Value("string"),
        "image": Image(),
        "image_score": Value("float64"),
        "score_provenance": PROVENANCE,
        "regions": List(
            {
                "region_id": Value("int32"),
                "distortion": DISTORTION,
                "subtype": Value("string"),
                "severity": SEVERITY,
                "level": Value("int8"),
                "params": Value("string"),
                "score": Value("float64"),
                "isp": Value("bool"),
                "isp_folder": Value("string"),
                "depth_tier": Value("string"),
                "mean_change": Value("float64"),
                "changed_share": Value("float64"),
                "attempts": Value("int16"),
                "audit": Value("string"),
                "relabelled_from": Value("string"),
            }
        ),
    }
)

PAIRS = Features(
    {
        "tag": Value("string"),
        "split": Value("string"),
        "anchor_version": Value("string"),
        "target_version": Value("string"),
        "difficulty": DIFFICULTY,
        "image_comparison": COMPARISON,
        "image_score_diff": Value("float64"),
        "regions": List(
            {
                "region_id": Value("int32"),
                "comparison": COMPARISON,
                "score_diff": Value("float64"),
            }
        ),
    }
)

BENCH = Features(
    {
        "tag": Value("string"),
        "anchor_version": Value("string"),
        "target_version": Value("string"),
        "anchor_image": Image(),
        "target_image": Image(),
        "anchor_image_score": Value("float64"),
        "target_image_score": Value("float64"),
        "image_comparison": COMPARISON,
        "regions": List(
            {
                "region_id": Value("int32"),
                "name": Value("string"),
                "description": Value("string"),
                "category_id": Value("int32"),
                "bbox": BOX,
                "mask": MASK,
                "anchor_distortion": DISTORTION,
                "anchor_severity": SEVERITY,
                "anchor_score": Value("float64"),
                "target_distortion": DISTORTION,
                "target_severity": SEVERITY,
                "target_score": Value("float64"),
                "comparison": COMPARISON,
                "iscrowd": Value("bool"),
            }
        ),
        "relations": RELATIONS,
    }
)

CONFIGS: dict[str, Features] = {"references": REFERENCES, "versions": VERSIONS, "pairs": PAIRS}

PREVIEW = Features({"difficulty": DIFFICULTY, **BENCH})

HF_CONFIGS: dict[str, Features] = {"preview": PREVIEW, **CONFIGS}
