"""semges: semantics-aware co-speech gesture generation (SemGes) for SMPL-X, CPU-first.

Importing this package is cheap: it loads no models, no GUI, renderer or training code.
Start from ``semges.pipeline.SemGesPipeline``.
"""

__version__ = "0.1.0"
