"""pyiqa full-reference metrics: loading (weights, devices), orientation, reference reuse,
precision, and the provenance recorded with every score."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pandaset_build.errors import MetricError, WeightsError
from pandaset_build.iqa.memo import FeatureMemo
from pandaset_build.iqa.precision import check_precision, precision_mode
from pandaset_build.store.fingerprints import file_sha256
from pandaset_build.store.records import ScoreProvenance


def to_tensor(images: list[np.ndarray], device: str) -> torch.Tensor:
    """(N, 3, H, W) float32 in [0, 1] from a list of same-shape RGB uint8 arrays; to a GPU the
    uint8 batch goes from pinned memory without blocking and is converted there."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    if device.startswith("cuda"):
        batch = batch.pin_memory().to(device, non_blocking=True)
    return batch.float() / 255.0


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


def worker_devices(device: str, gpus: str | None = None) -> list[str] | None:
    """The devices of one local worker each: every visible GPU for `cuda` (or those `--gpus`
    lists, `0,2`), the one GPU of `cuda:N`; None (no per-device workers) on the CPU."""
    if not device.startswith("cuda"):
        if gpus is not None:
            raise MetricError(f"--gpus {gpus}: only with --device cuda")
        return None
    if device != "cuda":
        if gpus is not None:
            raise MetricError(f"--gpus {gpus} with --device {device}: use --device cuda --gpus")
        return [resolve_device(device)]
    resolve_device(device)
    if gpus is None:
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    try:
        indexes = [int(part) for part in gpus.split(",")]
    except ValueError:
        raise MetricError(f"--gpus {gpus}: expected GPU indexes such as 0,2") from None
    return [resolve_device(f"cuda:{i}") for i in dict.fromkeys(indexes)]


def device_name(device: str) -> str:
    """The GPU's name, or `cpu: <model name>` from /proc/cpuinfo (`cpu` where it has none)."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    return f"cpu: {model}" if model else "cpu"


def state_sha256(module: torch.nn.Module) -> str:
    """SHA-256 of a network's state dict: each name and its tensor's bytes, in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode() + b"\0")
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def backbone_of(net: torch.nn.Module) -> tuple[object, str] | None:
    """Where a pyiqa network keeps the backbone it calls on both images (TOPIQ's
    `semantic_model`), if it has one that can be wrapped; other metrics score pairs whole."""
    backbone = getattr(net, "semantic_model", None)
    return (net, "semantic_model") if isinstance(backbone, torch.nn.Module) else None


@dataclass
class Metric:
    """A pyiqa full-reference metric oriented so that higher is better, with its identity.

    It runs the metric's network directly (not pyiqa's wrapper, which turns TF32 on) inside
    `precision_mode`. `memo` is the wrapped backbone where the network has one.
    """

    name: str
    model: torch.nn.Module
    device: str
    lower_better: bool
    weights: str
    pyiqa_version: str
    precision: str = "fp32"
    weights_sha256: str = ""
    memo: FeatureMemo | None = None

    @torch.no_grad()
    def __call__(
        self,
        distorted: list[np.ndarray],
        reference: list[np.ndarray],
        keys: tuple[list[Hashable], list[Hashable]] | None = None,
    ) -> np.ndarray:
        """Scores of the pairs; `keys` (content keys of the distorted and reference images)
        let the backbone compute each distinct image once (references kept until forgotten)."""
        if self.memo is not None and keys is not None:
            self.memo.expect(keys[0], keys[1], keep=keys[1])
        with precision_mode(self.precision, self.device):
            values = self.model.net(
                to_tensor(distorted, self.device), to_tensor(reference, self.device)
            )
        values = values.reshape(len(distorted)).double().cpu().numpy()
        return -values if self.lower_better else values

    def forget(self, keys: list[Hashable]) -> None:
        """Reference features no later batch needs."""
        if self.memo is not None:
            self.memo.forget(keys)

    @property
    def passes(self) -> int:
        """Images sent through the backbone so far (0 for metrics without one)."""
        return self.memo.passes if self.memo is not None else 0

    def provenance(self, batch_size: int) -> ScoreProvenance:
        """What is recorded with every score this metric makes."""
        cuda = self.device.startswith("cuda")
        cudnn = torch.backends.cudnn.version() if cuda else None
        return ScoreProvenance(
            metric=self.name,
            pyiqa_version=self.pyiqa_version,
            weights=self.weights,
            precision=self.precision,
            device=device_name(self.device),
            torch_version=torch.__version__,
            cuda_version=(torch.version.cuda or "") if cuda else "",
            cudnn_version=str(cudnn) if cudnn else "",
            weights_sha256=self.weights_sha256,
            batch_size=batch_size,
        )


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
    name: str,
    device: str = "cpu",
    weights: str | None = None,
    random_weights: bool = False,
    precision: str = "fp32",
) -> Metric:
    """pyiqa's metric: a local weights file, pyiqa's download, or random weights (tests only)."""
    import pyiqa

    device = resolve_device(device)
    check_precision(precision, device)
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
    model.eval()
    digest = state_sha256(model.net)
    memo = None
    found = backbone_of(model.net)
    if found is not None:
        owner, attribute = found
        memo = FeatureMemo(getattr(owner, attribute))
        setattr(owner, attribute, memo)
    return Metric(
        name, model, device, bool(model.lower_better), identity, pyiqa.__version__,
        precision=precision, weights_sha256=digest, memo=memo,
    )  # fmt: skip
