"""Saliency measured from the frame: how hard it is to reach a pixel from the image border.

The MB+ map of Zhang et al., "Minimum Barrier Salient Object Detection at 80 FPS" (ICCV 2015),
without its post-processing: the minimum barrier distance to the border (the least, over paths
from the frame, of the path's highest minus lowest value, per Lab channel) plus the image
boundary contrast (each pixel's colour against each border strip's, the strip most like it left
out, so a subject cut by one side of the frame still stands out). A region that blends into the
frame along some path scores low even when its colour is loud (the cloud bank under a rocket); a
region walled off from the frame scores high (a coin on a tray, the rocket).

Measured as GrabCut seeds on the photos suite against Zhu et al.'s robust background detection
(boundary connectivity on SLIC superpixels) and geodesic saliency: only the barrier distance
helped without hurting, and without the boundary contrast it lost a figure and a tower of the
blind set (BENCHMARKS.md, "Subjects").
"""

from __future__ import annotations

import cv2
import numpy as np

from .imaging import rgb


def barrier_distance(image: np.ndarray, sweeps: int = 3) -> np.ndarray:
    """Minimum barrier distance from the frame, summed over Lab channels, in [0, 1].

    Approximated like the paper's raster scan, by sweeps down, up, right and left (each line
    takes its neighbour line's path where that lowers the barrier), repeated `sweeps` times.
    Costs O(sweeps × (h + w)) vector operations: use it on a reduced image (~30 ms at 200 px)."""
    lab = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2LAB).astype(np.float32)
    dist = np.full(lab.shape, np.inf, np.float32)
    high, low = lab.copy(), lab.copy()
    for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
        dist[edge] = 0
    # the same sweeps on the image (down, up) and on its transpose (right, left)
    views = [(dist, high, low, lab), tuple(a.transpose(1, 0, 2) for a in (dist, high, low, lab))]
    for _ in range(sweeps):
        for d, hi, lo, x in views:
            n = d.shape[0]
            for order in (range(1, n), range(n - 2, -1, -1)):
                for i in order:
                    j = i - order.step
                    up, down = np.maximum(hi[j], x[i]), np.minimum(lo[j], x[i])
                    barrier = up - down
                    better = barrier < d[i]
                    d[i] = np.where(better, barrier, d[i])
                    hi[i] = np.where(better, up, hi[i])
                    lo[i] = np.where(better, down, lo[i])
    total = dist.sum(axis=2)
    return total / max(float(total.max()), 1e-6)


def boundary_contrast(image: np.ndarray, strip: float = 0.1) -> np.ndarray:
    """Each pixel's colour distance (Mahalanobis, Lab) to the four border strips (`strip` of the
    short side wide), each in [0, 1], summed less the largest, in [0, 1]."""
    lab = cv2.cvtColor(rgb(image), cv2.COLOR_RGB2LAB).astype(np.float64)
    h, w = lab.shape[:2]
    r = max(3, round(strip * min(h, w)))
    pixels = lab.reshape(-1, 3)
    maps = []
    for side in (lab[:r], lab[-r:], lab[:, :r], lab[:, -r:]):
        s = side.reshape(-1, 3)
        d = pixels - s.mean(axis=0)
        inv = np.linalg.inv(np.cov(s.T) + np.eye(3))
        m = np.sqrt(np.einsum("ij,jk,ik->i", d, inv, d))
        maps.append(m / max(float(m.max()), 1e-6))
    maps = np.stack(maps)
    total = (maps.sum(axis=0) - maps.max(axis=0)).reshape(h, w)
    return (total / max(float(total.max()), 1e-6)).astype(np.float32)


def frame_saliency(image: np.ndarray) -> np.ndarray:
    """Barrier distance + boundary contrast of `image`, in [0, 1]."""
    total = barrier_distance(image) + boundary_contrast(image)
    return total / max(float(total.max()), 1e-6)
