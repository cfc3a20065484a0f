// The Live page's body: the mannequin .glb in three.js, its bones set from streamed frames.
//
// window.semgesLiveBody = { LiveBody }. The .glb is the app's idle mannequin (the one the
// Generate page shows at rest, with a quarter of its triangles: webapp/live_page.py's
// LIVE_BODY_FACES): a skin over the 55 SMPL-X joints, nodes named after them. A
// frame gives every joint's local rotation and the pelvis's position, computed on the server
// by the glTF writer's own functions, so drawing one is setting 55 quaternions and a position
// (interpolated between the two frames around the drawn time). three.js comes from the app's
// bundle (window.SemgesThree: vendor/semges-three.js), never from a CDN.
(() => {
  "use strict";

  const FIELD_OF_VIEW_DEG = 30;
  const CHEST_HEIGHT = 0.64; // look at this fraction of the body's height: shins to above the head
  const VIEW_DISTANCE = 1.7; // camera distance, in body heights: 0.91 of the height in view
  const NEAR_M = 0.05;
  const FAR_M = 50;
  const MAX_PIXEL_RATIO = 2; // a 4K projector gains nothing visible above this, and costs a lot
  const SKY_LIGHT = 0xffffff;
  const GROUND_LIGHT = 0x6b6358;
  const HEMISPHERE_INTENSITY = 2.2;
  const KEY_LIGHT_INTENSITY = 2.0;
  const KEY_LIGHT_POSITION = [1.5, 3.0, 2.5]; // in front, above, to the body's left
  const QUATERNION_DIM = 4;
  const ROOT_DIM = 3;
  // Dynamic resolution: while drawing continuously below TARGET_FPS, draw fewer pixels (the
  // canvas is stretched to its box), down to MIN_RENDER_SCALE of the display's resolution.
  // (The page draws at most 30 times a second: below 25 is what counts as too slow.)
  const TARGET_FPS = 25;
  const ADAPT_EVERY_MS = 1000;
  const SCALE_STEP = 0.8;
  const MIN_RENDER_SCALE = 0.5;
  const CONTINUOUS_GAP_MS = 250; // draws further apart than this are not a continuous run
  const MS_PER_S = 1000;

  // The camera follows the pelvis across the floor (a step aside must not walk the body out of
  // the stage view), smoothly: it closes 63 % of the distance in FOLLOW_TIME_MS.
  const FOLLOW_TIME_MS = 800;
  const SOFTWARE_GPU = /swiftshader|llvmpipe|software/i;
  const ANTIALIAS_BELOW_PIXEL_RATIO = 2; // sharper screens need no smoothing of edges

  /** Whether WebGL runs on the CPU (no GPU, or a blocked one): then every pixel counts. */
  function softwareRendering() {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) {
      return true;
    }
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const name = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : "";
    const lose = gl.getExtension("WEBGL_lose_context");
    if (lose) {
      lose.loseContext();
    }
    return SOFTWARE_GPU.test(name);
  }

  class LiveBody {
    /** A three.js view inside `container` (its size follows the container's). */
    constructor(container, background) {
      const { THREE, OrbitControls } = window.SemgesThree;
      this.THREE = THREE;
      this.container = container;
      // Multisampling smooths the body's edges on a GPU; on the CPU it halves the frame rate.
      const antialias =
        (window.devicePixelRatio || 1) < ANTIALIAS_BELOW_PIXEL_RATIO && !softwareRendering();
      this.renderer = new THREE.WebGLRenderer({ antialias });
      this.renderScale = 1; // fraction of the display's pixels drawn (see TARGET_FPS)
      this.runStart = null; // first draw of the current continuous run, and draws since
      this.runDraws = 0;
      this.lastRender = null;
      this.renderer.outputColorSpace = THREE.SRGBColorSpace;
      container.appendChild(this.renderer.domElement);
      this.scene = new THREE.Scene();
      this.scene.background = new THREE.Color(background);
      this.scene.add(new THREE.HemisphereLight(SKY_LIGHT, GROUND_LIGHT, HEMISPHERE_INTENSITY));
      const key = new THREE.DirectionalLight(SKY_LIGHT, KEY_LIGHT_INTENSITY);
      key.position.set(...KEY_LIGHT_POSITION);
      this.scene.add(key);
      this.camera = new THREE.PerspectiveCamera(FIELD_OF_VIEW_DEG, 1, NEAR_M, FAR_M);
      this.controls = new OrbitControls(this.camera, this.renderer.domElement);
      this.controls.enableDamping = false;
      this.bones = []; // in the wire's joint order
      this.rest = null; // {quats: Float32Array(J * 4), root: Float32Array(3)}: the idle pose
      this.a = new THREE.Quaternion();
      this.b = new THREE.Quaternion();
      this.resize();
      new ResizeObserver(() => this.resize()).observe(container);
    }

    /** Load the .glb, find the joints named in `jointNames`, stand the body at rest. */
    async load(glbUrl, jointNames) {
      const { GLTFLoader } = window.SemgesThree;
      const gltf = await new GLTFLoader().loadAsync(glbUrl);
      gltf.scene.traverse((node) => {
        if (node.isMesh) {
          // The file's material is matte wood (roughness 0.8, no metal): diffuse shading
          // draws it alike at a fraction of the per-pixel cost of the physically based
          // shader, which decides the frame rate on integrated or software-rendered GPUs.
          node.material = new this.THREE.MeshLambertMaterial({ vertexColors: true });
        }
      });
      this.scene.add(gltf.scene);
      this.bones = jointNames.map((name) => {
        const bone = gltf.scene.getObjectByName(name);
        if (!bone) {
          throw new Error(`the body has no joint ${name}`);
        }
        return bone;
      });
      this.rest = this.restPose(gltf, jointNames);
      this.showRest();
      this.frame(gltf.scene);
    }

    /** The .glb's own animation at time 0 (the idle file holds one frame: arms lowered). */
    restPose(gltf, jointNames) {
      const quats = new Float32Array(jointNames.length * QUATERNION_DIM);
      const root = new Float32Array(ROOT_DIM);
      jointNames.forEach((name, joint) => {
        this.bones[joint].quaternion.toArray(quats, joint * QUATERNION_DIM);
      });
      this.bones[0].position.toArray(root);
      const clip = gltf.animations[0];
      for (const track of clip ? clip.tracks : []) {
        const [node, property] = track.name.split(".");
        const joint = jointNames.indexOf(node);
        if (joint < 0) {
          continue;
        }
        if (property === "quaternion") {
          quats.set(track.values.subarray(0, QUATERNION_DIM), joint * QUATERNION_DIM);
        } else if (property === "position" && joint === 0) {
          root.set(track.values.subarray(0, ROOT_DIM));
        }
      }
      return { quats, root };
    }

    showRest() {
      this.setPose(this.rest, this.rest, 0);
      this.follow(null);
    }

    /** Move the camera and its target toward the pelvis's spot on the floor, over
     * `elapsedMs` of smoothing (null: at once). The orbit the visitor chose is kept. */
    follow(elapsedMs) {
      const pelvis = this.bones[0].position;
      const share = elapsedMs === null ? 1 : 1 - Math.exp(-elapsedMs / FOLLOW_TIME_MS);
      const dx = share * (pelvis.x - this.controls.target.x);
      const dz = share * (pelvis.z - this.controls.target.z);
      this.controls.target.x += dx;
      this.controls.target.z += dz;
      this.camera.position.x += dx;
      this.camera.position.z += dz;
      this.controls.update();
    }

    /** Set every bone between frames `a` and `b` ({quats, root}) at `alpha` in [0, 1]. */
    setPose(a, b, alpha) {
      for (let joint = 0; joint < this.bones.length; joint += 1) {
        const at = joint * QUATERNION_DIM;
        this.a.fromArray(a.quats, at);
        this.b.fromArray(b.quats, at);
        this.bones[joint].quaternion.slerpQuaternions(this.a, this.b, alpha);
      }
      const pelvis = this.bones[0].position;
      pelvis.set(
        a.root[0] + alpha * (b.root[0] - a.root[0]),
        a.root[1] + alpha * (b.root[1] - a.root[1]),
        a.root[2] + alpha * (b.root[2] - a.root[2]),
      );
    }

    /** Aim at the chest from the front, as the video's default (upper body) view does. */
    frame(object) {
      const box = new this.THREE.Box3().setFromObject(object);
      const height = box.max.y - box.min.y;
      const pelvis = this.bones[0].position;
      this.controls.target.set(pelvis.x, box.min.y + CHEST_HEIGHT * height, pelvis.z);
      this.camera.position.set(pelvis.x, this.controls.target.y, pelvis.z + VIEW_DISTANCE * height);
      this.controls.update();
    }

    pixelRatio() {
      return Math.min(window.devicePixelRatio || 1, MAX_PIXEL_RATIO) * this.renderScale;
    }

    resize() {
      this.renderer.setPixelRatio(this.pixelRatio());
      const width = Math.max(1, this.container.clientWidth);
      const height = Math.max(1, this.container.clientHeight);
      this.renderer.setSize(width, height, false);
      this.renderer.domElement.style.width = "100%";
      this.renderer.domElement.style.height = "100%";
      this.camera.aspect = width / height;
      this.camera.updateProjectionMatrix();
    }

    /** Draw; `now` (page ms) drives the dynamic resolution when draws come every frame. */
    render(now) {
      this.renderer.render(this.scene, this.camera);
      if (now === undefined) {
        return;
      }
      if (this.lastRender === null || now - this.lastRender > CONTINUOUS_GAP_MS) {
        this.runStart = now;
        this.runDraws = 0;
      }
      this.lastRender = now;
      this.runDraws += 1;
      const span = now - this.runStart;
      if (span >= ADAPT_EVERY_MS) {
        const fps = ((this.runDraws - 1) * MS_PER_S) / span;
        if (fps < TARGET_FPS && this.renderScale > MIN_RENDER_SCALE) {
          this.renderScale = Math.max(MIN_RENDER_SCALE, this.renderScale * SCALE_STEP);
          this.resize();
        }
        this.runStart = now;
        this.runDraws = 1;
      }
    }
  }

  window.semgesLiveBody = { LiveBody };
})();
