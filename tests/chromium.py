"""Debian's Chromium driven by Playwright, for the browser tests (the `browser` fixture is in
conftest.py): its flags and where screenshots go. Skips when Chromium or Playwright is
missing, unless LEGO_REQUIRE_BROWSER=1 (CI): then it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LEGO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 120_000


def need(what: str) -> None:
    if os.environ.get("LEGO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} (LEGO_REQUIRE_BROWSER=1)")
    pytest.skip(what)

