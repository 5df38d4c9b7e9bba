"""Depth tiers: which tier a record gets, the panoptic-layout prior, and the monocular model
(Depth Anything V2 Small's class with random weights, offline)."""

from __future__ import annotations

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from depth_models import random_estimator
from PIL import Image
from safetensors.torch import save_file
from transformers import pipeline
from weather_scenes import params, scene

from pandaset_build.config.recipe import default_recipe
from pandaset_build.distortions import (
    DepthModelError,
    LayoutRegion,
    depth_tier,
    estimate_depth,
    haze_distance,
    layout_distance,
    layout_regions,
    load_depth_model,
)
from pandaset_build.distortions.depth_model import DEFAULT_MODEL, V2_SMALL_CONFIG

KNOBS = params("haze/haze", 1)
FAR = KNOBS["layout"]["far"]


@pytest.mark.parametrize(
    ("source", "has_file", "tier"),
    [
        ("auto", True, "file"),
        ("auto", False, "layout"),
        ("file", True, "file"),
        ("model", False, "model"),
        ("layout", True, "layout"),
        ("cap", False, "cap"),
        ("ramp", False, "ramp"),
        ("constant", False, "constant"),
    ],
)
def test_depth_tier_names_the_source_a_plan_records(source, has_file, tier):
    path = "depth.png" if has_file else None
    assert depth_tier({**KNOBS, "depth_source": source}, path) == tier


def test_the_default_source_is_auto():
    assert default_recipe().weather.haze.depth_source == "auto"


# ------------------------------------------------------------------------- layout prior


def region(mask: np.ndarray, name: str, isthing: bool) -> LayoutRegion:
    return LayoutRegion(mask, name, isthing)


def rectangle(shape, rows, cols) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[rows, cols] = True
    return mask


def test_layout_prior_rules_on_a_drawn_layout():
    shape = (101, 80)
    ramp = 1.0 - np.arange(101) / 100
    sky = rectangle(shape, slice(0, 30), slice(None))
    building = rectangle(shape, slice(30, 50), slice(0, 40))
    road = rectangle(shape, slice(50, 101), slice(None))
    car = rectangle(shape, slice(60, 81), slice(10, 30))  # lowest row 80
    far_car = rectangle(shape, slice(52, 61), slice(50, 60))  # lowest row 60
    road &= ~(car | far_car)
    regions = [
        region(sky, "sky-other-merged", False),
        region(building, "building-other-merged", False),
        region(road, "road", False),
        region(car, "car", True),
        region(far_car, "car", True),
    ]
    distance = layout_distance(shape, regions, FAR)
    assert (distance[sky] == FAR["sky"]).all()
    assert (distance[building] == FAR["building"]).all()
    assert (distance[car] == ramp[80]).all()
    assert (distance[far_car] == ramp[60]).all()
    np.testing.assert_allclose(distance[road], np.broadcast_to(ramp[:, None], shape)[road])
    unlabelled = ~(sky | building | road | car | far_car)
    np.testing.assert_allclose(
        distance[unlabelled], np.broadcast_to(ramp[:, None], shape)[unlabelled]
    )


def test_touching_parts_of_one_category_stand_on_one_ground_point():
    shape = (60, 60)
    head = rectangle(shape, slice(10, 20), slice(20, 30))
    body = rectangle(shape, slice(20, 50), slice(15, 35))  # touches the head, lowest row 49
    apart = rectangle(shape, slice(5, 15), slice(45, 55))  # same category, not touching
    dog = rectangle(shape, slice(30, 40), slice(36, 44))  # touches the body, other category
    distance = layout_distance(
        shape,
        [
            region(head, "person", True),
            region(body, "person", True),
            region(apart, "person", True),
            region(dog, "dog", True),
        ],
        FAR,
    )
    ramp = 1.0 - np.arange(60) / 59
    assert (distance[head] == ramp[49]).all() and (distance[body] == ramp[49]).all()
    assert (distance[apart] == ramp[14]).all()
    assert (distance[dog] == ramp[39]).all()


def test_layout_prior_does_not_look_at_colour():
    s = scene("coffee")
    rows = [r.__dict__ for r in s.regions]
    knobs = {**KNOBS, "depth_source": "layout"}
    inverted = 255 - s.image
    np.testing.assert_array_equal(
        haze_distance(s.image, knobs, None, regions=rows),
        haze_distance(inverted, knobs, None, regions=rows),
    )


def test_layout_regions_read_source_record_rows_and_regions():
    s = scene("rocket")
    from_regions = layout_regions(list(s.regions))
    from_rows = layout_regions([r.__dict__ for r in s.regions])
    assert [r.name for r in from_regions] == [r.name for r in s.regions]
    for a, b, mask in zip(from_regions, from_rows, s.masks, strict=True):
        np.testing.assert_array_equal(a.mask, mask)
        np.testing.assert_array_equal(b.mask, mask)
        assert a.isthing == b.isthing


def test_demo_sky_is_far_and_the_rocket_stands_near():
    s = scene("rocket")
    distance = s.layout_depth()
    names = [r.name for r in s.regions]
    assert (distance[s.masks[names.index("sky-other-merged")]] == 1.0).all()
    rocket = s.masks[3]
    assert distance[rocket].max() < 0.1


# ------------------------------------------------------------------------ depth model


def pipeline_distance(image: np.ndarray, estimator) -> np.ndarray:
    """Independent route: transformers' depth-estimation pipeline, min-max, near = bright."""
    pipe = pipeline(
        "depth-estimation",
        model=estimator.model,
        image_processor=estimator.processor,
        device="cpu",
    )
    inverse = pipe(Image.fromarray(image))["predicted_depth"].numpy().astype(np.float64)
    return 1.0 - (inverse - inverse.min()) / (inverse.max() - inverse.min())


def test_estimate_depth_matches_the_transformers_pipeline():
    image = scene("chelsea").image
    estimator = random_estimator()
    distance = estimate_depth(image, estimator)
    assert distance.shape == image.shape[:2] and distance.dtype == np.float64
    assert distance.min() == 0.0 and distance.max() == 1.0
    np.testing.assert_allclose(distance, pipeline_distance(image, estimator), atol=1e-4)


@pytest.mark.slow
def test_the_published_v2_small_architecture_runs_with_random_weights():
    image = scene("rocket").image
    estimator = random_estimator(tiny=False)
    config = estimator.model.config
    assert type(estimator.model).__name__ == "DepthAnythingForDepthEstimation"
    assert config.backbone_config.hidden_size == V2_SMALL_CONFIG["backbone_config"]["hidden_size"]
    assert list(config.backbone_config.out_indices) == [3, 6, 9, 12]
    assert sum(p.numel() for p in estimator.model.parameters()) == pytest.approx(24.8e6, rel=0.02)
    distance = estimate_depth(image, estimator)
    np.testing.assert_allclose(distance, pipeline_distance(image, estimator), atol=1e-4)


@pytest.mark.slow
def test_a_local_folder_and_a_local_weights_file_load_the_same_model(tmp_path):
    image = scene("coffee").image
    estimator = random_estimator()
    want = estimate_depth(image, estimator)
    folder = tmp_path / "model"
    estimator.model.save_pretrained(folder)
    estimator.processor.save_pretrained(folder)
    np.testing.assert_allclose(
        estimate_depth(image, load_depth_model(str(folder))), want, atol=1e-6
    )

    small = random_estimator(tiny=False)
    weights = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in small.model.state_dict().items()}, str(weights))
    loaded = load_depth_model(str(weights))
    for name, tensor in small.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor)


def test_no_network_and_no_local_copy_names_both_ways(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    load_depth_model.cache_clear()
    with pytest.raises(DepthModelError) as caught:
        load_depth_model(DEFAULT_MODEL)
    message = str(caught.value)
    assert DEFAULT_MODEL in message
    assert "huggingface.co" in message and "download" in message
    assert "local" in message and "haze.depth_model" in message


def test_the_model_tier_is_one_estimate_of_the_whole_image():
    image = scene("astronaut").image
    estimator = random_estimator()
    knobs = {**KNOBS, "depth_source": "model"}
    np.testing.assert_array_equal(
        haze_distance(image, knobs, None, estimator=estimator), estimate_depth(image, estimator)
    )
