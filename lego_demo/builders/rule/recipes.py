"""One recipe per action: which bricks, wired how, and why (the reasoning sentences).

Every recipe takes the Writer, the intent and the image it edits, and returns the Ref of the
image it produces (the next clause edits that one).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...types import ValueType
from ...workflow import Ref
from .language import Intent
from .planner import INIT_MASK, Missing, Writer, float_inputs, strength_input

Recipe = Callable[[Writer, Intent, Ref], Ref]


# -- removal ----------------------------------------------------------------------------------
def erase(w: Writer, image: Ref, mask: Ref, what: str) -> Ref:
    def full() -> Ref:
        a = w.add("FASTINPAINT", {"image": image, "mask": mask})
        b = w.add("INPAINT", {"image": image, "mask": mask, "preimage": Ref(a, "image"), "score": Ref(a, "score")})
        w.note(f"FASTINPAINT fills the {what} area quickly and scores it (step {a}); INPAINT uses that "
               f"pre-inpaint image and score for a clean removal (step {b}).")
        return Ref(b, "image")

    def fast() -> Ref:
        a = w.add("FASTINPAINT", {"image": image, "mask": mask})
        w.note(f"INPAINT cannot be used, so FASTINPAINT's quick fill is the result (step {a}).")
        return Ref(a, "image")

    def fill() -> Ref:
        a = w.add("FILL", {"image": image, "mask": mask, "prompt": "empty background matching the surroundings",
                           "preimage": None})
        w.note(f"No inpainting brick is usable, so FILL paints plain background over the {what} (step {a}).")
        return Ref(a, "image")

    return w.choose([(("FASTINPAINT", "INPAINT"), full), (("FASTINPAINT",), fast), (("FILL",), fill)],
                    f"remove the {what}")


def remove(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked area"
    w.note(f"The object is '{what}' and the action is removal.")
    mask = w.locate(image, it, background_like=bool(it.params.get("background_like")))
    out = erase(w, image, mask, what)
    w.last_mask = mask
    return out


# -- adding and replacing ------------------------------------------------------------------------
def place(w: Writer, image: Ref, phrase: str, obj: str, region: Ref | None) -> Ref:
    def predict() -> Ref:
        a = w.add("ADD-PRED", {"image": image, "prompt": f"add {phrase}", "mask": region})
        b = w.add("FILL", {"image": image, "mask": Ref(a, "mask"), "prompt": obj, "preimage": None})
        inside = " inside the given area" if region is not None else ""
        w.note(f"ADD-PRED predicts where '{phrase}' fits{inside} (step {a}); FILL draws {obj} there (step {b}).")
        return Ref(b, "image")

    def direct() -> Ref:
        assert region is not None
        b = w.add("FILL", {"image": image, "mask": region, "prompt": obj, "preimage": None})
        w.note(f"FILL draws {obj} inside the given area (step {b}).")
        return Ref(b, "image")

    options = [(("ADD-PRED", "FILL"), predict)]
    if region is not None:
        options.append((("FILL",), direct))
    return w.choose(options, f"add {obj}")


def add(w: Writer, it: Intent, image: Ref) -> Ref:
    phrase = it.value or "an object"
    obj = it.params.get("obj") or phrase
    w.note(f"The request adds {phrase}; nothing existing is segmented.")
    region = None
    if it.where == "init":
        if not w.has_mask:
            raise Missing("a mask of where to add it", ["init[mask] (no mask was drawn)"])
        region = INIT_MASK
        w.note("The user's mask (init[mask]) bounds where it goes.")
    elif it.params.get("there") and w.last_mask is not None:
        region = w.last_mask
    return place(w, image, phrase, obj, region)


def replace(w: Writer, it: Intent, image: Ref) -> Ref:
    old = it.target or it.params.get("old") or "marked object"
    new = it.value or "an object"
    w.note(f"Swapping '{old}' for '{new}' is two atomic edits: remove the {old}, then add {new} in its place.")
    mask = w.locate(image, it)
    cleared = erase(w, image, mask, old)
    return place(w, cleared, f"{new} where the {old} was", new, mask)


# -- recolour / material ---------------------------------------------------------------------
def recolor(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked area"
    colour = it.value or "a new colour"
    w.note(f"The object is '{what}'; only its colour or material changes, to {colour}.")
    mask = w.locate(image, it)

    spec = w.registry.resolve("RCM")
    key = strength_input(spec) if spec is not None else None
    extra = {key: round(max(0.0, min(1.0, 0.2 + 0.3 * w.strength)), 2)} if key and w.strength else {}

    def rcm() -> Ref:
        a = w.add("RCM", {"image": image, "mask": mask, "prompt": colour, **extra})
        if extra:
            w.note(f"The feedback asks for a {'stronger' if w.strength > 0 else 'weaker'} change: RCM strength {extra[key]}.")
        w.note(f"RCM recolours the masked {what} to {colour} (step {a}).")
        return Ref(a, "image")

    return w.choose([(("RCM",), rcm)], f"recolour the {what}")


# -- background -----------------------------------------------------------------------------------
def background(w: Writer, it: Intent, image: Ref) -> Ref:
    mode = it.params.get("mode", "scene")
    value = it.value or "a different scene"
    subject = it.target
    w.note(f"The background changes ({'blurred' if mode == 'blur' else value}); the "
           f"{subject or 'main subject'} stays.")

    def bg_mask() -> Ref:
        sub = w.locate_named(image, subject) if subject else w.subject(image)
        n = w.add("INVERSE", {"mask1": None, "mask2": sub})
        w.note(f"INVERSE with a null mask1 turns the subject mask into the background mask (step {n}).")
        return Ref(n, "mask")

    prompt = {"blur": "change the background to a blurred, out-of-focus version of itself",
              "remove": "change the background to plain white"}.get(mode, f"change the background to {value}")

    def cbg() -> Ref:
        m = bg_mask()
        a = w.add("CBG", {"image": image, "mask": m, "prompt": prompt})
        w.note(f"CBG paints the new background: '{prompt}' (step {a}).")
        return Ref(a, "image")

    def blur_region() -> Ref:
        m = bg_mask()
        a = _region_effect(w, "BLUR-REGION", image, m, 0)
        w.note(f"BLUR-REGION blurs the background (step {a}).")
        return Ref(a, "image")

    options = [(("CBG", "INVERSE"), cbg)]
    if mode == "blur":
        # BLUR-REGION has a strength knob: prefer it when the feedback asks for more or less blur
        options.insert(1 if not w.strength else 0, (("BLUR-REGION", "INVERSE"), blur_region))
    return w.choose(options, "change the background")


# -- whole-image edits ------------------------------------------------------------------------------
def style(w: Writer, it: Intent, image: Ref) -> Ref:
    name = it.value or "painting style"
    target = it.target
    mask = None
    if target is not None or it.where in ("init", "maskseg"):
        w.note(f"Only the {target or 'marked area'} takes the {name}.")
        mask = w.locate(image, it)
    elif "background" in w.keep:
        w.note("The feedback keeps the background, so the style applies to the main subject only.")
        mask = w.subject(image)
    else:
        w.note(f"The whole image is rendered in {name}.")
    spec = w.registry.resolve("STYLE")
    extra: dict = {}
    key = strength_input(spec) if spec is not None else None
    if key and w.strength:
        extra[key] = round(max(0.1, min(1.0, 0.6 + 0.15 * w.strength)), 2)

    def with_caption() -> Ref:
        c = w.add("CMI-PRED", {"image": image})
        a = w.add("STYLE", {"image": image, "mask": mask, "prompt": Ref(c, "caption"), "style": name, **extra})
        w.note(f"CMI-PRED captions the image (step {c}) so STYLE keeps its content while drawing it in {name} (step {a}).")
        return Ref(a, "image")

    def bare() -> Ref:
        a = w.add("STYLE", {"image": image, "mask": mask, "prompt": None, "style": name, **extra})
        w.note(f"STYLE renders it in {name} (step {a}); its caption prompt is left null, since the style "
               "engines here read the image itself (a CMI-PRED caption is used when asked for).")
        return Ref(a, "image")

    # the caption only helps a generative STYLE engine, and captioning needs a model: plain STYLE first
    return w.choose([(("STYLE",), bare), (("CMI-PRED", "STYLE"), with_caption)], f"apply {name}")


def env(w: Writer, it: Intent, image: Ref) -> Ref:
    prompt = it.value or "change the weather"
    w.note(f"This changes the environment ({it.params.get('kind', 'scene')}), so no object is segmented.")

    def run() -> Ref:
        a = w.add("ENV", {"image": image, "prompt": prompt})
        w.note(f"ENV applies '{prompt}' to the whole scene (step {a}).")
        return Ref(a, "image")

    return w.choose([(("ENV",), run)], "change the weather, season or time of day")


def pose(w: Writer, it: Intent, image: Ref) -> Ref:
    prompt = it.value or "change the pose"
    w.note(f"The subject{(' (' + it.params['subject'] + ')') if it.params.get('subject') else ''} changes "
           "posture or expression; POSE takes the description, with no PREDICT step before it.")

    def run() -> Ref:
        a = w.add("POSE", {"image": image, "prompt": prompt})
        w.note(f"POSE: '{prompt}' (step {a}).")
        return Ref(a, "image")

    return w.choose([(("POSE",), run)], "change a pose or expression")


# -- tone -------------------------------------------------------------------------------------------
_TONE_STEP = {0.5: 0.1, 1: 0.2, 2: 0.4}


def tone(w: Writer, it: Intent, image: Ref) -> Ref:
    kind = it.params.get("kind", "brightness")
    direction = it.params.get("direction", 1) or 1
    amount = it.params.get("amount", 1)
    pct = it.params.get("percent")
    delta = (pct / 100.0) if pct else _TONE_STEP.get(amount, 0.2)
    delta *= 1.0 + 0.5 * w.strength if w.strength > -2 else 0.25
    delta = max(0.05, min(0.9, delta))
    word = {"brightness": ("brighter", "darker"), "contrast": ("more contrast", "less contrast"),
            "saturation": ("more saturated", "less saturated")}[kind]
    w.note(f"The image should be {word[0] if direction > 0 else word[1]}: a global tone change, no segmentation needed.")
    mask = None
    if it.target is not None:
        w.note(f"Only the {it.target} changes.")

    def tone_brick() -> Ref:
        nonlocal mask
        spec = w.registry.resolve("TONE")
        assert spec is not None
        if it.target is not None:
            if not any(p.type is ValueType.MASK for p in spec.inputs.values()):
                raise Missing(f"a tone change of the {it.target} only", ["TONE with a mask input"])
            mask = w.locate(image, it)
        values = _tone_values(spec, kind, direction, delta)
        a = w.generic("TONE", image, mask, values=values)
        w.note(f"TONE adjusts {kind} ({', '.join(f'{k}={v}' for k, v in values.items() if v is not None)}) (step {a}).")
        return Ref(a, "image")

    def bright() -> Ref:
        if kind != "brightness":
            raise Missing(f"a {kind} change", ["TONE (BRIGHT only changes brightness)"])
        if it.target is not None:
            raise Missing(f"a brightness change of the {it.target} only", ["TONE (BRIGHT edits the whole image)"])
        ratio = round(0.5 + (0.5 * delta if direction > 0 else -0.5 * delta), 3)
        ratio = max(0.05, min(1.0, ratio))
        a = w.add("BRIGHT", {"image": image, "ratio": ratio})
        w.note(f"BRIGHT scales brightness by ratio {ratio} (0.5 = unchanged) (step {a}).")
        return Ref(a, "image")

    return w.choose([(("TONE",), tone_brick), (("BRIGHT",), bright)], f"change the {kind}")


def _tone_values(spec, kind: str, direction: int, delta: float) -> dict:
    """Fill TONE's inputs from its spec: per-kind Float inputs, or a kind Str + amount Float."""
    values: dict = {}
    floats = float_inputs(spec)
    strs = [n for n, p in spec.inputs.items() if p.type is ValueType.STR]
    text = (spec.constraint + " " + " ".join(p.doc for p in spec.inputs.values())).lower()
    multiplicative = bool(re.search(r"1(?:\.0)?\s*(?:=|is|means|leaves)\s*(?:unchanged|no change|the same)|factor", text))
    per_kind = [n for n in floats if n in ("brightness", "contrast", "saturation")]
    if per_kind:
        for n in per_kind:
            if n == kind:
                values[n] = round(1.0 + direction * delta, 3) if multiplicative else round(direction * delta, 3)
            elif not spec.inputs[n].optional:
                values[n] = 1.0 if multiplicative else 0.0
            else:
                values[n] = None
        return values
    if strs:
        values[strs[0]] = kind
    amount = next((n for n in floats if n in ("amount", "factor", "strength", "delta", "value", "ratio", "level")), None)
    if amount is None and floats:
        amount = floats[0]
    if amount is not None:
        values[amount] = round(1.0 + direction * delta, 3) if multiplicative else round(direction * delta, 3)
    return values


# -- cut-outs, colour pop, hiding -------------------------------------------------------------------
def extract(w: Writer, it: Intent, image: Ref) -> list[Ref]:
    what = it.target or "main subject"
    w.note(f"The user wants the {what} on its own (a cut-out), not an edited photo.")
    mask_only = it.params.get("mask_only")

    def with_extract() -> list[Ref]:
        mask = w.locate(image, it) if it.target or it.where in ("init", "maskseg") else w.subject(image)
        if mask_only:
            w.note("The mask itself is the result.")
            return [mask]
        a = w.generic("EXTRACT", image, mask)
        w.note(f"EXTRACT cuts the {what} out with a transparent background (step {a}).")
        return [Ref(a, "image")]

    def seg_image() -> list[Ref]:
        if it.where in ("init",):
            raise Missing("a cut-out of the marked area", ["EXTRACT"])
        if it.target and it.where != "sos":
            n = w.add("RES", {"image": image, "prompt": w.refine(it.target)})
            brick = "RES"
        elif it.where == "maskseg":
            n = w.add("MASK-SEG", {"image": image, "mask": INIT_MASK})
            brick = "MASK-SEG"
        else:
            n = w.add("SOS", {"image": image})
            brick = "SOS"
        w.note(f"{brick} segments the {what} (step {n}); as in the official release its cut-out image is the result.")
        return [Ref(n, "mask")] if mask_only else [Ref(n, "image")]

    seg = ("MASK-SEG",) if it.where == "maskseg" else ("RES",) if it.target and it.where != "sos" else ("SOS",)
    return w.choose([(("EXTRACT",), with_extract), (seg, seg_image)], f"cut out the {what}")


def _region_effect(w: Writer, name: str, image: Ref, mask: Ref, strength: int) -> int:
    """BLUR-REGION / PIXELATE with their strength input set when the request or feedback asks
    for more or less (null = the brick's default)."""
    spec = w.registry.resolve(name)
    assert spec is not None
    values = {}
    key = strength_input(spec)
    level = strength + w.strength
    if key is not None and level:
        text = (spec.constraint + " " + spec.inputs[key].doc).lower()
        if re.search(r"\b0\s*[-–]\s*1\b|between 0 and 1", text):  # a 0-1 knob (null = 0.5)
            values[key] = round(max(0.1, min(1.0, 0.5 + 0.2 * level)), 2)
        else:  # a size in pixels: scale the brick's default
            longer = max(w.image_size) if w.image_size else 512
            values[key] = round(max(2.0, max(6.0, longer / 48) * (1.5 ** level)), 1)
    return w.generic(name, image, mask, values=values)


def colorpop(w: Writer, it: Intent, image: Ref) -> Ref:
    what = it.target or "marked object"
    w.note(f"The {what} keeps its colour while everything else turns black and white.")

    def pop() -> Ref:
        mask = w.locate(image, it)
        a = w.generic("COLORPOP", image, mask)
        w.note(f"COLORPOP desaturates everything outside the mask (step {a}).")
        return Ref(a, "image")

    def via_style() -> Ref:
        mask = w.locate(image, it)
        n = w.add("INVERSE", {"mask1": None, "mask2": mask})
        a = w.add("STYLE", {"image": image, "mask": Ref(n, "mask"), "prompt": None, "style": "black and white style"})
        w.note(f"Without COLORPOP, INVERSE selects everything but the {what} (step {n}) and STYLE turns it black and white (step {a}).")
        return Ref(a, "image")

    return w.choose([(("COLORPOP",), pop), (("INVERSE", "STYLE"), via_style)], f"colour-pop the {what}")


def hide(w: Writer, it: Intent, image: Ref) -> Ref:
    mode = it.params.get("mode", "blur")
    brick = "PIXELATE" if mode == "pixelate" else "BLUR-REGION"
    what = it.target or "marked area"
    if it.params.get("whole"):
        raise Missing("a blur or pixelation of the whole image", [f"{brick} needs a region; no whole-image {mode} brick"])
    w.note(f"The {what} must become unrecognisable: {'pixelate' if mode == 'pixelate' else 'blur'} it.")

    def run() -> Ref:
        mask = w.locate(image, it)
        a = _region_effect(w, brick, image, mask, int(it.params.get("strength", 0)))
        w.note(f"{brick} {'pixelates' if mode == 'pixelate' else 'blurs'} the masked {what} (step {a}).")
        return Ref(a, "image")

    return w.choose([((brick,), run)], f"{mode} the {what}")


# -- text -------------------------------------------------------------------------------------------
def text(w: Writer, it: Intent, image: Ref) -> Ref:
    words = it.value or ""
    mode = it.params.get("mode", "add")
    spec = w.registry.resolve("TEXT")
    w.note(f"The request {'replaces text with' if mode == 'replace' else 'writes'} \"{words}\".")

    def run() -> Ref:
        assert spec is not None
        strs = [n for n, p in spec.inputs.items() if p.type is ValueType.STR]
        values: dict = {}
        text_key = next((n for n in strs if n in ("text", "content", "words", "prompt", "new_text", "new")), strs[0] if strs else None)
        if text_key is None:
            raise Missing("text to write", ["TEXT with a Str input"])
        values[text_key] = words
        old_key = next((n for n in strs if n in ("old", "old_text", "replace", "find", "target")), None)
        pos_key = next((n for n in strs if n in ("position", "place", "where", "location", "anchor")), None)
        mode_key = next((n for n in strs if n in ("mode", "action", "op")), None)
        if old_key:
            values[old_key] = it.params.get("old") if mode == "replace" else None
        place = it.params.get("place")
        position = _position(place) if place else None
        if pos_key and position:
            values[pos_key] = position
        if mode_key:
            values[mode_key] = mode
        if old_key and mode == "replace" and values.get(old_key) is None:
            values[old_key] = "all"
        mask = None
        if any(p.type is ValueType.MASK for p in spec.inputs.values()) and mode == "add":
            if it.where == "init" or w.has_mask:
                mask = INIT_MASK
            elif place and not position:
                mask = w.locate_named(image, place)
                w.note(f"The text goes on the {place}, so its mask says where to write.")
        elif any(p.type is ValueType.MASK for p in spec.inputs.values()) and mode == "replace" and it.target and not it.params.get("old"):
            mask = w.locate_named(image, it.target)
        for n in strs:
            if n not in values and not spec.inputs[n].optional:
                values[n] = words
        a = w.generic("TEXT", image, mask, values=values)
        w.note(f"TEXT renders the words (step {a}).")
        return Ref(a, "image")

    return w.choose([(("TEXT",), run)], "write text")


# -- outpainting ------------------------------------------------------------------------------------
def outpaint(w: Writer, it: Intent, image: Ref) -> Ref:
    sides = list(it.params.get("sides") or [])
    ratio = it.params.get("ratio")
    aspect = it.params.get("aspect")
    r = {"left": 1.0, "right": 1.0, "top": 1.0, "bottom": 1.0}
    if aspect:
        aw, ah = aspect
        assumed = (4, 3) if (aw, ah) != (4, 3) else (1, 1)
        width, height = w.image_size or assumed
        if w.image_size is None:
            w.note(f"The image size is not known here, so I assume a {assumed[0]}:{assumed[1]} image for the aspect ratio.")
        cur = width / height
        want = aw / ah
        if want >= cur:
            f = round(want / cur, 3)
            r["left"] = r["right"] = max(1.0, f)
        else:
            f = round(cur / want, 3)
            r["top"] = r["bottom"] = max(1.0, f)
        if r == {"left": 1.0, "right": 1.0, "top": 1.0, "bottom": 1.0}:
            raise Missing("a crop (the image is already wider than that aspect)", ["CROP"])
        w.note(f"To reach {aw}:{ah}, the canvas grows on the {'left and right' if r['left'] > 1 else 'top and bottom'}.")
    else:
        factor = ratio if ratio and ratio > 1 else 1.5
        if ratio is not None and ratio <= 1:
            factor = 1.5
        if not sides:
            sides = ["left", "right", "top", "bottom"]
        for s in sides:
            r[s] = float(factor)
        w.note(f"Outpainting: the {', '.join(sides)} side{'s' if len(sides) > 1 else ''} move to {factor}× their "
               "distance from the centre (1 = unchanged).")

    def run() -> Ref:
        c = w.add("CMI-PRED", {"image": image, "left_ratio": r["left"], "right_ratio": r["right"],
                               "top_ratio": r["top"], "bottom_ratio": r["bottom"]})
        a = w.add("FILL", {"image": Ref(c, "image"), "mask": Ref(c, "mask"), "prompt": Ref(c, "caption"), "preimage": None})
        w.note(f"CMI-PRED makes the larger canvas, its new-area mask and a caption (step {c}); FILL paints the "
               f"new area from the caption on that canvas (step {a}).")
        return Ref(a, "image")

    return w.choose([(("CMI-PRED", "FILL"), run)], "expand the image")


# -- geometry ---------------------------------------------------------------------------------------
def _geometry(w: Writer, it: Intent, image: Ref, brick: str, values: dict, what: str) -> Ref:
    def run() -> Ref:
        mask = w.locate(image, it) if it.target else None
        spec = w.registry.resolve(brick)
        assert spec is not None
        if mask is not None and not any(p.type is ValueType.MASK for p in spec.inputs.values()):
            raise Missing(f"{what} of one object", [f"{brick} with a mask input"])
        vals = {k: v for k, v in values.items() if k in spec.inputs}
        floats = [n for n in float_inputs(spec) if n not in vals]
        strs = [n for n, p in spec.inputs.items() if p.type is ValueType.STR and n not in vals]
        for k, v in values.items():
            if k in spec.inputs or any(n in spec.inputs for n in ("left", "top")) and k == "aspect":
                continue
            if any(x in vals for x in ("degrees", "angle")) and k in ("degrees", "angle"):
                continue
            if any(x in vals for x in ("direction", "axis", "mode")) and k in ("direction", "axis", "mode"):
                continue
            if isinstance(v, float) and floats:
                vals[floats.pop(0)] = v
            elif isinstance(v, str) and strs:
                vals[strs.pop(0)] = v
        a = w.generic(brick, image, mask, values=vals)
        w.note(f"{brick} does the {what} (step {a}).")
        return Ref(a, "image")

    return w.choose([((brick,), run)], what)


def rotate(w: Writer, it: Intent, image: Ref) -> Ref:
    deg = float(it.params.get("degrees", 90.0))
    w.note(f"Rotate by {deg:g} degrees ({'counter-clockwise' if deg > 0 else 'clockwise'}).")
    return _geometry(w, it, image, "ROTATE", {"degrees": deg, "angle": deg}, "rotation")


def flip(w: Writer, it: Intent, image: Ref) -> Ref:
    d = it.params.get("direction", "horizontal")
    w.note(f"Mirror the image {d}ly.")
    return _geometry(w, it, image, "FLIP", {"direction": d, "axis": d, "mode": d}, f"{d} flip")


def crop(w: Writer, it: Intent, image: Ref) -> Ref:
    aspect = it.params.get("aspect")
    values: dict = {}
    if aspect:
        aw, ah = aspect
        assumed = (4, 3) if (aw, ah) != (4, 3) else (1, 1)
        width, height = w.image_size or assumed
        if w.image_size is None:
            w.note(f"The image size is not known here, so I assume a {assumed[0]}:{assumed[1]} image.")
        cur, want = width / height, aw / ah
        box = {"left": 0.0, "top": 0.0, "right": 1.0, "bottom": 1.0}
        if want < cur:  # narrower: trim the sides
            f = want / cur
            box["left"], box["right"] = round((1 - f) / 2, 4), round(1 - (1 - f) / 2, 4)
        else:  # wider: trim top and bottom
            f = cur / want
            box["top"], box["bottom"] = round((1 - f) / 2, 4), round(1 - (1 - f) / 2, 4)
        values = {**box, "aspect": f"{aw}:{ah}"}
        w.note(f"Crop the centre of the image to {aw}:{ah} (box left {box['left']}, top {box['top']}, "
               f"right {box['right']}, bottom {box['bottom']} as fractions of the size).")
    elif it.target:
        w.note(f"Crop to the {it.target}: its mask gives the box.")
    else:
        raise Missing("what to crop to (an object or an aspect ratio such as 1:1)", ["a crop target"])
    return _geometry(w, it, image, "CROP", values, "crop")


_POSITIONS = (("top left", "top-left"), ("top right", "top-right"), ("bottom left", "bottom-left"),
              ("bottom right", "bottom-right"), ("upper left", "top-left"), ("upper right", "top-right"),
              ("lower left", "bottom-left"), ("lower right", "bottom-right"), ("corner", "bottom-right"),
              ("top", "top"), ("bottom", "bottom"), ("middle", "centre"), ("center", "centre"),
              ("centre", "centre"), ("left", "left"), ("right", "right"), ("sky", None))


def _position(place: str) -> str | None:
    p = place.lower()
    for word, pos in _POSITIONS:
        if re.search(r"\b" + word + r"\b", p) and re.fullmatch(r"(?:the\s+)?(?:very\s+)?(?:top|bottom|upper|lower|middle|center|centre|left|right|corner)(?:[\s-]+(?:left|right|corner|side|edge|of\s+the\s+(?:image|picture|photo)))*", p):
            return pos
    return None


RECIPES: dict[str, Recipe] = {
    "remove": remove, "add": add, "replace": replace, "recolor": recolor, "background": background,
    "style": style, "env": env, "pose": pose, "tone": tone, "colorpop": colorpop, "hide": hide,
    "text": text, "outpaint": outpaint, "rotate": rotate, "flip": flip, "crop": crop,
}
