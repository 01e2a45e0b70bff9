import shutil
from pathlib import Path

import chromium
import numpy as np
import pytest
from local_app import served_app

from lego_demo.registry import Registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.discover(["examples/plugins/bright.py"])


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def browser():
    if not (Path(chromium.CHROMIUM).is_file() or shutil.which(chromium.CHROMIUM)):
        chromium.need(f"{chromium.CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium.need("playwright is not installed (pip install playwright; never `playwright install`)")
    with sync_playwright() as p:  # launch() always starts from a fresh temporary profile
        b = p.chromium.launch(executable_path=chromium.CHROMIUM, args=chromium.FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def app_url():
    """The app for the browser tests, one per test module."""
    with served_app() as (url, _):
        yield url
