"""Words the rule Builder knows: verbs, colours, styles, weather, expressions, and typo correction.

Typo correction is narrow on purpose, so that real words are never "corrected" into keywords
("remote" must not become "remove", "sweater" not "weather", "slides" not "sides"): a clause's
first word is matched against the verb vocabulary, other words only against the keyword nouns;
a word that is one of the ordinary words listed here is never changed, and outside the verb slot
a correction may drop, swap or change a letter or remove a doubled one, but never treat a longer
real-looking word as a keyword plus a stray letter.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from ...colours import NAMED

# canonical verbs of each group; a clause is recognised by the group of its first word
VERBS = {
    "remove": ("remove", "erase", "delete", "eliminate", "clear", "wipe", "strip", "omit", "eradicate",
               "lose", "ditch", "scrub", "purge", "banish", "exclude", "rm"),
    "replace": ("replace", "swap", "substitute", "exchange", "switch", "trade"),
    "change": ("change", "turn", "transform", "convert", "alter", "modify", "edit", "set", "redraw", "redo",
               "reimagine", "update"),
    "make": ("make", "render", "let", "have", "get"),
    "recolor": ("recolor", "recolour", "paint", "color", "colour", "dye", "tint", "repaint"),
    "add": ("add", "put", "place", "insert", "include", "draw", "attach", "give", "append", "plant", "stick",
            "position", "introduce", "create", "generate", "throw", "drop"),
    "style": ("stylize", "stylise", "apply", "restyle", "cartoonify", "cartoonize", "cartoonise", "sketch"),
    "brighten": ("brighten", "lighten", "darken", "dim", "increase", "decrease", "boost", "raise", "lower",
                 "reduce", "enhance", "desaturate", "saturate", "adjust", "bump", "crank", "amp", "tone"),
    "extract": ("extract", "isolate", "segment", "separate", "cutout", "mask", "select"),
    "expand": ("expand", "extend", "outpaint", "uncrop", "widen", "enlarge", "broaden", "zoom", "pad", "grow",
               "lengthen", "shrink"),
    "hide": ("blur", "pixelate", "pixelize", "pixellate", "hide", "anonymize", "anonymise", "censor", "obscure",
             "mosaic", "redact", "blot", "conceal", "cover"),
    "write": ("write", "type", "print", "label", "caption", "title", "annotate", "sign", "letter"),
    "crop": ("crop", "trim"),
    "rotate": ("rotate", "spin", "tilt", "straighten"),
    "flip": ("flip", "mirror", "reflect", "invert"),
    "pop": ("pop", "splash"),
}
VERB_OF = {word: key for key, words in VERBS.items() for word in words}
ALL_VERBS = tuple(VERB_OF)
# imperatives this Builder has no edit for: a clause that starts with one is a request it cannot do
OTHER_VERBS = frozenset("""upscale upsample sharpen denoise deblur restore repair fix improve enhance animate translate
send share email print tell explain describe count find show identify upload download save export compress
resize rescale retouch beautify age deage clone duplicate copy move swap merge combine stitch straighten
colorize colourize unblur focus""".split()) - {"enhance", "show", "swap", "straighten", "move"}

STYLES = {
    "watercolor": "watercolor style", "watercolour": "watercolor style", "aquarelle": "watercolor style",
    "oil painting": "oil painting style", "oil paint": "oil painting style", "oil": "oil painting style",
    "sketch": "pencil sketch style", "pencil sketch": "pencil sketch style", "pencil drawing": "pencil sketch style",
    "charcoal": "charcoal drawing style", "drawing": "pencil sketch style", "line art": "line art style",
    "pixel art": "pixel art style", "pixel-art": "pixel art style", "8-bit": "pixel art style", "8 bit": "pixel art style",
    "anime": "anime style", "manga": "manga style", "cartoon": "cartoon style", "comic": "comic book style",
    "comic book": "comic book style", "ghibli": "Studio Ghibli style", "studio ghibli": "Studio Ghibli style",
    "pixar": "Pixar 3D animation style", "disney": "Disney animation style", "3d render": "3D render style",
    "claymation": "claymation style", "clay": "claymation style", "lego": "LEGO style",
    "black and white": "black and white style", "black-and-white": "black and white style",
    "b&w": "black and white style", "grayscale": "black and white style", "greyscale": "black and white style",
    "monochrome": "black and white style", "noir": "film noir style", "film noir": "film noir style",
    "film-noir": "film noir style", "sepia": "sepia style", "vintage": "vintage photo style",
    "old photo": "vintage photo style", "old photograph": "vintage photo style", "retro": "retro style",
    "old film": "vintage film photo style", "film photo": "vintage film photo style", "analog": "analog film photo style",
    "analogue": "analog film photo style", "old school": "vintage photo style", "old style": "vintage photo style",
    "80s": "1980s retro style", "1980s": "1980s retro style", "70s": "1970s retro style", "1970s": "1970s retro style",
    "90s": "1990s retro style", "1990s": "1990s retro style", "60s": "1960s retro style", "1960s": "1960s retro style",
    "50s": "1950s retro style", "1950s": "1950s retro style",
    "polaroid": "polaroid photo style", "impressionist": "impressionist painting style",
    "impressionism": "impressionist painting style", "van gogh": "Van Gogh style", "monet": "Monet style",
    "picasso": "Picasso cubist style", "cubist": "cubist style", "cubism": "cubist style", "pop art": "pop art style",
    "warhol": "Andy Warhol pop art style", "ukiyo-e": "ukiyo-e style", "ukiyoe": "ukiyo-e style",
    "cyberpunk": "cyberpunk style", "steampunk": "steampunk style", "vaporwave": "vaporwave style",
    "synthwave": "synthwave style", "low poly": "low poly style", "stained glass": "stained glass style",
    "origami": "origami style", "pastel": "pastel style", "crayon": "crayon drawing style", "ink": "ink wash style",
    "ink wash": "ink wash style", "chinese ink": "Chinese ink painting style", "renaissance": "Renaissance painting style",
    "baroque": "baroque painting style", "graffiti": "graffiti style", "neon": "neon style", "painting": "painting style",
    "acrylic": "acrylic painting style", "gouache": "gouache style", "woodcut": "woodcut print style",
    "engraving": "engraving style", "embroidery": "embroidery style", "mosaic style": "mosaic style",
    "minecraft": "Minecraft voxel style", "voxel": "voxel style", "sci-fi": "sci-fi style", "fantasy": "fantasy art style",
    "gothic": "gothic style", "surreal": "surrealist style", "surrealist": "surrealist style", "art deco": "art deco style",
    "art nouveau": "art nouveau style", "cinematic": "cinematic style", "dreamy": "dreamy style",
    "children's book": "children's book illustration style", "hand drawn": "hand-drawn sketch style",
    "hand-drawn": "hand-drawn sketch style", "pencil": "pencil sketch style", "illustration": "illustration style",
    "cel shaded": "cel shaded style", "posterized": "posterize style", "poster": "poster style",
}
STYLE_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(STYLES, key=len, reverse=True)) + r")(?![\w-])")
# style words that are ordinary nouns too: a style only where the clause asks for a style
WEAK_STYLES = frozenset({"drawing", "painting", "sketch", "illustration", "pencil", "hand drawn", "hand-drawn", "oil",
                         "clay", "ink", "neon", "lego", "comic", "pastel", "dreamy", "fantasy", "gothic", "poster",
                         "graffiti", "vintage", "retro", "cinematic"})

EXTRA_COLOURS = (
    "blonde", "blond", "brunette", "ginger", "auburn", "platinum", "mustard", "burgundy", "aqua", "rose", "lilac",
    "mauve", "charcoal", "sky-blue", "navy-blue", "rainbow", "greener", "bluer", "redder", "whiter", "yellower",
    "pinker", "darker", "multicolored", "multicoloured", "copper", "fuchsia", "ochre", "peach", "ivory", "cyan",
    "periwinkle", "sapphire", "ruby", "jade", "plum", "wine", "cherry", "lemon", "chocolate", "caramel",
    "rust", "sand", "sandy", "bronze", "pearl",
)
MATERIALS = (
    "wood", "wooden", "metal", "metallic", "steel", "iron", "glass", "marble", "leather", "stone", "plastic",
    "velvet", "denim", "brick", "concrete", "chrome", "ceramic", "porcelain", "rubber", "silk", "wool", "woolen",
    "gold", "golden", "silver", "copper", "bronze", "crystal", "ice", "paper", "cardboard", "fur", "furry",
    "bamboo", "granite", "rusty", "rust", "cotton", "linen", "suede", "jade", "tiles", "tiled", "wicker",
    "carbon fiber", "aluminum", "aluminium", "transparent", "shiny", "glossy", "matte",
)
COLOR_WORDS = frozenset(NAMED) | frozenset(EXTRA_COLOURS) | frozenset(MATERIALS)
COLOR_MODS = ("light", "dark", "bright", "pale", "deep", "deeper", "darker", "lighter", "brighter", "pastel", "neon",
              "vivid", "hot", "baby", "royal", "sky", "navy", "forest", "lime", "matte", "glossy", "metallic", "shiny",
              "dull", "rich", "soft", "warm", "cool", "electric", "shocking", "blood", "jet", "snow", "off", "polished",
              "mustard", "platinum", "strawberry", "ash", "dirty", "dusty", "burnt", "olive", "emerald", "midnight",
              "racing", "ocean", "sea", "fire", "candy", "apple", "bottle", "hunter", "army", "powder", "ice", "steel",
              "slate", "sunflower", "rosy", "golden", "canary", "lemon", "cherry", "blood", "cobalt", "electric")
_ALTS = "|".join(re.escape(c) for c in sorted(COLOR_WORDS, key=len, reverse=True))
_MODS = "|".join(COLOR_MODS)
_HUES = "|".join(re.escape(c) for c in sorted(set(NAMED) | set(EXTRA_COLOURS), key=len, reverse=True))
# "a deep metallic blue", "teal-ish", "red and white", "a shade of brown", "light blue colour"
COLOR_PHRASE = (r"(?:(?:a|an)\s+)?(?:(?:(?:a\s+)?(?:shade|tone|hue)\s+of|kind\s+of|more)\s+)?"
                r"(?:(?:" + _MODS + r")[\s-]+)*(?:(?:" + _HUES + r")[\s-]+)?(?:" + _ALTS + r")(?:[\s-]*ish)?"
                r"(?:\s*(?:,|and|&|with|-)\s*(?:(?:" + _MODS + r")[\s-]+)*(?:" + _ALTS + r"))*"
                r"(?:\s+(?:colou?r(?:ed)?|material|finish|one|paint(?:job)?|texture|tone|tones|shade|instead))?")
COLOR_FULL_RE = re.compile("^" + COLOR_PHRASE + "$")

WEATHER = {
    "rain": "rainy", "rainy": "rainy", "raining": "rainy", "snow": "snowy", "snowy": "snowy", "snowing": "snowy",
    "sunny": "sunny", "sun": "sunny", "fog": "foggy", "foggy": "foggy", "mist": "misty", "misty": "misty",
    "storm": "stormy", "stormy": "stormy", "thunderstorm": "stormy", "cloudy": "cloudy", "overcast": "overcast",
    "hazy": "hazy", "haze": "hazy", "windy": "windy", "drizzle": "drizzly", "hail": "hailing",
    "blizzard": "snowstorm", "lightning": "stormy with lightning", "clear": "clear", "sunnier": "sunny",
    "snowfall": "snowy", "rainfall": "rainy",
}
SEASONS = {"winter": "winter", "wintry": "winter", "summer": "summer", "autumn": "autumn", "fall": "autumn",
           "autumnal": "autumn", "spring": "spring", "springtime": "spring", "wintertime": "winter",
           "summertime": "summer"}
TIMES = {"night": "night", "nighttime": "night", "night-time": "night", "midnight": "night", "sunset": "sunset",
         "sunrise": "sunrise", "dusk": "dusk", "dawn": "dawn", "evening": "evening", "morning": "morning",
         "daytime": "daytime", "day": "daytime", "noon": "noon", "midday": "noon", "golden hour": "golden hour",
         "twilight": "twilight", "blue hour": "blue hour", "afternoon": "afternoon"}
ENV_WORDS = {**{k: ("weather", v) for k, v in WEATHER.items()}, **{k: ("season", v) for k, v in SEASONS.items()},
             **{k: ("time", v) for k, v in TIMES.items()}}
ENV_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(ENV_WORDS, key=len, reverse=True)) + r")(?![\w-])")

EXPRESSIONS = (
    "smile", "smiling", "happy", "happier", "sad", "sadder", "angry", "surprised", "shocked", "scared", "afraid",
    "laugh", "laughing", "frown", "frowning", "cry", "crying", "wink", "winking", "serious", "excited", "sleepy",
    "tired", "bored", "confused", "thoughtful", "pensive", "grin", "grinning", "scowl", "pout", "yawn", "yawning",
    "disgusted", "calm", "relaxed", "worried", "nervous", "proud", "joyful", "cheerful", "content", "annoyed",
    "furious", "grumpy", "friendly", "smirk", "smirking",
)
POSE_VERBS = (
    "raise", "raising", "wave", "waving", "sit", "sitting", "stand", "standing", "jump", "jumping", "run",
    "running", "walk", "walking", "dance", "dancing", "kneel", "kneeling", "lie", "lying", "lay", "crouch",
    "crouching", "squat", "squatting", "bow", "bowing", "point", "pointing", "hold", "holding", "cross",
    "crossing", "fold", "folding", "clap", "clapping", "stretch", "stretching", "lean", "leaning", "open",
    "close", "shut", "look", "looking", "face", "facing", "turn", "turning", "tilt", "tilting", "nod", "shrug",
    "salute", "hug", "hugging", "kiss", "fly", "flying", "swim", "swimming", "sleep", "sleeping", "eat",
    "eating", "drink", "drinking", "sing", "singing", "climb", "climbing", "pose", "posing", "bend", "bending",
    "lift", "lifting", "kick", "kicking", "punch", "roll", "rolling", "play", "playing", "read", "reading",
    "meditate", "meditating", "skip", "skipping", "spread", "spreading", "rest", "resting", "yell", "yelling",
    "shout", "shouting", "scream", "screaming", "bark", "barking", "howl", "howling", "beg", "begging",
    "thumbs up", "hands up", "peace sign", "catch", "catching", "throw", "throwing", "sits", "stands", "jumps",
    "waves", "runs", "walks", "lies", "looks",
)
# what a person or animal is, for "make the man look left" (a subject) vs. "make the sky look ..." (not one)
BEINGS = frozenset("""man men woman women boy boys girl girls child children kid kids baby person people guy guys
lady ladies he she him her they them player players dog dogs cat cats bird birds horse horses cow puppy kitten
subject couple bride groom father mother dad mom grandpa grandma friend model athlete dancer lion tiger bear
monkey rabbit animal animals teacher student driver rider cyclist waiter chef doctor soldier king queen""".split())

SCENES = (
    "beach", "forest", "city", "cityscape", "mountain", "mountains", "desert", "space", "outer space", "ocean",
    "sea", "jungle", "park", "street", "studio", "office", "garden", "field", "meadow", "snowfield", "lake",
    "river", "moon", "mars", "underwater", "countryside", "farm", "village", "castle", "library", "racetrack",
    "kitchen", "bedroom", "living room", "classroom", "stadium", "stage", "night sky", "galaxy", "sunset",
    "waterfall", "cave", "island", "paris", "tokyo", "new york", "london", "rome", "venice", "bridge", "road",
    "highway", "volcano", "canyon", "savanna", "arctic", "glacier", "temple", "market", "cafe", "coast",
    "restaurant", "room", "brick wall", "gradient", "backdrop", "bokeh", "sunflower field", "lake shore",
    "lavender field", "rice field", "wheat field", "rainforest", "swamp", "harbor", "harbour", "port", "airport",
    "train station", "subway", "museum", "church", "palace", "grassland", "prairie", "hill", "hills", "valley",
    "studio backdrop", "eiffel tower", "times square", "space station", "spaceship", "stars", "mountaintop",
    "seaside", "shore", "lagoon", "bay", "ski slope", "snowy mountain", "tropical island",
)
SCENE_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(s) for s in sorted(SCENES, key=len, reverse=True)) + r")(?![\w-])")

# keyword nouns/adjectives worth correcting when misspelled outside the verb slot
KEYWORDS = tuple(sorted({
    "background", "foreground", "backdrop", "color", "colour", "style", "painting", "watercolor", "watercolour",
    "sketch", "anime", "cartoon", "weather", "season", "winter", "summer", "autumn", "spring", "night",
    "sunset", "sunrise", "rainy", "snowy", "foggy", "cloudy", "stormy", "sunny", "brightness", "contrast",
    "saturation", "brighter", "darker", "lighter", "image", "picture", "photo", "canvas", "faces",
    "face", "person", "people", "please", "everything", "except", "horizontally", "vertically", "degrees",
    "clockwise", "counterclockwise", "monochrome", "grayscale", "greyscale", "impressionist", "pixelated",
    "pixel", "blurry", "blurred", "transparent", "material", "wooden", "metallic", "golden", "purple",
    "yellow", "orange", "silver", "could", "would", "instead", "kindly", "thanks",
    "license", "plate", "plates", "text", "reflection", "shadow", "watermark", "exposure", "vibrant",
    "saturated", "vivid", "rotate", "mirror", "crop", "portrait", "landscape", "square", "aspect",
    "times", "twice", "double", "left", "right", "bottom", "above", "below", "behind", "between",
    "noir", "vintage", "sepia", "oil", "acrylic", "charcoal", "pencil", "drawing", "cyberpunk",
}))
# ordinary words that look like keywords or verbs: never correct them
PROTECTED = frozenset("""
remote removal removed removes erased deleted changed changes replaced added adding adds making makes made
add bad dad had mad pad sad lad tad red bed led fed wed cat hat bat rat mat sat fat vat pat
more mode mole move movie love lake rake cake bake make wake take fake sake male mile pile tile
bright night light fight right sight might tight site kite bite white write wrote rate late gate date
plate slate place plane plant plants planet clear clean cleat bear beer deer door floor flour dog fog log
pose rose nose hose close those chose cover clover over oven seven even color colors bowl tower power
flower flowers shower lower towel rain train brain grain chain sky ski skin sun son tan ten tin
face lace race pace space trace grace faced cloud clouds loud proud crowd wave cave save gave have
rave dave grave brave paint pain saint faint print point joint mint hint tint tent bent sent dent rent
style stile smile while file title turn burn tern torn born horn corn worn form from farm
firm film fill full pull bull bill hill mill will kill till still spill pill sill gill
cup cap cop pop top hop mop pup pump jump dump lump bump hump rump
sign sing song sang ring king wing wine line lane mane cane sane vane pine fine dine mine nine
blur blue glue clue true slur spur flip flop slip ship shop chip chop drip drop trip trap strip
wall ball call fall hall mall tall gall tree free three there here where were wear hear near dear year
tone bone cone done gone lone none zone stone phone shone drone throne alone atone
dark bark park mark lark spark shark stark dart part cart mart tart
crop crow grow glow flow slow snow show shoe stop stoop
car bar jar tar far star scar oar war
mask task bask cask flask mast cast fast last past vast
bike hike like pike spike
rotate rotated rotten donate notate water later hater ladder letter better butter batter
grass glass class brass mass pass mirror terror error horror beach bench bunch lunch punch teach reach peach
photo potato cape case base vase person prison poison parson doll dolls dull hand band land sand wand
cut see use try keep want need hide side wide ride tide
sweater sweaters feather feathers heather leather slides sides slide bride brides spider pictures picturesque
weathered sunday monday nightstand nightly knight knights daisy daisies stripe stripes driver river rivers
shade shady shadows plates palate pallet palette pencils imagine images imaged faced facet facets
summit summary summon summers winters winner winters springs spring's falls falling fallen autumns
""".split())

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _edits1(word: str) -> set[str]:
    """Words one deletion, swap, change or doubled-letter removal away (never a stray extra letter)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}  # the typed word lost a letter
    out |= {a + b[1:] for a, b in splits if len(b) > 1 and b[0] == b[1]}  # "blurr" -> "blur"
    return out


_SHORT_TYPOS = {"ad": "add", "rm": "remove", "del": "delete", "chg": "change", "mk": "make", "mak": "make",
                "rmv": "remove", "remov": "remove", "delte": "delete"}


@lru_cache(maxsize=8192)
def correct_verb(word: str) -> str:
    """A misspelled verb -> the verb it most likely is (or the word unchanged)."""
    if word in VERB_OF or word in PROTECTED or word in OTHER_VERBS or not word.isalpha():
        return word
    if word in _SHORT_TYPOS:
        return _SHORT_TYPOS[word]
    if len(word) < 3:
        return word
    for suffix in ("ed", "ing", "s", "es", "d"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and (stem in VERB_OF or stem + "e" in VERB_OF) and (suffix != "d" or stem.endswith("e")):
            return word  # an inflection ("saturated", "painting"), not a misspelled imperative
    near = [v for v in _edits1(word) if v in VERB_OF and len(v) >= 3]
    if len(near) == 1:
        return near[0]
    if len(word) >= 5:
        close = [c for c in difflib.get_close_matches(word, ALL_VERBS, n=3, cutoff=0.8) if abs(len(c) - len(word)) <= 1]
        if close:
            return close[0]
    return word


_KEYWORD_SET = frozenset(KEYWORDS)


@lru_cache(maxsize=8192)
def correct_keyword(word: str) -> str:
    """A misspelled keyword (background, watercolor, …) -> the keyword, else the word."""
    if len(word) < 5 or word in PROTECTED or word in VERB_OF or not word.isalpha():
        return word
    if word in _KEYWORD_SET or word in STYLES or word in ENV_WORDS or word in COLOR_WORDS or word in BEINGS:
        return word
    if correct_verb(word) != word:
        return word  # a misspelled verb: corrected where a verb stands
    near = [k for k in _edits1(word) if k in _KEYWORD_SET and len(k) >= 6] if len(word) >= 6 else []
    if len(near) == 1:
        return near[0]
    close = [c for c in difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.84) if len(c) >= len(word) - 1
             and not (len(word) > len(c) and word.startswith(c))]
    return close[0] if close else word


def correct_words(text: str) -> str:
    """Correct keyword typos everywhere ("teh" too); verbs are corrected per clause."""
    text = re.sub(r"\bteh\b", "the", text)
    return _WORD_RE.sub(lambda m: correct_keyword(m.group(0)), text)
