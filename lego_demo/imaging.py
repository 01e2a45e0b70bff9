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
    yy, xx = np.mgrid[0:h, 0:w]
    board = np.where(((yy // square + xx // square) % 2)[..., None] == 0, 204, 153).astype(np.uint8)
    board = np.repeat(board, 3, axis=2)
    out = np.where(mask[..., None], rgb(image), board)
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    return np.dstack([out, alpha])


def keep_outside(original: np.ndarray, edited: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Composite so that pixels outside `mask` are exactly the original's."""
    if mask is None:
        return edited
    same_size("original", original, "edited", edited)
    return np.where(mask[..., None], rgb(edited), rgb(original))
