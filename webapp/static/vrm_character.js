// Your own VRM character in the page's 3D view, gesturing and speaking with the speech.
//
// The visitor drops a .vrm file on the view (or picks one): three-vrm loads it into a canvas
// over the <model-viewer>, and the motion the server exported as a VRM Animation (.vrma, the
// same motion as the mannequin's .glb, retargeted to the VRM humanoid, the mouth as the "aa"
// expression) plays on it. The speech's <audio> stays the one clock: every animation frame
// sets the animation's time to the audio's, so play, pause and seek move the character too.
// With no file the mannequin stays. three.js and three-vrm come from the app's own bundle
// (vendor/semges-three.js, window.SemgesThree), loaded on the first file: the page itself
// loads nothing more until then, and nothing comes from a CDN.
// window.semgesVrmCharacterView.attach(root, motionView) wires it up once.
(() => {
  "use strict";

  const UPPER_BODY_TARGET = 0.72; // look at this fraction of the character's height (chest)
  const VIEW_DISTANCE = 1.0; // camera distance, in character heights (as the mannequin's view)
  const CAMERA_FOV_DEG = 45; // head to hips in view at that distance
  const ARMS_DOWN_RAD = 1.25; // upper arms lowered from the T-pose until a motion comes
  const MAX_FRAME_STEP_S = 0.1; // spring bones never step further than this at once
  const NOT_A_VRM =
    "is not a VRM character. Drop a .vrm file (VRM 1.0 or 0.x, as VRoid Studio or the " +
    "VRM add-on for Blender export them); the mannequin stays meanwhile.";

  let threeLoading = null; // the bundle's <script> promise, shared by every view

  /** window.SemgesThree, loading the bundle from `url` on first use. */
  function loadThree(url) {
    if (window.SemgesThree) {
      return Promise.resolve(window.SemgesThree);
    }
    if (threeLoading === null) {
      threeLoading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => resolve(window.SemgesThree);
        script.onerror = () => {
          threeLoading = null;
          reject(new Error("the 3D library could not be loaded; reload the page"));
        };
        document.head.appendChild(script);
      });
    }
    return threeLoading;
  }

  /** Wire the character controls inside `root` to the motion view `motionView`. */
  function attach(root, motionView) {
    const frame = root.querySelector(".motion-view");
    const stage = root.querySelector(".motion-view-stage");
    const canvas = root.querySelector(".motion-view-character-canvas");
    const input = root.querySelector(".motion-view-character-file");
    const back = root.querySelector(".motion-view-mannequin");
    const message = root.querySelector(".motion-view-character-message");
    const audio = motionView.audio;
    const character = {
      vrm: null, // the loaded character (three-vrm's VRM), null with the mannequin
      name: null, // its file's name
      vrmaUrl: null, // the motion it plays
      ready: false, // that motion is loaded and follows the audio
      error: null, // the last message shown for a bad file
      lag, // seconds the character is behind (+) or ahead (-) of the speech
      mouth, // its "aa" weight now (0 closed .. 1 open)
      load: loadFile, // load a File (what a drop or the picker does)
    };
    let three = null;
    let renderer = null;
    let scene = null;
    let camera = null;
    let controls = null;
    let loader = null;
    let mixer = null;
    let action = null;
    let duration = 0;
    let lastTime = null;

    function lag() {
      return character.ready && action ? audio.currentTime - action.time : null;
    }

    function mouth() {
      const manager = character.vrm && character.vrm.expressionManager;
      return manager ? manager.getValue("aa") : null;
    }

    function say(text) {
      message.textContent = text || "";
      message.hidden = !text;
    }

    function setUp(threeBundle) {
      three = threeBundle;
      const { THREE, GLTFLoader, OrbitControls, VRMLoaderPlugin, VRMAnimationLoaderPlugin } =
        three;
      renderer = new THREE.WebGLRenderer({ canvas, antialias: true, alpha: true });
      renderer.setPixelRatio(window.devicePixelRatio || 1);
      scene = new THREE.Scene();
      scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8070, 1.6));
      const sun = new THREE.DirectionalLight(0xffffff, 1.8);
      sun.position.set(1, 2, 3);
      scene.add(sun);
      camera = new THREE.PerspectiveCamera(CAMERA_FOV_DEG, 1, 0.05, 50);
      controls = new OrbitControls(camera, canvas);
      loader = new GLTFLoader();
      loader.register((parser) => new VRMLoaderPlugin(parser));
      loader.register((parser) => new VRMAnimationLoaderPlugin(parser));
      requestAnimationFrame(draw);
    }

    /** Frame the upper body from the front, as the mannequin's view does. */
    function frameUpperBody(vrm) {
      const { THREE } = three;
      const box = new THREE.Box3().setFromObject(vrm.scene);
      const size = box.getSize(new THREE.Vector3());
      const center = box.getCenter(new THREE.Vector3());
      const target = new THREE.Vector3(center.x, box.min.y + UPPER_BODY_TARGET * size.y, center.z);
      controls.target.copy(target);
      camera.position.set(target.x, target.y, target.z + VIEW_DISTANCE * size.y);
      controls.update();
    }

    function restPose(vrm) {
      const humanoid = vrm.humanoid;
      const left = humanoid.getNormalizedBoneNode("leftUpperArm");
      const right = humanoid.getNormalizedBoneNode("rightUpperArm");
      if (left) left.rotation.set(0, 0, -ARMS_DOWN_RAD);
      if (right) right.rotation.set(0, 0, ARMS_DOWN_RAD);
    }

    async function loadFile(file) {
      say("");
      character.error = null;
      let gltf;
      try {
        if (three === null) {
          setUp(await loadThree(frame.dataset.threeUrl));
        }
        gltf = await loader.parseAsync(await file.arrayBuffer(), "");
      } catch (error) {
        return refuse(file, error);
      }
      const vrm = gltf.userData.vrm;
      if (!vrm) {
        return refuse(file, null);
      }
      const { VRMUtils } = three;
      VRMUtils.removeUnnecessaryVertices(gltf.scene);
      VRMUtils.combineSkeletons(gltf.scene);
      VRMUtils.rotateVRM0(vrm); // a VRM 0.x faces -z; 1.0 and the motion face +z
      drop();
      character.vrm = vrm;
      character.name = file.name;
      scene.add(vrm.scene);
      restPose(vrm);
      vrm.update(0);
      frameUpperBody(vrm);
      stage.classList.add("has-character");
      back.hidden = false;
      character.vrmaUrl = null;
      await play(motionView.vrmaUrl);
      return character;
    }

    function refuse(file, error) {
      const detail = error ? ` (${error.message || error})` : "";
      character.error = `“${file.name}” ${NOT_A_VRM}`;
      say(character.error);
      if (error) console.warn("not a VRM:", file.name, detail);
      return null;
    }

    /** Back to the mannequin: the character is removed and freed. */
    function drop() {
      if (character.vrm) {
        scene.remove(character.vrm.scene);
        three.VRMUtils.deepDispose(character.vrm.scene);
      }
      character.vrm = null;
      character.name = null;
      character.ready = false;
      mixer = action = null;
      stage.classList.remove("has-character");
      back.hidden = true;
    }

    /** Play the motion at `vrmaUrl` on the character, following the audio. */
    async function play(vrmaUrl) {
      const vrm = character.vrm;
      if (!vrm || !vrmaUrl || vrmaUrl === character.vrmaUrl) {
        return;
      }
      character.vrmaUrl = vrmaUrl;
      character.ready = false;
      const { THREE, createVRMAnimationClip } = three;
      const gltf = await loader.loadAsync(vrmaUrl);
      if (vrm !== character.vrm || vrmaUrl !== character.vrmaUrl) {
        return; // another character or motion came meanwhile
      }
      const clip = createVRMAnimationClip(gltf.userData.vrmAnimations[0], vrm);
      mixer = new THREE.AnimationMixer(vrm.scene);
      action = mixer.clipAction(clip);
      action.setLoop(THREE.LoopOnce, 1);
      action.clampWhenFinished = true;
      action.play();
      duration = clip.duration;
      mixer.setTime(0); // frame the motion's first pose (it may stand off the origin)
      vrm.update(0);
      frameUpperBody(vrm);
      character.ready = true;
    }

    function draw(now) {
      requestAnimationFrame(draw);
      const vrm = character.vrm;
      if (!vrm) {
        return;
      }
      const step = lastTime === null ? 0 : Math.min((now - lastTime) / 1000, MAX_FRAME_STEP_S);
      lastTime = now;
      if (character.ready) {
        mixer.setTime(Math.min(audio.currentTime, duration));
      }
      vrm.update(step);
      const width = canvas.clientWidth;
      const height = canvas.clientHeight;
      if (canvas.width !== Math.round(width * renderer.getPixelRatio())) {
        renderer.setSize(width, height, false);
        camera.aspect = width / Math.max(height, 1);
        camera.updateProjectionMatrix();
      }
      controls.update();
      renderer.render(scene, camera);
    }

    input.addEventListener("change", () => {
      if (input.files && input.files[0]) {
        loadFile(input.files[0]);
      }
      input.value = ""; // the same file again loads again
    });
    back.addEventListener("click", () => {
      drop();
      say("");
    });
    stage.addEventListener("dragover", (event) => {
      event.preventDefault();
      stage.classList.add("dragging");
    });
    stage.addEventListener("dragleave", () => stage.classList.remove("dragging"));
    stage.addEventListener("drop", (event) => {
      event.preventDefault();
      stage.classList.remove("dragging");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) {
        loadFile(file);
      }
    });
    frame.addEventListener("semges-motion", () => {
      play(motionView.vrmaUrl).catch((error) => say(`The motion could not be loaded: ${error}`));
    });
    return character;
  }

  window.semgesVrmCharacterView = { attach };
})();
