"""Shared pytest fixtures. Expensive objects are session-scoped and built on first use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from space_install import SpaceInstall

from semges.speech import Word

DATA = Path(__file__).parent / "data"
SPEECH_EXCERPT = DATA / "2_scott_0_1_1_excerpt.wav"
"""6.45 s of real BEAT2 speech, 16 kHz mono PCM16 (see tests/data/README.md)."""
SPACE_INSTALL_TEST = "test_space_install.py"
SPACE_INSTALL = pytest.StashKey[SpaceInstall]()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session, config, items) -> None:
    """Start the Space's pip install now, in the background at idle priority, when its test
    is among those to run (``space_install.py`` says why), and run that test last: the
    suite keeps both cores busy most of the time, so the install needs all of it to finish."""
    space = [item for item in items if item.path.name == SPACE_INSTALL_TEST]
    if space:
        items[:] = [item for item in items if item.path.name != SPACE_INSTALL_TEST] + space
        if not config.option.collectonly:
            config.stash[SPACE_INSTALL] = SpaceInstall.begin()


def pytest_sessionfinish(session, exitstatus) -> None:
    install = session.config.stash.get(SPACE_INSTALL, None)
    if install is not None:
        install.discard()


@pytest.fixture(scope="session")
def space_install(pytestconfig) -> SpaceInstall:
    """The Space's install started with the session (or now, if collection did not)."""
    if SPACE_INSTALL not in pytestconfig.stash:
        pytestconfig.stash[SPACE_INSTALL] = SpaceInstall.begin()
    return pytestconfig.stash[SPACE_INSTALL]


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
