"""The page's live 3D view: the generated motion (.glb) playing in sync with the speech.

The view is Google's ``<model-viewer>`` web component (three.js inside: glTF skinning and
animation, orbit and zoom by mouse, wheel and touch), from the model-viewer build that the
``dash-model-viewer`` PyPI package ships (``vendor/model-viewer-umd.min.js``). It is chosen over
the alternatives because:

- a Space installs ``requirements.txt`` with pip only, so the JavaScript must come in a PyPI
  package; this one holds the official standalone build, self-contained (no other script, no
  import map), and the app serves the file from the installed package: nothing comes from a
  CDN (model-viewer fetches decoders only for Draco/KTX2-compressed files, which ours are not);
- Gradio's own ``gr.Model3D`` (Babylon.js) loops a file's animation on its own clock, with no
  way to seek it or tie it to the speech, and its scripts are hashed build chunks, not an API;
- the PyPI packages that ship three.js itself come without its glTF loader and orbit
  controls, or bundle them out of reach inside their own widgets.

The package is found without being imported (importing it would import Dash); Dash and its
dependencies are installed beside it and never loaded. ``webapp/static/motion_view.js``
drives the view: the speech's ``<audio>`` element is the clock the body follows.

A visitor may drop a VRM character (``.vrm``) on the view: ``webapp/static/vrm_character.js``
loads it with three-vrm from the app's own three.js bundle (``static/vendor/semges-three.js``,
fetched only then) and plays the same motion on it from the ``.vrma`` the server exports, the
speech still the clock, the mouth opening with the ``aa`` expression.

Until the first motion the view shows the body standing at rest (:func:`idle_motion`): that
first load builds the viewer's renderer, shaders and lighting while the user records, which
on a CPU-only browser takes seconds, so a generated motion then plays within a fraction of a
second of arriving.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from semges import layout
from semges.motion import MotionClip
from webapp.downloads import file_link

MODEL_VIEWER_PACKAGE = "dash_model_viewer"
MODEL_VIEWER_FILE = Path("vendor") / "model-viewer-umd.min.js"
STATIC_FOLDER = Path(__file__).resolve().parent / "static"
MOTION_VIEW_SCRIPT = STATIC_FOLDER / "motion_view.js"
CHARACTER_SCRIPT = STATIC_FOLDER / "vrm_character.js"
THREE_BUNDLE = STATIC_FOLDER / "vendor" / "semges-three.js"  # three.js + three-vrm, built
ANIMATION_NAME = "gestures"  # semges.render.gltf.ANIMATION_NAME (not imported: no render here)
VIEW_HEIGHT_PX = 290  # with the video below, both fit a 1280x800 screen
IDLE_FOLDER = "motion-view"  # beside the request folders, never cleaned (not request-*)
IDLE_FILE = "idle.glb"
ARMS_DOWN_RAD = 1.25  # shoulder rotation about the forward axis lowering the T-pose arms
FORWARD_AXIS = 2  # z: SMPL-X bodies face +z, so turning a shoulder about it swings the arm down


class MotionViewUnavailable(RuntimeError):
    """The model-viewer script is not installed."""


def idle_motion() -> MotionClip:
    """One frame of the body standing at rest, arms lowered from the T-pose (relaxed hands)."""
    poses = np.zeros((1, layout.NUM_JOINTS, layout.AXIS_ANGLE_DIM), np.float32)
    poses[0, layout.JOINT_NAMES.index("left_shoulder"), FORWARD_AXIS] = -ARMS_DOWN_RAD
    poses[0, layout.JOINT_NAMES.index("right_shoulder"), FORWARD_AXIS] = ARMS_DOWN_RAD
    return MotionClip(
        poses.reshape(1, layout.POSE_DIM),
        np.zeros((1, layout.TRANSLATION_DIM), np.float32),
        np.zeros(layout.NUM_BETAS, np.float32),
    )


def model_viewer_script() -> Path:
    """The installed ``model-viewer-umd.min.js``; raises MotionViewUnavailable if absent."""
    spec = importlib.util.find_spec(MODEL_VIEWER_PACKAGE)
    folders = [] if spec is None else list(spec.submodule_search_locations or [])
    for folder in folders:
        script = Path(folder) / MODEL_VIEWER_FILE
        if script.is_file():
            return script
    raise MotionViewUnavailable(
        f"{MODEL_VIEWER_PACKAGE} (model-viewer) is not installed: pip install -r requirements.txt"
    )


def static_folders() -> list[Path]:
    """Folders the app must serve for the view (``gr.set_static_paths``)."""
    return [model_viewer_script().parent, STATIC_FOLDER]


def file_url(path: Path) -> str:
    """The page-relative URL under which Gradio serves an allowed or static file."""
    return file_link(path)


def head_html() -> str:
    """The ``<script>`` tags the view needs, loaded before it is wired up."""
    return "".join(
        f'<script src="{file_url(script)}"></script>'
        for script in (model_viewer_script(), MOTION_VIEW_SCRIPT, CHARACTER_SCRIPT)
    )


def view_html(idle_glb: Path) -> str:
    """The view's HTML, showing the body at rest from ``idle_glb`` until a motion comes."""
    return VIEW_HTML.replace("IDLE_URL", file_url(idle_glb)).replace(
        "THREE_URL", file_url(THREE_BUNDLE)
    )


VIEW_HTML = f"""\
<div class="motion-view" data-three-url="THREE_URL">
  <div class="motion-view-stage">
    <model-viewer src="IDLE_URL" camera-controls touch-action="pan-y"
        interaction-prompt="none" animation-name="{ANIMATION_NAME}" shadow-intensity="0"
        alt="The body gesturing to the speech"></model-viewer>
    <canvas class="motion-view-character-canvas" aria-label="Your character"></canvas>
    <p class="motion-view-waiting">The body gestures here as soon as its motion is ready,
      before the video.</p>
    <div class="motion-view-character-bar">
      <label class="motion-view-character-pick" title="Or drop a .vrm file on the view">
        Your VRM character…<input type="file" accept=".vrm" class="motion-view-character-file">
      </label>
      <button type="button" class="motion-view-mannequin" hidden>Mannequin</button>
    </div>
    <p class="motion-view-character-message" role="status" hidden></p>
  </div>
  <audio controls preload="auto"></audio>
  <p class="motion-view-hint">Play, pause or seek the speech: the body follows. Drag to turn,
    scroll or pinch to zoom; drop a .vrm file on the view to see your own character.</p>
</div>"""

VIEW_CSS = f"""\
.motion-view-stage {{ position: relative; height: {VIEW_HEIGHT_PX}px;
  background: linear-gradient(#f7f4ef, #e6e0d6); border-radius: 8px; overflow: hidden; }}
model-viewer {{ width: 100%; height: 100%; }}
.motion-view-waiting {{ position: absolute; left: 0; right: 0; bottom: 0; margin: 0;
  padding: 0.4em 1em; text-align: center; color: #6b6358; pointer-events: none;
  background: rgba(247, 244, 239, 0.85); }}
.has-motion .motion-view-waiting {{ display: none; }}
.motion-view audio {{ width: 100%; height: 36px; margin-top: 6px; }}
.motion-view-hint {{ margin: 0; font-size: 0.8em; color: #6b6358; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }}
.motion-view-character-canvas {{ position: absolute; inset: 0; width: 100%; height: 100%;
  display: none; }}
.has-character .motion-view-character-canvas {{ display: block; }}
.has-character model-viewer {{ visibility: hidden; }}
.motion-view-stage.dragging {{ outline: 3px dashed #b08a5a; outline-offset: -6px; }}
.motion-view-character-bar {{ position: absolute; top: 6px; right: 6px; display: flex;
  gap: 6px; font-size: 0.8em; }}
.motion-view-character-bar > * {{ cursor: pointer; padding: 2px 8px; border-radius: 6px;
  background: rgba(247, 244, 239, 0.9); color: #6b6358; border: 1px solid #d8d0c4;
  font: inherit; font-weight: normal; line-height: 1.4; }}
.motion-view-character-file {{ display: none; }}
.motion-view-character-message {{ position: absolute; left: 8px; right: 8px; top: 36px;
  margin: 0; padding: 0.4em 0.8em; border-radius: 6px; color: #7a2e1e;
  background: rgba(255, 240, 232, 0.95); font-size: 0.85em; }}
"""

ATTACH_JS = (
    "window.semgesMotionViewer = window.semgesMotionView.attach(element);"
    "window.semgesVrmCharacter = "
    "window.semgesVrmCharacterView.attach(element, window.semgesMotionViewer);"
)

SHOW_MOTION_JS = """(glb, speech, vrma) => {
    const view = window.semgesMotionViewer;
    if (view && glb && glb.url) {
        view.show(glb.url, speech && speech.url, vrma && vrma.url);
    }
}"""
"""The .glb download's change event: play the new motion (inputs: the .glb file, the speech,
the .vrma file for a visitor's VRM character)."""
