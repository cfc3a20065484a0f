"""The page: inputs on the left, the gesturing body and the downloads on the right."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from semges.sampling import DEFAULT_TEMPERATURE
from semges.speakers import BEAT2_SPEAKERS, DEFAULT_SPEAKER
from webapp.handlers import WORD_TABLE_HEADERS, make_generate_handler
from webapp.rendering import BODY_MANNEQUIN, BODY_SMPLX, DEFAULT_SIZE, VIEWS
from webapp.service import MAX_TEMPERATURE, GestureService
from webapp.settings import EXAMPLES_FOLDER

TITLE = "semges: co-speech gestures from your voice"
SIZES: list[tuple[str, str]] = [
    ("320 × 240 (fastest)", "320x240"),
    ("480 × 360", "480x360"),
    ("640 × 480", "640x480"),
    ("720 × 480", "720x480"),
    ("960 × 720 (slow on CPU)", "960x720"),
]
DEFAULT_SIZE_CHOICE = "{}x{}".format(*DEFAULT_SIZE)
VIEW_LABELS = {"upper": "Upper body", "full": "Full body"}

INTRO = """\
# semges: co-speech gestures from your voice
Record or upload a few seconds of English speech. The [SemGes](https://arxiv.org/abs/2507.19359)
generator turns what you say (audio, the words, the speaker's style) into SMPL-X body and hand
motion; you get a video of a wooden mannequin gesturing to your speech, and the motion as a
BEAT2 `.npz` and a `.bvh`. Runs on a CPU: a 10 s clip is ready in about 6 seconds on two cores.
"""


def example_rows(folder: Path = EXAMPLES_FOLDER) -> list[list[object]]:
    """One row of input values per shipped example clip (all settings at their defaults)."""
    default_name = BEAT2_SPEAKERS[DEFAULT_SPEAKER]
    return [
        [str(path), "", default_name, 0, DEFAULT_TEMPERATURE, BODY_MANNEQUIN, "upper",
         DEFAULT_SIZE_CHOICE]
        for path in sorted(folder.glob("*.wav"))
    ]


def seed_state(variation: float) -> dict:
    """The seed only matters when gestures are sampled (Variation above 0)."""
    return gr.update(interactive=float(variation) > 0)


def build_demo(service: GestureService) -> gr.Blocks:
    """The Blocks app around a loaded service; the Generate event is the ``/generate`` API."""
    speakers = service.speaker_names()
    default_speaker = (BEAT2_SPEAKERS[DEFAULT_SPEAKER] if BEAT2_SPEAKERS[DEFAULT_SPEAKER] in speakers
                       else speakers[0])
    bodies = [("Mannequin", BODY_MANNEQUIN)]
    if BODY_SMPLX in service.renderers.bodies:
        bodies.append(("SMPL-X", BODY_SMPLX))
    body_info = (
        "SMPL-X model file configured." if len(bodies) > 1
        else "Set SEMGES_SMPLX_MODEL to an SMPL-X model file to render the real SMPL-X body."
    )
    keep_s = service.settings.keep_minutes * 60

    with gr.Blocks(title=TITLE, delete_cache=(min(keep_s, 600), keep_s)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                audio = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", label="Speech",
                    elem_id="speech-input",
                )  # fmt: skip
                transcript = gr.Textbox(
                    label="Transcript (optional)", lines=2,
                    placeholder="Leave empty and Whisper transcribes the speech; or type exactly "
                    "what is said and it is aligned to the audio.",
                )  # fmt: skip
                speaker = gr.Dropdown(
                    choices=[(f"{name} ({sid})", name) for sid, name in BEAT2_SPEAKERS.items()
                             if name in speakers],
                    value=default_speaker, label="Speaker style (BEAT2)",
                    info="Whose gesture style to imitate: the speakers this checkpoint was "
                    "trained on (the shipped one learned scott only; see its model card).",
                )  # fmt: skip
                with gr.Row():
                    variation = gr.Slider(
                        0.0, MAX_TEMPERATURE, value=DEFAULT_TEMPERATURE, step=0.05,
                        label="Variation",
                        info="1: gestures sampled as the model learned them (the seed picks "
                        "one of many). Lower is calmer and more predictable; 0 always gives "
                        "the same, most likely and smallest gestures. Above 1 gets restless.",
                    )  # fmt: skip
                    seed = gr.Number(value=0, precision=0, minimum=0, label="Seed",
                                     info="Picks the variation (used when Variation is above 0).",
                                     interactive=DEFAULT_TEMPERATURE > 0, elem_id="seed-input")
                with gr.Accordion("Video", open=False):
                    body = gr.Radio(bodies, value=BODY_MANNEQUIN, label="Body", info=body_info)
                    view = gr.Radio([(VIEW_LABELS[v], v) for v in VIEWS], value="upper",
                                    label="View")  # fmt: skip
                    size = gr.Dropdown(SIZES, value=DEFAULT_SIZE_CHOICE, label="Size")
                button = gr.Button("Generate", variant="primary", elem_id="generate-button")
            with gr.Column(scale=1):
                video = gr.Video(label="Gestures", interactive=False, elem_id="result-video")
                transcript_used = gr.Textbox(label="Transcript used", interactive=False,
                                             elem_id="transcript-used")
                words = gr.Dataframe(
                    headers=WORD_TABLE_HEADERS, datatype=["str", "number", "number"],
                    label="Word timings", interactive=False, max_height=240,
                )  # fmt: skip
                with gr.Row():
                    motion_file = gr.File(label="Motion (BEAT2 SMPL-X .npz)")
                    bvh_file = gr.File(label="Motion (.bvh)")

        inputs = [audio, transcript, speaker, seed, variation, body, view, size]
        outputs = [video, transcript_used, words, motion_file, bvh_file]
        handler = make_generate_handler(service)
        variation.change(seed_state, inputs=variation, outputs=seed, api_name=False)
        button.click(handler, inputs=inputs, outputs=outputs, api_name="generate",
                     show_progress_on=video)  # one progress bar, over the video
        rows = example_rows()
        if rows:
            gr.Examples(
                rows, inputs=inputs, outputs=outputs, fn=handler, cache_examples=False,
                run_on_click=True, label="Examples: real speech from BEAT2 (click to run)",
                example_labels=[Path(row[0]).stem.replace("_", " ") for row in rows],
                visible_columns=[0],
            )  # fmt: skip
    return demo
