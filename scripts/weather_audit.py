"""Measure the weather families on the bundled demo photos: visibility, top-ups, haze targets.

    python scripts/weather_audit.py [--seeds 5]

For each family and severity, over every demo region (all regions of a photo at that severity,
one scene seed per version) and every seed: the smallest and the median mean grey-level change,
the median share of changed pixels, and (rain, snow) the share of regions that needed the
`min_change` top-up. For haze, the largest gap between a region's mean transmission, read off
black and white renderings, and its target.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from weather_gallery import FAMILIES, load

from pandaset_build.config.recipe import default_recipe
from pandaset_build.distortions import changed_share, mean_abs_change
from pandaset_build.distortions.visibility import grey


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    seeds = range(parser.parse_args().seeds)
    photos = load()
    recipe = default_recipe()
    print("family severity regions min_change median_change median_changed_share topped_up")
    for family in FAMILIES:
        for severity in (1, 2, 3):
            changes, shares, topped = [], [], []
            for seed in seeds:
                for photo in photos.values():
                    photo = dataclasses.replace(photo, seed=seed)
                    count = len(photo.masks)
                    out = photo.render(family, [severity] * count)
                    bare = photo.render(family, [severity] * count, min_change=0.0)
                    for mask in photo.masks:
                        changes.append(mean_abs_change(photo.image, out, mask))
                        shares.append(changed_share(photo.image, out, mask))
                        topped.append(bool((out[mask] != bare[mask]).any()))
            print(
                f"{family} {severity} {len(changes)} {min(changes):.2f} "
                f"{np.median(changes):.2f} {np.median(shares):.3f} "
                f"{np.mean(topped) if family != 'haze' else float('nan'):.3f}"
            )
    targets = recipe.weather.haze.transmission
    print("haze severity target max_abs_error (layout prior, every region, every seed)")
    for severity, target in zip((1, 2, 3), targets, strict=True):
        worst = 0.0
        for seed in seeds:
            for photo in photos.values():
                photo = dataclasses.replace(photo, seed=seed)
                white = dataclasses.replace(photo, image=np.full_like(photo.image, 255))
                black = dataclasses.replace(photo, image=np.zeros_like(photo.image))
                count = len(photo.masks)
                lit = white.render("haze", [severity] * count)
                dark = black.render("haze", [severity] * count)
                t = (grey(lit) - grey(dark)) / 255.0
                worst = max(worst, *(abs(t[mask].mean() - target) for mask in photo.masks))
        print(f"haze {severity} {target} {worst:.4f}")


if __name__ == "__main__":
    main()
