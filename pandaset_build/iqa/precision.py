"""The arithmetic a metric runs in: fp32 (TF32 off), tf32, or bf16 autocast.

pyiqa's own `InferenceModel.forward` enters `torch.backends.cudnn.flags(...)` with its default
`allow_tf32=True`, so scoring through it on a GPU always uses TF32 convolutions; the scorer
calls the metric's network directly inside `precision_mode` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch

from pandaset_build.errors import MetricError

PRECISIONS = ("fp32", "tf32", "bf16")


def check_precision(precision: str, device: str) -> None:
    """Refuse an unknown precision, and TF32 on the CPU (which has no TF32 arithmetic)."""
    if precision not in PRECISIONS:
        raise MetricError(f"--precision {precision}: expected one of {', '.join(PRECISIONS)}")
    if precision == "tf32" and not device.startswith("cuda"):
        raise MetricError(
            f"--precision tf32 --device {device}: TF32 is a CUDA GPU mode; on the CPU use fp32 "
            "(the same arithmetic) or bf16"
        )


@contextmanager
def precision_mode(precision: str, device: str) -> Iterator[None]:
    """TF32 for cuDNN convolutions and CUDA matmuls only with `tf32`; bf16 autocast with `bf16`
    (CUDA, or the CPU's autocast on the CPU); deterministic cuDNN algorithms, no benchmarking."""
    tf32 = precision == "tf32"
    with ExitStack() as stack:
        stack.enter_context(
            torch.backends.cudnn.flags(
                enabled=True, benchmark=False, deterministic=True, allow_tf32=tf32
            )
        )
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        stack.callback(setattr, torch.backends.cuda.matmul, "allow_tf32", previous)
        if precision == "bf16":
            kind = "cuda" if device.startswith("cuda") else "cpu"
            stack.enter_context(torch.autocast(kind, dtype=torch.bfloat16))
        yield
