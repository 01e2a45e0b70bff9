"""RES: referring segmentation — the object a phrase names, as a mask and a cut-out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from lego_demo import grounding as g
from lego_demo.diffusion import TRANSFORMERS, model_check
from lego_demo.errors import BadInput, CannotDo, NotFound
from lego_demo.imaging import checkerboard_cutout
from lego_demo.spec import brick

RES = brick(
    "RES",
    kind="predict",
    summary="Segment the object named by the prompt",
    inputs={"image": "Image", "prompt": "Str"},
    outputs={"mask": "Mask", "image": "Image"},
    constraint="The prompt is English and keeps any position words or adjectives "
    "('the red cup on the left'). The output image is the cut-out over a checkerboard; use it "
    "as a result only when the user asks for the segmentation.",
)

FILLER = set(
    "the a an please object objects thing things one ones item items shape shapes region "
    "regions area areas part parts in on at of to with and is are that which who side corner "
    "select segment find mask image picture photo all its this those these some any coloured "
    "colored color colour there from just only me my his her their s far very most whole entire "
    "out cut extract show highlight each every both".split()
)
SHAPE_WORDS = {
    "circle": "circle", "circles": "circle", "round": "circle", "circular": "circle",
    "disc": "circle", "disk": "circle", "ball": "circle", "balls": "circle", "dot": "circle",
    "square": "square", "squares": "square",
    "rectangle": "rectangle", "rectangles": "rectangle", "rectangular": "rectangle",
    "box": "rectangle", "boxes": "rectangle", "block": "rectangle", "blocks": "rectangle",
    "triangle": "triangle", "triangles": "triangle", "triangular": "triangle",
}
POSITION_WORDS = {
    "left": "left", "leftmost": "left", "right": "right", "rightmost": "right",
    "top": "top", "upper": "top", "topmost": "top", "above": "top",
    "bottom": "bottom", "lower": "bottom", "bottommost": "bottom", "below": "bottom",
    "middle": "middle", "center": "middle", "centre": "middle", "central": "middle",
}
SIZE_WORDS = {
    "biggest": "big", "largest": "big", "big": "big", "large": "big", "bigger": "big",
    "larger": "big", "huge": "big", "smallest": "small", "small": "small", "smaller": "small",
    "tiny": "small", "little": "small",
}
CATEGORY_WORDS = {
    **dict.fromkeys(
        "person persons people man men woman women child children kid kids boy boys girl girls "
        "human humans lady ladies guy guys".split(), "person"),
    "face": "face", "faces": "face",
    "hair": "hair",
    "skin": "skin",
    "sky": "sky",
    **dict.fromkeys("text texts word words letters lettering writing caption title".split(), "text"),
    **dict.fromkeys("background backdrop".split(), "background"),
    **dict.fromkeys("foreground subject".split(), "foreground"),
}
PLURAL = {"people", "men", "women", "children", "kids", "boys", "girls", "humans", "persons",
          "faces", "ladies", "guys", "all", "both", "every", "each"}
SHADES_ = set(g.SHADES)
MASS = {"hair", "skin", "sky", "text", "background", "foreground"}  # always the whole area
UNDERSTOOD = ("colours, shapes, positions, sizes, people, faces, hair, skin, sky, text, "
              "background and foreground")


@dataclass
class Query:
    colours: list[tuple[str | None, str]] = field(default_factory=list)  # (shade, colour)
    shapes: set[str] = field(default_factory=set)
    positions: set[str] = field(default_factory=set)
    size: str | None = None
    categories: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    plural: bool = False


def parse(prompt: str) -> Query:
    q = Query()
    shade = None
    for word in re.findall(r"[a-z]+", prompt.lower()):
        if word in SHADES_:
            shade = g.SHADES[word]
            continue
        colour = g.COLOUR_SYNONYMS.get(word, word)
        if isinstance(colour, tuple):
            q.colours.append(colour)
        elif colour in g.COLOUR_NAMES:
            q.colours.append((shade, colour))
        elif word in SHAPE_WORDS:
            q.shapes.add(SHAPE_WORDS[word])
            q.plural |= word.endswith("s") and word not in ("box",)
        elif word in POSITION_WORDS:
            q.positions.add(POSITION_WORDS[word])
        elif word in SIZE_WORDS:
            q.size = SIZE_WORDS[word]
        elif word in CATEGORY_WORDS:
            if CATEGORY_WORDS[word] not in q.categories:
                q.categories.append(CATEGORY_WORDS[word])
            q.plural |= word in PLURAL or CATEGORY_WORDS[word] in MASS
        elif word in PLURAL:
            q.plural = True
        elif word not in FILLER:
            q.unknown.append(word)
        shade = None if word not in FILLER else shade
    return q


def _cannot(words: list[str]) -> CannotDo:
    quoted = ", ".join(f'"{w}"' for w in words)
    return CannotDo(
        f"RES (offline) cannot find {quoted}: it grounds {UNDERSTOOD}; a model engine "
        "(e.g. CLIPSeg) is needed for other objects"
    )


def _category_mask(facts: g.Facts, category: str) -> list[np.ndarray]:
    """The instances of one category (a list of masks; empty = none found)."""
    if category == "person":
        return [r.mask for r in g.components(facts.person, min_area=int(0.01 * facts.person.size))]
    if category == "face":
        return facts.face_masks()
    if category == "text":
        return facts.text
    mask = {
        "hair": lambda: facts.hair,
        "skin": lambda: facts.skin,
        "sky": lambda: facts.sky,
        "foreground": lambda: facts.foreground,
        "background": lambda: ~facts.foreground,
    }[category]()
    return [mask] if mask.any() else []


def ground(image: np.ndarray, prompt: str) -> np.ndarray:
    """The mask a phrase names; raises CannotDo for words it cannot ground or when nothing matches."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("RES needs a non-empty prompt naming what to segment")
    q = parse(prompt)
    # one unknown head noun ("the red car") is tolerated when a colour or shape grounds it
    if q.unknown and (not (q.colours or q.shapes) or q.categories or len(q.unknown) > 1):
        raise _cannot(q.unknown)
    if not (q.colours or q.shapes or q.positions or q.size or q.categories):
        raise _cannot(q.unknown or [prompt.strip()])
    facts = g.Facts(image)
    shape = facts.shape
    what = prompt.strip()

    if q.categories:
        masks = []
        for cat in q.categories:
            found = _category_mask(facts, cat)
            if not found:
                raise NotFound(f"RES (offline) found no {cat} in the image for {what!r}")
            masks.extend(found)
        regions = [g.Region.of(m) for m in masks if m.any()]
        if q.colours:
            names = {c for _, c in q.colours}
            regions = [r for r in regions if _colour_share(facts, r.mask, names) > 0.05]
    elif q.colours:
        regions = []
        for shade, name in q.colours:
            every = facts.colour_regions(name)
            found = [r for r in every if g.is_objectlike(r, shape)]
            if not found and every:  # nothing object-like: the largest area of that colour
                found = [max(every, key=lambda r: r.area)]
            regions.extend(_shade(found, shade))
    else:
        regions = list(facts.proposals)
    if q.shapes:
        regions = [r for r in regions if _shape_ok(r.shape, q.shapes)]
    if not regions:
        raise NotFound(f"RES (offline) found nothing matching {what!r} in the image")
    # background fragments that pass the filters are cut by the frame, or much smaller
    if not q.categories:
        inside = [r for r in regions if not g.touches_frame(r)]
        regions = inside or regions
    largest = max(r.area for r in regions)
    regions = [r for r in regions if r.area >= 0.2 * largest]
    if q.positions or q.size:
        regions = [g.pick(regions, shape, q.positions, q.size)]
    elif not q.plural:  # "the red one": the most prominent match
        regions = [max(regions, key=lambda r: r.area)]
    mask = np.any([r.mask for r in regions], axis=0)
    return mask


def _shape_ok(found: str | None, wanted: set[str]) -> bool:
    if found is None:
        return False
    return found in wanted or (found == "square" and "rectangle" in wanted)


def _shade(regions: list[g.Region], shade: str | None) -> list[g.Region]:
    """'dark' / 'light': the darkest / lightest of the candidates (and those close to it)."""
    if shade is None or len(regions) < 2:
        return regions
    if shade == "dark":
        best = min(r.lightness for r in regions)
        return [r for r in regions if r.lightness <= best + 12]
    best = max(r.lightness for r in regions)
    return [r for r in regions if r.lightness >= best - 12]


def _colour_share(facts: g.Facts, mask: np.ndarray, names: set[str]) -> float:
    ids = [g.COLOUR_NAMES.index(n) for n in names]
    return float(np.isin(facts.labels[mask], ids).mean()) if mask.any() else 0.0


@RES.engine("grounding", kind="classical")
def res(ctx, image, prompt):
    mask = ground(image, prompt)
    return {"mask": mask, "image": checkerboard_cutout(image, mask)}


# -- model engine: CLIPSeg (text-prompted segmentation) -----------------------------------------
def clipseg_logits(loaded, inputs: dict):
    """CLIPSeg's logits for processor outputs, on the model's device (run by ModelManager.call)."""
    import torch

    net, _ = loaded
    inputs = {k: (v.to(net.device, net.dtype) if v.is_floating_point() else v.to(net.device))
              for k, v in inputs.items()}
    with torch.no_grad():
        return net(**inputs).logits.cpu()


@RES.engine("clipseg", kind="model", version="1", check=model_check("RES", "clipseg", TRANSFORMERS,
                                       needs_file="config.json", example="CIDAS/clipseg-rd64-refined"))
def res_clipseg(ctx, image, prompt):
    """CLIPSeg logits for the prompt, upsampled to the image, sigmoid > threshold (default 0.4)."""
    import torch

    from lego_demo.diffusion import clipseg_model, to_pil

    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("RES needs a non-empty prompt naming what to segment")
    (net, processor), key, manager = clipseg_model(ctx)
    model = str(ctx.options.get("model"))
    # CLIP's text encoder takes at most max_position_embeddings (77) tokens: cut longer prompts
    inputs = processor(text=[prompt.strip()], images=[to_pil(image)], padding=True, truncation=True,
                       max_length=net.config.text_config.max_position_embeddings, return_tensors="pt")
    logits = manager.call(key, clipseg_logits, dict(inputs), what=f"running {model}", seconds=10).float()
    logits = logits.reshape(1, 1, *logits.shape[-2:])
    h, w = image.shape[:2]
    prob = torch.sigmoid(torch.nn.functional.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False))
    prob = prob[0, 0].cpu().numpy()
    threshold = float(ctx.options.get("threshold", 0.4))
    mask = prob > threshold
    if not mask.any():
        raise NotFound(f"RES (CLIPSeg) found nothing matching {prompt.strip()!r} "
                       f"(best score {prob.max():.2f} < threshold {threshold:g})")
    return {"mask": mask, "image": checkerboard_cutout(image, mask)}
