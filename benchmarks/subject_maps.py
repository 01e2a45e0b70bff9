"""Classical salient-object maps as SOS's GrabCut seeds, on the tuned photos (issue 17).

    python benchmarks/subject_maps.py            # tuned photos only
    python benchmarks/subject_maps.py --blind    # also the blind set (report it, never tune on it)

For each map: (1) the map alone, IoU with the hand-drawn subject at the best threshold (an upper
bound) and at Otsu's; (2) SOS's frame-seeded GrabCut (`subject.framed_object`) with the map's
confident core as sure foreground and GrabCut's pieces weighed by the map, as shipped with
`boundary_saliency.frame_saliency`. Maps: MB+ without post-processing (shipped), the minimum
barrier distance alone, Zhu et al.'s robust background detection (boundary connectivity on SLIC
superpixels, CVPR 2014) and geodesic saliency (Wei et al., ECCV 2012), the last two written here
for the comparison only. Prints Markdown for BENCHMARKS.md ("Subjects")."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lego_demo import subject  # noqa: E402
from lego_demo.bench.sample_photos import BLIND, available, photo, truth, truths  # noqa: E402
from lego_demo.boundary_saliency import barrier_distance, frame_saliency  # noqa: E402
from lego_demo.errors import NotFound  # noqa: E402
from lego_demo.grounding import Facts  # noqa: E402
from lego_demo.metrics import iou  # noqa: E402
from lego_demo.scene import sky  # noqa: E402

TUNED = ("coffee", "chelsea", "motorcycle", "rocket", "clock_motion", "coins")  # the frame-seeded path's photos


def _superpixels(small: np.ndarray, n: int = 250):
    from skimage.segmentation import slic

    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float64)
    lab[..., 0] *= 100 / 255
    lab[..., 1:] -= 128
    labels = slic(small, n_segments=n, compactness=10, start_label=0)
    k = labels.max() + 1
    flat = labels.ravel()
    count = np.bincount(flat, minlength=k)
    colour = np.stack([np.bincount(flat, lab[..., c].ravel(), k) for c in range(3)], 1) / count[:, None]
    h, w = labels.shape
    yy, xx = np.mgrid[0:h, 0:w]
    place = np.stack([np.bincount(flat, (yy / h).ravel(), k), np.bincount(flat, (xx / w).ravel(), k)], 1) / count[:, None]
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:].ravel()])
    adjacent = np.zeros((k, k), bool)
    adjacent[a[a != b], b[a != b]] = True
    adjacent |= adjacent.T
    rim = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return labels, colour, place, adjacent, rim


def robust_background(small: np.ndarray) -> np.ndarray:
    """Zhu et al. 2014: boundary connectivity → background weight, background-weighted
    contrast → foreground weight, then the least-squares saliency optimisation."""
    labels, colour, place, adjacent, rim = _superpixels(small)
    k = len(colour)
    cd = np.linalg.norm(colour[:, None] - colour[None], axis=2)
    pd = np.linalg.norm(place[:, None] - place[None], axis=2)
    nearest = np.array([cd[i][adjacent[i]].min() if adjacent[i].any() else 0.0 for i in range(k)]).mean()
    top = np.sort(cd.ravel())[-max(1, k * k // 100):].mean()
    geo_sigma, nei_sigma = max(5.0, min(10.0, 3 * nearest, top / 10)), min(3 * nearest, 0.2 * top, 20.0)
    linked = adjacent.copy()
    linked[np.ix_(rim, rim)] = True
    np.fill_diagonal(linked, False)
    geo = dijkstra(sparse.csr_matrix(np.where(linked, np.maximum(cd - nearest, 0) + 1e-9, 0)), directed=False)
    spread = np.exp(-geo**2 / (2 * geo_sigma**2))
    connectivity = spread[:, rim].sum(1) / np.sqrt(spread.sum(1))
    background = 1 - np.exp(-connectivity**2 / 2)
    contrast = (cd * np.exp(-pd**2 / (2 * 0.4**2))) @ background
    contrast = (contrast - contrast.min()) / (np.ptp(contrast) + 1e-9)
    foreground = np.where(contrast < subject.otsu(contrast), 0, contrast)
    smooth = np.where(linked, np.exp(-cd**2 / (2 * nei_sigma**2)), 0) + adjacent * 0.1
    s = np.linalg.solve(np.diag(smooth.sum(1)) - smooth + np.diag(5 * background + foreground), foreground)
    s = (s - s.min()) / (np.ptp(s) + 1e-9)
    return s[labels].astype(np.float32)


def geodesic(small: np.ndarray) -> np.ndarray:
    """Geodesic saliency: each superpixel's shortest colour path to the frame."""
    labels, colour, _, adjacent, rim = _superpixels(small)
    k = len(colour)
    graph = np.zeros((k + 1, k + 1))
    graph[:k, :k] = np.where(adjacent, np.linalg.norm(colour[:, None] - colour[None], axis=2) + 1e-9, 0)
    graph[k, rim] = graph[rim, k] = 1e-9  # a virtual background node joined to the rim
    d = dijkstra(sparse.csr_matrix(graph), directed=False, indices=k)[:k]
    d = (d - d.min()) / (np.ptp(d) + 1e-9)
    return d[labels].astype(np.float32)


MAPS = {"MB+ (shipped)": frame_saliency, "barrier distance alone": barrier_distance,
        "robust background (RBD)": robust_background, "geodesic": geodesic}


def _score(name: str, found: np.ndarray) -> float:
    sure = ~truth(name, "subject_unsure") if "subject_unsure" in truths()[name] else True
    return float(iou(found & sure, truth(name, "subject") & sure))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--blind", action="store_true", help="also the blind set")
    args = ap.parse_args()
    names = list(TUNED) + ([n for n in BLIND if available(n)] if args.blind else [])
    images = {n: photo(n) for n in names}
    skies = {}
    for n in names:
        try:
            skies[n] = sky(Facts(images[n]))
        except NotFound:
            skies[n] = None
    print("| map | " + " | ".join(names) + " | ms at 200 px |")
    print("|---|" + "---|" * (len(names) + 1))
    shipped = subject.frame_saliency
    for label, make in MAPS.items():
        alone, seeded, ms = [], [], []
        for n in names:
            image = images[n]
            small = cv2.resize(image, subject.work_size(image.shape[:2], subject.WORK_SIDE), interpolation=cv2.INTER_AREA)
            t0 = time.perf_counter()
            m = make(small)
            ms.append(1000 * (time.perf_counter() - t0))
            full = cv2.resize(m, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            best = max(_score(n, full > t) for t in np.linspace(0.05, 0.95, 19))
            alone.append(f"{best:.2f}/{_score(n, full > subject.otsu(full)):.2f}")
            subject.frame_saliency = make
            try:
                seeded.append(f"{_score(n, subject.framed_object(image, skies[n])):.2f}")
            finally:
                subject.frame_saliency = shipped
        print(f"| {label}, map alone (best/Otsu) | " + " | ".join(alone) + f" | {np.median(ms):.0f} |")
        print(f"| {label}, as GrabCut seeds | " + " | ".join(seeded) + " | |")


if __name__ == "__main__":
    main()
