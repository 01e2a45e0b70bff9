"""How fast the app is for a person: start-up to serving, and the first offline edit.

    python benchmarks/app_speed.py [--runs 3]

1. start-up: launch `python app.py --port P` as a fresh process and time until its HTTP
   root answers (imports, registry discovery, building the page, binding the port);
2. first edit: through gradio_client's /edit on that fresh server, a 1024 px example
   (assets/scene.png, 1024×768, "remove the red circle") — nothing cached, the rule
   Builder and every engine start cold; then the same edit again (now served by the step cache).
Prints a Markdown table to paste into BENCHMARKS.md (figures are medians over --runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assets" / "scene.png"
INSTRUCTION = "remove the red circle"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_serving(url: str, proc: subprocess.Popen, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {limit_s} s")


def one_run() -> dict[str, float]:
    from gradio_client import Client, handle_file

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_serving(url, proc)
        startup = time.perf_counter() - t0
        client = Client(url, verbose=False)
        t1 = time.perf_counter()
        client.predict(handle_file(str(EXAMPLE)), INSTRUCTION, api_name="/edit")
        first = time.perf_counter() - t1
        t2 = time.perf_counter()
        client.predict(handle_file(str(EXAMPLE)), INSTRUCTION, api_name="/edit")
        again = time.perf_counter() - t2
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"startup": startup, "first": first, "again": again}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    spread = {k: (min(r[k] for r in runs), max(r[k] for r in runs)) for k in runs[0]}
    from PIL import Image

    w, h = Image.open(EXAMPLE).size
    print(f"App speed on {platform.machine()} / {os.cpu_count()} CPU cores / Python {platform.python_version()}, "
          f"median of {args.runs} fresh starts (CPU only, offline engines):\n")
    print("| measure | seconds (median) | min–max |")
    print("|---|---|---|")
    rows = [("start-up: `python app.py` to HTTP 200", "startup"),
            (f"first edit via /edit, {w}×{h} `{EXAMPLE.name}`, \"{INSTRUCTION}\" (cold)", "first"),
            ("same edit again (step cache)", "again")]
    for label, key in rows:
        print(f"| {label} | {med[key]:.2f} | {spread[key][0]:.2f}–{spread[key][1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
