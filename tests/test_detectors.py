"""The detectors that ship in wheels (mediapipe, PP-OCR, Haar cascade) live in the editor's
ModelManager: loaded once per manager, listed and freed by it, never in a process-wide cache."""

import pytest

from lego_demo.bench.sample_photos import photo
from lego_demo.detectors import warm
from lego_demo.editor import Editor, EditorConfig
from lego_demo.models import model_key

pytest.importorskip("mediapipe")
MESH = model_key("offline", "face-mesh")


def test_face_models_load_once_per_editor_and_free_with_it():
    editor = Editor.from_config(EditorConfig())
    assert editor.models.loaded() == []
    image = photo("astronaut", 512)
    editor.edit("pixelate her face", image)
    mesh = editor.models.held(MESH)
    assert mesh is not None
    editor.executor.cache.clear()
    editor.edit("blur her face", image)
    assert editor.models.held(MESH) is mesh  # loaded once
    other = Editor.from_config(EditorConfig())
    assert other.models.loaded() == []  # nothing shared through the process
    other.edit("pixelate her face", image)
    assert other.models.held(MESH) is not mesh
    assert editor.models.free(MESH) and MESH not in editor.models


def test_text_recogniser_is_held_by_the_manager():
    pytest.importorskip("rapidocr")
    editor = Editor.from_config(EditorConfig())
    editor.edit('replace "Region-based" with "Edge-based"', photo("page"))
    held = {e["key"] for e in editor.models.loaded()}
    assert {model_key("offline", "text-detector"), model_key("offline", "text-recogniser")} <= held


def test_warm_loads_the_person_models_and_reports_what_failed():
    editor = Editor.from_config(EditorConfig())
    assert warm(editor.models) == []
    held = {e["key"] for e in editor.models.loaded()}
    assert {model_key("offline", n) for n in ("selfie", "pose", "face-detection", "face-mesh")} <= held
    assert warm(editor.models, ["no-such-model"])  # an unknown or broken model is reported, not raised
