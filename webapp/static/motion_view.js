// The page's live 3D view: a generated motion (.glb) in <model-viewer>, driven by the speech.
//
// The speech's <audio> element is the one clock: its play, pause and seek controls move the
// body too, because every animation frame sets the model's animation time to the audio's.
// Orbit and zoom (mouse, wheel, touch) are model-viewer's own camera controls.
// window.semgesMotionView.attach(root) wires a view up once; show(glbUrl, audioUrl, vrmaUrl)
// loads a motion and starts it with the speech (the browser allows that after the Generate
// click); the same motion for VRM characters (vrmaUrl) goes to vrm_character.js, which hears
// of it by a "semges-motion" event on the view.
// Until then the view holds the body at rest (its src in the page), which readies the viewer.
(() => {
  "use strict";

  const UPPER_BODY_TARGET = 0.72; // look at this fraction of the body's height (the chest)
  const VIEW_DISTANCE = 1.0; // camera distance, in body heights: head to hips in view

  /** Wire up the <model-viewer> and <audio> inside `root`; returns the view's controls. */
  function attach(root) {
    const frame = root.querySelector(".motion-view");
    const viewer = root.querySelector("model-viewer");
    const audio = root.querySelector("audio");
    const view = {
      viewer,
      audio,
      glbUrl: null,
      vrmaUrl: null, // the same motion as a VRM Animation, for a visitor's character
      ready: false, // the current motion is loaded and follows the audio
      shownAt: null, // performance.now() when show() was called
      loadedAt: null, // ... when the model finished loading
      firstMoveAt: null, // ... when the body was first drawn at a time past 0
      show,
      lag,
    };

    /** Seconds the body is behind (+) or ahead (-) of the speech. */
    function lag() {
      return view.ready ? audio.currentTime - viewer.currentTime : null;
    }

    function follow() {
      if (view.ready) {
        const time = Math.min(audio.currentTime, viewer.duration || 0);
        if (viewer.currentTime !== time) {
          viewer.currentTime = time;
        }
        if (view.firstMoveAt === null && time > 0) {
          view.firstMoveAt = performance.now();
        }
      }
      requestAnimationFrame(follow);
    }

    function show(glbUrl, audioUrl, vrmaUrl) {
      if (!glbUrl || glbUrl === view.glbUrl) {
        return; // the final update repeats the first: keep playing
      }
      view.glbUrl = glbUrl;
      view.vrmaUrl = vrmaUrl || null;
      frame.dispatchEvent(new CustomEvent("semges-motion"));
      view.ready = false;
      view.shownAt = performance.now();
      view.loadedAt = view.firstMoveAt = null;
      audio.pause();
      if (audioUrl) {
        audio.src = audioUrl;
      }
      frame.classList.add("has-motion");
      viewer.src = glbUrl;
      const box = frame.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight) {
        frame.scrollIntoView({ block: "start" }); // a phone: the view sits below the inputs
      }
    }

    /** Frame the upper body, as the video's default view does (the user can zoom out). */
    function frameUpperBody() {
      const center = viewer.getBoundingBoxCenter();
      const size = viewer.getDimensions();
      const bottom = center.y - size.y / 2;
      viewer.cameraTarget = `${center.x}m ${bottom + UPPER_BODY_TARGET * size.y}m ${center.z}m`;
      viewer.cameraOrbit = `0deg 85deg ${VIEW_DISTANCE * size.y}m`;
      viewer.jumpCameraToGoal();
    }

    viewer.addEventListener("load", () => {
      frameUpperBody();
      viewer.play(); // makes the file's animation current (its first frame shows); then the
      viewer.pause(); // audio drives its time
      viewer.currentTime = 0;
      if (view.glbUrl === null || viewer.src !== view.glbUrl) {
        return; // the body at rest: nothing to play
      }
      view.loadedAt = performance.now();
      audio.currentTime = 0;
      view.ready = true;
      audio.play().catch(() => {}); // refused without a click first: the play button waits
    });
    requestAnimationFrame(follow);
    return view;
  }

  window.semgesMotionView = { attach };
})();
