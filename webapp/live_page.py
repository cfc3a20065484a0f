"""The Live page: speak into the microphone, the body gestures with the voice as you speak.

A page of its own in the demo's navigation bar (Gradio's multipage ``demo.route``), at
``/live``, so a presenter can open or bookmark it directly, and the Generate page loads none
of its scripts. Everything on it is the browser's: the microphone (getUserMedia + an
AudioWorklet), the link to the server (``webapp.live_routes``), and the body, drawn with
three.js from the app's own bundle (``static/vendor/semges-three.js``); the server renders
nothing. The scripts, in ``static/``:

- ``live_capture_worklet.js``: the audio thread: the microphone resampled to 16 kHz;
- ``live_stream.js``: the session, the pieces of speech sent, the frames' jitter buffer;
- ``live_body.js``: the mannequin ``.glb`` (the Generate page's idle one, with
  :data:`LIVE_BODY_FACES` triangles) and its bones;
- ``live_page.js``: Start/Stop, the latency readout and the stage view.

Stage view (for a projector): the body alone, on a plain background, filling the window (and
the screen, where the browser allows); :data:`STAGE_KEY` enters and leaves it, Escape leaves.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import gradio as gr

from semges import layout
from webapp.downloads import file_link
from webapp.live_routes import LIVE_PREFIX

STATIC_FOLDER = Path(__file__).resolve().parent / "static"
THREE_BUNDLE = STATIC_FOLDER / "vendor" / "semges-three.js"
CAPTURE_WORKLET = STATIC_FOLDER / "live_capture_worklet.js"
PAGE_SCRIPTS = (
    THREE_BUNDLE,
    STATIC_FOLDER / "live_stream.js",
    STATIC_FOLDER / "live_body.js",
    STATIC_FOLDER / "live_page.js",
)
PAGE_NAME = "Live"
PAGE_PATH = "live"
MAIN_PAGE_NAME = "Generate"  # the demo's first page, as the navigation bar names it
STAGE_KEY = "F"  # live_page.js's STAGE_KEY, as the page names it
BACKGROUND = "#ebe6dd"  # plain and light: the wooden body reads well on it, on screen or projector
VIEW_HEIGHT_PX = 520  # the body large on a laptop, the readout and buttons still in view
# The body's triangles (of the mannequin's 48,396): the page draws every frame, and where WebGL
# runs on the CPU the triangles decide the frame rate (semges.render.mesh_detail: 34 ms a
# frame -> 10 ms in headless chromium on 2 cores); at a page's size the two look the same.
LIVE_BODY_FACES = 12_000

INTRO = f"""\
## Live: the body gestures while you speak
Press **Start** and speak into your microphone: the body follows your voice as you talk, a
moment behind. Press **{STAGE_KEY}** for the stage view (the body alone, full screen, for a
projector); **{STAGE_KEY}** or **Escape** leaves it. The speech is used only to move the body,
and nothing is kept.
"""

VIEW_HTML = """\
<div class="live-view" data-state="loading" data-api="API" data-worklet="WORKLET"
    data-glb="GLB" data-joints="JOINTS" data-background="BACKGROUND">
  <div class="live-body"></div>
  <div class="live-controls">
    <button class="live-start lg primary" disabled>Start</button>
    <button class="live-stop lg secondary" disabled>Stop</button>
    <button class="live-stage-button lg secondary" title="Stage view (KEY)">Stage view (KEY)</button>
    <span class="live-readout" aria-live="off"></span>
  </div>
  <p class="live-message" role="status">Loading the body…</p>
</div>"""

VIEW_CSS = f"""\
.live-view {{ display: flex; flex-direction: column; gap: 8px; }}
.live-body {{ height: {VIEW_HEIGHT_PX}px; background: {BACKGROUND}; border-radius: 8px;
  overflow: hidden; }}
.live-body canvas {{ display: block; outline: none; }}
.live-controls {{ display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }}
.live-controls button {{ padding: 0.5em 1.4em; border-radius: 8px; cursor: pointer;
  border: 1px solid #d6d0c4; background: #f7f4ef; font-weight: 600; }}
.live-controls button.primary {{ background: #f97316; border-color: #ea580c; color: white; }}
.live-controls button:disabled {{ opacity: 0.45; cursor: default; }}
.live-readout {{ font-variant-numeric: tabular-nums; color: #4b463f; margin-left: 8px; }}
.live-readout.live-behind {{ color: #b45309; }}
.live-message {{ margin: 0; color: #4b463f; }}
.live-message.live-error {{ color: #b91c1c; font-weight: 600; }}
.live-view.live-on-stage {{ position: fixed; inset: 0; z-index: 10000; margin: 0; gap: 0;
  background: {BACKGROUND}; }}
.live-on-stage .live-body {{ height: 100%; flex: 1; border-radius: 0; }}
.live-on-stage .live-controls, .live-on-stage .live-message {{ display: none; }}
"""
# Gradio's bar of page links sits in a row of its own above every page (50 px). On a laptop
# screen it goes to the top right corner instead, beside the page's title, so the Generate
# page still shows Generate, the examples and the video without scrolling at 1280x800; a
# phone keeps it above (the title takes the whole width there). The class is named twice to
# outweigh Gradio's own rule for it.
NAVBAR_CSS = """
@media (min-width: 768px) {
  .nav-holder.nav-holder { position: absolute; top: var(--size-4); right: var(--size-8);
    z-index: 20; padding: 0; border-bottom: none; }
  .nav-holder.nav-holder nav { padding: 0; }
}
"""
# The stage view covers the page from one fixed box; the page behind must not scroll under it.
STAGE_CSS = "html.semges-live-on-stage, html.semges-live-on-stage body { overflow: hidden; }"

# The head's scripts may still be loading when the view is mounted: wait for them.
ATTACH_JS = """
const attachLive = () => window.semgesLivePage && window.semgesLiveBody && window.SemgesThree
    ? window.semgesLivePage.attach(element) : setTimeout(attachLive, 50);
attachLive();
"""


def static_folders() -> list[Path]:
    """Folders the app must serve for the page (``gr.set_static_paths``)."""
    return [STATIC_FOLDER]


def head_html() -> str:
    """The page's ``<script>`` tags (three.js first), and the stage view's page-wide rule."""
    scripts = "".join(f'<script src="{file_link(script)}"></script>' for script in PAGE_SCRIPTS)
    return f"{scripts}<style>{STAGE_CSS}</style>"


def view_html(idle_glb: Path) -> str:
    """The page's HTML: the body (``idle_glb`` until the voice moves it) and its controls."""
    fields = {
        "API": LIVE_PREFIX,
        "WORKLET": file_link(CAPTURE_WORKLET),
        "GLB": file_link(idle_glb),
        "JOINTS": json.dumps(list(layout.JOINT_NAMES)),
        "BACKGROUND": BACKGROUND,
    }
    text = VIEW_HTML.replace("KEY", STAGE_KEY)
    for name, value in fields.items():
        text = text.replace(f'"{name}"', f'"{html.escape(value, quote=True)}"')
    return text


def add_live_page(demo: gr.Blocks, idle_glb: Path) -> None:
    """Add the Live page to ``demo`` (call outside its ``with`` block), and the navigation
    bar that names both pages (its layout: :data:`NAVBAR_CSS`, in ``launch``'s ``head``)."""
    gr.set_static_paths(static_folders())
    with demo:
        gr.Navbar(main_page_name=MAIN_PAGE_NAME)
    with demo.route(PAGE_NAME, f"/{PAGE_PATH}"):
        gr.Navbar(main_page_name=MAIN_PAGE_NAME)
        gr.Markdown(INTRO)
        gr.HTML(
            view_html(idle_glb),
            css_template=VIEW_CSS,
            js_on_load=ATTACH_JS,
            head=head_html(),
            elem_id="live-view",
        )
