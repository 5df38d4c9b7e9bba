"""Train PANDA or a probe with AdamW: resumable, seeded, one process or torchrun DDP."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as torch_dist
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from pandaset_build.config.panda import PandaConfig
from pandaset_build.json_types import JsonObject
from pandaset_build.pairsets import PairSource, PandaBenchSource
from pandaset_build.panda.data import Batch, PandaPairDataset, collate_pairs, to_device
from pandaset_build.panda.evaluate import compute_metrics, predict
from pandaset_build.panda.factory import build_model, forward_batch
from pandaset_build.panda.heads import PandaOutput
from pandaset_build.panda.losses import panda_loss
from pandaset_build.store.atomic import atomic_path


@dataclass
class Runtime:
    """Where this process runs: rank, world size, device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        """True on the process that logs and saves."""
        return self.rank == 0


def init_runtime(device: str) -> Runtime:
    """Join the torchrun process group when WORLD_SIZE > 1; else a single process on `device`."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Runtime(0, 1, torch.device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.device(device).type == "cuda" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
    torch_dist.init_process_group("nccl" if cuda else "gloo")
    return Runtime(torch_dist.get_rank(), world, torch.device(f"cuda:{local}" if cuda else "cpu"))


def all_ranks_have(batch: Batch | None, rt: Runtime) -> bool:
    """True when every process holds a non-empty batch (so all of them step together)."""
    if rt.world == 1:
        return batch is not None
    flag = torch.tensor([int(batch is not None)], device=rt.device)
    torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MIN)
    return bool(flag.item())


def save_checkpoint(path: Path, state: JsonObject) -> None:
    """Write a checkpoint atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


class JsonlLog:
    """Append-only JSON-lines log; on resume, records past the resumed epoch are dropped."""

    def __init__(self, path: Path, keep_epochs: int) -> None:
        self.path = path
        if path.exists():
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            kept = [r for r in rows if r.get("epoch", 0) <= keep_epochs]
            path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def write(self, **record: Any) -> None:
        """Append one record."""
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


@torch.no_grad()
def batch_signals(out: PandaOutput, batch: Batch) -> dict[str, float]:
    """Per-batch accuracies and score MAE over valid regions (the published training signals)."""
    valid = batch["region_mask_flags"]
    comp = out.comparison.flatten(0, 1).argmax(-1)[valid]
    gt = batch["comparison"][:, 1:].flatten()[valid]
    signals = {"comparison_acc": float((comp == gt).float().mean())}
    for name in ("distortion", "severity"):
        pred = getattr(out, name).flatten(0, 1).argmax(-1)[valid]
        signals[f"{name}_acc"] = float((pred == batch[name].flatten(0, 1)[valid]).float().mean())
    err = (out.score.flatten(0, 1)[valid].float() - batch["scores"].flatten(0, 1)[valid]).abs()
    signals["score_mae"] = float(err.mean())
    return signals


def train_progress(disable: bool) -> Progress:
    """Steps of the epoch, its mean loss so far, and the time left in the epoch."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps, loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        disable=disable,
    )


def _loader(
    dataset: PandaPairDataset, cfg: PandaConfig, rt: Runtime, epoch: int, train: bool
) -> DataLoader:
    """A loader whose order depends only on (seed, epoch); training is shuffled and sharded."""
    dataset.set_epoch(epoch)
    sampler = None
    if train and rt.world > 1:
        sampler = DistributedSampler(dataset, shuffle=True, seed=cfg.train.seed, drop_last=True)
        sampler.set_epoch(epoch)
    return DataLoader(
        dataset,
        batch_size=cfg.train.batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        generator=torch.Generator().manual_seed(cfg.train.seed + epoch),
        num_workers=cfg.train.num_workers,
        collate_fn=collate_pairs,
        pin_memory=rt.device.type == "cuda",
    )


def _autocast(cfg: PandaConfig, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16/fp16 autocast on CUDA only."""
    if device.type != "cuda" or cfg.train.amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if cfg.train.amp == "bf16" else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def _dataset(cfg: PandaConfig, source: PairSource, train: bool) -> PandaPairDataset:
    """Dataset over a source with the config's sizes and (train only) augmentation."""
    return PandaPairDataset(
        source,
        image_size=cfg.model.image_size,
        max_regions=cfg.model.num_tokens,
        augment=cfg.train.augment if train else None,
        seed=cfg.train.seed,
    )


def train(
    config: PandaConfig,
    data_root: str | Path | None,
    out_dir: str | Path,
    device: str = "cpu",
    resume: bool = True,
    *,
    backbone_weights: str | Path | None = None,
    pretrained: bool = True,
    random_init: bool = False,
    train_source: PairSource | None = None,
    val_source: PairSource | None = None,
) -> Path:
    """Train for `config.train.epochs` epochs into `out_dir`; returns the path of `last.pth`."""
    cfg, out = config, Path(out_dir)
    if cfg.model.kind == "random":
        raise ValueError("The random baseline has nothing to train: evaluate it directly.")
    rt = init_runtime(device)
    if train_source is None:
        train_source = PandaBenchSource(data_root, cfg.data.train_split, "all")
    if not cfg.train.val_every:
        val_source = None
    elif (
        val_source is None and data_root and (Path(data_root) / "gt" / cfg.data.val_split).is_dir()
    ):
        val_source = PandaBenchSource(data_root, cfg.data.val_split, "all")

    torch.manual_seed(cfg.train.seed)
    model = build_model(
        cfg.model,
        backbone_weights=backbone_weights,
        pretrained=pretrained,
        random_init=random_init,
        seed=cfg.train.seed,
    ).to(rt.device)
    out.mkdir(parents=True, exist_ok=True)  # after the weights loaded: a refusal writes nothing
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    start = 0
    last = out / "last.pth"
    if resume and last.exists():
        state = torch.load(last, map_location=rt.device, weights_only=False)
        model.load_state_dict(state["model_state_dict"])
        optimizer.load_state_dict(state["optimizer_state_dict"])
        start = int(state["epoch"])
    net: nn.Module = model
    if rt.world > 1:
        ids = [rt.device.index] if rt.device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)
    log = JsonlLog(out / "train_log.jsonl", start) if rt.main else None
    scaler = torch.amp.GradScaler(
        "cuda", enabled=rt.device.type == "cuda" and cfg.train.amp == "fp16"
    )
    train_set = _dataset(cfg, train_source, train=True)
    accumulate = cfg.train.accumulation_steps(rt.world)
    epoch_loss = float("nan")
    with train_progress(disable=not rt.main) as progress:
        for epoch in range(start + 1, cfg.train.epochs + 1):
            torch.manual_seed(cfg.train.seed + rt.rank + 1000 * epoch)
            loader = _loader(train_set, cfg, rt, epoch, train=True)
            task = progress.add_task(
                f"epoch {epoch}/{cfg.train.epochs}", total=len(loader), loss="-"
            )
            net.train()
            losses = []
            optimizer.zero_grad(set_to_none=True)
            pending = False  # some micro-batch of the current optimizer step was back-propagated
            for step, batch in enumerate(loader):
                # micro-batches of this optimizer step (fewer in the epoch's last one); under
                # DDP every micro-batch all-reduces, so a skipped last one loses nothing
                window = min(accumulate, len(loader) - step // accumulate * accumulate)
                if all_ranks_have(batch, rt):
                    batch = to_device(batch, rt.device)
                    with _autocast(cfg, rt.device):
                        output = forward_batch(net, batch)
                    loss, terms = panda_loss(output, batch, cfg.loss, net)
                    scaler.scale(loss / window).backward()
                    pending = True
                    losses.append(float(loss.detach()))
                    if log:
                        signals = batch_signals(output, batch)
                        log.write(
                            event="step", epoch=epoch, step=step, loss=losses[-1], **terms,
                            **signals,
                        )  # fmt: skip
                mean = f"{sum(losses) / len(losses):.4f}" if losses else "-"
                progress.update(task, advance=1, loss=mean)
                if pending and ((step + 1) % accumulate == 0 or step + 1 == len(loader)):
                    scaler.step(optimizer)
                    scaler.update()
                    optimizer.zero_grad(set_to_none=True)
                    pending = False
            progress.remove_task(task)
            epoch_loss = sum(losses) / max(len(losses), 1)
            record: JsonObject = {"event": "epoch", "epoch": epoch, "train_loss": epoch_loss}
            if rt.main:
                if val_source is not None and epoch % max(cfg.train.val_every, 1) == 0:
                    val_set = _dataset(cfg, val_source, train=False)
                    val_loader = _loader(val_set, cfg, rt, epoch, train=False)
                    record["val"] = compute_metrics(predict(model, val_loader, rt.device))
                state = {
                    "epoch": epoch,
                    "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(),
                    "loss": epoch_loss,
                    "config": cfg.model_dump(mode="json"),
                }
                save_checkpoint(last, state)
                if epoch % cfg.train.checkpoint_every == 0:
                    save_checkpoint(out / f"ep_{epoch}.pth", state)
                log.write(**record)
                progress.console.print(f"epoch {epoch}: loss {epoch_loss:.4f}")
    if rt.world > 1:
        torch_dist.barrier()
        torch_dist.destroy_process_group()
    return last
