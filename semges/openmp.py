"""OpenMP threads that sleep when idle, for processes that run the live path.

torch and CTranslate2 load OpenMP runtimes whose idle threads spin for a while after each
parallel region. The live path alternates a generator step and a Whisper decode every 0.2 s,
so the spinning threads of one starve the other of the second core: 0.74 s of compute per
second of speech spinning, 0.36 s passive (``semges live``, 2 cores). Beside a browser drawing
the Live page on the same 2 cores, the server's generator time per piece fell from 91 to
57 ms (median) with passive waits. The policy is read once, when a runtime loads: call
:func:`prefer_passive_waits` before anything imports torch or CTranslate2. This module
imports nothing heavy.
"""

from __future__ import annotations

import os

OPENMP_WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
PASSIVE = "PASSIVE"


def prefer_passive_waits() -> None:
    """Idle OpenMP threads sleep, unless the environment already chose a policy."""
    os.environ.setdefault(OPENMP_WAIT_POLICY_ENV, PASSIVE)
