"""Build the bundled demo dataset (COCO panoptic layout) from scikit-image's sample photos.

The masks are hand-made: every region is drawn from polygons and ellipses placed by eye on the
photos (and checked on overlays); some are refined by a simple colour cue, and some have their
boundary snapped by a few pixels onto the nearest strong image edge (a marker watershed). The
script is deterministic; rerun it to regenerate ``pandaset_build/demo``:

    python scripts/make_demo_data.py                 # writes pandaset_build/demo
    python scripts/make_demo_data.py --preview /tmp/x  # also writes colour overlays to check

Layout written under the output root::

    demo/<stem>.png                          the photos, pixel-exact copies
    annotations/panoptic_demo.json           images, annotations, categories
    annotations/panoptic_demo/<stem>.png     segment id = R + 256 G + 256^2 B, 0 = unlabelled

Stuff categories appear at most once per image (as in COCO panoptic); thing categories may be
split into several segments (parts of one object), each told apart by its ``description``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color, data, filters, morphology, segmentation

ROOT = Path(__file__).resolve().parents[1] / "pandaset_build" / "demo"
SPLIT = "demo"

# The real COCO panoptic categories used here: id -> (name, supercategory, isthing, color).
COCO_CATEGORIES: dict[int, tuple[str, str, int, tuple[int, int, int]]] = {
    1: ("person", "person", 1, (220, 20, 60)),
    5: ("airplane", "vehicle", 1, (106, 0, 228)),
    17: ("cat", "animal", 1, (255, 77, 255)),
    47: ("cup", "kitchen", 1, (109, 63, 54)),
    50: ("spoon", "kitchen", 1, (9, 80, 61)),
    51: ("bowl", "kitchen", 1, (84, 105, 51)),
    92: ("banner", "textile", 0, (255, 255, 128)),
    130: ("light", "furniture-stuff", 0, (255, 228, 255)),
    144: ("platform", "ground", 0, (255, 180, 195)),
    187: ("sky-other-merged", "sky", 0, (70, 130, 180)),
    189: ("table-merged", "furniture-stuff", 0, (209, 226, 140)),
    196: ("food-other-merged", "food-stuff", 0, (152, 161, 64)),
    197: ("building-other-merged", "building", 0, (116, 112, 0)),
    199: ("wall-other-merged", "wall", 0, (102, 102, 156)),
}
CATEGORY_IDS = {name: cid for cid, (name, *_rest) in COCO_CATEGORIES.items()}

LICENSES = [
    {"id": 1, "name": "Public domain", "url": ""},
    {"id": 2, "name": "CC0 1.0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
]


SNAP = 5  # how far (pixels) a snapped boundary may move onto an image edge


@dataclass
class Layer:
    """One region as drawn. ``band`` None: painted as drawn, on top of the snapped layers;
    a number: its boundary may move by about that many pixels onto the strongest image edge."""

    category: str
    description: str
    mask: np.ndarray
    band: int | None = None


def points(text: str) -> np.ndarray:
    """``"x,y x,y ..."`` -> an (N, 2) int32 array of pixel coordinates."""
    return np.array([[int(v) for v in pt.split(",")] for pt in text.split()], np.int32)


def poly(shape: tuple[int, int], *polygons: str) -> np.ndarray:
    """The union of filled polygons, each given as ``"x,y x,y ..."``."""
    canvas = np.zeros(shape, np.uint8)
    for text in polygons:
        cv2.fillPoly(canvas, [points(text)], 1)
    return canvas.astype(bool)


def ellipse(
    shape: tuple[int, int], center: tuple[int, int], axes: tuple[int, int], angle: float = 0.0
) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cv2.ellipse(canvas, center, axes, angle, 0, 360, 1, thickness=-1)
    return canvas.astype(bool)


def full(shape: tuple[int, int]) -> np.ndarray:
    return np.ones(shape, bool)


def largest_component(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return ndimage.binary_fill_holes(lab == sizes.argmax())


# --------------------------------------------------------------------------- the four photos


def astronaut(img: np.ndarray) -> list[Layer]:
    s = img.shape[:2]
    face = poly(
        s,
        (
            "185,95 200,86 230,81 258,85 271,100 272,130 268,150 256,168 "
            "245,182 228,190 212,189 197,178 188,160 183,125"
        ),
    )
    # The neck ring: an ellipse fitted to points on its outer edge, and the same ellipse
    # shrunk by the ring's width for what is seen inside it.
    (cx, cy), (w, h), angle = cv2.fitEllipse(
        points(
            "112,205 118,180 130,165 150,151 185,147 262,178 285,195 "
            "300,225 305,250 300,270 280,285 240,295 200,290 160,270 "
            "130,240"
        ).astype(np.float32)
    )
    center = (round(cx), round(cy))
    ring_outer = ellipse(s, center, (round(w / 2), round(h / 2)), angle)
    ring_inner = ellipse(s, center, (round(w / 2) - 20, round(h / 2) - 22), angle)
    return [
        Layer("wall-other-merged", "grey studio backdrop", full(s), SNAP),
        Layer(
            "banner",
            "US flag on the left",
            poly(
                s,
                (
                    "0,0 50,0 56,40 62,85 70,130 80,175 91,215 100,250 92,268 "
                    "60,282 35,300 25,340 22,400 20,470 18,512 0,512"
                ),
            ),
            SNAP,
        ),
        Layer(
            "table-merged",
            "display table under the shuttle model",
            poly(s, "332,300 338,272 362,262 512,258 512,512 332,512"),
            SNAP,
        ),
        Layer(
            "airplane",
            "space shuttle model on its stand",
            poly(
                s,
                "398,6 410,0 428,0 438,10 440,185 398,185",
                "379,58 384,42 391,42 397,60 396,258 379,258",
                "439,56 444,39 451,42 456,60 456,242 439,242",
                (
                    "386,82 398,75 405,100 410,175 430,198 452,216 456,230 400,234 "
                    "355,226 358,212 381,186 381,110"
                ),
                "378,228 455,228 455,266 378,266",
            ),
            SNAP,
        ),
        Layer(
            "person",
            "orange spacesuit",
            poly(
                s,
                (
                    "115,205 100,225 70,245 45,262 32,300 26,350 22,400 24,450 "
                    "28,512 300,512 300,400 355,345 358,330 350,280 330,250 300,235"
                ),
            ),
            SNAP,
        ),
        Layer("person", "spacesuit neck ring", ring_outer & ~face, SNAP),
        Layer(
            "person", "black undershirt and lining inside the neck ring", ring_inner & ~face, SNAP
        ),
        Layer(
            "person",
            "astronaut's hair",
            poly(
                s,
                (
                    "153,65 165,40 195,20 230,15 265,18 290,35 300,60 300,85 "
                    "295,105 285,120 272,130 272,100 260,85 230,80 200,85 185,95 "
                    "183,125 180,140 168,125 158,105 153,85"
                ),
            ),
            SNAP,
        ),
        Layer("person", "astronaut's face", face, SNAP),
        Layer(
            "person",
            "white harness straps and buckles",
            poly(
                s,
                "236,296 254,296 256,340 240,340",
                "238,330 248,330 250,450 245,470 239,470 238,450",
                ("250,335 258,335 265,380 270,430 272,480 274,512 261,512 259,470 256,420 252,370"),
                "244,445 258,445 258,476 244,476",
            ),
        ),
        Layer("person", "round mission patch", ellipse(s, (171, 383), (37, 37))),
        Layer("person", "name tag", poly(s, "279,337 328,343 326,377 283,372")),
        Layer(
            "person",
            "glove and wrist ring",
            ellipse(s, (172, 487), (25, 27)) | poly(s, "125,512 140,498 165,495 178,512"),
        ),
        Layer(
            "person",
            "space helmet held in the hand",
            ellipse(s, (392, 505), (113, 160)) | poly(s, "488,455 512,455 512,512 488,512"),
        ),
    ]


def coffee(img: np.ndarray) -> list[Layer]:
    s = img.shape[:2]
    hsv = color.rgb2hsv(img)
    rim = ellipse(s, (290, 112), (118, 95))
    crema = ellipse(s, (289, 142), (100, 64)) & (hsv[..., 1] > 0.65) & (hsv[..., 2] > 0.45)
    crema = largest_component(ndimage.binary_opening(crema, morphology.disk(3)))
    saucer = poly(
        s,
        (
            "78,240 80,200 88,165 102,130 135,97 180,72 230,66 300,64 "
            "380,80 405,102 428,113 450,135 466,160 476,190 478,240 470,285 "
            "455,325 425,358 380,380 325,391 270,391 225,384 175,366 "
            "125,332 95,295"
        ),
    )
    return [
        Layer("table-merged", "wooden table", full(s), 2),
        Layer(
            "wall-other-merged",
            "dark background in the top left corner",
            poly(s, "0,0 152,0 0,106"),
            SNAP,
        ),
        Layer("bowl", "red saucer", saucer, 2),
        Layer(
            "cup",
            "red outside of the cup",
            poly(
                s,
                (
                    "175,130 178,170 190,200 200,235 215,262 240,282 280,290 "
                    "320,288 350,275 370,250 385,215 398,180 408,135"
                ),
            )
            | rim,
            SNAP,
        ),
        Layer("cup", "white inside wall and lip of the cup", rim, SNAP),
        Layer("food-other-merged", "espresso crema", crema),
        Layer(
            "cup",
            "cup handle",
            poly(
                s,
                ("200,240 225,229 250,238 258,260 255,290 245,308 225,312 205,305 198,285 197,260"),
            ),
        ),
        Layer(
            "spoon",
            "bowl of the teaspoon",
            ellipse(s, (366, 282), (40, 43), -20)
            | poly(s, "378,245 384,225 394,205 400,210 392,240"),
        ),
        Layer(
            "spoon",
            "handle of the teaspoon",
            poly(
                s,
                (
                    "398,75 408,67 419,69 423,80 418,100 413,125 409,160 402,195 "
                    "394,205 388,203 397,170 401,130 400,100"
                ),
            ),
        ),
    ]


def chelsea(img: np.ndarray) -> list[Layer]:
    s = img.shape[:2]
    return [
        Layer("cat", "fur on top of the cat's head", full(s), 0),
        Layer(
            "cat",
            "striped side of the head on the left",
            poly(s, "0,0 140,0 130,85 128,150 100,190 0,200"),
            0,
        ),
        Layer(
            "cat",
            "left cheek and whisker pad",
            poly(s, "0,195 100,188 150,175 200,195 240,228 246,262 230,300 0,300"),
            0,
        ),
        Layer(
            "cat",
            "bridge of the nose between the eyes",
            poly(s, ("203,88 262,84 296,108 300,160 296,230 243,230 212,180 203,150")),
            0,
        ),
        Layer(
            "cat",
            "right cheek",
            poly(s, "296,150 350,140 362,200 350,300 300,300 290,258 296,230"),
            0,
        ),
        Layer(
            "cat", "mouth and chin", poly(s, "232,262 256,268 290,252 320,272 332,300 222,300"), 0
        ),
        Layer("cat", "left ear", poly(s, "42,0 82,0 75,20 55,24 45,14"), 0),
        Layer("cat", "right ear", poly(s, "322,0 398,0 388,28 372,58 356,80 338,60"), 0),
        Layer(
            "wall-other-merged",
            "blurred room in the background",
            poly(
                s,
                "0,0 44,0 36,20 31,60 28,100 25,130 15,150 0,160",
                (
                    "398,0 451,0 451,300 345,300 335,260 325,225 335,200 345,175 "
                    "352,150 360,100 356,80 372,58 388,28"
                ),
            ),
            SNAP,
        ),
        Layer("cat", "left eye", ellipse(s, (169, 116), (32, 29))),
        Layer("cat", "right eye", ellipse(s, (318, 136), (25, 26))),
        Layer(
            "cat",
            "pink nose",
            poly(s, ("243,231 262,226 290,230 293,238 280,250 265,259 256,266 250,258 246,245")),
        ),
    ]


def rocket(img: np.ndarray) -> list[Layer]:
    s = img.shape[:2]
    towers = poly(
        s,
        "45,0 90,0 84,427 0,427 0,330",
        "555,0 615,0 640,150 640,427 575,427 572,250",
        "197,122 203,122 204,190 204,427 163,427 184,190 197,190",
        ("443,122 449,122 450,190 460,190 478,427 440,427 441,190 443,190"),
    )
    lights = np.zeros(s, bool)
    for cx, cy, r in [
        (82, 348, 6),
        (150, 377, 7),
        (193, 395, 8),
        (110, 415, 9),
        (363, 397, 9),
        (433, 394, 6),
        (450, 420, 8),
    ]:
        lights |= ellipse(s, (cx, cy), (r, r))
    return [
        Layer("sky-other-merged", "evening sky with clouds on the horizon", full(s)),
        Layer("building-other-merged", "lattice lightning towers", towers),
        Layer(
            "platform",
            "launch pad and launch mount",
            poly(
                s,
                ("287,360 305,338 340,330 357,360 358,405 374,407 374,427 266,427 267,407 287,405"),
            ),
        ),
        Layer("airplane", "Falcon 9 rocket body", poly(s, "309,178 336,178 338,405 307,405")),
        Layer(
            "airplane",
            "rocket nose fairing",
            poly(s, "310,178 310,150 314,135 322,126 329,134 334,150 334,178"),
        ),
        Layer("light", "floodlights on the pad", lights),
    ]


PHOTOS: dict[str, tuple[Callable[[np.ndarray], list[Layer]], int]] = {
    # stem -> (region builder, license id)
    "astronaut": (astronaut, 1),
    "coffee": (coffee, 2),
    "chelsea": (chelsea, 2),
    "rocket": (rocket, 1),
}


# --------------------------------------------------------------------------- composing


def compose(img: np.ndarray, layers: list[Layer]) -> np.ndarray:
    """Paint the layers into one label map, later layers winning.

    The snapped layers are painted first; each is then shrunk by its ``band`` to a sure core,
    and a watershed on the colour gradient decides the pixels in between, so boundaries move
    (by at most about the band) onto the nearest strong image edge. The other layers are
    painted on top as drawn. Tiny stray fragments go to their neighbours.
    """
    labels = np.zeros(img.shape[:2], np.int32)
    for k, layer in enumerate(layers, start=1):
        if layer.band is not None:
            labels[layer.mask] = k
    if any(layer.band is not None for layer in layers):
        lab = filters.gaussian(color.rgb2lab(img), sigma=1.0, channel_axis=-1)
        gradient = np.sqrt(sum(filters.sobel(lab[..., c]) ** 2 for c in range(3)))
        markers = np.zeros_like(labels)
        for k in np.unique(labels[labels > 0]):
            band = layers[k - 1].band or 0
            region = labels == k
            if band > 0:
                region = ndimage.binary_erosion(region, morphology.disk(band), border_value=1)
            markers[region] = k
        labels = segmentation.watershed(gradient, markers).astype(np.int32)
    for k, layer in enumerate(layers, start=1):
        if layer.band is None:
            labels[layer.mask] = k
    return absorb_fragments(labels, min_size=40)


def absorb_fragments(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Give connected pieces smaller than min_size (of any label) to the nearest other label."""
    out = labels.copy()
    stray = np.zeros(labels.shape, bool)
    for k in np.unique(labels):
        comp, n = ndimage.label(labels == k)
        if n <= 1:
            continue
        sizes = np.bincount(comp.ravel())
        small = np.flatnonzero(sizes < min_size)
        small = small[small > 0]
        stray |= np.isin(comp, small)
    if stray.any():
        _, (iy, ix) = ndimage.distance_transform_edt(stray, return_indices=True)
        out[stray] = labels[iy[stray], ix[stray]]
    return out


def encode_ids(ids: np.ndarray) -> np.ndarray:
    ids = ids.astype(np.uint32)
    return np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)


def segment_info(mask: np.ndarray, seg_id: int, layer: Layer) -> dict:
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return {
        "id": seg_id,
        "category_id": CATEGORY_IDS[layer.category],
        "iscrowd": 0,
        "bbox": [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
        "area": int(mask.sum()),
        "description": layer.description,
    }


def overlay(img: np.ndarray, ids: np.ndarray, infos: list[dict]) -> np.ndarray:
    rng = np.random.default_rng(0)
    palette = rng.integers(40, 255, size=(int(ids.max()) + 1, 3)).astype(np.float64)
    palette[0] = 0
    out = 0.7 * img + 0.3 * palette[ids]
    edges = segmentation.find_boundaries(ids, mode="inner")
    out[edges] = 255
    out = out.astype(np.uint8)
    for info in infos:
        ys, xs = np.nonzero(ids == info["id"])
        cy, cx = int(np.median(ys)), int(np.median(xs))
        cv2.putText(
            out, str(info["id"]), (cx - 4, cy + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 2
        )
        cv2.putText(
            out,
            str(info["id"]),
            (cx - 4, cy + 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (255, 255, 255),
            1,
        )
    return out


def build(root: Path, preview: Path | None = None) -> dict:
    (root / SPLIT).mkdir(parents=True, exist_ok=True)
    (root / "annotations" / f"panoptic_{SPLIT}").mkdir(parents=True, exist_ok=True)
    images, annotations, used = [], [], set()
    for image_id, (stem, (builder, license_id)) in enumerate(PHOTOS.items(), start=1):
        img = getattr(data, stem)()
        h, w = img.shape[:2]
        layers = builder(img)
        labels = compose(img, layers)
        ids = np.zeros_like(labels)
        infos = []
        for k, layer in enumerate(layers, start=1):
            mask = labels == k
            if not mask.any():
                raise RuntimeError(f"{stem}: region {layer.description!r} came out empty")
            seg_id = len(infos) + 1
            ids[mask] = seg_id
            infos.append(segment_info(mask, seg_id, layer))
            used.add(infos[-1]["category_id"])
        stuff = [i["category_id"] for i in infos if not COCO_CATEGORIES[i["category_id"]][2]]
        assert len(stuff) == len(set(stuff)), f"{stem}: a stuff category occurs twice"
        Image.fromarray(img).save(root / SPLIT / f"{stem}.png", optimize=True)
        Image.fromarray(encode_ids(ids)).save(
            root / "annotations" / f"panoptic_{SPLIT}" / f"{stem}.png", optimize=True
        )
        images.append(
            {
                "id": image_id,
                "file_name": f"{stem}.png",
                "height": h,
                "width": w,
                "license": license_id,
            }
        )
        annotations.append(
            {"image_id": image_id, "file_name": f"{stem}.png", "segments_info": infos}
        )
        if preview is not None:
            preview.mkdir(parents=True, exist_ok=True)
            Image.fromarray(overlay(img, ids, infos)).save(preview / f"{stem}_overlay.png")
        for info in infos:
            name = COCO_CATEGORIES[info["category_id"]][0]
            print(f"{stem:10s} {info['id']:3d} {name:22s} {info['area']:7d}  {info['description']}")
    categories = [
        {"id": cid, "name": name, "supercategory": sup, "isthing": isthing, "color": list(rgb)}
        for cid, (name, sup, isthing, rgb) in sorted(COCO_CATEGORIES.items())
        if cid in used
    ]
    coco = {
        "info": {
            "description": "pandaset-build demo: scikit-image sample photos with hand-made "
            "panoptic masks (scripts/make_demo_data.py)",
            "version": "1.0",
            "year": 2026,
            "contributor": "pandaset-build",
        },
        "licenses": LICENSES,
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    path = root / "annotations" / f"panoptic_{SPLIT}.json"
    path.write_text(json.dumps(coco, indent=1) + "\n")
    return coco


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: package)")
    parser.add_argument("--preview", type=Path, default=None, help="write overlays here")
    args = parser.parse_args()
    build(args.out, args.preview)


if __name__ == "__main__":
    main()
