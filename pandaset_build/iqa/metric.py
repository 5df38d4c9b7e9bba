"""pyiqa full-reference metrics: loading (weights, devices), orientation, reference reuse."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pandaset_build.errors import MetricError, WeightsError
from pandaset_build.store.fingerprints import file_sha256


def to_tensor(images: list[np.ndarray], device: str) -> torch.Tensor:
    """(N, 3, H, W) float32 in [0, 1] from a list of same-shape RGB uint8 arrays."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return batch.to(device)


def resolve_device(device: str) -> str:
    """The torch device; a CUDA device on a machine without one is an error, never a CPU run."""
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MetricError(f"--device {device}: no CUDA GPU is visible (use --device cpu)")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise MetricError(f"--device {device}: only {torch.cuda.device_count()} GPUs visible")
    elif device != "cpu":
        raise MetricError(f"--device {device}: expected cpu, cuda or cuda:N")
    return device


class ReferenceReuse(torch.nn.Module):
    """Wraps a feature extractor so identical images in a batch are computed once."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        flat = images.reshape(images.shape[0], -1)
        unique, inverse = torch.unique(flat, dim=0, return_inverse=True)
        if unique.shape[0] == images.shape[0]:
            return self.inner(images)
        features = self.inner(unique.reshape(-1, *images.shape[1:]))
        return [f[inverse] for f in features]


@dataclass
class Metric:
    """A pyiqa full-reference metric oriented so that higher is better, with its identity."""

    name: str
    model: torch.nn.Module
    device: str
    lower_better: bool
    weights: str
    pyiqa_version: str

    @torch.no_grad()
    def __call__(self, distorted: list[np.ndarray], reference: list[np.ndarray]) -> np.ndarray:
        values = self.model(to_tensor(distorted, self.device), to_tensor(reference, self.device))
        values = values.reshape(len(distorted)).double().cpu().numpy()
        return -values if self.lower_better else values


LEARNED = ("topiq", "lpips", "dists", "ahiq", "ckdn", "pieapp", "cknn")
WEIGHTS_SOURCE = (
    "pyiqa downloads them where huggingface.co is reachable and caches them in "
    "$TORCH_HOME/hub/pyiqa (for topiq_fr: cfanet_fr_kadid_res50-2c4cc61d.pth); pass that file"
)


def _from_file(name: str, device: str, path: Path, learned: bool) -> torch.nn.Module:
    """The metric built empty with the weights of `path` loaded strictly; each way a file can
    be wrong is one sentence naming it, what was expected and where to get it."""
    if not learned:
        raise WeightsError(
            f"--weights {path}: --metric {name} has no weights (it is computed, not learned): "
            "drop --weights, or choose a learned metric such as topiq_fr"
        )
    if not path.is_file():
        raise WeightsError(f"--weights {path}: no such file; {WEIGHTS_SOURCE}")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as err:  # torch raises pickle, zip and value errors alike for a bad file
        raise WeightsError(
            f"--weights {path}: not a PyTorch checkpoint ({type(err).__name__}); expected the "
            f"{name} weights file of pyiqa: {WEIGHTS_SOURCE}"
        ) from None
    params = state.get("params") if isinstance(state, dict) else None
    if not isinstance(params, dict):
        raise WeightsError(
            f"--weights {path}: a checkpoint without a 'params' state dict, not pyiqa's {name} "
            f"weights: {WEIGHTS_SOURCE}"
        )
    model = pyiqa_metric(name, device)
    try:
        model.net.load_state_dict(params, strict=True)
    except RuntimeError as err:
        missing, unexpected = state_dict_mismatch(model.net, params)
        raise WeightsError(
            f"--weights {path}: the checkpoint of another model, not of {name} "
            f"({missing} of its parameters missing, {unexpected} unexpected"
            f"{'' if missing or unexpected else ', shapes differ'}): {WEIGHTS_SOURCE}"
        ) from err
    return model


def state_dict_mismatch(net: torch.nn.Module, params: dict[str, object]) -> tuple[int, int]:
    """How many of the model's keys the state dict lacks, and how many it has in excess."""
    own = set(net.state_dict())
    return len(own - set(params)), len(set(params) - own)


def pyiqa_metric(name: str, device: str) -> torch.nn.Module:
    """pyiqa's metric built without downloading anything."""
    import pyiqa

    return pyiqa.create_metric(name, device=device, pretrained=False, backbone_pretrain=False)


def load_metric(
    name: str, device: str = "cpu", weights: str | None = None, random_weights: bool = False
) -> Metric:
    """pyiqa's metric: a local weights file, pyiqa's download, or random weights (tests only)."""
    import pyiqa

    device = resolve_device(device)
    if name not in pyiqa.list_models(metric_mode="FR"):
        raise MetricError(f"--metric {name}: not a pyiqa full-reference metric")
    learned = name.startswith(LEARNED)
    if weights is not None:
        model = _from_file(name, device, Path(weights), learned)
        identity = f"sha256:{file_sha256(weights)}"
    elif random_weights:
        torch.manual_seed(0)
        model = pyiqa_metric(name, device)
        identity = "random (testing only)"
    elif learned:
        try:
            model = pyiqa.create_metric(name, device=device)
        except Exception as err:
            raise MetricError(
                f"cannot load the {name} weights: pyiqa's download failed ({type(err).__name__}: "
                f"{err}). Either run where huggingface.co is reachable (pyiqa downloads and caches "
                f"the weights in {os.environ.get('TORCH_HOME', '~/.cache/torch')}/hub/pyiqa), or "
                "pass a local file with --weights FILE (for topiq_fr: "
                "cfanet_fr_kadid_res50-2c4cc61d.pth)"
            ) from None
        identity = f"pyiqa-default:{name}"
    else:
        model = pyiqa.create_metric(name, device=device)
        identity = "none"
    net = getattr(model, "net", None)
    if net is not None and isinstance(getattr(net, "semantic_model", None), torch.nn.Module):
        net.semantic_model = ReferenceReuse(net.semantic_model)
    model.eval()
    return Metric(name, model, device, bool(model.lower_better), identity, pyiqa.__version__)
