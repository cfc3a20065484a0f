"""Shared pytest fixtures. Expensive objects are session-scoped and built on first use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semges.speech import Word

DATA = Path(__file__).parent / "data"
SPEECH_EXCERPT = DATA / "2_scott_0_1_1_excerpt.wav"
"""6.45 s of real BEAT2 speech, 16 kHz mono PCM16 (see tests/data/README.md)."""


@pytest.fixture(scope="session")
def speech_frontend():
    """The real speech front-end (Whisper tiny.en + MiniLM), loaded once per test session."""
    from semges.speech.frontend import SpeechFrontend

    return SpeechFrontend()


@pytest.fixture(scope="session")
def speech_excerpt() -> Path:
    return SPEECH_EXCERPT


@pytest.fixture(scope="session")
def speech_excerpt_words() -> list[Word]:
    """The excerpt's words and times from its BEAT2 TextGrid."""
    entries = json.loads(SPEECH_EXCERPT.with_suffix(".words.json").read_text())
    return [Word(e["word"], e["start"], e["end"]) for e in entries]
