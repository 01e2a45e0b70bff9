"""The README install gives a consistent OpenCV (contrib modules + Haar cascades) and the
shipped-weight packages the offline engines use. See requirements.txt for why this can break."""

import importlib
from pathlib import Path


def test_opencv_is_the_contrib_build_with_cascades():
    import cv2

    assert cv2.__version__.startswith("4."), cv2.__version__
    assert hasattr(cv2, "xphoto") and hasattr(cv2, "saliency"), "cv2 is not a contrib build"
    assert Path(cv2.data.haarcascades, "haarcascade_frontalface_default.xml").is_file()


def test_shipped_weight_packages_import():
    for name in ("mediapipe", "rapidocr", "onnxruntime", "skimage", "networkx", "matplotlib", "json_repair"):
        importlib.import_module(name)
