"""Every sub-type against an independent computation of its specification (docs/distortions.md)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from distortion_photos import (
    assert_close,
    box_muller,
    field_key,
    params,
    philox_uniforms,
    philox_words,
    photo,
)
from PIL import Image, ImageEnhance
from scipy import optimize, stats
from skimage.color import hsv2rgb, rgb2hsv

from pandaset_build.distortions import get

SEED = 7
IMG = photo("astronaut")


def run(key: str, level: int, image: np.ndarray = IMG, seed: int = SEED, **kwargs) -> np.ndarray:
    return get(key).fn(image, params(key, level), np.random.default_rng(seed), **kwargs)


def u8(x: np.ndarray) -> np.ndarray:
    """->u8: clip, *255, truncate."""
    return (np.clip(x, 0, 1) * 255.0).astype(np.uint8)


def correlate(x: np.ndarray, kernel: np.ndarray, pad_mode: str, **pad_kw) -> np.ndarray:
    """Direct 2-D correlation of each channel with an odd kernel and numpy padding."""
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(x, ((ry, ry), (rx, rx), (0, 0)), mode=pad_mode, **pad_kw)
    out = np.zeros(x.shape)
    for i in range(kernel.shape[0]):
        for j in range(kernel.shape[1]):
            if kernel[i, j]:
                out += kernel[i, j] * padded[i : i + x.shape[0], j : j + x.shape[1]]
    return out


def gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    """Sampled Gaussian, radius int(4 sigma + 0.5), edge replication."""
    r = int(4 * sigma + 0.5)
    k = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
    k /= k.sum()
    return correlate(correlate(x, k[:, None], "edge"), k[None, :], "edge")


def shuffle_offsets(seed: int, shape: tuple[int, int], s: int, passes: int) -> np.ndarray:
    """(dx, dy) per visited pixel in visiting order, from numpy's Philox at (col, row, pass):
    the top 32 bits of words 0 and 1 scaled to 2s values, minus s."""
    key, (height, width) = field_key(seed), shape
    out = np.zeros((passes, height - 2 * s, width - 2 * s, 2), dtype=np.int64)
    for p in range(passes):
        for i, h in enumerate(range(height - s, s, -1)):
            for j, w in enumerate(range(width - s, s, -1)):
                words = philox_words(key, h, w, p)
                out[p, i, j] = [(int(x) >> 32) * 2 * s >> 32 for x in words[:2]]
    return out - s


def shuffle_loop(img: np.ndarray, offsets: np.ndarray, s: int) -> np.ndarray:
    """Plain-Python copy-not-swap passes, bottom-right to top-left."""
    img = img.copy()
    height, width = img.shape[:2]
    for p in range(offsets.shape[0]):
        for i, h in enumerate(range(height - s, s, -1)):
            for j, w in enumerate(range(width - s, s, -1)):
                dx, dy = offsets[p, i, j]
                img[h, w] = img[h + dy, w + dx]
    return img


# ----------------------------------------------------------------------------------- blur


@pytest.mark.parametrize("level", [1, 3, 5])
def test_gaussian_is_a_sampled_kernel_with_edge_replication(level):
    sigma = params("blur/gaussian", level)["sigma"]
    assert_close(run("blur/gaussian", level), u8(gauss(IMG / 255.0, sigma)))


@pytest.mark.parametrize("level", [1, 3, 5])
def test_motion_is_a_one_sided_half_gaussian_trail(level):
    p = params("blur/motion", level)
    theta = math.radians(np.random.default_rng(SEED).uniform(-90, 90))
    r, sigma = p["radius"], p["sigma"]
    weights = np.exp(-(np.arange(2 * r + 1) ** 2) / (2 * sigma**2))
    weights /= weights.sum()
    h, w = IMG.shape[:2]
    out = np.zeros(IMG.shape)
    for i, weight in enumerate(weights):
        oy = math.ceil(i * math.sin(theta) - 0.5)
        ox = math.ceil(i * math.cos(theta) - 0.5)
        rows = np.clip(np.arange(h) + oy, 0, h - 1)
        cols = np.clip(np.arange(w) + ox, 0, w - 1)
        out += weight * IMG[rows][:, cols]
    assert_close(run("blur/motion", level), np.clip(out, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("level", [1, 2, 3, 5])
def test_glass_is_gauss_copy_not_swap_gauss(level):
    small = IMG[:40, :36]
    p = params("blur/glass", level)
    s, n = p["shift"], p["passes"]
    offsets = shuffle_offsets(SEED, small.shape[:2], s, n)
    want = u8(gauss(shuffle_loop(gauss(small / 255.0, p["sigma"]), offsets, s), p["sigma"]))
    assert_close(run("blur/glass", level, small), want)


@pytest.mark.parametrize("level", [1, 3, 5])
def test_jitter_is_copy_not_swap_on_uint8(level):
    small = IMG[:40, :36]
    s = params("blur/jitter", level)["shift"]
    offsets = shuffle_offsets(SEED, small.shape[:2], s, 1)
    got = run("blur/jitter", level, small)
    np.testing.assert_array_equal(got, shuffle_loop(small, offsets, s))
    # outside the visited rectangle nothing changes
    h, w = small.shape[:2]
    for part in (np.s_[: s + 1], np.s_[:, : s + 1], np.s_[h - s + 1 :], np.s_[:, w - s + 1 :]):
        np.testing.assert_array_equal(got[part], small[part])


def test_lens_disk_taps_and_reflect_101_filter():
    grid = np.arange(-8, 9)
    xx, yy = np.meshgrid(grid, grid)
    taps = [int((xx**2 + yy**2 <= r**2).sum()) for r in (2, 3, 4, 6, 8)]
    assert taps == [13, 29, 49, 113, 197]
    for level in (1, 5):
        r = params("blur/lens", level)["radius"]
        disk = (xx**2 + yy**2 <= r**2) / float((xx**2 + yy**2 <= r**2).sum())
        want = u8(correlate(IMG / 255.0, disk, "reflect"))
        assert_close(run("blur/lens", level), want, exact=0.95)  # float32 kernel, truncation


def bilinear_zoom(x: np.ndarray, factor: float) -> np.ndarray:
    """Corner-aligned bilinear zoom to round(side * factor), both axes."""
    out = x
    for axis in (0, 1):
        n = out.shape[axis]
        m = round(n * factor)
        pos = np.arange(m) * (n - 1) / (m - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        frac = (pos - lo).reshape([-1 if a == axis else 1 for a in range(3)])
        out = np.take(out, lo, axis) * (1 - frac) + np.take(out, hi, axis) * frac
    return out


@pytest.mark.parametrize("level", [1, 3, 5])
def test_zoom_is_the_mean_of_centre_zoom_layers(level):
    x = IMG / 255.0
    h, w = x.shape[:2]
    total = x.copy()
    factors = params("blur/zoom", level)["factors"]
    for z in factors:
        ch, cw = math.ceil(h / z), math.ceil(w / z)
        top, left = (h - ch) // 2, (w - cw) // 2
        total += bilinear_zoom(x[top : top + ch, left : left + cw], z)[:h, :w]
    assert_close(run("blur/zoom", level), u8(total / (len(factors) + 1)))


# ---------------------------------------------------------------------------------- noise


def normals(seed: int = SEED, image: np.ndarray = IMG) -> np.ndarray:
    """The documented fields: Box-Muller on numpy's Philox at every pixel, stream 0."""
    return box_muller(philox_uniforms(field_key(seed), image.shape[:2]))


# np.log / np.cos here and the compiled ones may differ in the last bit: truncation can move a
# value by one level, rarely.
EXACT = 0.999


def test_gaussian_rgb_noise():
    sigma = params("noise/gaussian_rgb", 3)["sigma"]
    want = u8(IMG / 255.0 + sigma * normals())
    assert_close(run("noise/gaussian_rgb", 3), want, exact=EXACT)


def test_gaussian_ycrcb_noise():
    p = params("noise/gaussian_ycrcb", 4)
    sy, sc = p["sigma_y"], p["sigma_y"] * p["chroma_factor"]
    ny, ncr, ncb = np.moveaxis(normals() * [sy, sc, sc], -1, 0)
    r, g, b = np.moveaxis(IMG / 255.0, -1, 0)
    y = 0.299 * r + 0.587 * g + 0.114 * b + ny
    cr = (r - (y - ny)) * 0.713 + ncr
    cb = (b - (y - ny)) * 0.564 + ncb
    rgb = np.stack([y + 1.403 * cr, y - 0.714 * cr - 0.344 * cb, y + 1.773 * cb], axis=-1)
    assert_close(run("noise/gaussian_ycrcb", 4), u8(rgb), exact=0.97)


def test_speckle_noise():
    s = params("noise/speckle", 2)["sigma"]
    x = IMG / 255.0
    assert_close(run("noise/speckle", 2), u8(x + x * (s * normals())), exact=EXACT)


def test_spatially_correlated_noise_blurs_image_and_noise():
    sigma = params("noise/spatially_correlated", 5)["sigma"]
    noisy = IMG / 255.0 + sigma * normals()
    want = u8(correlate(noisy, np.full((3, 3), 1 / 9), "reflect"))
    assert_close(run("noise/spatially_correlated", 5), want)


def test_poisson_noise_is_the_inverse_cdf_of_one_uniform():
    f = params("noise/poisson", 4)["factor"]
    u = philox_uniforms(field_key(SEED), IMG.shape[:2])[..., :3]
    counts = stats.poisson.ppf(u, IMG / 255.0 * f)  # smallest k with P(X <= k) >= u
    want = u8(np.nan_to_num(counts) / f)
    assert_close(run("noise/poisson", 4), want, exact=EXACT)


def test_impulse_noise_is_per_channel_salt_and_pepper():
    d = params("noise/impulse", 5)["amount"]
    u = philox_uniforms(field_key(SEED), IMG.shape[:2])[..., :3]
    want = IMG.copy()
    want[u < d / 2] = 255
    want[(u >= d / 2) & (u < d)] = 0
    np.testing.assert_array_equal(run("noise/impulse", 5), want)
    coloured = (want != IMG).any(axis=2) & ~(want == want[:, :, :1]).all(axis=2)
    assert coloured.any()


# ---------------------------------------------------------------------------- compression


@pytest.mark.parametrize(
    ("key", "options"),
    [
        ("compression/jpeg", lambda p: {"quality": p["quality"]}),
        (
            "compression/jpeg2000",
            lambda p: {"quality_mode": "dB", "quality_layers": [p["psnr_db"]]},
        ),
    ],
)
def test_compression_is_a_pillow_round_trip(key, options):
    fmt = "JPEG" if key.endswith("jpeg") else "JPEG2000"
    for level in (1, 5):
        buffer = io.BytesIO()
        Image.fromarray(IMG).save(buffer, fmt, **options(params(key, level)))
        want = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        np.testing.assert_array_equal(run(key, level), want)


# ------------------------------------------------------------------ brightness and darken


@pytest.mark.parametrize(("family", "sign"), [("brightness", 1), ("darken", -1)])
def test_shift_hsv_closed_form(family, sign):
    img = IMG.copy()
    img[0, :4] = 0  # black pixels: grey s when brightened, 0 when darkened
    s = params(f"{family}/shift_hsv", 2)["shift"]
    x = img / 255.0
    v = x.max(axis=2, keepdims=True)
    want = np.where(v > 0, x * (v + sign * s) / np.maximum(v, 1e-12), max(sign * s, 0))
    got = run(f"{family}/shift_hsv", 2, img)
    assert_close(got, u8(want), exact=0.85)  # float32 HSV round trip, then truncation
    assert (got[0, :4] == (int(s * 255) if sign > 0 else 0)).all()


@pytest.mark.parametrize(("family", "sign"), [("brightness", 1), ("darken", -1)])
def test_shift_rgb(family, sign):
    s = params(f"{family}/shift_rgb", 4)["shift"]
    assert_close(run(f"{family}/shift_rgb", 4), u8(IMG / 255.0 + sign * s))


@pytest.mark.parametrize("family", ["brightness", "darken"])
def test_gamma_rgb(family):
    gamma = params(f"{family}/gamma_rgb", 3)["gamma"]
    np.testing.assert_array_equal(run(f"{family}/gamma_rgb", 3), u8((IMG / 255.0) ** gamma))


def hsv_u8(img: np.ndarray) -> np.ndarray:
    """OpenCV's 8-bit RGB->HSV (H in 0..179, S and V in 0..255) from its fixed-point formulas."""
    x = img.astype(np.int64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v, diff = x.max(-1), x.max(-1) - x.min(-1)
    sdiv = np.where(v > 0, np.rint((255 << 12) / np.maximum(v, 1)), 0).astype(np.int64)
    hdiv = np.where(diff > 0, np.rint((180 << 12) / (6.0 * np.maximum(diff, 1))), 0)
    vr, vg = v == r, (v == g) & (v != r)
    h = np.where(vr, g - b, np.where(vg, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * hdiv.astype(np.int64) + (1 << 11)) >> 12
    return np.stack([np.where(h < 0, h + 180, h), (diff * sdiv + (1 << 11)) >> 12, v], -1)


def rgb_from_hsv_u8(hsv: np.ndarray) -> np.ndarray:
    """8-bit HSV -> RGB through scikit-image in float, truncated (as OpenCV 5 does)."""
    unit = np.stack([hsv[..., 0] / 180.0, hsv[..., 1] / 255.0, hsv[..., 2] / 255.0], -1)
    return np.clip(np.floor(hsv2rgb(unit) * 255), 0, 255)


def test_hsv_u8_reference_agrees_with_skimage_hue():
    hue = rgb2hsv(IMG)[..., 0] * 180
    diff = np.abs(hsv_u8(IMG)[..., 0] - hue)
    assert np.minimum(diff, 180 - diff).max() <= 0.5 + 1e-9


@pytest.mark.parametrize("family", ["brightness", "darken"])
def test_gamma_hsv_changes_v_only(family):
    gamma = params(f"{family}/gamma_hsv", 4)["gamma"]
    hsv = hsv_u8(IMG)
    hsv[..., 2] = u8((hsv[..., 2] / 255.0) ** gamma)
    assert_close(run(f"{family}/gamma_hsv", 4), rgb_from_hsv_u8(hsv))


# ------------------------------------------------------------------------------- contrast


def pillow_luma(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.int64)
    return (19595 * x[..., 0] + 38470 * x[..., 1] + 7471 * x[..., 2] + 32768) >> 16


@pytest.mark.parametrize("key", ["contrast_inc/scale", "contrast_dec/scale"])
def test_scale_equals_pillow_enhance_on_the_frame(key):
    for level in (1, 5):
        alpha = params(key, level)["alpha"]
        want = np.asarray(ImageEnhance.Contrast(Image.fromarray(IMG)).enhance(alpha))
        np.testing.assert_array_equal(run(key, level), want)


@pytest.mark.parametrize("key", ["contrast_inc/scale", "contrast_dec/scale"])
def test_scale_uses_the_masks_integer_luma_mean(key):
    mask = np.zeros(IMG.shape[:2], bool)
    mask[10:40, 50:90] = True
    alpha = np.float32(params(key, 3)["alpha"])
    grey = np.float32(int(pillow_luma(IMG)[mask].mean() + 0.5))
    blend = grey + alpha * (IMG.astype(np.float32) - grey)
    want = np.clip(np.trunc(blend), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(run(key, 3, stat_mask=mask), want)
    assert not np.array_equal(want, run(key, 3))


@pytest.mark.parametrize("key", ["contrast_inc/stretch", "contrast_dec/stretch"])
def test_stretch_uses_per_channel_means(key):
    mask = np.zeros(IMG.shape[:2], bool)
    mask[:30] = True
    alpha = params(key, 2)["alpha"]
    x = IMG / 255.0
    for stat_mask, mean in (
        (None, x.reshape(-1, 3).mean(0)),
        (mask, x[:30].reshape(-1, 3).mean(0)),
    ):
        want = u8(1 / (1 + (mean / (x + 1e-12)) ** alpha))
        assert_close(run(key, 2, stat_mask=stat_mask), want)


# ------------------------------------------------------------------------------ saturate


@pytest.mark.parametrize("key", ["saturate_inc/hsv", "saturate_dec/hsv"])
def test_saturate_hsv_scales_u8_saturation(key):
    factor = params(key, 3)["factor"]
    hsv = hsv_u8(IMG)
    hsv[..., 1] = np.clip(hsv[..., 1].astype(np.float32) * np.float32(factor), 0, 255).astype(int)
    assert_close(run(key, 3), rgb_from_hsv_u8(hsv), exact=0.97)


@pytest.mark.parametrize("key", ["saturate_inc/ycrcb", "saturate_dec/ycrcb"])
def test_saturate_ycrcb_scales_and_clips_chroma(key):
    factor = params(key, 4)["factor"]
    x = IMG.astype(np.int64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = (r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14  # OpenCV's 14-bit 601 coefficients
    cr = ((r - y) * 11682 + (128 << 14) + (1 << 13)) >> 14
    cb = ((b - y) * 9241 + (128 << 14) + (1 << 13)) >> 14
    cr, cb = (np.clip(128 + (c - 128) * factor, 0, 255).astype(np.int64) - 128 for c in (cr, cb))
    rgb = np.stack(
        [
            y + ((cr * 22987 + (1 << 13)) >> 14),
            y + ((cb * -5636 + cr * -11698 + (1 << 13)) >> 14),
            y + ((cb * 29049 + (1 << 13)) >> 14),
        ],
        -1,
    )
    assert_close(run(key, 4), np.clip(rgb, 0, 255))


# --------------------------------------------------------------- oversharpen and pixelate


@pytest.mark.parametrize("level", [1, 5])
def test_oversharpen_with_the_5x5_binomial(level):
    a = params("oversharpen/oversharpen", level)["amount"]
    k = np.array([1, 4, 6, 4, 1])
    x = IMG.astype(np.float64)
    blurred = np.floor((correlate(x, np.outer(k, k), "reflect") + 128) / 256)
    want = np.clip(np.rint((1 + a) * x - a * blurred), 0, 255)
    assert_close(run("oversharpen/oversharpen", level), want)


def nearest_sources(n: int, m: int) -> list[int]:
    """Pillow NEAREST up from m to n: source int(x0), x0 = 0.5 a, stepping x0 += a (a = m / n)."""
    step, pos, out = m / n, 0.5 * (m / n), []
    for _ in range(n):
        out.append(int(pos))
        pos += step
    return out


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_pixelate_box_down_nearest_up(level):
    f = params("pixelate/pixelate", level)["factor"]
    h, w = IMG.shape[:2]
    small = IMG.astype(np.float64)
    for axis, (n, m) in ((1, (w, int(w * f))), (0, (h, int(h * f)))):  # Pillow: columns first
        scale = n / m
        centres = np.arange(n) + 0.5
        cells = [
            np.flatnonzero((centres > j * scale) & (centres <= (j + 1) * scale)) for j in range(m)
        ]
        small = np.stack([np.take(small, c, axis).mean(axis) for c in cells], axis)
        small = np.floor(small + 0.5)  # Pillow rounds after each pass
    rows, cols = nearest_sources(h, int(h * f)), nearest_sources(w, int(w * f))
    assert_close(run("pixelate/pixelate", level), small[rows][:, cols])


# -------------------------------------------------------------------------------- weather


BOX_MASK = np.zeros(IMG.shape[:2], bool)
BOX_MASK[20:44, 30:62] = True


def streak_pool(p: dict, h: int, w: int, seed: int) -> tuple:
    """The documented rain draws: angle, then priority, y, x, opacity over the start domain."""
    side = min(h, w)
    rng = np.random.default_rng(seed)
    angle = math.radians(rng.uniform(-p["angle_max_deg"], p["angle_max_deg"]))
    sigma = max(p["blur_sigma_min_px"], p["blur_sigma_per_side"] * side)
    r = int(4 * sigma + 0.5)
    run = max(1, int(p["length_max"] * side))
    down, across = run * math.cos(angle), run * math.sin(angle)
    top, bottom = -(down + r), h + r
    left, right = -(max(across, 0) + r), w + max(-across, 0) + r
    count = round(p["density_max"] * (bottom - top) * (right - left) / side**2)
    prio, fy, fx, fo = rng.random((4, count))
    lo, hi = p["streak_opacity_range"]
    ys, xs = top + fy * (bottom - top), left + fx * (right - left)
    return angle, sigma, r, prio, ys, xs, lo + fo * (hi - lo)


def streak_image(pool: tuple, chosen, steps: int, h: int, w: int) -> np.ndarray:
    """Plain loops: 1-px lines at their opacity, max-composited, blurred, peak 1."""
    angle, sigma, r, _, ys, xs, opacity = pool
    canvas = np.zeros((h + 2 * r, w + 2 * r, 1))
    for k in chosen:
        for i in range(steps):
            row = math.floor(ys[k] + i * math.cos(angle)) + r
            col = math.floor(xs[k] + i * math.sin(angle)) + r
            if 0 <= row < canvas.shape[0] and 0 <= col < canvas.shape[1]:
                canvas[row, col] = max(canvas[row, col, 0], opacity[k])
    kernel = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
    blurred = correlate(
        correlate(canvas, kernel[:, None] / kernel.sum(), "constant"),
        kernel[None, :] / kernel.sum(),
        "constant",
    )
    return np.minimum(1, kernel.sum() * blurred[r:-r, r:-r, 0])


def grey_gap(image: np.ndarray, colour) -> np.ndarray:
    """255 x the mean over channels of |C_c - J_c|."""
    return 255 * np.abs(np.asarray(colour)[None, None] - image / 255.0).mean(axis=2)


def prefix_for(order, first: int, value, target: float) -> int:
    """Linear search: the smallest prefix length >= first whose value reaches the target."""
    for count in range(first, len(order) + 1):
        if value(count) >= target:
            return count
    return len(order)


def rain_reference(
    image: np.ndarray, p: dict, seed: int, mask: np.ndarray | None
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The rendering, and (scene streaks on the region, shown on it, touching it)."""
    h, w = image.shape[:2]
    side = min(h, w)
    pool = streak_pool(p, h, w, seed)
    angle, prio, ys, xs = pool[0], pool[3], pool[4], pool[5]
    present = prio < p["density"] / p["density_max"]
    region = np.ones((h, w), bool) if mask is None else mask
    shortest = max(1, int(p["length_min"] * side))
    hits = []
    for k in range(prio.size):
        for i in range(shortest):
            row = math.floor(ys[k] + i * math.cos(angle))
            col = math.floor(xs[k] + i * math.sin(angle))
            if 0 <= row < h and 0 <= col < w and region[row, col]:
                hits.append(k)
                break
    order = sorted(hits, key=lambda k: prio[k])
    gap = grey_gap(image, p["colour"])

    def value(count: int) -> float:
        if count == 0:
            return 0.0
        return float((streak_image(pool, order[:count], shortest, h, w) * gap)[region].mean())

    first = sum(bool(present[k]) for k in order)
    shown = max(first, prefix_for(order, first, value, p["min_change"] / p["alpha"]))
    present[order[:shown]] = True
    streaks = streak_image(pool, np.flatnonzero(present), max(1, int(p["length"] * side)), h, w)
    x = image / 255.0
    out = u8(x + p["alpha"] * streaks[..., None] * (np.asarray(p["colour"]) - x))
    return out, (first, shown, len(order))


@pytest.mark.parametrize("severity", [1, 3])
def test_rain_scene_streaks_from_the_documented_draws(severity):
    p = {**params("rain/rain", severity), "min_change": 0.0}
    got = get("rain/rain").fn(IMG, p, np.random.default_rng(SEED))
    assert_close(got, rain_reference(IMG, p, SEED, None)[0])


def faint_patch(colour: tuple[int, int, int]) -> np.ndarray:
    """IMG with BOX_MASK painted close to the streak colour: the scene's share is too faint."""
    image = IMG.copy()
    image[BOX_MASK] = colour
    return image


@pytest.mark.parametrize("severity", [1, 2, 3])
def test_rain_top_up_is_the_shortest_priority_prefix(severity):
    """A region whose scene share is too faint shows the next touching streaks, in priority."""
    image = faint_patch((200, 206, 218))
    p = params("rain/rain", severity)
    want, (first, shown, touching) = rain_reference(image, p, SEED, BOX_MASK)
    assert first < shown < touching  # a real top-up, found by the search, not the whole pool
    assert_close(run("rain/rain", severity, image, stat_mask=BOX_MASK), want)


def snow_reference(
    image: np.ndarray, p: dict, seed: int, mask: np.ndarray | None
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The rendering, and (scene flakes on the region, shown on it, centred on it)."""
    h, w = image.shape[:2]
    side = min(h, w)
    (r_lo, r_hi), (o_lo, o_hi) = p["radius_range"], p["flake_opacity_range"]
    reach = 4 * r_hi * side
    rng = np.random.default_rng(seed)
    count = round(p["density_max"] * (h + 2 * reach) * (w + 2 * reach) / side**2)
    prio, fy, fx, fr, fo = rng.random((5, count))
    ys, xs = -reach + fy * (h + 2 * reach), -reach + fx * (w + 2 * reach)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5

    def flakes(chosen) -> np.ndarray:
        z = np.zeros((h, w))
        for k in chosen:
            radius = (r_lo + fr[k] * (r_hi - r_lo)) * side
            d2 = (yy - ys[k]) ** 2 + (xx - xs[k]) ** 2
            flake = (o_lo + fo[k] * (o_hi - o_lo)) * np.exp(-d2 / (2 * radius**2))
            z = np.maximum(z, np.where(d2 <= (4 * radius) ** 2, flake, 0))
        return z

    region = np.ones((h, w), bool) if mask is None else mask
    centred = [
        k
        for k in range(count)
        if 0 <= math.floor(ys[k]) < h
        and 0 <= math.floor(xs[k]) < w
        and region[math.floor(ys[k]), math.floor(xs[k])]
    ]
    order = sorted(centred, key=lambda k: prio[k])
    gap = grey_gap(image, p["colour"])
    present = prio < p["density"] / p["density_max"]
    first = sum(bool(present[k]) for k in order)

    def value(n: int) -> float:
        return float((flakes(order[:n]) * gap)[region].mean()) if n else 0.0

    shown = max(first, prefix_for(order, first, value, p["min_change"] / p["opacity"]))
    present[order[:shown]] = True
    z = 1 - (1 - p["veil"]) * (1 - p["opacity"] * flakes(np.flatnonzero(present)))
    x = image / 255.0
    return u8(x + z[..., None] * (np.asarray(p["colour"]) - x)), (first, shown, len(order))


@pytest.mark.parametrize("severity", [1, 3])
def test_snow_flakes_from_the_documented_draws(severity):
    big = photo("coffee", 120, 160)
    scene = {**params("snow/snow", severity), "min_change": 0.0}
    got = get("snow/snow").fn(big, scene, np.random.default_rng(SEED))
    assert_close(got, snow_reference(big, scene, SEED, None)[0])


@pytest.mark.slow
@pytest.mark.parametrize("severity", [1, 2, 3])
def test_snow_top_up_is_the_shortest_priority_prefix(severity):
    image = faint_patch((226, 228, 232))
    p = params("snow/snow", severity)
    want, (first, shown, centred) = snow_reference(image, p, SEED, BOX_MASK)
    assert first < shown < centred
    assert_close(run("snow/snow", severity, image, stat_mask=BOX_MASK), want)


def box_mean(plane: np.ndarray, size: int) -> np.ndarray:
    """size x size mean over [i - size//2, i + size - 1 - size//2], reflect-101."""
    before, after = size // 2, size - 1 - size // 2
    padded = np.pad(plane, ((before, after), (before, after)), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    return windows.mean(axis=(2, 3))


def hazed(
    image: np.ndarray, distance: np.ndarray, p: dict, seed: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Airlight draws; d' = floor + (1 - floor) min(box(D), d_max) / d_max with the box mean
    over the region's pixels only; beta by a bracketing solver on the region's mean t."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(*p["airlight_range"])
    airlight = np.clip(level + rng.uniform(-p["airlight_tint"], p["airlight_tint"], 3), 0, 1)
    if mask is None:
        blurred = box_mean(distance, p["box_px"])
    else:
        inside = box_mean(np.where(mask, distance, 0.0), p["box_px"])
        blurred = np.where(mask, inside / np.maximum(box_mean(mask * 1.0, p["box_px"]), 1e-12), 0)
    floor = p["depth_floor"]
    shape = floor + (1 - floor) * np.minimum(blurred, p["d_max"]) / p["d_max"]
    region = shape if mask is None else shape[mask]
    beta = optimize.brentq(
        lambda b: np.exp(-b * region).mean() - p["transmission"], 0, 100, xtol=1e-14
    )
    t = np.exp(-beta * shape)[..., None]
    return u8(image / 255.0 * t + airlight * (1 - t))


def test_haze_with_a_given_distance_map():
    p = params("haze/haze", 2)
    distance = np.linspace(1, 0, IMG.shape[0])[:, None] * np.linspace(0.5, 1, IMG.shape[1])
    assert_close(run("haze/haze", 2, depth=distance), hazed(IMG, distance, p, SEED))
    got = run("haze/haze", 2, depth=distance, stat_mask=BOX_MASK)
    assert_close(got, hazed(IMG, distance, p, SEED, BOX_MASK))


def test_haze_with_the_cap_prior():
    p = {**params("haze/haze", 3), "depth_source": "cap"}
    x = IMG / 255.0
    v = x.max(axis=2)
    s = np.where(v > 0, (v - x.min(axis=2)) / np.maximum(v, 1e-12), 0)
    cap = np.clip(0.121779 + 0.959710 * v - 0.780245 * s, 0, 1)
    k = p["cap_min_filter"]
    padded = np.pad(cap, k // 2, mode="edge")
    cap = np.lib.stride_tricks.sliding_window_view(padded, (k, k)).min(axis=(2, 3))
    got = get("haze/haze").fn(IMG, p, np.random.default_rng(SEED))
    assert_close(got, hazed(IMG, cap, p, SEED))


@pytest.mark.parametrize("source", ["auto", "layout", "ramp"])
def test_haze_without_a_map_uses_the_vertical_ramp(source):
    """With no map passed, `auto`/`layout` are the layout prior without regions: its ramp."""
    p = {**params("haze/haze", 1), "depth_source": source}
    h = IMG.shape[0]
    ramp = np.repeat((1.0 - np.arange(h) / (h - 1))[:, None], IMG.shape[1], axis=1)
    got = get("haze/haze").fn(IMG, p, np.random.default_rng(SEED))
    assert_close(got, hazed(IMG, ramp, p, SEED))


def test_haze_constant_source_and_map_only_sources():
    p = {**params("haze/haze", 1), "depth_source": "constant", "depth_constant": 0.4}
    got = get("haze/haze").fn(IMG, p, np.random.default_rng(SEED))
    assert_close(got, hazed(IMG, np.full(IMG.shape[:2], 0.4), p, SEED))
    for source in ("file", "model"):
        with pytest.raises(ValueError, match="full-frame map"):
            get("haze/haze").fn(IMG, {**p, "depth_source": source}, np.random.default_rng(0))
