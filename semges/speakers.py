"""BEAT2 speakers: file ids start with the speaker id (``2_scott_0_1_1`` is speaker 2)."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from types import MappingProxyType

BEAT2_SPEAKERS: Mapping[int, str] = MappingProxyType(
    {
        1: "wayne",
        2: "scott",
        3: "solomon",
        4: "lawrence",
        5: "stewart",
        6: "carla",
        7: "sophie",
        8: "catherine",
        9: "miranda",
        10: "kieks",
        11: "nidal",
        12: "zhao",
        13: "lu",
        14: "zhang",
        15: "carlos",
        16: "jorge",
        17: "itoi",
        18: "daiki",
        19: "jaime",
        20: "li",
        21: "ayana",
        22: "luqi",
        23: "hailing",
        24: "kexin",
        25: "goto",
        26: "reamey",
        27: "yingqing",
        28: "tiffnay",
        29: "hanieh",
        30: "katya",
    }
)
DEFAULT_SPEAKER: int = 2  # scott: the speaker most published BEAT2 models are trained on


def speaker_id_from_clip_name(name: str) -> int:
    """``2_scott_0_1_1`` -> 2. Raises ValueError for names not in the BEAT2 pattern."""
    head, _, rest = name.partition("_")
    if not head.isdigit() or not rest:
        raise ValueError(f"{name!r} is not a BEAT2 clip id like '2_scott_0_1_1'")
    return int(head)


def speaker_id_from_name(name: str) -> int:
    """``scott`` -> 2 (case-insensitive)."""
    for speaker_id, speaker_name in BEAT2_SPEAKERS.items():
        if speaker_name == name.lower():
            return speaker_id
    raise ValueError(f"unknown BEAT2 speaker {name!r}; known: {', '.join(BEAT2_SPEAKERS.values())}")


def speaker_id(speaker: int | str) -> int:
    """A BEAT2 speaker given by id (``2``) or name (``"scott"``) -> its id; ValueError for
    anything else (bools, unknown names), with the names and ids it takes."""
    if isinstance(speaker, str):
        return speaker_id_from_name(speaker)
    if (
        isinstance(speaker, bool)
        or not isinstance(speaker, Integral)
        or (int(speaker) not in BEAT2_SPEAKERS)
    ):
        raise ValueError(
            f"speaker must be a BEAT2 speaker id 1..{len(BEAT2_SPEAKERS)} or a name "
            f"such as 'scott', got {speaker!r}"
        )
    return int(speaker)
