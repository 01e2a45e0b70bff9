"""How much memory do concurrent edits at the working size take? (issue 21: RSS ≤ 1.5 GB)

    python benchmarks/app_big_edits.py [--clients 8] [--edits 2] [--at-once 4.2 8.4 12.6 100]

For each `megapixels_at_once` value (lego.toml; the image pixels of the runs the Executor lets
go on at once, lego_demo/run_limits.py) this starts a fresh `python app.py` with the shipped
queue (`--concurrency 8`) and the step cache off (every edit computes; the cache's own bound,
`cache_mb`, adds to these figures), warms it up (every lazy helper loads), then `--clients`
gradio_client clients each send `--edits` /edit calls on 2048-px photos at the same time —
offline edits of each kind: a subject cut-out (SOS), a named part (RES), a face (RES + the face
detector), a style, a tone. The server's resident memory (its process tree) is sampled every
0.2 s. 100 MP stands for "no admission limit" (8 runs at 2048×2048 fit).

Prints a Markdown table (name the machine and whether it was quiet): peak RSS, latency p50 /
p95 and wall time per setting. Every call has a 180 s timeout; the run is bounded.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import app_worst_requests as worst  # noqa: E402  (the app launcher, RSS sampler and statistics)

EDIT_TIMEOUT_S = 180.0
JOBS = (("astronaut", "blur the background"), ("astronaut", "make her suit blue"), ("astronaut", "pixelate the face"),
        ("coffee", "turn it into a watercolor painting"), ("chelsea", "make it brighter"),
        ("astronaut", "make her suit red"), ("rocket", "make it look like a pencil sketch"),
        ("coffee", "make it darker"))


def _photos(tmp: Path) -> dict[str, Path]:
    """The photos at the working size (2048 px on the long side), as PNG uploads."""
    import numpy as np
    from PIL import Image
    from skimage import data

    paths = {}
    for name in {n for n, _ in JOBS}:
        photo = Image.fromarray(np.asarray(getattr(data, name)())[..., :3])
        scale = 2048 / max(photo.size)
        paths[name] = tmp / f"{name}.png"
        photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS).save(paths[name])
    return paths


def measure(megapixels: float, clients: int, edits: int, tmp: Path) -> dict:
    from gradio_client import handle_file

    config = tmp / f"lego-{megapixels:g}.toml"
    config.write_text(f"megapixels_at_once = {megapixels}\n", encoding="utf-8")
    port = worst._free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--cache-mb", "0",
                             "--config", str(config)], cwd=ROOT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(900, proc.kill)
    watchdog.start()
    photos = _photos(tmp)
    try:
        worst._wait_serving(url, proc)
        c = worst._connect(url)
        for name, instruction in JOBS:  # warm-up, one at a time: lazy helpers load
            try:
                c.submit(handle_file(str(photos[name])), instruction, api_name="/edit").result(timeout=EDIT_TIMEOUT_S)
            except Exception:  # an edit the offline bricks decline still warms them up
                pass
        rss = worst.RssSampler(proc.pid)
        rss.start()
        time.sleep(0.5)
        base = rss.peak_mb
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()

        def client(i: int) -> None:
            cc = worst._connect(url)
            for k in range(edits):
                name, instruction = JOBS[(i + k) % len(JOBS)]
                t0 = time.perf_counter()
                try:
                    cc.submit(handle_file(str(photos[name])), instruction,
                              api_name="/edit").result(timeout=EDIT_TIMEOUT_S)
                except Exception as exc:  # counted, not hidden
                    with lock:
                        failures.append(f"{instruction}: {str(exc)[:80]}")
                with lock:
                    latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(EDIT_TIMEOUT_S * edits + 60)
        wall = time.perf_counter() - started
        rss.stop.set()
        return {"megapixels_at_once": megapixels, "base_mb": round(base), "peak_mb": round(rss.peak_mb),
                "wall_s": round(wall, 1), **worst._stats(latencies), "failures": failures}
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--edits", type=int, default=2, help="edits per client")
    p.add_argument("--at-once", type=float, nargs="+", default=[4.2, 8.4, 12.6, 100.0],
                   help="megapixels_at_once values to compare (4.2 MP = one run at 2048×2048)")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for mp in args.at_once:
            rows.append(measure(mp, args.clients, args.edits, Path(d)))
            print(rows[-1], flush=True)
    print(f"\n{args.clients} clients × {args.edits} /edit at 2048 px, --concurrency 8, step cache off; machine: "
          f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs\n")
    print("| megapixels_at_once | runs at 2048² at once | server RSS after warm-up | peak RSS | p50 s | p95 s | wall s |"
          " failed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['megapixels_at_once']:g} | {min(8, int(r['megapixels_at_once'] * 1e6 // 2048**2))} | "
              f"{r['base_mb']} MB | {r['peak_mb']} MB | {r['p50']} | {r['p95']} | {r['wall_s']} | {len(r['failures'])} |")
    for r in rows:
        for f in r["failures"][:3]:
            print(f"failed ({r['megapixels_at_once']:g} MP): {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
