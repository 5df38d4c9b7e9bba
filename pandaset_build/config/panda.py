"""PANDA settings (paper defaults) as a pydantic model loadable from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pandaset_build.config.loader import load

ModelKind = Literal["panda", "linear_probe", "attentive_probe", "random"]


class _Strict(BaseModel):
    """Base model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Strict):
    """Architecture of PandaDG (published sizes) or of a baseline."""

    kind: ModelKind = "panda"
    backbone: str = "vit_small_patch14_dinov2"
    backbone_kwargs: dict[str, Any] = Field(default_factory=dict)  # timm overrides (tests only)
    image_size: int = 224
    patch_size: int = 14
    dim: int = 384
    projector_dim: int = 768
    ffn_dim: int = 768
    blocks: int = 4
    heads: int = 4
    num_tokens: int = 115  # K: token-pool slots, also the most regions per image
    head_dims: tuple[int, int] = (192, 96)
    published_pixel_range: bool = False  # True: normalise 0..255 pixels as the published code
    published_random_eval_tokens: bool = False  # True: random token slots also in eval mode


class LossConfig(_Strict):
    """Loss weights and label smoothing of the published training."""

    comparison_weight: float = 0.1
    distortion_weight: float = 1.0
    severity_weight: float = 0.1
    score_weight: float = 1.0
    comparison_smoothing: float = 0.3
    distortion_smoothing: float = 0.5
    severity_smoothing: float = 0.5


class AugmentConfig(_Strict):
    """Joint geometric augmentation of anchor, target and masks (train split only)."""

    enabled: bool = True
    hflip: float = 0.5
    vflip: float = 0.2
    rot90: float = 0.5


class TrainConfig(_Strict):
    """Optimiser, schedule and bookkeeping."""

    lr: float = 1e-4
    weight_decay: float = 0.01
    epochs: int = 30
    batch_size: int = 6  # per process
    # pairs per optimizer step over all processes; None: batch_size x processes. Reached by
    # accumulating global / (batch_size x processes) micro-batches (the published 8 x 6 = 48
    # on one GPU: 8 micro-batches of 6)
    global_batch_size: int | None = Field(None, ge=1)
    num_workers: int = 4
    seed: int = 42
    checkpoint_every: int = 10
    val_every: int = 1  # validate every N epochs; 0 = never
    amp: Literal["bf16", "fp16", "off"] = "bf16"  # used only on CUDA
    augment: AugmentConfig = Field(default_factory=AugmentConfig)

    def accumulation_steps(self, world: int) -> int:
        """Micro-batches per optimizer step for `world` processes."""
        if self.global_batch_size is None:
            return 1
        per_step = self.batch_size * world
        if self.global_batch_size % per_step:
            raise ValueError(
                f"train.global_batch_size {self.global_batch_size} is not a multiple of "
                f"train.batch_size x processes = {self.batch_size} x {world}: change one of them"
            )
        return self.global_batch_size // per_step


class DataConfig(_Strict):
    """Which splits to train and validate on; comparison labels are the build's own."""

    train_split: str = "train"
    val_split: str = "val"
    max_pairs: int | None = Field(None, ge=1)  # a seeded subset of each split's pairs (demos)


class PandaConfig(_Strict):
    """All PANDA settings."""

    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    data: DataConfig = Field(default_factory=DataConfig)

    @classmethod
    def from_yaml(cls, path: str | Path) -> PandaConfig:
        """Load from a YAML file (the whole file, or its `panda:` section)."""
        return load_panda_config(path)

    def to_yaml(self) -> str:
        """Render as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_panda_config(name_or_path: str | Path) -> PandaConfig:
    """A PANDA recipe by path or bundled name (`panda`, `panda_quickstart`), with `extends`."""
    return load(PandaConfig, name_or_path, section="panda")
