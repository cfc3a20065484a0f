"""The marks of every test that drives the page in headless chromium."""

from __future__ import annotations

import pytest

from benchmarks.headless_chromium import CHROMIUM

BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: install the "
        "Debian packages in packages-test.txt (make test does)",
    ),
]
