"""A prompt file in the official Lego-Edit release's format, written for the tests (the project
does not ship the release's text): the same sections, the same 17 tools in the same order and
entry format (`N.NAME (summary)`, `Input: {…}`, `Output: {…}`, `Constraint: …`), four worked
examples whose answers carry the release's quirks (trailing commas, a missing comma, a
fullwidth comma, an output key that does not match its reference, CMI-PRED's `ratio`), two of
them starting with the mask prefix, and the `YourInstruction` placeholder."""

from __future__ import annotations

from pathlib import Path

PREDICT = [
    ("INVERSE", "Subtract mask2 from mask1, or image2 from image1; a null mask1 inverts mask2",
     "Mask[mask1], Mask[mask2], Image[image1], Image[image2]", "Mask[mask], Image[image]",
     "One kind per step: masks or images, the other pair null."),
    ("RES", "Segment the object the prompt names", "Image[image], Str[prompt]", "Mask[mask], Image[image]",
     "The prompt is English and keeps locative words and adjectives."),
    ("SOS", "Segment the most salient object", "Image[image]", "Mask[mask], Image[image]",
     "Cannot be told which object."),
    ("MASK-SEG", "Segment the object inside the mask", "Image[image], Mask[mask]", "Mask[mask], Image[image]",
     "Needs an image and a mask."),
    ("ADD-PRED", "Predict where the prompt's object should be added, inside the mask if one is given",
     "Image[image], Str[prompt], Mask[mask]", "Mask[mask]",
     "The prompt is a full sentence such as 'add a black dog on the left'; FLUX edits afterwards."),
    ("CMI-PRED", "Caption the image; with four ratios also the expanded canvas and its mask",
     "Image[image], Float[left_ratio], Float[right_ratio], Float[top_ratio], Float[bottom_ratio]",
     "Str[caption], Image[image], Mask[mask]", "All four ratios null or all four given."),
    ("BBOX", "The bounding-box mask of a mask", "Mask[mask]", "Mask[mask]", "None"),
]
EDIT = [
    ("FASTINPAINT", "Quick inpainting with a quality score", "Image[image], Mask[mask]",
     "Image[image], Float[score]", "Usually a pre-inpaint image for FLUX-INPAINT."),
    ("FLUX-FILL", "Generate the prompt's content in the mask", "Image[image], Mask[mask], Str[prompt], Image[preimage]",
     "Image[image]", "A CMI-PRED mask goes with CMI-PRED's image. preimage may be null."),
    ("FLUX-RCM", "Change the colour or material of an object", "Image[image], Mask[mask], Str[prompt]",
     "Image[image]", "The prompt names the new colour or material."),
    ("FLUX-INPAINT", "Fill the mask with background, guided by a pre-inpaint image and its score",
     "Image[image], Mask[mask], Image[preimage], Float[score]", "Image[image]", "Removal only; no prompt."),
    ("FLUX-CBG", "Change the background into a new scene", "Image[image], Mask[mask], Str[prompt]", "Image[image]",
     "The prompt is 'change the background to XXX'; the mask is a segmentation inverted by INVERSE."),
    ("FLUX-STYLE", "Change the style of the image or of the masked part",
     "Image[image], Mask[mask], Str[prompt], Str[style]", "Image[image]",
     "The prompt comes from CMI-PRED; a null mask means the whole image."),
    ("COMPOSE", "Put the second mask or image over the first", "Mask[mask1], Mask[mask2], Image[image1], Image[image2]",
     "Mask[mask], Image[image]", "One kind per step."),
    ("RESIZE", "Scale the valid part of a mask or image by the ratio", "Mask[mask], Image[image], Float[ratio]",
     "Mask[mask], Image[image]", "One of mask and image is null."),
    ("FLUX-ENV", "Change the weather, season or time of day", "Image[image], Str[prompt]", "Image[image]",
     "No PREDICT step before it."),
    ("FLUX-POSE", "Change a subject's posture or expression", "Image[image], Str[prompt]", "Image[image]",
     "The prompt describes the subject in detail; no PREDICT step before it."),
]

EXAMPLES = [
    ("add a cat, then expand the picture twice", '''{
  "process": "add a cat, then expand the picture twice",
  "pipeline": [
    {
      "step": 1,
      "model": "ADD-PRED",
      "input": {
        "image": "init[image]",
        "prompt": "cat",
        "mask": null,
      },
      "output": {
        "mask": "step1[mask]"
      }
    },
    {
      "step": 2,
      "model": "FLUX-FILL",
      "input": {
        "image": "init[image]",
        "mask": "step1[mask]",
        "prompt": "cat",
        "preimage": null
      }
      "output": {
        "mask": "step2[image]"
      }
    },
    {
      "step": 3,
      "model": "CMI-PRED",
      "input": {
        "image": "step2[image]",
        "ratio": 2.0
      },
      "output": {
        "caption": "step3[caption]",
        "image": "step3[image]",
        "mask": "step3[mask]"
      }
    },
    {
      "step": 4,
      "model": "FLUX-FILL",
      "input": {
        "image": "step3[image]",
        "mask": "step3[mask]",
        "prompt": "step3[caption]",
        "preimage": "step2[image]"
      },
      "output": {
        "image": "step4[image]",
      }
    },
    {
      "result": "[step4[image]]"
    }
  ]
}'''),
    ("show the dog's segmentation and remove the dog", '''{
  "process": "show the dog's segmentation and remove the dog",
  "pipeline": [
    {"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": "dog"},
     "output": {"mask": "step1[mask]", "image": "step1[image]"}},
    {"step": 2, "model": "FASTINPAINT", "input": {"image": "init[image]", "mask": "step1[mask]"},
     "output": {"image": "step2[image]", "score": "step2[score]"}},
    {"step": 3, "model": "FLUX-INPAINT",
     "input": {"image": "init[image]", "mask": "step1[mask]", "preimage": "step2[image]", "score": "step2[score]"},
     "output": {"image": "step3[image]"}},
    {"result": "[step1[image], step3[image]]"}
  ]
}'''),
    ("用户提供了mask并希望turn the picture into a watercolour", '''{
  "process": "用户提供了mask并希望turn the picture into a watercolour",
  "pipeline": [
    {"step": 1, "model": "CMI-PRED",
     "input": {"image": "init[image]", "left_ratio": null, "right_ratio": null, "top_ratio": null, "bottom_ratio": null},
     "output": {"caption": "step1[caption]", "image": null, "mask": null}},
    {"step": 2, "model": "FLUX-STYLE",
     "input": {"image": "init[image]", "mask": null, "prompt": "step1[caption]", "style": "watercolor style"},
     "output": {"image": "step2[image]"}},
    {"result": "[step2[image]]"}
  ]
}'''),
    ("用户提供了mask并希望make this girl pixel-art style", '''{
  "process": "用户提供了mask并希望make this girl pixel-art style",
  "pipeline": [
    {"step": 1, "model": "MASK-SEG", "input": {"image": "init[image]", "mask": "init[mask]"},
     "output": {"mask": "step1[mask]"，"image": "step1[image]"}},
    {"step": 2, "model": "CMI-PRED",
     "input": {"image": "init[image]", "left_ratio": null, "right_ratio": null, "top_ratio": null, "bottom_ratio": null},
     "output": {"caption": "step2[caption]", "image": null, "mask": null}},
    {"step": 3, "model": "FLUX-STYLE",
     "input": {"image": "init[image]", "mask": "step1[mask]", "prompt": "step2[caption]", "style": "pixel-art style"},
     "output": {"image": "step3[image]"}},
    {"result": "[step3[image]]"}
  ]
}'''),
]


def entries(tools) -> str:
    return "\n".join(f"{i}.{name} ({summary})\nInput: {{{ins}}}\nOutput: {{{outs}}}\nConstraint: {rule}"
                     for i, (name, summary, ins, outs, rule) in enumerate(tools, 1))


def official_prompt_text() -> str:
    examples = "\n\n".join(f"**Actual example{i}:**\nUser instruction: {instruction}\nExpected output:\n{answer}"
                           for i, (instruction, answer) in enumerate(EXAMPLES, 1))
    return f"""**System Role**
You schedule an image-editing engine: turn the user's instruction into a JSON process in which several models work together.

**Processing rules**
1. Where inputs come from
a. The initial image
b. Text of the instruction
c. Outputs of earlier steps
d. Your own translation of the instruction

2. How to build the process
a. Find the objects and actions
b. Choose a model for each action
c. Use every step's output later

**Input and output types**
There are only four types of input and output
1. Image
2. Mask
3. Str (English only)
4. Float

**Model library**
Models are PREDICT models or EDIT models
PREDICT model list:
{entries(PREDICT)}

EDIT model list:
{entries(EDIT)}

{examples}

Now, I give you the image and the user instruction: "YourInstruction", please output the multi-model collaboration process json.
"""


def write_official_prompt(path: Path) -> Path:
    path.write_text(official_prompt_text(), encoding="utf-8")
    return path
