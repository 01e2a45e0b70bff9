"""The Gradio app: `build_app(editor)` builds the page; `Session` holds one browser session.

Importing this package imports Gradio but loads no model; `session`, `views` and `errors`
do not import Gradio at all.
"""

from __future__ import annotations

from .session import Editors, Session, Turn

__all__ = ["Editors", "Session", "Turn", "build_app", "launch_options"]


def __getattr__(name: str):
    if name in ("build_app", "launch_options"):
        from . import blocks

        return getattr(blocks, name)
    raise AttributeError(name)
