"""PANDA speed: training and inference pairs/s of the published model (DINOv2 ViT-S/14, random
weights: the same compute), batch 1 (the published inference setting) vs batched, side by side
with the paper's 3.53 s per pair of 14 regions (V100, inference).

Run: python benchmarks/panda.py [--device cpu|cuda] [--regions 14] [--pairs 12]
"""

from __future__ import annotations

import argparse
import time

import torch

from pandaset_build.config.panda import PandaConfig
from pandaset_build.panda.factory import build_model
from pandaset_build.panda.losses import panda_loss

PAPER_SECONDS_PER_PAIR = 3.53


def batch_of(size: int, regions: int, device: str) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, size, 3, 224, 224, generator=generator)
    masks = torch.zeros(2, size, regions, 224, 224)
    rows = torch.linspace(0, 224, regions + 1).long()
    for i in range(regions):
        masks[:, :, i, rows[i] : rows[i + 1]] = 1
    return tuple(t.to(device) for t in (images[0], images[1], masks[0], masks[1]))


def labels_of(size: int, regions: int, device: str) -> dict[str, torch.Tensor]:
    return {
        "region_mask_flags": torch.ones(size * regions, dtype=torch.bool, device=device),
        "comparison": torch.zeros(size, regions + 1, dtype=torch.long, device=device),
        "distortion": torch.zeros(size, regions, 2, dtype=torch.long, device=device),
        "severity": torch.zeros(size, regions, 2, dtype=torch.long, device=device),
        "scores": torch.rand(size, regions, 2, device=device),
    }


def pairs_per_second(model, cfg, size: int, regions: int, pairs: int, device: str, train: bool):
    inputs = batch_of(size, regions, device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train(train)
    steps = max(1, pairs // size)
    for step in range(steps + 1):
        if step == 1:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.set_grad_enabled(train):
            out = model(*inputs)
            if train:
                loss, _ = panda_loss(out, labels_of(size, regions, device), cfg.loss, model)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--regions", type=int, default=14)
    parser.add_argument("--pairs", type=int, default=12)
    args = parser.parse_args()
    cfg = PandaConfig()
    torch.manual_seed(0)
    model = build_model(cfg.model, random_init=True).to(args.device)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU, 2 threads"
    print(f"PANDA (ViT-S/14, K {cfg.model.num_tokens}), {args.regions} regions/pair, {name}")
    for label, size, train in (
        ("inference, batch 1", 1, False),
        ("inference, batch 6", 6, False),
        ("training, batch 6", 6, True),
    ):
        rate = pairs_per_second(model, cfg, size, args.regions, args.pairs, args.device, train)
        ratio = PAPER_SECONDS_PER_PAIR * rate
        print(f"  {label:20s} {rate:7.2f} pairs/s  {1 / rate:6.2f} s/pair  "
              f"paper V100 inference 3.53 s/pair -> {ratio:5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
