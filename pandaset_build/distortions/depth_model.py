"""The monocular depth tier: Depth Anything V2 Small through `transformers`, once per image.

`load_depth_model(name_or_path, device)` downloads the weights from the Hugging Face Hub on first
use (cached by `huggingface_hub`, by default under ~/.cache/huggingface), or reads a local folder
holding `config.json`, the weights and `preprocessor_config.json`, or a local `model.safetensors`
of V2 Small. `estimate_depth(image,
estimator)` gives the HxW distance map D in [0, 1], 1 = far.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pandaset_build.errors import WeightsError

DEFAULT_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"

# The published Depth-Anything-V2-Small-hf configuration: a DINOv2 ViT-S/14 backbone with a DPT
# head (defaults elsewhere), and its DPT image processor.
V2_SMALL_CONFIG: dict[str, Any] = {
    "backbone_config": {
        "model_type": "dinov2",
        "hidden_size": 384,
        "num_attention_heads": 6,
        "image_size": 518,
        "out_indices": [3, 6, 9, 12],
        "reshape_hidden_states": False,
    },
    "reassemble_hidden_size": 384,
    "neck_hidden_sizes": [48, 96, 192, 384],
    "fusion_hidden_size": 64,
    "head_hidden_size": 32,
    "depth_estimation_type": "relative",
}
V2_SMALL_PROCESSOR: dict[str, Any] = {
    "do_resize": True,
    "size": {"height": 518, "width": 518},
    "keep_aspect_ratio": True,
    "ensure_multiple_of": 14,
    "resample": 3,
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
    "do_pad": False,
}


class DepthModelError(WeightsError):
    """The depth model cannot be loaded; the message names both ways to provide it."""


@dataclass(frozen=True)
class DepthEstimator:
    """A depth model (`AutoModelForDepthEstimation`), its image processor and its device."""

    model: Any
    processor: Any
    device: str


def _missing_transformers() -> DepthModelError:
    return DepthModelError(
        "depth_source 'model' needs the `transformers` package: "
        "pip install 'pandaset-build[depth]' (or pip install transformers)"
    )


def v2_small(weights: dict[str, Any] | None = None) -> DepthEstimator:
    """Depth Anything V2 Small built from its published configuration, on the CPU.

    `weights`: a state dict to load (strict); None leaves the random initial weights.
    """
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, DPTImageProcessor

    model = DepthAnythingForDepthEstimation(DepthAnythingConfig(**V2_SMALL_CONFIG))
    if weights is not None:
        model.load_state_dict(weights, strict=True)
    return DepthEstimator(model.eval(), DPTImageProcessor(**V2_SMALL_PROCESSOR), "cpu")


def _how_to_provide(where: str, err: Exception) -> DepthModelError:
    return DepthModelError(
        f"cannot load the depth model from {where}: {err}. Either let it download once (needs "
        f"network access to huggingface.co; it is then cached in the Hugging Face cache), or "
        f"set the recipe's haze.depth_model to a local copy: a folder with config.json, the "
        f"weights and preprocessor_config.json (`huggingface-cli download {DEFAULT_MODEL} "
        f"--local-dir DIR`), or its model.safetensors file"
    )


@lru_cache(maxsize=4)
def load_depth_model(name_or_path: str = DEFAULT_MODEL, device: str = "cpu") -> DepthEstimator:
    """A local weights file (V2 Small), a local model folder, or a Hub id (downloaded once)."""
    try:
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation
    except ImportError as err:
        raise _missing_transformers() from err
    local = Path(name_or_path).expanduser()
    try:
        if local.is_file():
            from safetensors.torch import load_file

            estimator = v2_small(load_file(str(local)))
            return DepthEstimator(estimator.model.to(device), estimator.processor, device)
        source = str(local) if local.is_dir() else name_or_path
        processor = AutoImageProcessor.from_pretrained(source, local_files_only=local.is_dir())
        model = AutoModelForDepthEstimation.from_pretrained(source, local_files_only=local.is_dir())
    except (OSError, ValueError, RuntimeError) as err:
        where = f"the local path {local}" if local.exists() else f"the Hub id {name_or_path!r}"
        raise _how_to_provide(where, err) from err
    return DepthEstimator(model.to(device).eval(), processor, device)


def estimate_depth(image: np.ndarray, estimator: DepthEstimator) -> np.ndarray:
    """HxW D in [0, 1] (1 = far): the model's relative inverse depth, bicubic to the frame,
    min-max normalised and flipped (the model's output is bright = near)."""
    import torch

    height, width = image.shape[:2]
    inputs = estimator.processor(images=np.array(image), return_tensors="pt")
    pixels = inputs["pixel_values"].to(estimator.device)
    with torch.inference_mode():
        predicted = estimator.model(pixel_values=pixels).predicted_depth
    resized = torch.nn.functional.interpolate(
        predicted[:, None].float(), size=(height, width), mode="bicubic", align_corners=False
    )[0, 0]
    inverse = resized.cpu().numpy().astype(np.float64)
    low, high = float(inverse.min()), float(inverse.max())
    if not high > low:
        return np.zeros((height, width))
    return 1.0 - (inverse - low) / (high - low)
