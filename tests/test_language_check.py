"""Speech that does not sound like English is flagged, from Whisper's own confidence.

The bundled Whisper tiny.en knows English only and turns German or French into invented
English words. These tests run the real model on real English speech (BEAT2), on English
synthesised by espeak-ng, and on German and French synthesised by espeak-ng (files in
``tests/data``, see its README), and check that only the non-English clips carry the warning,
in the front-end, the web service (result note, status line) and the command line.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from semges import cli
from semges.speech.frontend import NOT_ENGLISH_NOTE
from semges.speech.transcription import (
    ENGLISH_MIN_MEAN_LOGPROB,
    MIN_CHECKED_TOKENS,
    Recognition,
    mean_token_logprob,
)
from webapp.handlers import DONE_MESSAGE, Outcomes, make_generate_handler, make_status_handler
from webapp.service import NOT_ENGLISH, GenerateRequest, GestureService

DATA = Path(__file__).parent / "data"
GERMAN = DATA / "espeak_de_weekend.wav"  # "Am Wochenende möchte ich mich ausruhen ..."
FRENCH = DATA / "espeak_fr_journalist.wav"  # "J'aimerais devenir journaliste, ..."
SYNTHETIC_ENGLISH = DATA / "espeak_en_harbour.wav"  # "Yesterday I walked down to the harbour ..."
TEST_SIZE = (160, 120)


# -- the statistic and the rule ------------------------------------------------------------


def test_mean_token_logprob_weights_windows_by_their_tokens():
    mean, count = mean_token_logprob([-0.2, -1.0], [30, 10])
    assert count == 40
    assert mean == pytest.approx((-0.2 * 30 - 1.0 * 10) / 40)  # -0.4
    assert mean_token_logprob([], []) == (None, 0)
    assert mean_token_logprob([-3.0], [0]) == (None, 0)  # a window that decoded nothing


def test_only_confident_or_unjudgeable_decodes_sound_like_english():
    below = ENGLISH_MIN_MEAN_LOGPROB - 0.1
    above = ENGLISH_MIN_MEAN_LOGPROB + 0.1
    assert Recognition([], above, 20, english_only=True).sounds_like_english
    assert not Recognition([], below, 20, english_only=True).sounds_like_english
    assert Recognition([], below, MIN_CHECKED_TOKENS - 1, True).sounds_like_english  # too little
    assert Recognition([], None, 0, english_only=True).sounds_like_english  # nothing decoded
    assert Recognition([], below, 20, english_only=False).sounds_like_english  # multilingual


# -- the real Whisper ----------------------------------------------------------------------


@pytest.mark.parametrize("clip", [GERMAN, FRENCH], ids=["german", "french"])
def test_german_and_french_speech_is_flagged_but_still_transcribed(speech_frontend, clip):
    timed = speech_frontend.timed_words(clip)
    assert timed.language_note == NOT_ENGLISH_NOTE
    assert len(timed.words) >= 5  # a warning, not a refusal: the (wrong) words are kept


@pytest.mark.parametrize("clip", ["real", "synthetic"])
def test_english_speech_is_not_flagged(speech_frontend, speech_excerpt, clip):
    timed = speech_frontend.timed_words(speech_excerpt if clip == "real" else SYNTHETIC_ENGLISH)
    assert timed.language_note is None
    assert len(timed.words) >= 10


def test_a_given_transcript_is_not_judged(speech_frontend):
    features = speech_frontend.extract(GERMAN, "Am Wochenende möchte ich mich ausruhen")
    assert features.language_note is None  # the user's own words: nothing was recognised


# -- where the user sees it ----------------------------------------------------------------


@pytest.fixture(scope="module")
def service(speech_frontend, tmp_path_factory) -> GestureService:
    from semges.render.gl_platform import configure_headless_gl

    configure_headless_gl()
    from test_app import app_settings, tiny_service_pipeline

    from webapp.rendering import Renderers

    settings = app_settings(tmp_path_factory.mktemp("app-output"))
    return GestureService(tiny_service_pipeline(speech_frontend), Renderers.load(), settings)


def test_the_web_result_note_says_the_demo_understands_english_only(service, speech_excerpt):
    german = service.generate(GenerateRequest(GERMAN, size=TEST_SIZE, temperature=0.0))
    assert german.note == NOT_ENGLISH
    assert german.video.is_file() and german.motion.is_file()  # the motion is still made
    english = service.generate(GenerateRequest(speech_excerpt, size=TEST_SIZE, temperature=0.0))
    assert english.note is None


def test_the_status_line_shows_the_warning(service):
    from test_app import RecordingProgress, run_handler

    outcomes = Outcomes()
    handler, status = make_generate_handler(service, outcomes), make_status_handler(outcomes)
    tab = gr.Request(session_hash="french")
    with pytest.warns(UserWarning, match="English speech only"):  # gr.Warning outside a page
        *_, (video, *_) = run_handler(
            handler,
            str(FRENCH),
            size="160x120",
            variation=0.0,
            progress=RecordingProgress(),
            request=tab,
        )
    assert Path(video).is_file()
    assert status(tab) == f"{DONE_MESSAGE} {NOT_ENGLISH}"


@pytest.fixture
def shared_frontend(monkeypatch, speech_frontend):
    """In-process CLI runs reuse the session's front-end instead of loading Whisper again."""
    monkeypatch.setattr(cli, "_frontend", lambda args, saved=None: speech_frontend)
    return speech_frontend


def test_cli_transcribe_warns_on_stderr_only_for_non_english(
    speech_excerpt, shared_frontend, tmp_path, capsys
):
    assert cli.main(["transcribe", str(GERMAN), "-o", str(tmp_path / "german.json")]) == 0
    assert f"warning: {NOT_ENGLISH_NOTE}" in capsys.readouterr().err.splitlines()
    assert (tmp_path / "german.json").read_text().strip() != "[]"
    assert cli.main(["transcribe", str(speech_excerpt), "-o", str(tmp_path / "english.json")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_cli_generate_warns_and_still_writes_the_motion(shared_frontend, tmp_path, capsys):
    from tiny_pipeline import tiny_pipeline

    checkpoint = tmp_path / "checkpoint"
    tiny_pipeline(
        audio_dim=shared_frontend.audio_dim, text_dim=shared_frontend.text_dim
    ).save_pretrained(checkpoint)
    output = tmp_path / "motion.npz"
    status = cli.main(
        [
            "generate",
            str(FRENCH),
            "--checkpoint",
            str(checkpoint),
            "--temperature",
            "0",
            "-o",
            str(output),
        ]
    )
    assert status == 0 and output.is_file()
    assert f"warning: {NOT_ENGLISH_NOTE}" in capsys.readouterr().err.splitlines()
