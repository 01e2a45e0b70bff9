"""Small pixel helpers shared by bricks: conversions, cut-outs, exact compositing."""

from __future__ import annotations

import numpy as np

from .errors import BadInput


def rgb(image: np.ndarray) -> np.ndarray:
    """H×W×3 uint8; an RGBA image is flattened onto white."""
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        flat = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.clip(flat + 0.5, 0, 255).astype(np.uint8)
    return image


def opaque(image: np.ndarray) -> np.ndarray:
    """Where an image has content: alpha > 0 for RGBA, everywhere for RGB."""
    if image.ndim == 3 and image.shape[2] == 4:
        return image[..., 3] > 0
    return np.ones(image.shape[:2], dtype=bool)


def same_size(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise BadInput(
            f"{name_a} is {a.shape[1]}×{a.shape[0]} but {name_b} is {b.shape[1]}×{b.shape[0]}; "
            "they must be the same size"
        )


def checkerboard_cutout(image: np.ndarray, mask: np.ndarray, square: int = 16) -> np.ndarray:
    """The official segmentation visualisation: the object over a grey checkerboard, as RGBA
    whose alpha is the mask (so it also works as a transparent cut-out)."""
    same_size("image", image, "mask", mask)
    h, w = mask.shape
    odd = ((np.arange(h) // square)[:, None] + (np.arange(w) // square)[None, :]) % 2 == 1
    out = np.where(mask[..., None], rgb(image), np.where(odd, 153, 204).astype(np.uint8)[..., None])
    return np.dstack([out, mask.astype(np.uint8) * 255])


def keep_outside(original: np.ndarray, edited: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Composite so that pixels outside `mask` are exactly the original's."""
    if mask is None:
        return edited
    same_size("original", original, "edited", edited)
    return np.where(mask[..., None], rgb(edited), rgb(original))


def mask_window(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice]:
    """The mask's bounding box grown by `margin` px (clipped to the image), as slices: a brick
    whose every pixel depends only on its neighbourhood (up to `margin` px) and the mask's own
    statistics gives the same pixels computed there, at a fraction of the cost for a small
    mask on a large image."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return slice(0, mask.shape[0]), slice(0, mask.shape[1])
    return (slice(max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)),
            slice(max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)))


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one (sigma ≥ 8 px) runs at reduced scale (area-downscaled, blurred,
    bilinearly upscaled): within a fraction of a grey level of the full-size blur on the smooth
    maps it is used for, at a small fraction of its time."""
    import cv2

    f = int(sigma // 4)
    if f < 2:
        return cv2.GaussianBlur(x, (0, 0), sigma)
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(1, -(-w // f)), max(1, -(-h // f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / f), (w, h), interpolation=cv2.INTER_LINEAR)


def scale_edit(before: np.ndarray, after: np.ndarray, strength: float | None) -> np.ndarray:
    """An edit made weaker (strength < 1: part of the way from `before` to `after`) or stronger
    (> 1: further along), per pixel in Lab: lightness and chroma move `strength` times as far,
    chroma never below zero, so "stronger" on a desaturating edit cannot flip hues. uint8 RGB."""
    if strength is None or float(strength) == 1.0:
        return after
    import cv2

    s = float(strength)
    lab0 = cv2.cvtColor(before.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    lab1 = cv2.cvtColor(after.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    light = np.clip(lab0[..., 0] + s * (lab1[..., 0] - lab0[..., 0]), 0, 100)
    c0 = np.hypot(lab0[..., 1], lab0[..., 2])
    c1 = np.hypot(lab1[..., 1], lab1[..., 2])
    chroma = np.maximum(c0 + s * (c1 - c0), 0)
    if s <= 1:  # in between: a plain blend keeps the hue path of both
        ab = lab0[..., 1:] + s * (lab1[..., 1:] - lab0[..., 1:])
    else:  # beyond: the edit's hue (or the original's where the edit has none), at the new chroma
        hue_from = np.where((c1 > 1e-3)[..., None], lab1[..., 1:], lab0[..., 1:])
        norm = np.maximum(np.hypot(hue_from[..., 0], hue_from[..., 1]), 1e-6)[..., None]
        ab = hue_from / norm * chroma[..., None]
    out = cv2.cvtColor(np.dstack([light, ab]).astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)
