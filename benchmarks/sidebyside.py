"""Run the same edits in several source trees in one run, so their times compare fairly on a
machine that is doing other work: each tree gets a worker process (its own imports, its own
`Editor`), and the driver hands every worker the same inputs in turn, alternating which tree
goes first, so a burst of load hits both alike.

    with Trees({"old": "/work/baseline", "new": "."}) as trees:
        answers = trees.ask({"op": "edit", "image": "in.png", "instruction": "make it brighter"})
        # {"old": {"status": "done", "seconds": [...], ...}, "new": {...}}

The worker uses only what every tree since 9122ea4 has: `Editor.from_config(EditorConfig())`
and `Editor.edit(instruction, image, mask, feedback=, previous=)` on arrays. It answers on its
own copy of stdout (anything the engines print goes to stderr). Run as a script
(`python benchmarks/sidebyside.py --worker`) with the tree as working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

PYTHON = sys.executable


def write_report(out: str | Path, report: dict, md: str) -> None:
    """A benchmark's figures as OUT/report.json and its table as OUT/report.md, printed too."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    (out / "report.md").write_text(md + "\n")
    print("\n" + md)


class Trees:
    """One worker per tree; `ask` sends a request to each and returns their answers by name."""

    def __init__(self, trees: dict[str, str | Path], cores: int | None = None):
        self.trees = {name: Path(path).resolve() for name, path in trees.items()}
        self.cores = cores
        self._procs: dict[str, subprocess.Popen] = {}
        self._turn = 0

    def __enter__(self) -> Trees:
        for name, root in self.trees.items():
            env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
            if self.cores:
                env.update({v: str(self.cores) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
            self._procs[name] = subprocess.Popen(
                [PYTHON, str(Path(__file__).resolve()), "--worker"] + (["--cores", str(self.cores)] if self.cores else []),
                cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, bufsize=1)
        for name in self.trees:
            self._ask_one(name, {"op": "ping"})
        return self

    def __exit__(self, *exc) -> None:
        for proc in self._procs.values():
            try:
                proc.stdin.close()
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()

    def _ask_one(self, name: str, request: dict) -> dict:
        proc = self._procs[name]
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {name} worker ({self.trees[name]}) died")
        return json.loads(line)

    def ask(self, request: dict) -> dict[str, dict]:
        """The same request to every tree, the order rotating from one call to the next."""
        names = list(self.trees)
        self._turn += 1
        k = self._turn % len(names)
        return {name: self._ask_one(name, request) for name in names[k:] + names[:k]}


# -- the worker (runs inside a tree) --------------------------------------------------------------
def _read(path: str | None, mask: bool = False):
    import numpy as np
    from PIL import Image

    if path is None:
        return None
    img = Image.open(path)
    if mask:
        return np.asarray(img.convert("L")) > 127
    return np.ascontiguousarray(np.asarray(img.convert("RGB")))


def _fresh(editor) -> None:
    """Nothing from an earlier run may help the next one (models stay loaded, as in the app)."""
    editor.executor.cache.clear()
    memo = getattr(editor, "_verified", None)
    if isinstance(memo, dict):
        memo.clear()


def _edit(editor, req: dict) -> dict:
    from lego_demo.errors import LegoError

    image, mask = _read(req["image"]), _read(req.get("mask"), mask=True)
    out: dict = {"seconds": []}
    result = None
    for i in range(int(req.get("warmup", 0)) + int(req.get("repeats", 1))):
        _fresh(editor)
        t0 = time.perf_counter()
        try:
            _, result = editor.edit(req["instruction"], image, mask, feedback=list(req.get("feedback", ())))
        except LegoError as exc:
            return {"status": type(exc).__name__, "message": str(exc)[:300], "seconds": [time.perf_counter() - t0]}
        if i >= int(req.get("warmup", 0)):
            out["seconds"].append(time.perf_counter() - t0)
    out["status"] = "done"
    out["steps"] = [[t.brick, t.seconds] for t in result.trace]
    if req.get("save"):
        from PIL import Image

        value = next((v for v in result.results if getattr(v, "dtype", None) is not None and v.dtype.name == "uint8"),
                     None)
        if value is not None:
            Image.fromarray(value).save(req["save"], compress_level=1)
    return out


def _replan(editor, req: dict) -> dict:
    """First run, then the same instruction with feedback and the first plan (the app's Re-plan)."""
    image, mask = _read(req["image"]), _read(req.get("mask"), mask=True)
    firsts, seconds = [], []
    for _ in range(int(req.get("repeats", 1))):
        _fresh(editor)
        t0 = time.perf_counter()
        plan, _ = editor.edit(req["instruction"], image, mask)
        firsts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _, again = editor.edit(req["instruction"], image, mask, feedback=list(req["feedback"]), previous=plan)
        seconds.append(time.perf_counter() - t0)
    return {"status": "done", "first": firsts, "second": seconds, "cached": again.cached, "executed": again.executed}


def worker(cores: int | None) -> int:
    answer = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # engines that print go to stderr, not into the answers
    sys.path.insert(0, os.getcwd())
    if cores:
        import cv2

        cv2.setNumThreads(cores)
    t0 = time.perf_counter()
    from lego_demo.editor import Editor, EditorConfig

    editor = Editor.from_config(EditorConfig())
    ready = time.perf_counter() - t0
    ops = {"edit": _edit, "replan": _replan}
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "ping":
            reply = {"status": "ok", "ready_s": ready, "root": os.getcwd()}
        else:
            try:
                reply = ops[req["op"]](editor, req)
            except Exception as exc:  # report, keep serving
                reply = {"status": "error", "message": f"{type(exc).__name__}: {exc}"[:300]}
        answer.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    if "--worker" in sys.argv:
        cores = int(sys.argv[sys.argv.index("--cores") + 1]) if "--cores" in sys.argv else None
        sys.exit(worker(cores))
    print(__doc__)
