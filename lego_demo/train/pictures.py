"""The pictures training rows are about, with the names of what is in them.

Three sources, all written (downscaled) into the dataset's own image folder so a dataset is one
self-contained directory and every image is already at a training size:
- synthetic scenes (`lego_demo.synthetic`): coloured shapes with exact masks, so templates can
  name them ("the red circle") and masked rows get the object's true mask;
- the sample photos that ship with scikit-image and matplotlib, with their subjects named by
  hand, the main subject first (people among them, for pose templates);
- a user's folder of images; an optional `subjects.json` there ({"file.jpg": ["dog", "sofa"]})
  names what is in each (the main subject first), otherwise only templates that name nothing in
  the image apply.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..images import fit_working_size, load_image, save_png
from ..synthetic import SHAPES, make_scene

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
PEOPLE_WORDS = {"person", "man", "woman", "boy", "girl", "child", "kid", "astronaut", "officer", "people",
                "lady", "gentleman", "photographer"}
SCENE_COLOURS = ("red", "green", "blue", "yellow", "orange", "purple", "pink", "cyan", "white", "black", "brown")
BACKGROUND_KINDS = ("stripes", "tiles", "checker", "gradient")

# sample photos available offline: (loader, subjects); the main subject first
SAMPLE_PHOTOS = {
    "astronaut": ("skimage:astronaut", ["woman", "helmet", "flag", "space shuttle model"]),
    "coffee": ("skimage:coffee", ["cup", "saucer", "spoon"]),
    "rocket": ("skimage:rocket", ["rocket", "launch towers"]),
    "camera": ("skimage:camera", ["man", "camera", "tripod"]),
    "chelsea": ("skimage:chelsea", ["cat"]),
    "motorcycle": ("skimage:stereo_motorcycle", ["motorcycle", "shelves"]),
    "grace_hopper": ("matplotlib:grace_hopper.jpg", ["woman", "hat", "flag", "glasses"]),
}


@dataclass
class Picture:
    path: Path
    objects: list[str] = field(default_factory=list)  # named things in it ("red circle", "cat")
    colours: dict[str, str] = field(default_factory=dict)  # object -> its colour, where known
    masks: dict[str, Path] = field(default_factory=dict)  # object -> a file with its exact mask
    source: str = "scene"

    @property
    def main(self) -> str | None:
        """The picture's main subject (listed first), where a salient-object mask (SOS) is the
        named object; None for scenes of equal shapes."""
        return self.objects[0] if self.source != "scene" and self.objects else None

    @property
    def people(self) -> list[str]:
        return [o for o in self.objects if o.split()[-1] in PEOPLE_WORDS]


def synthetic_pictures(folder: Path, count: int, side: int, rng: random.Random) -> list[Picture]:
    """`count` scenes of two or three shapes in distinct colours, with each shape's mask."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = side, side * 3 // 4
    pictures = []
    for i in range(count):
        k = rng.choice((2, 3, 3))
        colours = rng.sample(SCENE_COLOURS, k)
        size = rng.randint(height // 9, height // 6)
        cells = rng.sample(range(3), k)
        objects = []
        for colour, cell in zip(colours, cells):
            x = int(width * (cell + 0.5) / 3 + rng.randint(-width // 20, width // 20))
            y = rng.randint(size + 4, height - size - 4)
            objects.append((colour, rng.choice(SHAPES), (x, y), size))
        scene = make_scene(width, height, objects, background_kind=rng.choice(BACKGROUND_KINDS),
                           seed=rng.randrange(2**31))
        path = save_png(scene.image, folder / f"scene-{i:05d}.png")
        picture = Picture(path)
        for j, obj in enumerate(scene.objects):
            picture.objects.append(obj.name)
            picture.colours[obj.name] = obj.colour
            picture.masks[obj.name] = save_png(obj.mask, folder / f"scene-{i:05d}-mask-{j}.png")
        pictures.append(picture)
    return pictures


def _sample_photo(loader: str) -> np.ndarray | None:
    kind, name = loader.split(":", 1)
    try:
        if kind == "skimage":
            import skimage.data

            image = getattr(skimage.data, name)()
            image = image[0] if isinstance(image, tuple) else image
        else:
            from matplotlib import cbook

            with cbook.get_sample_data(name) as f:
                image = load_image(f.read())
    except Exception:  # a sample that is not on this machine (some download on first use): skip it
        return None
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def sample_pictures(folder: Path, side: int) -> list[Picture]:
    folder.mkdir(parents=True, exist_ok=True)
    pictures = []
    for name, (loader, subjects) in SAMPLE_PHOTOS.items():
        image = _sample_photo(loader)
        if image is not None:
            path = save_png(fit_working_size(np.ascontiguousarray(image, np.uint8), side), folder / f"photo-{name}.png")
            pictures.append(Picture(path, list(subjects), source="photo"))
    return pictures


def folder_pictures(source: Path, folder: Path, side: int) -> list[Picture]:
    """Every image in `source` (sorted), downscaled into `folder`; subjects from subjects.json."""
    if not source.is_dir():
        raise BadInput(f"--images {str(source)!r} is not a folder")
    subjects: dict[str, list[str]] = {}
    listing = source / "subjects.json"
    if listing.is_file():
        try:
            subjects = {str(k): [str(s) for s in v] for k, v in json.loads(listing.read_text("utf-8")).items()}
        except (json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise BadInput(f"{listing}: expected {{\"file.jpg\": [\"dog\", ...]}} ({exc})") from None
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BadInput(f"--images {str(source)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    folder.mkdir(parents=True, exist_ok=True)
    pictures = []
    for i, file in enumerate(files):
        image = fit_working_size(load_image(file)[..., :3], side)
        path = save_png(np.ascontiguousarray(image), folder / f"user-{i:05d}.png")
        pictures.append(Picture(path, subjects.get(file.name, []), source=f"user:{file.name}"))
    return pictures
