"""Regenerate the example images in this folder: `python assets/make_assets.py`.

Photos come from `skimage.data` (public domain / CC0, see README.md); the scene is drawn by
`lego_demo.synthetic.make_scene`, so every example is licence-clean and reproducible.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent
MAX_SIDE = 1024


def _save_photo(name: str, quality: int = 85) -> Path:
    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    im.thumbnail((MAX_SIDE, MAX_SIDE))
    path = HERE / f"{name}.jpg"
    im.save(path, format="JPEG", quality=quality, optimize=True)
    return path


def _save_scene() -> Path:
    from lego_demo.synthetic import make_scene

    scene = make_scene(
        1024, 768,
        objects=[("red", "circle", (256, 384), 110), ("blue", "square", (512, 384), 100),
                 ("yellow", "triangle", (768, 384), 110)],
        background_kind="stripes", seed=3,
    )
    path = HERE / "scene.png"
    Image.fromarray(scene.image).save(path, format="PNG", optimize=True)
    return path


def _save_window(quality: int = 85) -> Path:
    """The coffee photo as if taken through a window: the glass passes 75% and reflects a blurred,
    dimmed astronaut (the RRF plugin's example; see examples/plugins/rrf.py)."""
    import cv2
    import numpy as np

    behind = data.coffee().astype(np.float32) / 255
    room = cv2.resize(data.astronaut(), behind.shape[1::-1]).astype(np.float32) / 255
    seen = np.clip(0.75 * behind + 0.35 * cv2.GaussianBlur(room, (0, 0), 6), 0, 1)
    path = HERE / "window.jpg"
    Image.fromarray((seen * 255 + 0.5).astype(np.uint8)).save(path, format="JPEG", quality=quality, optimize=True)
    return path


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE.parent))
    for p in [*(_save_photo(n) for n in ("astronaut", "coffee", "chelsea", "rocket")), _save_scene(), _save_window()]:
        print(f"{p.name}: {p.stat().st_size / 1024:.0f} KiB")
