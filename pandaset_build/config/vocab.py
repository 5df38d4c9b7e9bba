"""Label vocabularies with the ids the published PANDA code uses (its `helper.py`)."""

from __future__ import annotations

DISTORTIONS: tuple[str, ...] = (
    "clean",
    "snow",
    "contrast_inc",
    "compression",
    "brightness",
    "oversharpen",
    "noise",
    "blur",
    "haze",
    "rain",
    "saturate_inc",
    "saturate_dec",
    "contrast_dec",
    "darken",
    "pixelate",
)
SEVERITIES: tuple[str, ...] = ("clean", "minor", "moderate", "severe")
COMPARISONS: tuple[str, ...] = (
    "same",
    "slightly_worse",
    "significantly_worse",
    "slightly_better",
    "significantly_better",
)

FAMILIES: tuple[str, ...] = DISTORTIONS[1:]
WEATHER_FAMILIES: tuple[str, ...] = ("rain", "snow", "haze")
# Families whose pixels come from a source's ISP images where it has them (Seagull-100w).
ISP_FAMILIES: tuple[str, ...] = ("noise", "blur")
# `category_id` of a region without a class (Seagull ROIs, SAM masks, unnamed folder ids).
NO_CATEGORY = -1

SUBTYPES: dict[str, tuple[str, ...]] = {
    "blur": ("gaussian", "motion", "glass", "lens", "zoom", "jitter"),
    "noise": (
        "gaussian_rgb",
        "gaussian_ycrcb",
        "speckle",
        "spatially_correlated",
        "poisson",
        "impulse",
    ),
    "compression": ("jpeg", "jpeg2000"),
    "brightness": ("shift_hsv", "shift_rgb", "gamma_hsv", "gamma_rgb"),
    "darken": ("shift_hsv", "shift_rgb", "gamma_hsv", "gamma_rgb"),
    "contrast_inc": ("scale", "stretch"),
    "contrast_dec": ("scale", "stretch"),
    "saturate_inc": ("hsv", "ycrcb"),
    "saturate_dec": ("hsv", "ycrcb"),
    "oversharpen": ("oversharpen",),
    "pixelate": ("pixelate",),
    "rain": ("rain",),
    "snow": ("snow",),
    "haze": ("haze",),
}
DEPICTQA_LEVELS = 5
VERSIONS: tuple[str, ...] = (*FAMILIES, "mixed", "mixed2")
MIXED_VERSIONS: tuple[str, ...] = ("mixed", "mixed2")

DISTORTION_ID = {name: i for i, name in enumerate(DISTORTIONS)}
SEVERITY_ID = {name: i for i, name in enumerate(SEVERITIES)}
COMPARISON_ID = {name: i for i, name in enumerate(COMPARISONS)}


def subtype_keys() -> list[str]:
    """All `family/subtype` keys in vocabulary order."""
    return [f"{family}/{sub}" for family in FAMILIES for sub in SUBTYPES[family]]
