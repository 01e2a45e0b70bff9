import numpy as np
import pytest

from lego_demo.registry import Registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.discover(["examples/plugins/bright.py"])


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
