"""Helpers the format readers share: reading JSON, decoding images, deduplicating tags."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from pandaset_build.errors import BadInput
from pandaset_build.json_types import JsonObject
from pandaset_build.store.images import IMAGE_ERRORS, ORIENTATIONS, SWAPS_AXES, image_format

ReaderOptions = Mapping[str, str | Path | int]  # a reader's keyword options (--split, --masks...)


@dataclass(frozen=True)
class Item:
    """A picklable description of one image to load, listed cheaply before the work starts."""

    tag: str
    source: str
    payload: JsonObject

    @property
    def file(self) -> str:
        """The item's image file, for messages."""
        return str(self.payload.get("image") or self.payload.get("reference") or self.tag)


@contextmanager
def reading(path: str | Path, what: str) -> Iterator[None]:
    """Turn a failure to read or decode `path` into BadInput naming it."""
    try:
        yield
    except FileNotFoundError as exc:
        raise BadInput(path, f"{what} file not found") from exc
    except IMAGE_ERRORS as exc:
        raise BadInput(path, f"unreadable or truncated {what} ({exc})") from exc


def read_json(path: Path, what: str = "annotation") -> Any:
    """Parse a JSON file; a missing or malformed file makes the whole source unreadable."""
    if not path.is_file():
        raise BadInput(path, f"{what} file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(path, f"{what} file is not valid JSON ({exc})") from exc


def require_keys(path: Path, data: Any, keys: Iterable[str]) -> None:
    """Raise BadInput naming `path` unless `data` is an object holding every key."""
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise BadInput(path, f"missing top-level key(s) {', '.join(missing)}")


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image as displayed (EXIF orientation applied), after decoding all
    of its pixels."""
    with reading(path, "image"), Image.open(path) as img:
        img.load()
        width, height = img.size
    if image_format(path).orientation in SWAPS_AXES:
        return height, width
    return width, height


def check_mask_size(
    mask_path: str | Path, shape: tuple[int, ...], image_path: str | Path, width: int, height: int
) -> None:
    """Raise BadInput unless a mask of `shape` (h, w) fits its image as displayed.

    A mask that fits the image before its EXIF orientation is applied is named as such."""
    if tuple(shape[:2]) == (height, width):
        return
    problem = f"mask is {shape[1]}x{shape[0]} but its image is {width}x{height}"
    orientation = image_format(image_path).orientation
    if orientation in SWAPS_AXES and tuple(shape[:2]) == (width, height):
        problem += (
            f" as displayed: the mask fits the image before its EXIF orientation "
            f"({orientation}: {ORIENTATIONS[orientation]}) is applied, but masks must match "
            "the displayed image: turn the mask the same way, or remove the image's tag"
        )
    raise BadInput(mask_path, problem)


def collect(
    entries: Iterable[Any],
    make: Callable[[int, Any], Item | None],
    where: Path,
    unit: str = "entry",
    start: int = 0,
) -> tuple[list[Item], list[BadInput]]:
    """Build items with `make(number, entry)`; malformed entries and repeated tags are failures.

    Entries are numbered from `start` and named `unit` in messages. `make` returns None for an
    entry deliberately skipped and raises BadInput for a bad one. The first item of a tag is
    kept; the result is sorted by tag.
    """
    items: dict[str, Item] = {}
    failures: list[BadInput] = []
    for index, entry in enumerate(entries, start):
        try:
            item = make(index, entry)
        except BadInput as exc:
            failures.append(exc)
            continue
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            failures.append(BadInput(where, f"{unit} {index} is malformed ({exc!r})"))
            continue
        if item is None:
            continue
        if item.tag in items:
            first = items[item.tag].file
            failures.append(
                BadInput(
                    where,
                    f"{unit} {index}: duplicate tag {item.tag} for {item.file}, already given to "
                    f"{first}: kept the first (give the two images distinct file names)",
                )
            )
            continue
        items[item.tag] = item
    return [items[tag] for tag in sorted(items)], failures
