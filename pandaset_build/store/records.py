"""Typed records of the build's tables: source record, region, relation, plan row, score row.

Each has `from_row` (a parquet row as pyarrow's `to_pylist` gives it) and `to_row`; every
consumer works with these, not with dicts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np

from pandaset_build.store.masks import Rle, box_and_area, encode_mask

Row = dict[str, Any]  # one parquet row, as pyarrow reads and writes it


class IspFlags(TypedDict):
    """Whether one region shows its image's ISP noise and blur (Seagull-style sources)."""

    noise: bool
    blur: bool


class IspImage(TypedDict):
    """One ISP-distorted image of a reference: its family (noise, blur), the folder it comes
    from (`Blur_3`), its path, and per region (by index) its measured change from the
    reference: the root-mean-square RGB difference over the region's pixels (0..255)."""

    family: str
    folder: str
    path: str
    change: list[float]


@dataclass
class Region:
    """One region of an image; its index in `SourceRecord.regions` is its id everywhere."""

    region_id: int
    name: str
    category_id: int
    isthing: bool
    bbox: list[float]  # COCO xywh in pixels
    mask: Rle
    area: int
    description: str = ""
    iscrowd: bool = False  # COCO's crowd flag: the region covers a group of objects

    @classmethod
    def from_row(cls, row: Row) -> Region:
        return cls(
            **{
                **row,
                "description": row.get("description") or "",
                "iscrowd": bool(row.get("iscrowd")),
            }
        )


@dataclass
class Relation:
    """A scene relation `subject predicate object` between two regions (by index)."""

    subject: int
    object: int
    predicate: str
    predicate_id: int = -1

    @classmethod
    def from_row(cls, row: Row) -> Relation:
        return cls(**row)


@dataclass
class SourceRecord:
    """One ingested image: the DESIGN's source record contract."""

    tag: str
    source: str
    width: int
    height: int
    image_path: str
    regions: list[Region]
    relations: list[Relation] = field(default_factory=list)
    depth_path: str | None = None
    isp_path: str | None = None
    isp_degradations: list[str] = field(default_factory=list)
    isp_flags: list[IspFlags] = field(default_factory=list)
    split: str = ""
    isp_images: list[IspImage] = field(default_factory=list)
    overlap_share: float = 0.0  # share of the source's mask pixels given to a smaller mask
    dropped_regions: int = 0  # masks left empty by the overlap rule (or empty as given)
    original_path: str | None = None  # the source file when image_path is the build's copy
    bit_depth: int = 8  # bits per channel of the source file
    colour_mode: str = ""  # the source file's mode (Pillow's name: RGB, L, P, RGBA, I;16...)
    orientation: int = 1  # the EXIF orientation applied at ingest (1: none)

    @classmethod
    def from_row(cls, row: Row) -> SourceRecord:
        return cls(
            **{
                **row,
                "regions": [Region.from_row(r) for r in row["regions"]],
                "relations": [Relation.from_row(r) for r in row.get("relations") or []],
                "isp_degradations": list(row.get("isp_degradations") or []),
                "isp_flags": list(row.get("isp_flags") or []),
                "isp_images": list(row.get("isp_images") or []),
                "overlap_share": float(row.get("overlap_share") or 0.0),
                "dropped_regions": int(row.get("dropped_regions") or 0),
                "bit_depth": row.get("bit_depth") or 8,
                "colour_mode": row.get("colour_mode") or "",
                "orientation": row.get("orientation") or 1,
            }
        )

    def to_row(self) -> Row:
        return asdict(self)


def region_from_mask(
    region_id: int,
    mask: np.ndarray,
    *,
    name: str,
    category_id: int,
    isthing: bool,
    description: str = "",
    iscrowd: bool = False,
) -> Region:
    """A region whose box and area are computed from its mask (pycocotools, on the RLE)."""
    rle = encode_mask(mask)
    bbox, area = box_and_area(rle)
    return Region(
        region_id=region_id,
        name=name,
        category_id=int(category_id),
        isthing=bool(isthing),
        bbox=bbox,
        mask=rle,
        area=area,
        description=description,
        iscrowd=bool(iscrowd),
    )


# The audit's outcomes: visible at the first draw, visible after a redraw, made clean in pixels
# and labels, kept under the minimum (flagged).
AUDIT_OUTCOMES: tuple[str, ...] = ("visible", "redrawn", "relabelled", "kept")


@dataclass(frozen=True)
class RegionPlan:
    """What one region of one version becomes (a plan row); `key` is empty for a clean region."""

    tag: str
    version: str
    region_id: int
    distortion: str
    subtype: str
    severity: str
    level: int
    params: str  # JSON of the resolved parameters
    seed: int
    isp: bool
    isp_folder: str = ""  # the ISP image's folder (`Blur_3`) whose pixels the region keeps
    depth_tier: str = ""  # haze: the depth tier its distance came from (file, model, layout...)
    # The visibility audit, measured on the written version against the clean image:
    mean_change: float = 0.0  # mean |version - clean| over the region's pixels and channels
    changed_share: float = 0.0  # share of the region's pixels where any channel changed
    attempts: int = 0  # draws the audit made (1: the first was visible; 0: a clean plan)
    audit: str = ""  # AUDIT_OUTCOMES: visible, redrawn, relabelled, kept; "" for a clean plan
    relabelled_from: str = ""  # a relabelled region's last draw: family/subtype/severity

    @property
    def key(self) -> str:
        return f"{self.distortion}/{self.subtype}" if self.subtype else ""

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.params)

    @classmethod
    def from_row(cls, row: Row) -> RegionPlan:
        return cls(
            **{
                **row,
                "isp_folder": row.get("isp_folder") or "",
                "depth_tier": row.get("depth_tier") or "",
                "mean_change": float(row.get("mean_change") or 0.0),
                "changed_share": float(row.get("changed_share") or 0.0),
                "attempts": int(row.get("attempts") or 0),
                "audit": row.get("audit") or "",
                "relabelled_from": row.get("relabelled_from") or "",
            }
        )

    @property
    def degraded(self) -> bool:
        """Whether the region's pixels are distorted (a sub-type or ISP pixels)."""
        return bool(self.key) or self.isp

    def to_row(self) -> Row:
        return asdict(self)


@dataclass(frozen=True)
class ScoreProvenance:
    """How a score was computed: the metric, its weights, the arithmetic and the machine.

    `precision`: fp32 (TF32 off), tf32 or bf16 (autocast); `device`: the device's name
    (`cpu: <model>`, or the GPU's name); `cuda_version` / `cudnn_version` are empty on the CPU;
    `weights_sha256`: the SHA-256 of the metric network's state dict (names and tensor bytes in
    name order); `batch_size`: crops per forward pass.
    """

    metric: str
    pyiqa_version: str
    weights: str
    precision: str = ""
    device: str = ""
    torch_version: str = ""
    cuda_version: str = ""
    cudnn_version: str = ""
    weights_sha256: str = ""
    batch_size: int = 0

    @classmethod
    def from_row(cls, row: Row) -> ScoreProvenance:
        """Read from a score row; rows of builds scored before provenance get empty fields."""
        return cls(
            **{
                name: (row.get(name) or (0 if name == "batch_size" else ""))
                for name in cls.__dataclass_fields__
            }
        )

    def describe(self) -> str:
        """One line: metric, precision, device, versions, weights hash, batch size."""
        cuda = ""
        if self.cuda_version:
            cuda = f", CUDA {self.cuda_version}, cuDNN {self.cudnn_version}"
        return (
            f"{self.metric} at {self.precision} on {self.device} (torch {self.torch_version}"
            f"{cuda}, pyiqa {self.pyiqa_version}); weights {self.weights}, sha256 "
            f"{self.weights_sha256[:12]}; batch {self.batch_size} crops"
        )


@dataclass(frozen=True)
class ScoreRow:
    """The score of one region (or, with `region_id` None, the whole image) of one version."""

    tag: str
    split: str
    version: str
    region_id: int | None
    score: float
    provenance: ScoreProvenance

    @classmethod
    def from_row(cls, row: Row) -> ScoreRow:
        return cls(
            tag=row["tag"],
            split=row["split"],
            version=row["version"],
            region_id=row["region_id"],
            score=row["score"],
            provenance=ScoreProvenance.from_row(row),
        )

    def to_row(self) -> Row:
        row = asdict(self)
        return {**row, **row.pop("provenance")}
