"""How fast the app is for a person, trees side by side: start-up to serving, the first edit,
and a re-plan after feedback through the API.

    python benchmarks/app_speed.py [--tree new=.] [--tree old=/work/baseline] [--runs 3] [--delay 0 4]
                                   [--out out/app_speed]

For each tree and run (the trees alternate), a fresh `python app.py --port P` (cwd = the tree):
1. serving: launch to the first HTTP 200 of its root (imports, registry, page, port);
2. first edit: gradio_client's /edit right after serving (`--delay 0`) or a few seconds later
   (`--delay 4`: a person loading the page and typing), "blur the background" on the astronaut
   at 1024 px (the person models load here unless the app warmed them), upload included;
3. the same edit again (served by the step cache);
4. re-plan ÷ first run through the API, for each showcased feedback case: /edit of a fresh
   variant of the photo (one pixel differs: nothing cached, models warm), then /edit of the same
   image with the feedback (the steps the feedback does not touch come from the cache).
Writes report.json and report.md (medians over runs, min–max).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving import free_port, wait_serving  # noqa: E402
from sidebyside import write_report  # noqa: E402
from user_latency import FEEDBACK, feedback_photo  # noqa: E402

FIRST = ("astronaut", "blur the background")




def images(tmp: Path) -> dict[str, Path]:
    """The photos at 1024 px, and a variant of each per use (one pixel differs: no cache hits)."""
    from PIL import Image

    base = {name: feedback_photo(name, 1024) for name in ("astronaut", "scene")}
    out = {}
    for name, img in base.items():
        for i in range(1 + len(FEEDBACK)):
            v = img.copy()
            v[0, 0] = (int(v[0, 0, 0]) + 1 + i) % 256, v[0, 0, 1], v[0, 0, 2]
            path = tmp / f"{name}_{i}.png"
            Image.fromarray(v).save(path, compress_level=1)
            out[f"{name}_{i}"] = path
    return out


def one_run(root: Path, files: dict[str, Path], delay: float) -> dict:
    from gradio_client import Client, handle_file

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(root / "app.py"), "--port", str(port)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict = {"delay": delay}
    try:
        wait_serving(url, proc)
        out["serving"] = time.perf_counter() - t0
        client = Client(url, verbose=False)
        time.sleep(max(0.0, delay - (time.perf_counter() - t0 - out["serving"])))
        name, instruction = FIRST
        image = handle_file(str(files[f"{name}_0"]))
        t1 = time.perf_counter()
        client.predict(image, instruction, api_name="/edit")
        out["first_edit"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        client.predict(image, instruction, api_name="/edit")
        out["again"] = time.perf_counter() - t1
        for k, (name, instruction, feedback) in enumerate(FEEDBACK):
            image = handle_file(str(files[f"{name}_{1 + k}"]))  # not edited before in this server
            try:
                t1 = time.perf_counter()
                client.predict(image, instruction, api_name="/edit")
                first = time.perf_counter() - t1
                t1 = time.perf_counter()
                client.predict(image, instruction, None, feedback, api_name="/edit")
                second = time.perf_counter() - t1
                out[f"replan: {instruction} + {feedback}"] = second / first
            except Exception as exc:  # a tree that cannot do the case
                out[f"replan: {instruction} + {feedback}"] = f"error: {str(exc)[:120]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--delay", type=float, nargs="+", default=[0.0, 4.0],
                    help="seconds between serving and the first edit (one set of runs per value)")
    ap.add_argument("--out", default=str(ROOT / "out" / "app_speed"))
    args = ap.parse_args()
    trees = {k: Path(v).resolve() for k, v in (t.split("=", 1) for t in args.tree)} or {"new": ROOT}
    results: dict[str, list[dict]] = {t: [] for t in trees}
    with tempfile.TemporaryDirectory() as tmp:
        files = images(Path(tmp))
        for delay in args.delay:
            for run in range(args.runs):
                order = list(trees) if run % 2 == 0 else list(trees)[::-1]
                for tree in order:
                    r = one_run(trees[tree], files, delay)
                    results[tree].append(r)
                    print(tree, json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}),
                          flush=True)
    keys = [k for k in results[next(iter(trees))][0] if k != "delay"]
    lines = [f"App speed, {platform.machine()} / {os.cpu_count()} CPU cores / Python {platform.python_version()}; "
             f"medians over {args.runs} fresh starts per row (min–max):", "",
             "| measure | " + " | ".join(trees) + " |", "|---|" + "---|" * len(trees)]
    summary: dict = {}
    for delay in args.delay:
        for key in keys:
            cells = []
            for tree in trees:
                vals = [r[key] for r in results[tree] if r["delay"] == delay and isinstance(r.get(key), float)]
                if not vals:
                    cells.append("—")
                    continue
                med = statistics.median(vals)
                summary.setdefault(tree, {})[f"{key} (delay {delay:g} s)"] = med
                cells.append(f"{med:.2f} ({min(vals):.2f}–{max(vals):.2f})")
            label = key if key == "serving" else f"{key}, first edit {delay:g} s after serving"
            if key == "serving" and delay != args.delay[0]:
                continue
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    md = "\n".join(lines)
    write_report(args.out, {"trees": trees, "runs": results, "summary": summary}, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
