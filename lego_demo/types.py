"""The four value types of the Lego-Edit wire format and how runtime values are checked.

Runtime representation (one obvious form for each, converted at the edges):
- Image: numpy uint8 array, H×W×3 (RGB) or H×W×4 (RGBA, e.g. a cut-out with transparency)
- Mask:  numpy bool array, H×W (True = selected)
- Str:   str
- Float: float
"""

from __future__ import annotations

import hashlib
from enum import Enum
from typing import Any

import numpy as np


class ValueType(str, Enum):
    IMAGE = "Image"
    MASK = "Mask"
    STR = "Str"
    FLOAT = "Float"

    @classmethod
    def parse(cls, value: ValueType | str) -> ValueType:
        if isinstance(value, ValueType):
            return value
        for member in cls:
            if str(value).lower() == member.value.lower():
                return member
        raise ValueError(f"unknown value type {value!r} (expected one of Image, Mask, Str, Float)")


def conforms(vtype: ValueType, value: Any) -> bool:
    """True if a runtime value has the representation its type promises."""
    if vtype is ValueType.IMAGE:
        return (
            isinstance(value, np.ndarray)
            and value.dtype == np.uint8
            and value.ndim == 3
            and value.shape[2] in (3, 4)
        )
    if vtype is ValueType.MASK:
        return isinstance(value, np.ndarray) and value.dtype == bool and value.ndim == 2
    if vtype is ValueType.STR:
        return isinstance(value, str)
    if vtype is ValueType.FLOAT:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return False


def content_key(value: Any) -> str:
    """A stable content hash of a runtime value, used by the executor's cache."""
    h = hashlib.sha256()
    if isinstance(value, np.ndarray):
        h.update(str((value.dtype.str, value.shape)).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr((type(value).__name__, value)).encode())
    return h.hexdigest()[:32]


def input_key(image_key: str, mask_key: str | None = None) -> str:
    """The key that names an edit's inputs from their content keys (image, and mask when
    given): a run carries it, so a result is only ever shown beside the input it came from."""
    return image_key if mask_key is None else f"{image_key}+{mask_key}"


def nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    return len(repr(value))


def summarize(value: Any) -> dict:
    """A small JSON-able description of a value for traces and listings."""
    if value is None:
        return {"type": None}
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return {
            "type": "Mask",
            "size": [int(value.shape[1]), int(value.shape[0])],
            "area": round(float(value.mean()), 4) if value.size else 0.0,
        }
    if isinstance(value, np.ndarray):
        return {
            "type": "Image",
            "size": [int(value.shape[1]), int(value.shape[0])],
            "mode": "RGBA" if value.ndim == 3 and value.shape[2] == 4 else "RGB",
        }
    if isinstance(value, str):
        return {"type": "Str", "value": value if len(value) <= 200 else value[:197] + "..."}
    if isinstance(value, (int, float)):
        return {"type": "Float", "value": float(value)}
    return {"type": type(value).__name__}
