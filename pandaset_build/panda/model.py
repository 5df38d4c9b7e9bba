"""PandaDG re-implemented: frozen DINOv2 tokens, region token pools, cross-image decoders, heads."""

from __future__ import annotations

import torch
from torch import nn

from pandaset_build.config.panda import ModelConfig
from pandaset_build.panda.backbone import PatchBackbone, pair_features
from pandaset_build.panda.heads import (
    N_COMPARISONS,
    N_DISTORTIONS,
    N_SEVERITIES,
    PandaOutput,
    PredictionHead,
    SideOutput,
)

SIDE_NAMES = {"a": "anchor", "t": "target"}


class VisionProjector(nn.Module):
    """Conv1x1 -> GELU -> Conv1x1 on a token map; no norm, no residual."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.GELU(), nn.Conv2d(hidden, dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project a (B, D, h, w) map."""
        return self.net(x)


class DecoderBlock(nn.Module):
    """Pre-norm block: self-attention on image tokens, region queries cross-attend, FFN on x."""

    def __init__(self, dim: int, heads: int, ffn_dim: int) -> None:
        super().__init__()
        self.norm_x = nn.LayerNorm(dim)
        self.norm_y = nn.LayerNorm(dim)
        self.norm_ffn = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, dim))

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, regions: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B*r, N, D) region tokens; y: (B, N, D) other-image tokens."""
        x, y = self.norm_x(x), self.norm_y(y)
        y = y + self.self_attn(y, y, y, need_weights=False)[0]
        kv = y.repeat_interleave(regions, dim=0)
        x = x + self.cross_attn(x, kv, kv, need_weights=False)[0]
        x = x + self.ffn(self.norm_ffn(x))
        return x, y


class RegionDecoder(nn.Module):
    """Stack of decoder blocks with region and spatial positional embeddings."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        g, d = cfg.image_size // cfg.patch_size, cfg.dim
        self.x_region_pe = nn.Parameter(torch.zeros(1, cfg.num_tokens, d, 1, 1))
        self.x_spatial_pe = nn.Parameter(torch.zeros(1, 1, d, g, g))
        self.y_spatial_pe = nn.Parameter(torch.zeros(1, d, g, g))
        for pe in (self.x_region_pe, self.x_spatial_pe, self.y_spatial_pe):
            nn.init.trunc_normal_(pe, std=0.02)
        self.blocks = nn.ModuleList(
            DecoderBlock(d, cfg.heads, cfg.ffn_dim) for _ in range(cfg.blocks)
        )

    def forward(self, y_map: torch.Tensor, x_maps: torch.Tensor) -> torch.Tensor:
        """Other image (B, D, g, g) and region maps (B, r, D, g, g) -> pooled (B*r, D)."""
        b, r, d, g, _ = x_maps.shape
        x_maps = x_maps + self.x_region_pe[:, :r] + self.x_spatial_pe
        x = x_maps.flatten(3).transpose(2, 3).reshape(b * r, g * g, d)
        y = (y_map + self.y_spatial_pe).flatten(2).transpose(1, 2)
        for block in self.blocks:
            x, y = block(x, y, r)
        return x.mean(dim=1)


class PandaDG(nn.Module):
    """The published PANDA model; anchor and target run through `_side` with their own weights."""

    def __init__(self, cfg: ModelConfig, backbone: PatchBackbone) -> None:
        super().__init__()
        if backbone.dim != cfg.dim:
            raise ValueError(f"backbone dim {backbone.dim} != model dim {cfg.dim}")
        self.cfg = cfg
        self.backbone = backbone
        size, d, k = cfg.image_size, cfg.dim, cfg.num_tokens
        self.mask_projector = nn.Conv2d(1, d, cfg.patch_size, cfg.patch_size)
        self.region_prediction = PredictionHead(d, N_COMPARISONS, cfg.head_dims)
        for p in SIDE_NAMES:
            setattr(self, f"{p}_projector", VisionProjector(d, cfg.projector_dim))
            setattr(self, f"{p}_token_pool", nn.Parameter(torch.randn(k, size, size)))
            setattr(self, f"{SIDE_NAMES[p]}_decoder", RegionDecoder(cfg))
            setattr(
                self, f"{p}_distortion_prediction", PredictionHead(d, N_DISTORTIONS, cfg.head_dims)
            )
            setattr(
                self, f"{p}_severity_prediction", PredictionHead(d, N_SEVERITIES, cfg.head_dims)
            )
            setattr(self, f"{p}_score_regressor", PredictionHead(d, 1, cfg.head_dims))

    def _slots(self, b: int, r: int, device: torch.device) -> torch.Tensor:
        """Token-pool slots per sample: r distinct random ones in training, the first r in eval."""
        k = self.cfg.num_tokens
        if r > k:
            raise ValueError(f"{r} regions exceed the {k} token-pool slots (model.num_tokens)")
        if self.training or self.cfg.published_random_eval_tokens:
            return torch.stack([torch.randperm(k)[:r] for _ in range(b)]).to(device)
        return torch.arange(r, device=device).expand(b, r)

    def _side(
        self, p: str, feats: torch.Tensor, masks: torch.Tensor, other: torch.Tensor
    ) -> tuple[torch.Tensor, SideOutput]:
        """Region features of one image, decoded against the other image's projected tokens."""
        b, r = masks.shape[:2]
        pool = getattr(self, f"{p}_token_pool")
        slots = pool[self._slots(b, r, masks.device)] * masks.to(pool.dtype)
        maps = self.mask_projector(slots.flatten(0, 1).unsqueeze(1))
        maps = maps.view(b, r, *feats.shape[1:]) * feats.unsqueeze(1)
        x = getattr(self, f"{SIDE_NAMES[p]}_decoder")(other, maps)
        heads = SideOutput(
            distortion=getattr(self, f"{p}_distortion_prediction")(x),
            severity=getattr(self, f"{p}_severity_prediction")(x),
            score=getattr(self, f"{p}_score_regressor")(x),
        )
        return x, heads

    def forward(
        self,
        anchor: torch.Tensor,
        target: torch.Tensor,
        anchor_masks: torch.Tensor,
        target_masks: torch.Tensor,
    ) -> PandaOutput:
        """Images (B, 3, S, S) in [0, 1] and region masks (B, R, S, S) -> predictions."""
        b, r = anchor_masks.shape[:2]
        fa, ft = pair_features(self.backbone, anchor, target, self.cfg.published_pixel_range)
        pa, pt = self.a_projector(fa), self.t_projector(ft)
        xa, a_out = self._side("a", fa, anchor_masks, pt)
        _, t_out = self._side("t", ft, target_masks, pa)
        return PandaOutput.from_sides(self.region_prediction(xa), a_out, t_out, b, r)
