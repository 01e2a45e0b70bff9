"""The app as `python app.py` builds it, served inside the test process on a free loopback port."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_app(*flags: str) -> Iterator[tuple[str, Any]]:
    """(its URL ending in '/', the Gradio demo) for `app.py --host 127.0.0.1 FLAGS`; closed after."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import app as app_module

    args = app_module.build_parser().parse_args(["--port", str(free_port()), "--host", "127.0.0.1", *flags])
    demo, options = app_module.create_app(args)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **options)
    try:
        yield url.rstrip("/") + "/", demo
    finally:
        demo.close()
