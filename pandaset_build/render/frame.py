"""A clean image with everything its versions need: masks, boxes, haze distance, ISP pixels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pandaset_build.config.recipe import Recipe
from pandaset_build.distortions import depth_tier, haze_distance
from pandaset_build.distortions.shared import Shared
from pandaset_build.errors import BadInput, MissingStageOutputs
from pandaset_build.store.images import read_rgb
from pandaset_build.store.masks import decode_mask
from pandaset_build.store.records import RegionPlan, SourceRecord

Slices = tuple[slice, slice]


@dataclass(frozen=True)
class Frame:
    """One clean image with everything a version needs: region masks, boxes, depth, ISP pixels
    (the ISP images the plans use, by folder).

    `shared` memoises the image's whole-frame work for all its versions: renderings of
    deterministic sub-types by (sub-type, parameters), zoom layers, glass's first Gaussian.
    """

    image: np.ndarray
    masks: Sequence[np.ndarray]
    boxes: Sequence[Sequence[float]]
    stat_domain: str = "mask"
    distance: np.ndarray | None = None
    isp: Mapping[str, np.ndarray] = field(default_factory=dict)
    shared: Shared = field(default_factory=Shared, compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    @property
    def everything(self) -> Slices:
        return slice(0, self.shape[0]), slice(0, self.shape[1])


def load_frame(
    recipe: Recipe,
    source: SourceRecord,
    plans: Sequence[RegionPlan],
    depth_map: Path | None = None,
) -> Frame:
    """Decode the clean image, masks, and (only when a plan needs them) depth and ISP pixels.

    ISP images: every folder of a family the plans take ISP pixels for, so that the audit's
    redraw can pick another one. Haze distance: by the record's depth tier; the layout prior
    reads the record's regions, the model tier the `depth` stage's map (`depth_map`)."""
    image = read_rgb(source.image_path)
    if image.shape[:2] != (source.height, source.width):
        raise BadInput(source.image_path, "image size changed since ingest")
    paths = {isp_image["folder"]: isp_image["path"] for isp_image in source.isp_images}
    families = {p.distortion for p in plans if p.isp}
    isp = {}
    for folder in sorted(i["folder"] for i in source.isp_images if i["family"] in families):
        isp[folder] = read_rgb(paths[folder])
        if isp[folder].shape != image.shape:
            raise BadInput(paths[folder], "ISP image size changed since ingest")
    distance = None
    if any(p.distortion == "haze" for p in plans):
        knobs = recipe.distortion_params("haze/haze", 1)
        if depth_tier(knobs, source.depth_path) == "model":
            distance = read_depth_map(depth_map, image.shape[:2])
        else:
            distance = haze_distance(image, knobs, source.depth_path, regions=source.regions)
    return Frame(
        image=image,
        masks=[decode_mask(region.mask) for region in source.regions],
        boxes=[region.bbox for region in source.regions],
        stat_domain=recipe.stat_domain,
        distance=distance,
        isp=isp,
    )


def read_depth_map(path: Path | None, shape: tuple[int, int]) -> np.ndarray:
    """The `depth` stage's distance map of an image (model tier), as float64."""
    if path is None or not path.is_file():
        raise MissingStageOutputs(
            f"{path}: no depth map (haze.depth_source is `model`): run `depth` first "
            "(it resumes), then `distort`"
        )
    distance = np.load(path, allow_pickle=False)
    if distance.shape != shape:
        raise BadInput(path, f"depth map is {distance.shape}, the image {shape}: rerun `depth`")
    return distance.astype(np.float64)
