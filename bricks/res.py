"""RES: referring segmentation — the object a phrase names, as a mask and a cut-out."""

from __future__ import annotations

import numpy as np

from lego_demo import grounding as g
from lego_demo import parts
from lego_demo.colours import CATEGORIES
from lego_demo.diffusion import TRANSFORMERS, model_check
from lego_demo.errors import BadInput, CannotDo, NotFound
from lego_demo.imaging import checkerboard_cutout
from lego_demo.lazy import lazy
from lego_demo.phrases import parse
from lego_demo.regions import Region, components, is_objectlike, pick, touches_frame
from lego_demo.spec import brick

scene = lazy("lego_demo.scene")

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

UNDERSTOOD = ("colours, shapes, positions, sizes, people, faces, hair, skin, clothes, sky, text, titles, "
              "background and foreground")


ALIKE = 0.7  # a match at least this share of the largest one's area is "about the same size"


def _cannot(words: list[str]) -> CannotDo:
    quoted = ", ".join(f'"{w}"' for w in words)
    return CannotDo(
        f"RES (offline) cannot find {quoted}: it grounds {UNDERSTOOD}. Paint over the {words[0]} and press "
        "Plan & run (CLI: --mask FILE), or configure a RES model engine such as CLIPSeg (docs/MODELS.md)"
    )


def _category_masks(facts: g.Facts, category: str, q) -> list[np.ndarray]:
    """The instances of one category (a list of masks; empty = none found)."""
    if category == "person":
        return [r.mask for r in components(facts.person, min_area=int(0.01 * facts.person.size))]
    if category == "face":
        return facts.face_masks()
    if category == "text":
        return facts.text
    if category == "title":
        return [title_line(facts.text)] if facts.text else []
    if category == "clothes":
        if q.colours:  # "her orange suit": every region of that colour on what the person wears
            area = parts.clothes(facts)
            return [m for m in (parts.colour_part(facts, c, shade, area) for shade, c in q.colours) if m.any()]
        return [parts.garment(facts, q.garment)]
    mask = {
        "hair": lambda: parts.hair(facts),
        "skin": lambda: facts.skin,
        "sky": lambda: scene.sky(facts),
        "foreground": lambda: facts.subject,
        "background": lambda: ~facts.subject,
    }[category]()
    return [mask] if mask.any() else []


def title_line(lines: list[np.ndarray]) -> np.ndarray:
    """The text line set in the largest letters (its box is the tallest)."""
    def height(m: np.ndarray) -> float:
        return float(m.sum()) / max(1, int(np.ptp(np.nonzero(m)[1])) + 1)

    return max(lines, key=height)


def _colour_in(facts: g.Facts, q, scope: np.ndarray) -> np.ndarray:
    found = [parts.colour_part(facts, c, shade, scope) for shade, c in q.colours]
    return np.any(found, axis=0) if found else np.zeros(facts.shape, bool)


def ground(image: np.ndarray, prompt: str, models=None) -> np.ndarray:
    """The mask a phrase names; raises CannotDo for words it cannot ground or when nothing matches.
    `models`: the model manager holding the detectors (lego_demo/detectors.py)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("RES needs a non-empty prompt naming what to segment")
    q = parse(prompt)
    # one unknown head noun ("the red car") is tolerated when a colour or shape grounds it
    if q.unknown and (not (q.colours or q.shapes) or q.categories or len(q.unknown) > 1):
        raise _cannot(q.unknown)
    if not (q.measurable or q.parts):
        raise _cannot(q.unknown or [prompt.strip()])
    facts = g.Facts(image, models)
    shape = facts.shape
    what = prompt.strip()
    located = not (q.shapes or q.positions or q.size)

    if q.categories:
        masks = []
        for cat in q.categories:
            found = _category_masks(facts, cat, q)
            if not found:
                raise NotFound(f"RES (offline) found no {cat} in the image for {what!r}: paint over it and press "
                               "Plan & run (CLI: --mask FILE)")
            masks.extend(found)
        regions = [Region.of(m) for m in masks if m.any()]
        if q.colours and "clothes" not in q.categories:
            names = {c for _, c in q.colours}
            regions = [r for r in regions if _colour_share(facts, r.mask, names) > 0.05]
    elif q.colours and located and (q.parts or q.owner or q.unknown):
        # a colour-named part: every region of that colour on the thing it belongs to
        if q.parts:
            scope = np.ones(shape, bool)
        elif q.owner:
            scope = facts.person if facts.person.any() else facts.subject
        else:  # "the blue car": the main subject is the car
            scope = facts.subject
        mask = _colour_in(facts, q, scope)
        if mask.any():
            return mask
        if q.parts or q.owner:
            raise NotFound(f"RES (offline) found nothing {', '.join(c for _, c in q.colours)} for {what!r}: paint "
                           "over it and press Plan & run (CLI: --mask FILE)")
        regions = _colour_regions(facts, q)  # not on the subject: a colour object elsewhere
    elif q.colours:
        regions = _colour_regions(facts, q)
    else:
        regions = list(facts.proposals)
    if q.shapes:
        regions = [r for r in regions if _shape_ok(r.shape, q.shapes)]
    if not regions:
        raise NotFound(f"RES (offline) found nothing matching {what!r} in the image: paint over it and press "
                       "Plan & run (CLI: --mask FILE)")
    # background fragments that pass the filters are cut by the frame, or much smaller
    if not q.categories:
        inside = [r for r in regions if not touches_frame(r)]
        regions = inside or regions
    largest = max(r.area for r in regions)
    regions = [r for r in regions if r.area >= 0.2 * largest]
    if q.positions or q.size:
        regions = [pick(regions, shape, q.positions, q.size)]
    elif not q.plural:  # "the red one": the most prominent match, unless two or more are alike
        alike = [r for r in regions if r.area >= ALIKE * largest]
        if q.shapes and len(alike) > 1:
            raise CannotDo(_which_one(what, alike, shape))
        regions = [max(regions, key=lambda r: r.area)]
    return np.any([r.mask for r in regions], axis=0)


def _which_one(what: str, alike: list[Region], shape: tuple[int, int]) -> str:
    """The question to ask when a phrase in the singular names several things alike."""
    xs, ys = [r.centroid[0] / shape[1] for r in alike], [r.centroid[1] / shape[0] for r in alike]
    across = np.ptp(xs) >= np.ptp(ys)
    names = (("left", "right") if across else ("top", "bottom")) if len(alike) == 2 else \
        (("left", "middle", "right") if across else ("top", "middle", "bottom")) if len(alike) == 3 else ()
    where = f" (at the {', the '.join(names[:-1])} and the {names[-1]})" if names else ""
    first = names[0] if names else ("left" if across else "top")
    return (f"{what!r} matches {len(alike)} things of about the same size{where}. Say which one: feedback "
            f"such as 'only the {first} one', or name it "
            f"('the {first} {what.removeprefix('the ').strip()}'); or paint over it and press Plan & run "
            "(CLI: --mask FILE)")


def _colour_regions(facts: g.Facts, q) -> list[Region]:
    """Object-like regions of the named colours (segments split at colour edges)."""
    regions = []
    for shade, name in q.colours:
        every = facts.colour_regions(name)
        found = [r for r in every if is_objectlike(r, facts.shape)]
        if not found and every:  # nothing object-like: the largest area of that colour
            found = [max(every, key=lambda r: r.area)]
        regions.extend(_shade(found, shade))
    return regions


def _shape_ok(found: str | None, wanted: set[str]) -> bool:
    if found is None:
        return False
    return found in wanted or (found == "square" and "rectangle" in wanted)


def _shade(regions: list[Region], shade: str | None) -> list[Region]:
    """'dark' / 'light': the darkest / lightest of the candidates (and those close to it)."""
    if shade is None or len(regions) < 2:
        return regions
    if shade == "dark":
        best = min(r.lightness for r in regions)
        return [r for r in regions if r.lightness <= best + 12]
    best = max(r.lightness for r in regions)
    return [r for r in regions if r.lightness >= best - 12]


def _colour_share(facts: g.Facts, mask: np.ndarray, names: set[str]) -> float:
    ids = [CATEGORIES.index(n) for n in names]
    return float(np.isin(facts.labels[mask], ids).mean()) if mask.any() else 0.0


@RES.engine("grounding", kind="classical")
def res(ctx, image, prompt):
    mask = ground(image, prompt, ctx.models)
    return {"mask": mask, "image": checkerboard_cutout(image, mask) if ctx.wants("image") else None}


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
    return {"mask": mask, "image": checkerboard_cutout(image, mask) if ctx.wants("image") else None}
