"""The `Distortion` record, the registry keyed `family/subtype`, and call-time validation."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import UnknownNameError
from .params import Schema
from .shared import Shared
from .window import Context, Window

Params = dict[str, Any]
Shape = tuple[int, int]
Impl = Callable[[np.ndarray, Params, np.random.Generator, Context], np.ndarray]


class DistortionFn(Protocol):
    def __call__(
        self,
        image: np.ndarray,
        params: Params,
        rng: np.random.Generator,
        *,
        stat_mask: np.ndarray | None = None,
        depth: np.ndarray | None = None,
        frame_shape: Shape | None = None,
        offset: Shape = (0, 0),
        frame: np.ndarray | None = None,
        shared: Shared | None = None,
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class Distortion:
    """A registered sub-type: its function and what a crop of the frame needs to render exactly.

    margin: pixels of context around the kept area so the crop equals the full-frame render.
    grid: the crop origin must be a multiple of this (int, or a function of params and frame).
    full_frame: the sub-type only renders whole frames (global statistics, rate control).
    random: it draws from the Generator.
    statistic: it takes a statistic over `stat_mask` (None: the whole image it is given).
    reads_frame: a crop reads frame pixels outside its window (pass `frame=`).
    params: what each parameter's level table may hold (checked when a recipe loads).

    Every call may also get `shared`, the image's memo of whole-frame work (see `Shared`).
    """

    key: str
    fn: DistortionFn
    margin: Callable[[Params, Shape], int]
    grid: int | Callable[[Params, Shape], int]
    full_frame: bool
    random: bool
    statistic: bool = False
    reads_frame: bool = False
    params: Schema = field(default_factory=dict)


_REGISTRY: dict[str, Distortion] = {}


class UnknownDistortionError(UnknownNameError):
    """A key that is not registered; the message suggests the closest keys."""


def no_margin(params: Params, frame_shape: Shape) -> int:
    """Pointwise sub-types need no context."""
    return 0


def register(
    key: str,
    *,
    margin: Callable[[Params, Shape], int] = no_margin,
    grid: int | Callable[[Params, Shape], int] = 1,
    full_frame: bool = False,
    random: bool = False,
    statistic: bool = False,
    reads_frame: bool = False,
    params: Schema | None = None,
) -> Callable[[Impl], Impl]:
    """Register an implementation under `key`, wrapped with the public signature and checks."""

    def decorate(impl: Impl) -> Impl:
        @functools.wraps(impl)
        def fn(
            image: np.ndarray,
            params: Params,
            rng: np.random.Generator,
            *,
            stat_mask: np.ndarray | None = None,
            depth: np.ndarray | None = None,
            frame_shape: Shape | None = None,
            offset: Shape = (0, 0),
            frame: np.ndarray | None = None,
            shared: Shared | None = None,
        ) -> np.ndarray:
            _check_image(key, image)
            window = Window.of(image, frame_shape, offset)
            if window.is_full:
                frame = image
            elif frame is None and reads_frame:
                raise ValueError(
                    f"{key}: a crop reads pixels outside its window; pass frame= (the whole "
                    f"{window.frame_shape} frame the crop was cut from)"
                )
            elif frame is not None and frame.shape != (*window.frame_shape, 3):
                raise ValueError(f"{key}: frame has shape {frame.shape}, frame_shape is "
                                 f"{window.frame_shape}")  # fmt: skip
            if full_frame and not window.is_full:
                raise ValueError(
                    f"{key}: renders whole frames only; got a {window.shape} crop at "
                    f"{window.offset} of a {window.frame_shape} frame (see Distortion.full_frame)"
                )
            if statistic and stat_mask is None and not window.is_full:
                raise ValueError(
                    f"{key}: takes a statistic; pass stat_mask or render the whole frame"
                )
            if statistic:
                _check_plane(key, "stat_mask", stat_mask, image)
            if depth is not None:
                _check_plane(key, "depth", depth, image)
            ctx = Context(window, stat_mask if statistic else None, depth, frame, shared)
            out = impl(image, params, rng, ctx)
            if out.dtype != np.uint8 or out.shape != image.shape:
                raise AssertionError(f"{key}: returned {out.dtype} {out.shape}")
            return out

        if key in _REGISTRY:
            raise ValueError(f"{key}: registered twice")
        _REGISTRY[key] = Distortion(
            key, fn, margin, grid, full_frame, random, statistic, reads_frame, dict(params or {})
        )
        return impl

    return decorate


def _check_image(key: str, image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = getattr(image, "dtype", type(image))
        raise ValueError(f"{key}: expects a uint8 numpy array, got {got}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{key}: expects HxWx3 RGB, got shape {image.shape}")


def _check_plane(key: str, name: str, plane: np.ndarray | None, image: np.ndarray) -> None:
    if plane is None:
        return
    if plane.shape != image.shape[:2]:
        raise ValueError(f"{key}: {name} has shape {plane.shape}, image is {image.shape[:2]}")
    if name == "stat_mask" and (plane.dtype != bool or not plane.any()):
        raise ValueError(f"{key}: stat_mask must be a non-empty bool array")


def get(key: str) -> Distortion:
    """The registered sub-type `family/subtype`; a miss suggests the closest keys."""
    try:
        return _REGISTRY[key]
    except KeyError:
        close = difflib.get_close_matches(key, list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownDistortionError(f"unknown distortion {key!r}{hint}") from None


def registered() -> list[str]:
    """Keys in registration order."""
    return list(_REGISTRY)
