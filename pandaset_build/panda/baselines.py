"""Baselines sharing PANDA's outputs, losses and evaluation: random, linear and attentive probes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pandaset_build.config.panda import ModelConfig
from pandaset_build.panda.backbone import PatchBackbone, pair_features
from pandaset_build.panda.heads import (
    N_COMPARISONS,
    N_DISTORTIONS,
    N_SEVERITIES,
    PandaOutput,
    SideOutput,
)


class RandomBaseline(nn.Module):
    """Uniform random classes and scores in [0, 1], from a seeded generator."""

    def __init__(self, seed: int = 42) -> None:
        super().__init__()
        self.generator = torch.Generator().manual_seed(seed)

    def forward(
        self,
        anchor: torch.Tensor,
        target: torch.Tensor,
        anchor_masks: torch.Tensor,
        target_masks: torch.Tensor,
    ) -> PandaOutput:
        """Random logits whose argmax is uniform over the classes."""
        b, r = anchor_masks.shape[:2]

        def draw(*shape: int) -> torch.Tensor:
            return torch.rand(*shape, generator=self.generator).to(anchor.device)

        return PandaOutput(
            comparison=draw(b, r, N_COMPARISONS),
            distortion=draw(b, r, 2, N_DISTORTIONS),
            severity=draw(b, r, 2, N_SEVERITIES),
            score=draw(b, r, 2),
        )


def region_weights(masks: torch.Tensor, patch: int) -> torch.Tensor:
    """Fraction of each patch covered by each region: (B, R, S, S) -> (B, R, N)."""
    return F.avg_pool2d(masks.float(), patch).flatten(2)


class _Probe(nn.Module):
    """Frozen backbone -> per-region features -> linear heads; subclasses define the pooling."""

    def __init__(self, cfg: ModelConfig, backbone: PatchBackbone) -> None:
        super().__init__()
        self.cfg, self.backbone, d = cfg, backbone, backbone.dim
        self.comparison = nn.Linear(2 * d, N_COMPARISONS)
        self.distortion = nn.Linear(d, N_DISTORTIONS)
        self.severity = nn.Linear(d, N_SEVERITIES)
        self.score = nn.Linear(d, 1)

    def pool(self, tokens: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Tokens (B, N, D) and region weights (B, R, N) -> (B*R, D)."""
        raise NotImplementedError

    def _side(self, feats: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, SideOutput]:
        """Region features of one image and the per-side heads."""
        x = self.pool(feats.flatten(2).transpose(1, 2), region_weights(masks, self.cfg.patch_size))
        return x, SideOutput(self.distortion(x), self.severity(x), self.score(x))

    def forward(
        self,
        anchor: torch.Tensor,
        target: torch.Tensor,
        anchor_masks: torch.Tensor,
        target_masks: torch.Tensor,
    ) -> PandaOutput:
        """Same inputs and outputs as `PandaDG`."""
        b, r = anchor_masks.shape[:2]
        fa, ft = pair_features(self.backbone, anchor, target, self.cfg.published_pixel_range)
        xa, a_out = self._side(fa, anchor_masks)
        xt, t_out = self._side(ft, target_masks)
        comparison = self.comparison(torch.cat([xa, xt], dim=-1))
        return PandaOutput.from_sides(comparison, a_out, t_out, b, r)


class LinearProbe(_Probe):
    """Mask-weighted mean of patch tokens per region."""

    def pool(self, tokens: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Weighted mean of tokens per region."""
        w = weights / weights.sum(-1, keepdim=True).clamp_min(1e-6)
        return torch.einsum("brn,bnd->brd", w, tokens).flatten(0, 1)


class AttentiveProbe(_Probe):
    """One cross-attention block: a learned query attends to the tokens of each region."""

    def __init__(self, cfg: ModelConfig, backbone: PatchBackbone) -> None:
        super().__init__(cfg, backbone)
        self.query = nn.Parameter(torch.zeros(1, 1, backbone.dim))
        nn.init.trunc_normal_(self.query, std=0.02)
        self.attn = nn.MultiheadAttention(backbone.dim, cfg.heads, batch_first=True)
        self.norm = nn.LayerNorm(backbone.dim)

    def pool(self, tokens: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Attention restricted (softly, by log coverage) to each region's tokens."""
        b, r = weights.shape[:2]
        kv = self.norm(tokens).repeat_interleave(r, dim=0)
        bias = torch.log(weights.flatten(0, 1) + 1e-6).unsqueeze(1)  # (B*R, 1, N)
        bias = bias.repeat_interleave(self.attn.num_heads, dim=0)
        q = self.query.expand(b * r, 1, -1)
        return self.attn(q, kv, kv, attn_mask=bias, need_weights=False)[0].squeeze(1)
