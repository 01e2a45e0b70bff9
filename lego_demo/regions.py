"""Regions of a mask: boxes, shapes, positions and the object-like filters RES and SOS use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lazy import cached_property, lazy

cv2 = lazy("cv2")
ndimage = lazy("scipy.ndimage")


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
    wanted = np.asarray(wanted, np.int64)
    wanted = wanted[wanted < len(sizes)]
    wanted = [int(i) for i in wanted[sizes[wanted] >= min_area]]
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


def assign_lines(markers: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Watershed line pixels (id <= 0) join the 8-neighbour segment whose pixel is closest in
    colour. The line runs on one side of a hard edge, so taking any neighbour's id (e.g. the
    largest) puts a 1-px rim of an object into the background on some of its sides. Only the
    line pixels are looked at (a few percent of the image)."""
    ys, xs = np.nonzero(markers <= 0)
    out = markers.copy()
    if not len(ys):
        return out
    h, w = markers.shape
    here = lab[ys, xs]
    best_d = np.full(len(ys), np.inf, np.float32)
    best_id = np.zeros(len(ys), np.int32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            # beyond the frame: no segment, and the edge pixel's colour
            ny, nx = ys + dy, xs + dx
            inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
            ny, nx = np.clip(ny, 0, h - 1), np.clip(nx, 0, w - 1)
            nid = np.where(inside, markers[ny, nx], 0)
            d = np.abs(lab[ny, nx] - here).sum(axis=1)
            d = np.where(nid > 0, d, np.inf)
            better = d < best_d
            best_d = np.where(better, d, best_d)
            best_id = np.where(better, nid, best_id)
    out[ys, xs] = best_id
    left = best_id <= 0  # lines with no segment beside them (junctions): any neighbour
    if left.any():
        ly, lx = ys[left], xs[left]
        around = [np.maximum(out[np.clip(ly + dy, 0, h - 1), np.clip(lx + dx, 0, w - 1)], 0)
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1)]  # a clipped index repeats a pixel already counted
        out[ly, lx] = np.max(around, axis=0)
    return out


def disk(r: int) -> np.ndarray:
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
