"""Instruction templates for the Builder's training data, one family per kind of edit.

A template names the bricks it is about (`needs`): it is used only when the registry has them,
so a registry without, say, TEXT yields no text rows. Slots are filled from the picture
({obj}, {person}: named things in it) and from the value lists below. Templates marked
`heldout` never appear in training rows: they are reserved for the held-out split, so that an
evaluation sees phrasings the Builder was not trained on. `open` templates are the
open-domain instructions of stage 3: no target is written for them.

Any brick that declares `use_for` phrases (plugins included) gets its phrases as extra
templates, so a new brick enters the data without an edit here.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

SLOT_RE = re.compile(r"\{(\w+)\}")
A_AN_RE = re.compile(r"\b([aA]) ([aeiouAEIOU])")  # "a anime drawing" -> "an anime drawing"


@dataclass(frozen=True)
class Template:
    family: str
    text: str
    needs: tuple[str, ...] = ()  # bricks the edit is about (all must be in the registry)
    mask: bool = False  # the row comes with the user's mask of {obj} (init[mask])
    heldout: bool = False
    open: bool = False

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(SLOT_RE.findall(self.text)))


def _family(family: str, needs: tuple[str, ...], texts: list[str], heldout: list[str] = (), **kw) -> list[Template]:
    return ([Template(family, t, needs, **kw) for t in texts]
            + [Template(family, t, needs, heldout=True, **kw) for t in heldout])


REMOVE = ("RES", "INPAINT")
TEMPLATES: list[Template] = [
    *_family("remove", REMOVE, [
        "remove the {obj}", "erase the {obj}", "delete the {obj} from the picture", "get rid of the {obj}",
        "please remove the {obj} from this photo",
        "can you erase the {obj}?", "take the {obj} out of the picture",
    ], heldout=["wipe out the {obj}", "clear the {obj} away from the scene"]),
    *_family("remove-masked", ("INPAINT",), [
        "remove the selected area", "erase what I marked", "delete the masked region",
        "remove the object in the selected area",
    ], heldout=["clean up the area I painted"], mask=True),
    *_family("recolor", ("RES", "RCM"), [
        "make the {obj} {colour}", "change the colour of the {obj} to {colour}", "paint the {obj} {colour}",
        "turn the {obj} {colour}", "recolour the {obj} {colour}", "I want the {obj} to be {colour}",
        "change the {obj}'s color to {colour}",
    ], heldout=["dye the {obj} {colour}", "give the {obj} a {colour} colour"]),
    *_family("recolor-masked", ("RCM",), [
        "make the selected area {colour}", "paint the marked region {colour}",
    ], heldout=["colour the area I selected {colour}"], mask=True),
    *_family("material", ("RES", "RCM"), [
        "change the material of the {obj} to {material}", "turn the {obj} into {material}",
        "make the {obj} out of {material}",
    ], heldout=["give the {obj} a {material} texture"]),
    *_family("replace", ("RES", "INPAINT", "FILL"), [
        "replace the {obj} with a {thing}", "swap the {obj} for a {thing}", "change the {obj} into a {thing}",
    ], heldout=["put a {thing} where the {obj} is instead"]),
    *_family("add", ("ADD-PRED", "FILL"), [
        "add a {thing} {where}", "put a {thing} {where}", "add a {thing} next to the {obj}",
        "place a small {thing} {where}", "insert a {thing} into the picture",
    ], heldout=["draw a {thing} {where}"]),
    *_family("background", ("CBG",), [
        "change the background to {scene}", "replace the background with {scene}",
        "make the background {scene}", "set the background to {scene}",
    ], heldout=["swap the backdrop for {scene}"]),
    *_family("background-blur", ("CBG",), [
        "blur the background", "make the background black and white", "remove the background",
    ], heldout=["give the background a soft blur"]),
    *_family("style", ("STYLE",), [
        "make it look like a {style}", "turn the image into a {style}", "apply a {style} style",
        "convert the photo to a {style}", "render the picture as a {style}",
    ], heldout=["restyle this as a {style}"]),
    *_family("style-object", ("RES", "STYLE"), [
        "make the {obj} look like a {style}", "turn only the {obj} into a {style}",
    ], heldout=["restyle just the {obj} as a {style}"]),
    *_family("env", ("ENV",), [
        "make it {weather}", "make the scene {weather}", "turn the scene into {season}",
        "make it look like {season}", "change the time of day to {time}", "make it look like it is {time}",
    ], heldout=["give the scene {weather} weather"]),
    *_family("pose", ("POSE",), [
        "make the {person} {expression}", "have the {person} {gesture}", "make the {person} {gesture}",
    ], heldout=["could the {person} {gesture}?"]),
    *_family("tone", ("TONE",), [
        "make it {tone}", "make the image {tone}", "make the photo a bit {tone}", "{tone_verb} the image",
        "{tone_verb} the photo", "make the {obj} {tone}",
    ], heldout=["could you {tone_verb} this picture"]),
    *_family("extract", ("RES", "EXTRACT"), [
        "cut out the {obj}", "extract the {obj}", "isolate the {obj} on a transparent background",
        "cut the {obj} out of the picture",
    ], heldout=["separate the {obj} from its background"]),
    *_family("outpaint", ("CMI-PRED", "FILL"), [
        "expand the image to the {side}", "extend the canvas on the {side}", "outpaint the {side} side",
        "make the picture wider on the {side}",
    ], heldout=["add more space on the {side}"]),
    *_family("colorpop", ("RES", "COLORPOP"), [
        "keep only the {obj} in colour", "make everything black and white except the {obj}",
        "colour pop the {obj}",
    ], heldout=["leave the {obj} in colour and grey out the rest"]),
    *_family("hide", ("RES",), [
        "blur the {obj}", "pixelate the {obj}", "censor the {obj}", "blur out the {obj}", "hide the {obj} with a blur",
    ], heldout=["obscure the {obj}"]),
    *_family("text", ("TEXT",), [
        'add the text "{word}" {where}', 'write "{word}" {where}', 'put a caption "{word}" {where}',
    ], heldout=['label the picture "{word}"']),
    *_family("crop", ("RES", "CROP"), [
        "crop to the {obj}", "crop the image to the {obj}", "crop the picture around the {obj}",
    ], heldout=["trim the image down to the {obj}"]),
    *_family("rotate", ("ROTATE",), [
        "rotate the image {degrees} degrees", "rotate the picture by {degrees} degrees", "turn it upside down",
    ], heldout=["spin the photo {degrees} degrees"]),
    *_family("flip", ("FLIP",), [
        "flip it horizontally", "flip the image vertically", "mirror the image", "flip the picture left to right",
    ], heldout=["mirror the photo upside down"]),
    *_family("two-edits", ("RES", "RCM", "INPAINT"), [
        "remove the {obj} and make the {obj2} {colour}", "make the {obj} {colour}, then remove the {obj2}",
        "first erase the {obj}, then paint the {obj2} {colour}",
    ], heldout=["paint the {obj2} {colour} and get rid of the {obj}"]),
    *_family("two-edits-style", ("RES", "RCM", "STYLE"), [
        "make the {obj} {colour} and then turn the image into a {style}",
    ]),
    # open-domain: no target is written; stage 3 learns them from the critic alone
    *_family("open", (), [
        "make the {obj} bigger", "swap the {obj} and the {obj2}", "make the {obj} glow", "give the picture a vintage look",
        "make it look like a movie poster", "add a reflection of the {obj}", "make the {obj} transparent",
        "move the {obj} to the {side}", "duplicate the {obj}", "add a shadow under the {obj}",
        "make the photo look professional", "sharpen the image", "remove everything except the {obj}",
        "put the {obj} in a wooden frame", "make the scene more cheerful", "add dramatic lighting",
        "make it look like it was taken in the 1970s", "turn the {obj} into a {thing}", "make the {obj} smaller",
        "make the {obj} look wet", "add snow on top of the {obj}", "make the {obj} look old and rusty",
        "give the {obj} a {colour} outline", "make the colours of the {obj} match the {obj2}",
        "make the {obj} {colour} and the background {scene}", "fix the lighting so the {obj} stands out",
        "make the image look like a postcard from {scene}", "hide the {obj} behind a {thing}",
    ], open=True),
]

COLOURS = ("red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "brown", "cyan",
           "grey", "gold", "turquoise")
MATERIALS = ("gold", "wood", "marble", "glass", "silver", "bronze", "stone", "copper")
THINGS = ("cat", "dog", "small tree", "hot air balloon", "lamp", "bird", "flower pot", "sailing boat", "red ball",
          "coffee mug", "teddy bear", "bicycle", "butterfly", "potted cactus", "clock", "pumpkin", "kite")
WHERE = ("on the left", "on the right", "at the top", "at the bottom", "in the top left corner",
         "in the bottom right corner", "in the middle")
SCENES = ("a sandy beach", "a snowy forest", "a city street at night", "a plain white wall", "outer space",
          "a green meadow", "a sunset over the sea", "a mountain lake", "a library", "a desert", "a jungle",
          "a brick wall", "a starry sky", "a busy market")
STYLES = ("watercolor painting", "oil painting", "pencil sketch", "pop art poster", "Van Gogh painting",
          "pixel art image", "anime drawing", "cartoon", "charcoal drawing", "ukiyo-e print", "stained glass window",
          "comic book page")
WEATHER = ("snowy", "rainy", "foggy", "stormy", "sunny", "misty")
SEASONS = ("winter", "autumn", "spring", "summer")
TIMES = ("night", "sunset", "sunrise", "dusk")
EXPRESSIONS = ("smile", "look surprised", "laugh", "frown", "look sad")
GESTURES = ("raise both arms", "wave", "give a thumbs up", "cross their arms")
TONES = ("brighter", "darker", "more contrasty", "more saturated", "less saturated", "a lot brighter")
TONE_VERBS = ("brighten", "darken", "increase the contrast of", "desaturate", "boost the colours of",
              "reduce the brightness of")
SIDES = ("left", "right", "top", "bottom")
WORDS = ("SALE", "Hello", "Happy Birthday", "OPEN", "Summer 2025", "Welcome", "Lego Edit", "No Parking")
DEGREES = ("90", "180", "45", "270", "30")

VALUES: dict[str, tuple[str, ...]] = {
    "colour": COLOURS, "material": MATERIALS, "thing": THINGS, "where": WHERE, "scene": SCENES, "style": STYLES,
    "weather": WEATHER, "season": SEASONS, "time": TIMES, "expression": EXPRESSIONS, "gesture": GESTURES,
    "tone": TONES, "tone_verb": TONE_VERBS, "side": SIDES, "word": WORDS, "degrees": DEGREES,
}
PICTURE_SLOTS = ("obj", "obj2", "person")


def templates_for(registry, heldout: bool = False) -> list[Template]:
    """The usable templates: bricks present in the registry; held-out ones only when asked
    (and then only those), plus one template per `use_for` phrase of any brick."""
    usable = [t for t in TEMPLATES if t.heldout == heldout and all(b in registry for b in t.needs)]
    if not heldout:
        for spec in registry.specs():
            usable += [Template(f"use-for:{spec.name}", phrase, (spec.name,)) for phrase in spec.use_for]
    return usable


def fill(template: Template, objects: list[str], colours: dict[str, str], people: list[str],
         rng: random.Random) -> tuple[str, dict[str, str]] | None:
    """(the template with its slots filled, the slot values), or None when the picture lacks
    what it names."""
    values: dict[str, str] = {}
    slots = template.slots
    if "person" in slots:
        if not people:
            return None
        values["person"] = rng.choice(people)
    if "obj" in slots or "obj2" in slots:
        need = 2 if "obj2" in slots else 1
        if len(objects) < need:
            return None
        picked = rng.sample(objects, need)
        values["obj"] = picked[0]
        if need == 2:
            values["obj2"] = picked[1]
    for slot in slots:
        if slot in values:
            continue
        choices = VALUES[slot]
        if slot == "colour":  # never "make the red circle red"
            taken = {colours.get(values.get(k, "")) for k in ("obj", "obj2")}
            choices = tuple(c for c in choices if c not in taken)
        values[slot] = rng.choice(choices)
    return A_AN_RE.sub(r"\1n \2", template.text.format(**values)), values
