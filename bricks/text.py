"""TEXT: write text on the image, or replace text that is already there.

Classical engine "ocr-draw": new text is drawn with Pillow's bundled font, as large as fits,
black or white with an outline of the other (legible on any background), in a mask's box or a named position band (top, bottom, centre, …; default bottom). To replace
text (`replace` = the old words, or "all"), the PP-OCR detector finds the lines (the one RES
uses); rapidocr's recognition (weights inside the wheel; needs onnxruntime) reads them only when
particular words are asked for, and a word inside a longer line gets its share of the line's
box. Only the old ink is removed (strokes: far from the local background, filled by Telea from
the paper right beside them), and the new text is written where the old was, as tall and in
the old ink's colour.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from bricks.fill import box, draw_text
from lego_demo import grounding as g
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
ALL_TEXT = {"all", "*", "any", "the text", "text", "everything"}


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


def _norm(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def read_lines(img: np.ndarray, lines: list[np.ndarray]) -> list[str]:
    """What each detected line says (PP-OCR recognition on the lines' crops, in one batch)."""
    crops = []
    for line in lines:
        ys, xs = np.nonzero(line)
        crops.append(np.ascontiguousarray(img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]))
    if not crops:
        return []
    res = _ocr().recognize_txt(crops)
    return [str(t) for t in (res.txts or ())]


def find_text(img: np.ndarray, old: str) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The detected text lines (or the part of a line) that hold `old` ('all' = every line),
    what they read, and what every line read. Lines come from the PP-OCR detector that RES
    uses; recognition runs only when particular words are asked for."""
    lines = g.Facts(img).text
    if old.strip().lower() in ALL_TEXT:
        return lines, [], []
    want = _norm(old)
    hits, found, seen = [], [], []
    for line, said in zip(lines, read_lines(img, lines)):
        seen.append(said)
        got = _norm(said)
        if not want or not got or want not in got and got not in want:
            continue
        found.append(said)
        if want in got and len(got) > len(want) + 1:  # one word of a longer line: its share of the box
            start = got.index(want) / len(got)
            ys, xs = np.nonzero(line)
            x0, x1 = xs.min(), xs.max() + 1
            part = np.zeros_like(line)
            a, b = int(x0 + start * (x1 - x0)), int(x0 + (start + len(want) / len(got)) * (x1 - x0))
            part[:, max(x0, a - 2):min(x1, b + 2)] = True
            hits.append(line & part)
        else:
            hits.append(line)
    return hits, found, seen


def ink(img: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The text strokes inside `where`: pixels far from the local background (a median filter
    wider than a stroke), grown by a pixel to take their anti-aliased rims."""
    ys, xs = np.nonzero(where)
    n, _, stats, _ = cv2.connectedComponentsWithStats(where.astype(np.uint8))
    line_height = int(np.median(stats[1:, cv2.CC_STAT_HEIGHT])) if n > 1 else int(np.ptp(ys)) + 1
    k = min(127, max(5, (line_height // 2) | 1))
    pad = k
    y0, y1, x0, x1 = max(0, ys.min() - pad), ys.max() + 1 + pad, max(0, xs.min() - pad), xs.max() + 1 + pad
    grey = cv2.cvtColor(np.ascontiguousarray(img[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    # the paper behind the strokes: a median wider than a stroke, at half size (same look, faster)
    half = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    background = cv2.resize(cv2.medianBlur(half, max(3, (k // 2) | 1)), (grey.shape[1], grey.shape[0]),
                            interpolation=cv2.INTER_LINEAR)
    diff = np.zeros(where.shape, np.int16)
    diff[y0:y1, x0:x1] = np.abs(grey.astype(np.int16) - background.astype(np.int16))
    strokes = (diff > max(12, float(np.percentile(diff[where], 50)))) & where
    rim = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))  # anti-aliased and compression halos
    return cv2.dilate(strokes.astype(np.uint8), rim).astype(bool) & cv2.dilate(where.astype(np.uint8), rim).astype(bool)


def erase(img: np.ndarray, lines: list[np.ndarray]) -> np.ndarray:
    """The image without the strokes of these text lines: only the ink is filled (Telea,
    from the paper or wall right beside each stroke), so the background keeps its texture."""
    where = np.any(lines, axis=0)
    strokes = ink(img, where)
    if not strokes.any():
        return img
    ys, xs = np.nonzero(strokes)
    pad = 8
    y0, y1, x0, x1 = max(0, ys.min() - pad), ys.max() + 1 + pad, max(0, xs.min() - pad), xs.max() + 1 + pad
    out = img.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(np.ascontiguousarray(img[y0:y1, x0:x1]),
                                    strokes[y0:y1, x0:x1].astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return keep_outside(img, out, strokes)


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
        lines, hits, seen = find_text(img, replace)
        if mask is not None and mask.shape == img.shape[:2] and mask.any():  # only the text in the mask
            lines = [m for m in lines if (m & mask).sum() > 0.5 * m.sum()]
        if not lines:
            raise CannotDo(f"TEXT: no text matching {replace!r} was found in the image by OCR "
                           f"(it read: {', '.join(map(repr, seen)) or 'nothing'}): mark where the text is "
                           "and write the new words with a mask (CLI: --mask FILE)")
        where = np.any(lines, axis=0)
        colour = ink_colour(img, where)
        cleaned = erase(img, lines)
        if not new:
            return {"image": cleaned}
        # the new words go where the old ones were (for several lines: the longest one), as tall
        # as the old ink and in its colour
        top = max(lines, key=lambda m: int(m.sum()))
        y0, y1, x0, x1 = box(top)
        target = np.zeros_like(top)
        target[y0:y1, x0:x1] = True  # the line's upright box: glyphs are not clipped by a tilted one
        strokes = ink(img, top)
        rows = np.nonzero(strokes.any(axis=1))[0]
        height = top_at = None
        if len(rows) > 3:  # as tall as the old ink, from its top (capitals to descenders)
            top_at, height = int(np.percentile(rows, 2)), int(np.percentile(rows, 98) - np.percentile(rows, 2)) + 1
        drawn = draw_text(cleaned, target, new, colour, align="left", height=height, top_at=top_at)
        changed = cv2.dilate(where.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) | target
        return {"image": keep_outside(img, drawn, changed)}
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
