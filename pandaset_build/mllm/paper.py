"""The paper's label spellings and list formats (appendix figures 9 and 10)."""

from __future__ import annotations

from pandaset_build.config import vocab

SPELLING = {
    "contrast_inc": "contrast-increase",
    "contrast_dec": "contrast-decrease",
    "saturate_inc": "saturate-increase",
    "saturate_dec": "saturate-decrease",
}
SEVERITY_WORDS = ("none", "minor", "moderate", "severe")  # by severity id; "none" = clean


def distortion_name(distortion: int) -> str:
    """The paper's name of a distortion id (`contrast_dec` -> `contrast-decrease`)."""
    name = vocab.DISTORTIONS[distortion]
    return SPELLING.get(name, name)


def comparison_name(comparison: int) -> str:
    """The paper's name of a comparison id (`slightly_worse` -> `slightly-worse`)."""
    return vocab.COMPARISONS[comparison].replace("_", "-")


DISTORTIONS = tuple(sorted(distortion_name(i) for i in range(len(vocab.DISTORTIONS))))
COMPARISONS = tuple(comparison_name(i) for i in range(len(vocab.COMPARISONS)))


def as_list(items: tuple[str, ...] | list[str]) -> str:
    """A Python list as the paper prints it: `['blur', 'brightness', ...]`."""
    return repr(list(items))


def distortion_list() -> str:
    """The 15 distortion names, hyphenated and in alphabetical order."""
    return as_list(DISTORTIONS)


def severity_word_list() -> str:
    """Type (a): `['minor', 'moderate', 'none', 'severe']` (alphabetical)."""
    return as_list(sorted(SEVERITY_WORDS))


def severity_number_list() -> str:
    """Type (b): `[0, 1, 2, 3]`."""
    return repr(list(range(len(vocab.SEVERITIES))))


def comparison_dict() -> str:
    """Type (b): `{0: 'same', 1: 'slightly-worse', ...}` (the numbers are the vocabulary ids)."""
    return repr(dict(enumerate(COMPARISONS)))
