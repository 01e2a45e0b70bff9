"""ADD-PRED: where to put a new object."""

import re

import cv2
import numpy as np

from lego_demo import grounding as g
from lego_demo.diffusion import TRANSFORMERS, model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import rgb, same_size
from lego_demo.spec import Input, brick

ADD_PRED = brick(
    "ADD-PRED",
    kind="predict",
    summary="Predict the best place to add what the prompt describes; with a mask, the place "
    "lies inside it",
    inputs={"image": "Image", "prompt": "Str", "mask": Input("Mask", optional=True)},
    outputs={"mask": "Mask"},
    constraint="The prompt is a full phrase with any position words or adjectives ('add a "
    "black dog on the left'). Follow it with FILL to draw the object.",
)

SIZES = {"tiny": 0.06, "small": 0.09, "little": 0.09, "big": 0.2, "large": 0.2, "huge": 0.28}
DEFAULT_SIZE = 0.13  # radius as a fraction of the image's shorter side
TALL = set("person man woman child boy girl people tree bottle lamp tower statue giraffe vase candle".split())
WIDE = set("car dog cat horse cow boat bus truck sofa couch bench table bed train fish".split())
SIDES = {"left": (-1, 0), "right": (1, 0), "top": (0, -1), "bottom": (0, 1), "upper": (0, -1),
         "lower": (0, 1), "sky": (0, -1)}
RELATIONS = ("next to", "beside", "near", "on top of", "above", "below", "under", "on")


def parse(prompt: str):
    text = " ".join(re.findall(r"[a-z]+", prompt.lower()))
    size = next((SIZES[w] for w in text.split() if w in SIZES), DEFAULT_SIZE)
    words = set(text.split())
    aspect = 1.6 if words & TALL else 0.7 if words & WIDE else 1.0  # height / width
    relation, anchor = None, None
    for rel in RELATIONS:
        m = re.search(rf"\b{rel} (the |a |an )?(.+)$", text)
        if m:
            relation, anchor = rel, m.group(2)
            break
    head = text if relation is None else text[: text.find(relation)]
    side = [SIDES[w] for w in head.split() if w in SIDES]
    if anchor is not None and not (set(anchor.split()) - {"left", "right", "top", "bottom", "side", "corner"}):
        side += [SIDES[w] for w in anchor.split() if w in SIDES]  # "on the left"
        relation, anchor = None, None
    dx = int(np.sign(sum(s[0] for s in side)))
    dy = int(np.sign(sum(s[1] for s in side)))
    return size, aspect, (dx, dy), relation, anchor


@ADD_PRED.engine("free-space", kind="classical")
def add_pred(ctx, image, prompt, mask=None):
    """An ellipse of a plausible size on the least busy spot (few edges, little saliency) that
    fits the position words, beside a grounded anchor ('next to the red circle'), inside `mask`."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("ADD-PRED needs a prompt saying what to add")
    image = rgb(image)
    h, w = image.shape[:2]
    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput("ADD-PRED got an empty mask: the object would have no room")
    size, aspect, (dx, dy), relation, anchor = parse(prompt)
    s = min(1.0, 256 / max(h, w))
    sw, sh = max(8, round(w * s)), max(8, round(h * s))
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    busy = cv2.Canny(grey, 60, 150).astype(np.float32) / 255
    busy = 0.6 * cv2.blur(busy, (9, 9)) / max(float(busy.mean()), 1e-3) / 4
    busy += 0.4 * g.saliency_map(small)
    r = size * min(sw, sh)
    rx, ry = r / np.sqrt(aspect), r * np.sqrt(aspect)
    allowed = np.ones((sh, sw), bool)
    if mask is not None:
        ms = cv2.resize(mask.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
        room = cv2.distanceTransform(np.pad(ms, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        fit = min(1.0, float(room.max()) / max(rx, ry))  # shrink to fit a small mask
        rx, ry = rx * fit, ry * fit
        allowed = room >= max(rx, ry) * 0.999
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    # centres where the ellipse stays in the frame
    allowed &= (xx >= rx) & (xx <= sw - rx) & (yy >= ry) & (yy <= sh - ry)
    prefer = np.zeros((sh, sw), np.float32)
    if relation is not None:
        anchor_mask = _ground(image, anchor)
        am = cv2.resize(anchor_mask.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST).astype(bool)
        ys, xs = np.nonzero(am)
        ax0, ax1, ay0, ay1 = xs.min(), xs.max(), ys.min(), ys.max()
        acx, acy = (ax0 + ax1) / 2, (ay0 + ay1) / 2
        if relation in ("next to", "beside", "near"):
            gap = rx * 1.15
            d = np.minimum(np.hypot(xx - (ax0 - gap), yy - acy), np.hypot(xx - (ax1 + gap), yy - acy))
        elif relation in ("on", "on top of", "above"):
            d = np.hypot(xx - acx, yy - (ay0 - ry * 1.05))
        else:
            d = np.hypot(xx - acx, yy - (ay1 + ry * 1.05))
        prefer += d / max(sw, sh) * 6
        # do not cover the anchor
        cover = cv2.dilate(am.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        allowed &= cv2.distanceTransform((~cover).astype(np.uint8), cv2.DIST_L2, 3) >= min(rx, ry) * 0.9
    if dx or dy:
        px = (xx / sw - 0.5) * dx + (yy / sh - 0.5) * dy  # larger = further that way
        prefer -= px * 3
    cost = cv2.blur(busy, (max(1, int(2 * rx)) | 1, max(1, int(2 * ry)) | 1)) + prefer
    cost[~allowed] = np.inf
    if not np.isfinite(cost).any():
        raise CannotDo("ADD-PRED (offline) found no room of a plausible size for the object here")
    cy, cx = np.unravel_index(int(np.argmin(cost)), cost.shape)
    out = np.zeros((h, w), np.uint8)
    cv2.ellipse(out, (round(cx / s), round(cy / s)), (max(1, round(rx / s)), max(1, round(ry / s))), 0, 0, 360, 1, -1)
    out = out.astype(bool)
    if mask is not None:
        out &= mask
    return {"mask": out}


def _ground(image, phrase):
    from bricks.res import ground  # the RES brick's grounding, for "next to the red box"

    try:
        return ground(image, phrase)
    except CannotDo as exc:
        raise CannotDo(f"ADD-PRED cannot place it relative to {phrase!r}: {exc}") from None


# -- model engine: placement from a vision-language model ----------------------------------------
PLACE_QUESTION = ("Where in this image should this be added: \"{prompt}\"? Answer with one bounding box "
                  "in pixel coordinates as JSON: {{\"bbox_2d\": [x1, y1, x2, y2]}}")
_NUMBER = r"-?\d+(?:\.\d+)?"
_BOX = re.compile(rf"\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]")


def parse_box(text: str, width: int, height: int, coords: str = "pixels") -> tuple[int, int, int, int] | None:
    """The first [x1, y1, x2, y2] in a model's answer, in pixels of a width×height image.
    coords: "pixels" (Qwen2.5-VL), "norm1000" (Qwen2-VL and others: 0–1000), "norm1" (0–1)."""
    m = _BOX.search(text or "")
    if not m:
        return None
    x1, y1, x2, y2 = (float(v) for v in m.groups())
    if coords == "norm1000":
        x1, x2, y1, y2 = x1 * width / 1000, x2 * width / 1000, y1 * height / 1000, y2 * height / 1000
    elif coords == "norm1" or max(x1, y1, x2, y2) <= 1.0:
        x1, x2, y1, y2 = x1 * width, x2 * width, y1 * height, y2 * height
    x1, x2 = sorted((int(np.clip(round(x1), 0, width)), int(np.clip(round(x2), 0, width))))
    y1, y2 = sorted((int(np.clip(round(y1), 0, height)), int(np.clip(round(y2), 0, height))))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return x1, y1, x2, y2


@ADD_PRED.engine("vlm", kind="model", version="1", check=model_check("ADD-PRED", "vlm", TRANSFORMERS,
                                       needs_file="config.json", example="Qwen/Qwen2.5-VL-7B-Instruct"))
def add_pred_vlm(ctx, image, prompt, mask=None):
    """The VLM's box for the new object, as an ellipse inside it (and inside `mask`)."""
    from lego_demo.diffusion import work_size
    from lego_demo.vlm import ask_vlm

    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("ADD-PRED needs a prompt saying what to add")
    h, w = image.shape[:2]
    if mask is not None:
        same_size("image", image, "mask", mask)
        if not mask.any():
            raise BadInput("ADD-PRED got an empty mask: the object would have no room")
    answer = ask_vlm(ctx, image, PLACE_QUESTION.format(prompt=prompt.strip()))
    # the model saw the image at the working size ask_vlm used: boxes are in those pixels
    sw, sh = work_size(w, h, int(ctx.options.get("size", 768)), 28)
    found = parse_box(answer, sw, sh, str(ctx.options.get("coords", "pixels")))
    if found is None:
        raise CannotDo(f"ADD-PRED (vlm): the model gave no usable box (answer: {answer[:120]!r})")
    x1, y1, x2, y2 = found
    fx, fy = w / sw, h / sh
    out = np.zeros((h, w), np.uint8)
    centre = (round((x1 + x2) / 2 * fx), round((y1 + y2) / 2 * fy))
    axes = (max(1, round((x2 - x1) / 2 * fx)), max(1, round((y2 - y1) / 2 * fy)))
    cv2.ellipse(out, centre, axes, 0, 0, 360, 1, -1)
    placed = out.astype(bool)
    if mask is not None:
        placed &= mask
    if not placed.any():
        raise CannotDo("ADD-PRED (vlm): the model's box lies outside the allowed mask")
    return {"mask": placed}
