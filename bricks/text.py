"""TEXT: write text on the image, or replace text that is already there.

Classical engine "ocr-draw": new text is drawn with Pillow's bundled font, as large as fits,
black or white with an outline of the other (legible on any background), in a mask's box or a named position band (top, bottom, centre, …; default bottom). To replace
text (`replace` = the old words, or "all"), rapidocr (PP-OCR detection + recognition, weights
inside the wheel; needs onnxruntime) finds it, its boxes are removed with INPAINT's exemplar
fill, and the new text is written in their place in the old text's colour.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from bricks.fill import box, draw_text
from bricks.inpaint import offset_fill
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import keep_outside, rgb, same_size
from lego_demo.spec import Input, brick

TEXT = brick(
    "TEXT",
    kind="edit",
    summary="Write text on the image, or replace text already in it",
    inputs={
        "image": "Image",
        "text": Input("Str", doc="the new text", max_chars=500),
        "mask": Input("Mask", optional=True, doc="where to write (its bounding box)"),
        "position": Input("Str", optional=True, doc="top, bottom, centre, top-left, …"),
        "replace": Input("Str", optional=True, doc="old text to replace, or 'all'"),
    },
    outputs={"image": "Image"},
    constraint="text is the exact new text without quotes (at most 500 characters). Give replace (the old words, or "
    "'all') to swap existing text; otherwise give a mask (e.g. from ADD-PRED) or a position "
    "such as 'top' or 'bottom'; with neither the text goes at the bottom.",
    aliases=("ADD-TEXT", "REPLACE-TEXT"),
    use_for=("add text", "write a caption", "replace the words on a sign"),
)

BANDS = {  # (y0, y1, x0, x1) as fractions of the image
    "top": (0.03, 0.2, 0.05, 0.95), "bottom": (0.8, 0.97, 0.05, 0.95),
    "centre": (0.4, 0.6, 0.1, 0.9), "center": (0.4, 0.6, 0.1, 0.9), "middle": (0.4, 0.6, 0.1, 0.9),
    "top-left": (0.03, 0.18, 0.03, 0.5), "top-right": (0.03, 0.18, 0.5, 0.97),
    "bottom-left": (0.82, 0.97, 0.03, 0.5), "bottom-right": (0.82, 0.97, 0.5, 0.97),
    "left": (0.4, 0.6, 0.03, 0.45), "right": (0.4, 0.6, 0.55, 0.97),
}
_OCR = None


def _ocr():
    global _OCR
    if _OCR is None:
        try:
            from rapidocr import RapidOCR  # heavy: imported on first use only
        except ImportError as exc:
            raise CannotDo(f"replacing text needs the OCR package rapidocr + onnxruntime ({exc})") from None
        try:
            _OCR = RapidOCR()
        except ImportError as exc:
            raise CannotDo(f"replacing text needs onnxruntime for rapidocr ({exc})") from None
    return _OCR


def band_mask(shape, position: str) -> np.ndarray:
    key = position.strip().lower().replace(" ", "-").replace("upper", "top").replace("lower", "bottom")
    if key not in BANDS:
        raise BadInput(f"TEXT: unknown position {position!r}; use one of {', '.join(BANDS)}")
    h, w = shape
    y0, y1, x0, x1 = BANDS[key]
    m = np.zeros(shape, bool)
    m[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)] = True
    return m


def find_text(img: np.ndarray, old: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Mask of the OCR boxes whose text contains `old` ('all' = every box), and their texts."""
    res = _ocr()(img)
    boxes = [] if res.boxes is None else list(res.boxes)
    txts = list(res.txts or ())
    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    want = old.strip().lower()
    m = np.zeros(img.shape[:2], np.uint8)
    hits = []
    for b, t in zip(boxes, txts):
        if want in ("all", "*", "any", "the text", "text") or (norm(t) and (norm(want) in norm(t) or norm(t) in norm(want))):
            cv2.fillPoly(m, [np.round(b).astype(np.int32)], 1)
            hits.append(t)
    return m.astype(bool), hits, txts


def draw_label(img: np.ndarray, mask: np.ndarray, text: str) -> np.ndarray:
    """New text as large as fits in the mask's box, centred, black or white (whichever
    contrasts with the area) with an outline of the other: the bundled font's thin strokes
    alone got lost on busy backgrounds (stripes, tiles) and OCR could not read them."""
    y0, y1, x0, x1 = box(mask)
    bw, bh = x1 - x0, y1 - y0
    grey = cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)[mask[y0:y1, x0:x1]]
    dark = float(grey.mean()) > 128
    fill, edge = ((15, 15, 15), (245, 245, 245)) if dark else ((245, 245, 245), (15, 15, 15))
    canvas = PILImage.fromarray(np.ascontiguousarray(img))
    draw = ImageDraw.Draw(canvas)
    size = max(8, int(bh * 0.8))
    for _ in range(30):
        font = ImageFont.load_default(size=size)
        stroke = max(1, round(size / 14))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
        if right - left <= bw * 0.92 and bottom - top <= bh * 0.9:
            break
        size = max(8, int(size * 0.88))
    tx = x0 + (bw - (right - left)) // 2 - left
    ty = y0 + (bh - (bottom - top)) // 2 - top
    draw.text((tx, ty), text, fill=fill, font=font, stroke_width=stroke, stroke_fill=edge)
    return np.asarray(canvas)


def ink_colour(img: np.ndarray, mask: np.ndarray) -> tuple[int, int, int]:
    """The text's colour: the pixels in the box farthest from the box's median colour."""
    px = img[mask].astype(np.float32)
    med = np.median(px, axis=0)
    d = np.linalg.norm(px - med, axis=1)
    far = px[d >= np.percentile(d, 90)]
    return tuple(int(v) for v in far.mean(axis=0))


@TEXT.engine("ocr-draw", kind="classical")
def text_brick(ctx, image, text, mask=None, position=None, replace=None):
    img = rgb(image)
    new = (text or "").strip().strip("\"'“”")
    if replace:
        where, hits, seen = find_text(img, replace)
        if not where.any():
            raise CannotDo(f"TEXT: no text matching {replace!r} was found in the image by OCR "
                           f"(it read: {', '.join(map(repr, seen)) or 'nothing'})")
        colour = ink_colour(img, where)
        where = cv2.dilate(where.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        cleaned = offset_fill(img, where)
        if cleaned is None:
            cleaned = keep_outside(img, cv2.inpaint(img, where.astype(np.uint8), 5, cv2.INPAINT_TELEA), where)
        if not new:
            return {"image": cleaned}
        return {"image": keep_outside(img, draw_text(cleaned, where, new, colour), where)}
    if not new:
        raise BadInput("TEXT needs the text to write")
    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput("TEXT: the mask is empty")
        where = mask
    else:
        where = band_mask(img.shape[:2], position or "bottom")
    return {"image": keep_outside(img, draw_label(img, where, new), where)}
