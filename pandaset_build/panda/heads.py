"""Prediction heads and the output structure every PANDA model returns."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pandaset_build.config.vocab import COMPARISONS, DISTORTIONS, SEVERITIES

N_COMPARISONS, N_DISTORTIONS, N_SEVERITIES = len(COMPARISONS), len(DISTORTIONS), len(SEVERITIES)


class PredictionHead(nn.Module):
    """Published head: Linear -> LN -> GELU -> Linear -> LN -> GELU -> Linear."""

    def __init__(self, dim: int, out: int, hidden: tuple[int, int] = (192, 96)) -> None:
        super().__init__()
        h1, h2 = hidden
        self.net = nn.Sequential(
            nn.Linear(dim, h1),
            nn.LayerNorm(h1),
            nn.GELU(),
            nn.Linear(h1, h2),
            nn.LayerNorm(h2),
            nn.GELU(),
            nn.Linear(h2, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or a raw score) per row."""
        return self.net(x)


@dataclass
class SideOutput:
    """Per-region predictions for one side, rows = B*R regions."""

    distortion: torch.Tensor
    severity: torch.Tensor
    score: torch.Tensor


@dataclass
class PandaOutput:
    """Predictions for a batch; side axis 0 = anchor, 1 = target (as the batch labels)."""

    comparison: torch.Tensor  # (B, R, 5)
    distortion: torch.Tensor  # (B, R, 2, 15)
    severity: torch.Tensor  # (B, R, 2, 4)
    score: torch.Tensor  # (B, R, 2)

    @classmethod
    def from_sides(
        cls, comparison: torch.Tensor, anchor: SideOutput, target: SideOutput, b: int, r: int
    ) -> PandaOutput:
        """Stack anchor and target rows (B*R, ...) into (B, R, 2, ...) tensors."""

        def stack(name: str) -> torch.Tensor:
            pair = torch.stack([getattr(anchor, name), getattr(target, name)], dim=1)
            return pair.reshape(b, r, 2, *pair.shape[2:])

        return cls(
            comparison=comparison.reshape(b, r, -1),
            distortion=stack("distortion"),
            severity=stack("severity"),
            score=stack("score").squeeze(-1),
        )
