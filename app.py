"""`python app.py`: the Lego-Edit Gradio app (a thin shell over `lego_demo.editor.Editor`).

Binds 127.0.0.1 by default; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT and --host / --port
override it. `--mcp` (or GRADIO_MCP_SERVER=True) also serves /edit, /plan and /run_workflow
as MCP tools at /gradio_api/mcp/.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from lego_demo.editor import BUILDERS, Editor, EditorConfig
from lego_demo.errors import LegoError


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description=__doc__.splitlines()[0])
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to bind (default 127.0.0.1, or $GRADIO_SERVER_NAME); 0.0.0.0 to share on a LAN")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                   help="port (default 7860, or $GRADIO_SERVER_PORT)")
    p.add_argument("--mcp", action="store_true", default=_env_flag("GRADIO_MCP_SERVER"),
                   help="also serve the API as MCP tools (or set GRADIO_MCP_SERVER=True)")
    p.add_argument("--builder", default=None, choices=BUILDERS, help="default Builder (default: rule, offline)")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="lego.toml (default $LEGO_CONFIG): builder, model engines, cache size (docs/MODELS.md)")
    p.add_argument("--engine", action="append", default=[], metavar="BRICK=ENGINE[:MODEL]",
                   help="use this engine (and model) for a brick; repeatable; overrides the config file")
    p.add_argument("--images-base-url", default=None, metavar="URL",
                   help="OpenAI Images API server for the openai-images engine (default $LEGO_IMAGES_BASE_URL)")
    p.add_argument("--bricks", action="append", default=[], metavar="PATH.py",
                   help="load extra bricks from this plugin file (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed for engines that use randomness (default 0)")
    p.add_argument("--concurrency", type=int, default=8,
                   help="plans and edits that may run at once across all sessions, the page and the API "
                        "(default 8); classical steps run in parallel, model calls also wait for their device "
                        "(model_calls_per_device in lego.toml, default 1) or Images API server ([images] concurrency)")
    p.add_argument("--files-ttl", type=int, default=None, metavar="SECONDS",
                   help="delete uploaded and result files older than this (default: 15 minutes)")
    p.add_argument("--cache-mb", type=int, default=None, metavar="MB",
                   help="bound on the step cache shared by all sessions, in MB "
                        f"(default {EditorConfig.cache_bytes // 2**20})")
    return p


def make_editor(args: argparse.Namespace) -> Editor:
    from lego_demo.config import editor_config
    from lego_demo.run_limits import return_freed_images
    from lego_demo.ui.examples import example_plugins

    return_freed_images()  # a server's worker threads would otherwise keep freed images resident
    return Editor.from_config(editor_config(
        getattr(args, "config", None), getattr(args, "engine", []), plugins=[*args.bricks, *example_plugins()],
        cache_mb=args.cache_mb, builder=args.builder, seed=args.seed,
        images_base_url=getattr(args, "images_base_url", None),
    ))


def create_app(args: argparse.Namespace, editor: Editor | None = None):
    """(demo, launch kwargs) for these arguments; used by main() and by the tests."""
    from lego_demo.ui import build_app, launch_options

    ttl = getattr(args, "files_ttl", None)
    demo = build_app(editor or make_editor(args), **({"temp_files_ttl": ttl} if ttl else {}))
    demo.queue(default_concurrency_limit=max(1, args.concurrency))  # the limit of the one "edits" group
    return demo, launch_options(args.host, args.port, args.mcp)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        editor = make_editor(args)
        demo, options = create_app(args, editor)
    except LegoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    demo.launch(**options, prevent_thread_lock=True)
    from lego_demo.startup import warm_offline

    warm_offline(editor)  # serving already: load the person/face models and run a tiny edit meanwhile
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
