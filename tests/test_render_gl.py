"""Headless OpenGL selection, and the EGL path (framebuffers, multisampled) drawing what the
OSMesa path draws. Each case runs in a fresh interpreter: the platform is fixed per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semges.render import gl_platform

DATA = Path(__file__).parent / "data"


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != gl_platform.PLATFORM_ENV}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120
    )


def test_default_is_osmesa_without_an_nvidia_gpu(monkeypatch):
    monkeypatch.setattr(gl_platform, "_has_nvidia_gpu", lambda: False)
    assert gl_platform.default_platform() == gl_platform.OSMESA
    monkeypatch.setattr(gl_platform, "_has_nvidia_gpu", lambda: True)
    assert gl_platform.default_platform() == gl_platform.EGL


def test_the_users_choice_wins_and_bad_names_are_refused():
    result = python(
        "from semges.render import configure_headless_gl as c; print(c())", PYOPENGL_PLATFORM="egl"
    )
    assert result.stdout.strip() == "egl"
    result = python("from semges.render import configure_headless_gl as c; c('glx')")
    assert result.returncode != 0 and "unsupported OpenGL platform" in result.stderr


def test_too_late_once_opengl_is_imported():
    code = (
        "import OpenGL.GL\n"
        "from semges.render import configure_headless_gl\n"
        "try:\n    configure_headless_gl('egl')\n"
        "except Exception as error:\n    print(type(error).__name__, error)"
    )
    result = python(code, PYOPENGL_PLATFORM="osmesa")
    assert result.stdout.startswith("GLPlatformError")
    assert "before importing OpenGL" in result.stdout


def test_egl_draws_what_osmesa_draws(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from semges.motion import MotionClip, load_motion\n"
        "from semges.render import VideoRenderer\n"
        f"c = load_motion({str(DATA / '2_scott_0_1_1.npz')!r})\n"
        "clip = MotionClip(c.poses[:3], c.trans[:3], c.betas)\n"
        "with VideoRenderer('mannequin', size=(160, 96), gl_platform=sys.argv[1]) as r:\n"
        "    frames = np.stack(list(r.render_frames(clip, 'full')))\n"
        "np.save(sys.argv[2], frames)\n"
    )
    pictures = {}
    for platform in ("osmesa", "egl"):
        out = tmp_path / f"{platform}.npy"
        result = subprocess.run(
            [sys.executable, "-c", code, platform, str(out)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if platform == "egl" and result.returncode != 0:
            pytest.skip(f"no EGL here: {result.stderr.strip().splitlines()[-1:]}")
        assert result.returncode == 0, result.stderr
        pictures[platform] = np.load(out).astype(float)
    assert pictures["egl"].shape == pictures["osmesa"].shape == (3, 96, 160, 3)
    # Same picture up to EGL's 4x multisampling on the edges.
    assert np.abs(pictures["egl"] - pictures["osmesa"]).mean() < 3.0
