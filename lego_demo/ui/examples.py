"""The app's examples: licence-clean images in assets/ with their instructions, in two groups:
those that run offline with the shipped engines (a test runs each one), and those that need a
model or plugin engine (a test checks they still fail offline; when one succeeds, move it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@dataclass(frozen=True)
class Example:
    image: str  # file name in assets/
    instruction: str
    feedback: str = ""  # what to send with "Re-plan" after the first run
    note: str = ""
    plugins: tuple[str, ...] = ()  # brick files (relative to the repo) the example needs; the app loads them
    offline: bool = True  # runs with the offline engines shipped with the project (plugins above included)
    needs: str = ""  # when not: what it needs, in a few words

    @property
    def caption(self) -> str:
        return self.instruction + (f" + feedback “{self.feedback}”" if self.feedback else "")

    @property
    def path(self) -> Path:
        return ASSETS / self.image


EXAMPLES = [
    Example("scene.png", "remove the red circle", note="RES finds it, FASTINPAINT + INPAINT fill the hole"),
    Example("scene.png", "make the blue square green", note="RES + RCM recolour"),
    Example("chelsea.jpg", "turn it into a watercolor painting", note="STYLE on the whole image"),
    Example("astronaut.jpg", "add text 'hello'", note="text rendered into the photo"),
    Example("astronaut.jpg", "blur the background", note="SOS finds her, INVERSE + CBG blur the rest"),
    Example("astronaut.jpg", "pixelate the face", note="RES finds the face (shipped face model), PIXELATE hides it"),
    Example("window.jpg", "remove the reflection", "don't use RRF", plugins=("examples/plugins/rrf.py",),
            offline=False, needs="a segmentation model to find the reflection, or an inpainting model to repaint "
                                 "the background",
            note="the paper's feedback story: without RRF the Builder plans RES -> INPAINT, and after 'don't use "
                 "RES' SOS -> INVERSE -> INPAINT, whose background repaint needs a model engine"),
    Example("window.jpg", "remove the reflection", plugins=("examples/plugins/rrf.py",),
            note="RRF, a plugin brick (Yang et al. 2019, classical), is planned from its use_for phrases and fades "
                 "the out-of-focus reflection offline"),
]


def example_plugins() -> list[str]:
    """The plugin files the examples need, as paths the registry can load."""
    root = ASSETS.parent
    return sorted({str(root / p) for e in EXAMPLES for p in e.plugins if (root / p).is_file()})


def available_examples(offline: bool | None = None) -> list[Example]:
    """The examples whose image is present; `offline`: only that group."""
    return [e for e in EXAMPLES if e.path.is_file() and (offline is None or e.offline == offline)]
