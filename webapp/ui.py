"""The page: inputs on the left, the gesturing body and the downloads on the right.

Speech, Generate and the examples sit at the top of the left column, so a laptop screen
(1280x800) shows them without scrolling; the less-used options fold into two accordions. The
right column starts with the live 3D view (``webapp.motion_view``), which plays the motion
with the speech as soon as it exists, then the video, rendered after. On a phone the columns
stack, so the motion and then the finished video scroll into view. Under the video, the seed
the result was made with, and a button that puts it into the seed box to make that result again
(the box starts empty: a new seed for every Generate).

Examples are a ``gr.Dataset`` whose click hands back the shipped file itself: Gradio copies it
into its cache on every click, so an example keeps working however often the cache is
cleaned (``delete_cache`` below, or the system's temp cleaner).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from semges.render.framing import DEFAULT_VIEW, VIEWS
from semges.sampling import DEFAULT_TEMPERATURE, MAX_TEMPERATURE
from semges.speakers import BEAT2_SPEAKERS, DEFAULT_SPEAKER
from webapp import motion_view
from webapp.handlers import (
    BUSY_MESSAGE,
    DEFAULT_SIZE_CHOICE,
    WORD_TABLE_HEADERS,
    WORKING_MESSAGE,
    Outcomes,
    make_generate_handler,
    make_status_handler,
)
from webapp.live_page import LIVE_BODY_FACES, add_live_page
from webapp.rendering import BODY_MANNEQUIN, BODY_SMPLX
from webapp.service import GestureService
from webapp.settings import EXAMPLES_FOLDER

TITLE = "semges: co-speech gestures from your voice"
SIZES: list[tuple[str, str]] = [
    ("320 × 240 (fastest)", "320x240"),
    ("480 × 360", "480x360"),
    ("640 × 480", "640x480"),
    ("720 × 480", "720x480"),
    ("960 × 720 (slow on CPU)", "960x720"),
]
VIEW_LABELS = {"upper": "Upper body", "full": "Full body"}
VIDEO_HEIGHT_PX = 250  # below the live view, both in sight on a 1280x800 screen

INTRO = """\
## semges: co-speech gestures from your voice
Record or upload a few seconds of English speech, or click an example. The
[SemGes](https://arxiv.org/abs/2507.19359) generator turns the audio, the words and a speaker's
style into SMPL-X body and hand motion: a wooden mannequin gestures to your speech, in 3D at once
and then on video; the motion downloads as `.npz`, `.bvh`, `.glb` and `.vrma` (drop your own VRM character on
the 3D view to see it gesture). Everything runs on a CPU.
"""

# After a result: bring the video into view when it is off screen (a phone stacks the columns,
# the video below the inputs); on a wide screen it already shows and nothing moves.
SCROLL_TO_VIDEO = """() => {
    const video = document.getElementById('result-video');
    if (video === null) return;
    const box = video.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
        video.scrollIntoView({block: 'start'});
    }
}"""


def example_rows(folder: Path = EXAMPLES_FOLDER) -> list[list[object]]:
    """One row of input values per shipped example clip (all settings at their defaults, the
    seed box empty: a fresh seed)."""
    default_name = BEAT2_SPEAKERS[DEFAULT_SPEAKER]
    return [
        [
            str(path),
            "",
            default_name,
            "",
            DEFAULT_TEMPERATURE,
            BODY_MANNEQUIN,
            DEFAULT_VIEW,
            DEFAULT_SIZE_CHOICE,
        ]
        for path in sorted(folder.glob("*.wav"))
    ]


def example_label(path: str | Path) -> str:
    """``assets/examples/scott_dream_job.wav`` -> ``"scott dream job"``."""
    return Path(path).stem.replace("_", " ")


def seed_state(temperature: float) -> dict:
    """The seed only matters when gestures are sampled (temperature above 0)."""
    return gr.update(interactive=float(temperature) > 0)


def keep_seed(seed_used: str | None) -> tuple[dict, dict]:
    """ "Use this seed again": the seed used goes into the seed box, whose accordion opens so
    the visitor sees it fixed (emptying the box brings fresh seeds back)."""
    if not seed_used:
        return gr.skip(), gr.skip()
    return gr.update(value=seed_used), gr.update(open=True)


def gradio_queue(demo: gr.Blocks) -> Any:
    """The queue ``demo.queue()`` made: Gradio's private ``Blocks._queue`` (Gradio has no
    public way to count who waits). The version is pinned in requirements.txt, and
    tests/test_private_apis.py fails with a clear message when the attribute changes."""
    return demo._queue


def waiting_requests(demo: gr.Blocks) -> int:
    """How many requests wait in (or are being served from) the demo's queue."""
    return len(gradio_queue(demo))


def make_admission_check(demo: gr.Blocks, max_waiting: int) -> Callable[..., list[dict]]:
    """A Gradio validator that turns a request away, in the app's words, when too many wait.

    Gradio runs validators when a request asks to join the queue, before it waits; a refusal
    reaches the page (next to the speech input) and ``gradio_client`` (``ValidationError``)
    with this message instead of Gradio's own "Queue is full".
    """

    def admit(*inputs: object) -> list[dict]:
        busy = waiting_requests(demo) >= max_waiting
        return [
            gr.validate(not busy, BUSY_MESSAGE if busy and i == 0 else "")
            for i in range(len(inputs))
        ]

    return admit


def build_demo(service: GestureService) -> gr.Blocks:
    """The Blocks app around a loaded service; the Generate event is the ``/generate`` API."""
    gr.set_static_paths(motion_view.static_folders())  # the 3D view's scripts, as installed
    speakers = service.speaker_names()
    default_speaker = (
        BEAT2_SPEAKERS[DEFAULT_SPEAKER]
        if BEAT2_SPEAKERS[DEFAULT_SPEAKER] in speakers
        else speakers[0]
    )
    bodies = [("Mannequin", BODY_MANNEQUIN)]
    if BODY_SMPLX in service.renderers.bodies:
        bodies.append(("SMPL-X", BODY_SMPLX))
    keep_s = service.settings.keep_minutes * 60

    with gr.Blocks(title=TITLE, delete_cache=(min(keep_s, 600), keep_s)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                audio = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label="Speech",
                    elem_id="speech-input",
                )
                transcript = gr.Textbox(
                    value="",
                    label="Transcript (optional)",
                    lines=2,
                    placeholder="Leave empty and Whisper transcribes the speech; or type exactly "
                    "what is said and it is aligned to the audio.",
                )
                button = gr.Button("Generate", variant="primary", elem_id="generate-button")
                rows = example_rows()
                examples = gr.Dataset(
                    components=[audio],
                    samples=[[row[0]] for row in rows],
                    type="index",
                    sample_labels=[example_label(row[0]) for row in rows],
                    label="Examples: real speech from BEAT2 (click to run)",
                    visible=bool(rows),
                    elem_id="examples",
                )
                with gr.Accordion("Gesture style", open=False) as style:
                    speaker = gr.Dropdown(
                        choices=[
                            (f"{name} ({sid})", name)
                            for sid, name in BEAT2_SPEAKERS.items()
                            if name in speakers
                        ],
                        value=default_speaker,
                        label="Speaker style (BEAT2)",
                        allow_custom_value=True,  # the service refuses unknown names in words
                        info="Whose gesture style to imitate: the speakers this checkpoint was "
                        "trained on (the shipped one learned scott only; see its model card).",
                    )
                    with gr.Row():
                        temperature = gr.Slider(
                            0.0,
                            MAX_TEMPERATURE,
                            value=DEFAULT_TEMPERATURE,
                            step=0.05,
                            label="Variation (sampling temperature)",
                            info="1: gestures sampled as the model learned them (the seed picks "
                            "one of many). Lower is calmer and more predictable; 0 always gives "
                            "the same, most likely gestures, both arms often moving together. "
                            "Above 1 gets restless.",
                        )
                        # Text, not gr.Number: Gradio's number box turns "empty" into 0 as
                        # soon as it shows, and a browser number rounds seeds above 2**53.
                        seed = gr.Textbox(
                            value="",
                            label="Seed",
                            placeholder="new each time",
                            max_lines=1,
                            info="Picks the variation (used when Variation is above 0). "
                            "Empty: a new one for every Generate, shown beside the result; "
                            "type that one here to get the same gestures again.",
                            interactive=DEFAULT_TEMPERATURE > 0,
                            elem_id="seed-input",
                        )
                with gr.Accordion("Video", open=False):
                    # one body only (no SMPL-X model on the server): nothing to choose
                    body = gr.Radio(
                        bodies,
                        value=BODY_MANNEQUIN,
                        label="Body",
                        visible=len(bodies) > 1,
                        elem_id="body-input",
                    )
                    view = gr.Radio(
                        [(VIEW_LABELS[v], v) for v in VIEWS], value=DEFAULT_VIEW, label="View"
                    )
                    size = gr.Dropdown(
                        SIZES, value=DEFAULT_SIZE_CHOICE, label="Size", allow_custom_value=True
                    )  # the service checks sizes
            with gr.Column(scale=1):
                gr.HTML(
                    motion_view.view_html(service.idle_glb()),
                    css_template=motion_view.VIEW_CSS,
                    js_on_load=motion_view.ATTACH_JS,
                    head=motion_view.head_html(),
                    elem_id="motion-view",
                )
                video = gr.Video(
                    label="Video (rendered after the 3D view)",
                    interactive=False,
                    height=VIDEO_HEIGHT_PX,
                    elem_id="result-video",
                )
                status = gr.Markdown(elem_id="status")
                with gr.Row(equal_height=True):
                    seed_used = gr.Textbox(
                        label="Seed used",
                        interactive=False,
                        buttons=["copy"],
                        placeholder="shown after Generate",
                        elem_id="seed-used",
                        scale=2,
                    )
                    reuse_seed = gr.Button(
                        "Use this seed again",
                        interactive=False,
                        size="md",
                        elem_id="reuse-seed",
                        scale=1,
                    )
                transcript_used = gr.Textbox(
                    label="Transcript used", interactive=False, elem_id="transcript-used"
                )
                words = gr.Dataframe(
                    headers=WORD_TABLE_HEADERS,
                    datatype=["str", "number", "number"],
                    label="Word timings",
                    interactive=False,
                    max_height=240,
                )
                with gr.Row():
                    motion_file = gr.File(label="Motion (BEAT2 SMPL-X .npz)")
                    bvh_file = gr.File(label="Motion (.bvh)")
                    glb_file = gr.File(label="Body + motion (glTF .glb)", elem_id="glb-file")
                    vrma_file = gr.File(
                        label="Motion for VRM characters (.vrma)", elem_id="vrma-file"
                    )

        inputs = [audio, transcript, speaker, seed, temperature, body, view, size]
        outputs = [
            video,
            transcript_used,
            words,
            motion_file,
            bvh_file,
            glb_file,
            vrma_file,
            seed_used,
        ]
        outcomes = Outcomes()
        handler = make_generate_handler(service, outcomes)
        show_status = make_status_handler(outcomes)
        admit = make_admission_check(demo, service.settings.queue_size)

        def load_example(index: int) -> list[object]:
            return list(rows[index])  # the shipped file: Gradio caches a fresh copy of it

        temperature.change(
            seed_state, inputs=temperature, outputs=seed, api_name=False, queue=False
        )
        seed_used.change(
            lambda used: gr.update(interactive=bool(used)),
            inputs=seed_used,
            outputs=reuse_seed,
            api_name=False,
            queue=False,
        )
        reuse_seed.click(
            keep_seed, inputs=seed_used, outputs=[seed, style], api_name=False, queue=False
        )
        glb_file.change(
            None,
            inputs=[glb_file, audio, vrma_file],
            js=motion_view.SHOW_MOTION_JS,
            api_name=False,
            queue=False,
        )
        for trigger in (button.click, examples.click):
            trigger(lambda: WORKING_MESSAGE, outputs=status, api_name=False, queue=False)
        generated = [
            button.click(
                handler,
                inputs=inputs,
                outputs=outputs,
                api_name="generate",
                validator=admit,
                show_progress_on=video,  # one progress bar, over the video
            ),
            examples.click(
                load_example,
                inputs=examples,
                outputs=inputs,
                api_name=False,
                queue=False,
            ).then(
                handler,
                inputs=inputs,
                outputs=outputs,
                api_name=False,
                validator=admit,
                show_progress_on=video,
            ),
        ]
        for event in generated:  # the page's .then does not follow a failed event; these do
            event.success(show_status, outputs=status, api_name=False, queue=False)
            event.success(None, js=SCROLL_TO_VIDEO, api_name=False, queue=False)
            event.failure(show_status, outputs=status, api_name=False, queue=False)
    add_live_page(demo, service.idle_glb(max_faces=LIVE_BODY_FACES))
    return demo
