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
START_SPACE_INSTALL_AFTER = pytest.StashKey[str]()  # the node id of the last timed test
TIMED_MARK = "browser"  # tests that bound frame rates and latencies: no install beside them


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session, config, items) -> None:
    """When the Space's test is among those to run, run the browser tests first and the
    Space's test last, and start its pip install in the background (``space_install.py``
    says why) once the last browser test is done: those bound frame
    rates and latencies, and the Live page's test missed its latency bound once in a run with
    the install (2 GB of writes) beside it. Run first, they leave the install the rest of the
    suite to finish in (the Space's test waited 41 s for it with the browser tests in the
    middle of a fresh clone's run). Browser tests fill whole modules, so no module's fixtures
    are built twice."""
    space = [item for item in items if item.path.name == SPACE_INSTALL_TEST]
    if not space or config.option.collectonly:
        return
    rest = [item for item in items if item.path.name != SPACE_INSTALL_TEST]
    timed_items = [item for item in rest if item.get_closest_marker(TIMED_MARK)]
    untimed = [item for item in rest if not item.get_closest_marker(TIMED_MARK)]
    items[:] = timed_items + untimed + space
    timed = [item.nodeid for item in timed_items]
    if timed:
        config.stash[START_SPACE_INSTALL_AFTER] = timed[-1]
    else:
        config.stash[SPACE_INSTALL] = SpaceInstall.begin()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Start the Space's install once the last timed test has finished."""
    yield
    config = item.config
    if config.stash.get(START_SPACE_INSTALL_AFTER, None) == item.nodeid:
        if SPACE_INSTALL not in config.stash:
            config.stash[SPACE_INSTALL] = SpaceInstall.begin()


def pytest_sessionfinish(session, exitstatus) -> None:
    install = session.config.stash.get(SPACE_INSTALL, None)
    if install is not None:
        install.discard()


@pytest.fixture(scope="session")
def space_install(pytestconfig) -> SpaceInstall:
    """The Space's install started after the browser tests (or now, if nothing started it)."""
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
