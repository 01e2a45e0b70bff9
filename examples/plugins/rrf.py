"""RRF: single-image reflection suppression, classical and offline — one plugin file, no Builder edits.

Use it with `python -m lego_demo --bricks examples/plugins/rrf.py edit --image window.png
--instruction "remove the reflection" --out out/` (or `python app.py --bricks examples/plugins/rrf.py`):
the rule Builder matches the request to RRF's `use_for` phrases and plans it.

Method: Yang, Ma, Zheng, Cai, Xu, "Fast Single Image Reflection Suppression via Convex
Optimization", CVPR 2019. A reflection seen in glass is usually out of focus, so its gradients are
small; the transmission T keeps the image Y's large gradients only:

    T = argmin  1/2 ||div(grad T) - div(d_h(grad Y))||^2 + eps/2 ||T - Y||^2

where d_h zeroes gradients whose magnitude (over x, y and the colour channels) is below h. The
normal equation (L^2 + eps) T = L g + eps Y, L the Laplacian with Neumann boundaries, is diagonal in
the DCT-II basis (L's eigenvalues 2cos(pi m/M) + 2cos(pi n/N) - 4), so T is one closed-form solve
per channel. The paper leaves the result's brightness to a contrast stretch; a reflection adds light,
so here the light it added evenly is taken away instead: the image is shifted down until its darkest
0.5% of pixels have a channel at black (the dark-channel prior, He et al. 2009), one shift for all
channels so colours keep their balance. Measured on synthetic scenes with exact ground
truth in tests/test_rrf.py and BENCHMARKS.md; like the paper's method it also flattens weak texture
of the scene behind the glass (a stronger `strength` removes more of both).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dctn, idctn

from lego_demo.errors import BadInput
from lego_demo.imaging import rgb
from lego_demo.spec import Input, brick

RRF = brick(
    "RRF",
    kind="edit",
    summary="Suppress reflections in the whole image (a photo taken through glass)",
    inputs={
        "image": "Image",
        "strength": Input("Float", optional=True, range=(0, 0.3), neutral=0, default=0.03, strength=True,
                          doc="the gradient threshold h: gradients weaker than this are treated as reflection"),
    },
    outputs={"image": "Image"},
    constraint="Works on the whole image; no mask. Best when the reflection is blurrier than the scene "
    "behind the glass.",
    aliases=("REFLECTION-REMOVAL",),
    use_for=("remove reflections", "suppress reflections", "reflection removal", "remove glare from glass",
             "remove the reflection in the window"),
)

EPSILON = 1e-8  # the paper's data term weight: only the mean comes from the input itself
DARK_PERCENTILE = 0.5


def suppress(y: np.ndarray, h: float, eps: float = EPSILON) -> np.ndarray:
    """The closed-form solve: float image in [0, 1], H x W x C -> the transmission, same shape."""
    gx = np.zeros_like(y)
    gy = np.zeros_like(y)
    gx[:, :-1] = y[:, 1:] - y[:, :-1]
    gy[:-1] = y[1:] - y[:-1]
    keep = np.sqrt((gx**2 + gy**2).sum(axis=2, keepdims=True)) >= h
    gx *= keep
    gy *= keep
    div = np.zeros_like(y)  # backward differences: the adjoint of the forward gradient
    div[:, 0] += gx[:, 0]
    div[:, 1:] += gx[:, 1:] - gx[:, :-1]
    div[0] += gy[0]
    div[1:] += gy[1:] - gy[:-1]
    rows, cols = y.shape[:2]
    kappa = (2 * np.cos(np.pi * np.arange(rows) / rows)[:, None]
             + 2 * np.cos(np.pi * np.arange(cols) / cols)[None, :] - 4)
    out = np.empty_like(y)
    for c in range(y.shape[2]):
        g = dctn(div[..., c], type=2, norm="ortho")
        data = dctn(y[..., c], type=2, norm="ortho")
        out[..., c] = idctn((kappa * g + eps * data) / (kappa**2 + eps), type=2, norm="ortho")
    return out


def dark_level(t: np.ndarray) -> np.ndarray:
    """Remove the even light a reflection adds: shift until the darkest pixels have a black channel."""
    floor = np.percentile(t.min(axis=2), DARK_PERCENTILE)
    return np.clip(t - floor, 0, 1)


@RRF.engine("dct", kind="classical")
def rrf(ctx, image, strength=None):
    h = RRF.inputs["strength"].default if strength is None else float(strength)
    if not 0 <= h <= 0.3:
        raise BadInput(f"RRF strength (the gradient threshold) must be in [0, 0.3], got {h}")
    img = rgb(image)
    y = img.astype(np.float64) / 255
    t = dark_level(suppress(y, h))
    out = (t * 255 + 0.5).astype(np.uint8)
    if image.shape[2] == 4:  # reflections change colour, never transparency
        out = np.dstack([out, image[..., 3]])
    return {"image": out}
