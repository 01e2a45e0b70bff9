"""CMI-PRED: a caption of the image, and for outpainting an expanded canvas + its mask."""

import cv2
import numpy as np

from lego_demo.diffusion import TRANSFORMERS, model_check
from lego_demo.errors import BadInput, CannotDo
from lego_demo.imaging import rgb
from lego_demo.spec import Input, brick

RATIOS = ("left_ratio", "right_ratio", "top_ratio", "bottom_ratio")
MAX_RATIO = 4.0


def _rules(given: frozenset[str]) -> list[str]:
    n = sum(r in given for r in RATIOS)
    if 0 < n < len(RATIOS):
        return ["give all four side ratios or none"]
    return []


def _produces(given: frozenset[str]) -> frozenset[str]:
    if all(r in given for r in RATIOS):
        return frozenset({"caption", "image", "mask"})
    return frozenset({"caption"})


CMI_PRED = brick(
    "CMI-PRED",
    kind="predict",
    summary="Describe the image in English (a prompt for generation); for image expansion, "
    "also give the expanded canvas and the mask of its new area",
    inputs={"image": "Image", **{r: Input("Float", optional=True, range=(1.0, MAX_RATIO), neutral=1.0) for r in RATIOS}},
    outputs={"caption": "Str", "image": "Image", "mask": "Mask"},
    constraint="The four ratios are all null (caption only) or all given. A side ratio is the "
    "new distance from the image centre to that edge relative to the old one, from 1 to 4: "
    "1 = unchanged, 2 = that side grows by half the image. For expansion, pass the output image and mask "
    "together to FILL.",
    input_aliases={"ratio": RATIOS},
    rules=_rules,
    produces=_produces,
)


def expansion(width: int, height: int, left: float, right: float, top: float, bottom: float):
    """Pixels added on each side: a side ratio r moves that edge from half the image to r
    halves from the centre, so (r - 1) * half the image is added there."""
    ratios = {"left_ratio": left, "right_ratio": right, "top_ratio": top, "bottom_ratio": bottom}
    for name, r in ratios.items():
        if not 1.0 <= float(r) <= MAX_RATIO:
            raise BadInput(f"CMI-PRED {name} must be between 1 (unchanged) and {MAX_RATIO:g}, got {r}")
    return (round((left - 1) * width / 2), round((right - 1) * width / 2),
            round((top - 1) * height / 2), round((bottom - 1) * height / 2))


@CMI_PRED.engine("canvas", kind="classical")
def cmi_pred(ctx, image, left_ratio=None, right_ratio=None, top_ratio=None, bottom_ratio=None):
    """The expanded canvas (edges replicated outwards, blurred more the further out) and the
    mask of the new area. There is no offline captioner: a needed caption is a CannotDo."""
    ratios = (left_ratio, right_ratio, top_ratio, bottom_ratio)
    if "caption" in ctx.needed or all(r is None for r in ratios):
        raise CannotDo("CMI-PRED (offline) cannot caption images: a captioning model engine "
                       "(e.g. an MLLM) is needed for the caption")
    if any(r is None for r in ratios):
        raise BadInput("CMI-PRED needs all four side ratios or none")
    image = rgb(image)
    h, w = image.shape[:2]
    left, right, top, bottom = expansion(w, h, *(float(r) for r in ratios))
    canvas = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REPLICATE)
    new = np.ones(canvas.shape[:2], bool)
    new[top : top + h, left : left + w] = False
    if new.any():
        # blur grows with the distance from the old image, so no streaks reach far out
        dist = cv2.distanceTransform(new.astype(np.uint8), cv2.DIST_L2, 3)
        sigma = max(2.0, 0.03 * max(h, w))
        size = (canvas.shape[1], canvas.shape[0])
        quarter = cv2.resize(canvas, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
        # blurring a quarter-size copy and scaling it back looks the same and is ~16x cheaper
        soft = cv2.resize(cv2.GaussianBlur(quarter, (0, 0), sigma / 4), size)
        softer = cv2.resize(cv2.GaussianBlur(quarter, (0, 0), sigma), size)
        t = np.clip(dist / (0.15 * max(h, w)), 0, 1)[..., None]
        fill = (soft * (1 - t) + softer * t).astype(np.uint8)
        canvas = np.where(new[..., None], fill, canvas)
    return {"image": canvas, "mask": new}


# -- model engine: a caption from a vision-language model ----------------------------------------
CAPTION_QUESTION = "Describe this image in one sentence."


@CMI_PRED.engine("vlm", kind="model", version="1", check=model_check("CMI-PRED", "vlm", TRANSFORMERS,
                                       needs_file="config.json", example="Qwen/Qwen2.5-VL-3B-Instruct"))
def cmi_pred_vlm(ctx, image, left_ratio=None, right_ratio=None, top_ratio=None, bottom_ratio=None):
    """The caption from the configured VLM (AutoModelForImageTextToText, greedy); with the four
    ratios, the expanded canvas and its mask come from the classical engine's code."""
    from dataclasses import replace

    from lego_demo.vlm import ask_vlm

    ratios = (left_ratio, right_ratio, top_ratio, bottom_ratio)
    if any(r is not None for r in ratios) and any(r is None for r in ratios):
        raise BadInput("CMI-PRED needs all four side ratios or none")
    question = str(ctx.options.get("question", CAPTION_QUESTION))
    caption = " ".join(ask_vlm(ctx, image, question).split())
    if not caption:
        raise CannotDo("CMI-PRED (vlm): the model returned an empty caption")
    out = {"caption": caption}
    if all(r is not None for r in ratios):
        out.update(cmi_pred(replace(ctx, needed=frozenset(ctx.needed) - {"caption"}), image, *ratios))
    return out
