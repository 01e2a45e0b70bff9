"""Static safety rules: no eval/exec/pickle of untrusted content, no unsafe torch.load, plugins
only from operator-given paths, and nothing in a workflow can name a file."""

import re
from pathlib import Path

import numpy as np
import pytest

from lego_demo.errors import InvalidWorkflow
from lego_demo.executor import Executor
from lego_demo.workflow import parse_workflow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("lego_demo", "bricks", "engines", "examples") for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]
FORBIDDEN = [
    (re.compile(r"(?<![\w.])eval\("), "eval("),
    (re.compile(r"(?<![\w.])exec\("), "exec("),
    (re.compile(r"\bimport pickle\b|\bpickle\.loads?\("), "pickle"),
    (re.compile(r"torch\.load\((?![^)]*weights_only=True)"), "torch.load without weights_only=True"),
    (re.compile(r"trust_remote_code\s*=\s*True"), "trust_remote_code=True"),
]


@pytest.mark.parametrize("path", [p for p in SOURCES if p.exists()], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unsafe_calls(path):
    text = path.read_text(encoding="utf-8")
    for pattern, what in FORBIDDEN:
        assert not pattern.search(text), f"{path.relative_to(ROOT)} uses {what}"


def test_workflow_cannot_name_a_file(registry):
    text = ('{"process": "x", "pipeline": [{"step": 1, "model": "BBOX", "input": {"mask": "/etc/passwd"}, '
            '"output": {"mask": "step1[mask]"}}, {"result": "[step1[mask]]"}]}')
    with pytest.raises(InvalidWorkflow, match="workflows cannot name files"):
        Executor(registry).run(parse_workflow(text).workflow, np.zeros((4, 4, 3), np.uint8))


def test_registry_loads_plugins_only_from_given_paths(tmp_path, monkeypatch):
    (tmp_path / "bricks").mkdir()
    (tmp_path / "evil.py").write_text("raise SystemExit('loaded!')\n")
    monkeypatch.chdir(tmp_path)
    from lego_demo.registry import Registry

    names = Registry.discover().names()  # the built-in package only; cwd files are never imported
    assert "BBOX" in names


def test_app_limits_upload_size_and_binds_localhost(monkeypatch):
    import app as app_module
    from lego_demo.images import MAX_FILE_BYTES
    from lego_demo.ui.blocks import launch_options

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    args = app_module.build_parser().parse_args([])
    options = launch_options(args.host, args.port, args.mcp)
    assert options["server_name"] == "127.0.0.1" and options["max_file_size"] == MAX_FILE_BYTES
