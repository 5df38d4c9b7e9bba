"""The published PANDA training loss: weighted CE and L1 terms over valid regions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pandaset_build.config.panda import LossConfig
from pandaset_build.panda.heads import PandaOutput


def _masked_ce(
    logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor, smoothing: float
) -> torch.Tensor:
    """Label-smoothed CE over valid rows with labels >= 0 (0 when there are none)."""
    keep = valid & (labels >= 0)
    if not keep.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], labels[keep], label_smoothing=smoothing)


def _masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid rows (0 when there are none)."""
    if not valid.any():
        return pred.sum() * 0.0
    return F.l1_loss(pred[valid], target[valid])


def _sides_ce(
    logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor, smoothing: float
) -> torch.Tensor:
    """CE averaged over anchor and target; logits (B, R, 2, C), labels (B, R, 2)."""
    terms = [
        _masked_ce(
            logits[:, :, s].flatten(0, 1).float(), labels[..., s].flatten(), valid, smoothing
        )
        for s in (0, 1)
    ]
    return (terms[0] + terms[1]) / 2


def panda_loss(
    out: PandaOutput, batch: dict[str, torch.Tensor], cfg: LossConfig, model: nn.Module
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted total and its terms; anchor and target terms are averaged."""
    valid = batch["region_mask_flags"]
    comparison_labels = batch["comparison"][:, 1:].flatten()  # [:, 0] is the unused scene label
    comparison_logits = out.comparison.flatten(0, 1).float()
    pred, gt = out.score.flatten(0, 1).float(), batch["scores"].flatten(0, 1)
    terms = {
        "comparison": _masked_ce(
            comparison_logits, comparison_labels, valid, cfg.comparison_smoothing
        ),
        "distortion": _sides_ce(
            out.distortion, batch["distortion"], valid, cfg.distortion_smoothing
        ),
        "severity": _sides_ce(out.severity, batch["severity"], valid, cfg.severity_smoothing),
        "score": (_masked_l1(pred[:, 0], gt[:, 0], valid) + _masked_l1(pred[:, 1], gt[:, 1], valid))
        / 2,
    }
    weights = {
        "comparison": cfg.comparison_weight,
        "distortion": cfg.distortion_weight,
        "severity": cfg.severity_weight,
        "score": cfg.score_weight,
    }
    keep_graph = sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0
    total = sum(weights[k] * v for k, v in terms.items()) + keep_graph
    return total, {k: float(v.detach()) for k, v in terms.items()}
