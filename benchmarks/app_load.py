"""The app under load: 8 concurrent API clients, before and after the queue limits.

    python benchmarks/app_load.py [--clients 8] [--requests 4] [--gpu-seconds 1.0] [--heavy-share 0.25]

Each setting starts a fresh `python app.py` and sends a mixed load through gradio_client's
/edit: a quarter of the clients ask for an edit that needs a generative model ("replace the
red circle with a green apple": four classical steps, then FILL on the openai-images engine),
the others for classical edits ("remove the red circle", "make the blue square green", "blur the red
circle"). Every request carries its own image (one pixel differs), so nothing comes from
the step cache.

The generative engine's server is the scripted Images API server of the tests
(tests/fake_images.py) run as ONE GPU: it renders one image at a time, each taking
--gpu-seconds. It stands for a GPU so that the figures measure queueing, not a model.

  before  the old queue: 2 edits at a time (`--concurrency 2`, the old default), no limit on
          generative calls ([images] concurrency = 8)
  after   the defaults now: 8 edits at a time (`--concurrency 8`); a generative call waits in the
          Executor for the server ([images] concurrency = 1: one GPU) while classical steps of
          other edits go on

Prints a Markdown table to paste into BENCHMARKS.md: throughput, latency per kind (median and
90th percentile) and the most generative requests the server held at once.
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

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fake_images import FakeImagesServer  # noqa: E402
from serving import free_port, wait_serving  # noqa: E402

HEAVY = "replace the red circle with a green apple"
CLASSICAL = ("remove the red circle", "make the blue square green", "blur the red circle")
SIDE = 512  # the example is scaled to this width: a classical edit takes a fraction of a second
SETTINGS = {
    "before": {"app": ["--concurrency", "2"], "images_concurrency": 8},
    "after": {"app": [], "images_concurrency": 1},
}




def images(folder: Path, count: int) -> list[Path]:
    """`count` copies of the example scene, each with one pixel of its own (no cache hits)."""
    base = Image.open(ROOT / "assets" / "scene.png").convert("RGB")
    base = np.asarray(base.resize((SIDE, SIDE * base.height // base.width), Image.LANCZOS)).copy()
    paths = []
    for i in range(count):
        img = base.copy()
        img[0, 0] = (i % 256, (i // 256) % 256, 7)
        path = folder / f"scene_{i}.png"
        Image.fromarray(img).save(path)
        paths.append(path)
    return paths


def run_setting(name: str, args, folder: Path) -> dict:
    """Start the app for one setting, run the clients, stop it; returns the measurements."""
    from gradio_client import Client, handle_file

    setting = SETTINGS[name]
    heavy_clients = max(1, round(args.clients * args.heavy_share))
    total = args.clients * args.requests
    pictures = images(folder, total)
    with FakeImagesServer(gpu_seconds=args.gpu_seconds) as server:
        config = folder / f"{name}.toml"
        config.write_text(f'[images]\nbase_url = "{server.url}"\nconcurrency = {setting["images_concurrency"]}\n'
                          '[engines.FILL]\nengine = "openai-images"\nmodel = "one-gpu"\nsizes = "any"\n'
                          'max_side = 256\n', encoding="utf-8")
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--config", str(config),
                                 *setting["app"]], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_serving(url, proc)
            clients = [Client(url, verbose=False) for _ in range(args.clients)]
            # warm-up: one classical and one generative edit (imports, model-free engines' first use)
            clients[0].predict(handle_file(str(pictures[0])), CLASSICAL[0], api_name="/edit")
            clients[0].predict(handle_file(str(pictures[1])), HEAVY, api_name="/edit")
            server.max_in_flight = 0
            records: list[tuple[str, float, float]] = []
            errors: list[str] = []
            lock = threading.Lock()
            start = threading.Barrier(args.clients)

            def client_loop(index: int) -> None:
                heavy = index < heavy_clients
                start.wait()
                for r in range(args.requests):
                    picture = pictures[index * args.requests + r]
                    instruction = HEAVY if heavy else CLASSICAL[(index + r) % len(CLASSICAL)]
                    t0 = time.perf_counter()
                    try:
                        clients[index].predict(handle_file(str(picture)), instruction, api_name="/edit")
                    except Exception as exc:
                        with lock:
                            errors.append(f"{instruction}: {exc}")
                        continue
                    with lock:
                        records.append(("heavy" if heavy else "classical", t0, time.perf_counter()))

            t_start = time.perf_counter()
            threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t_start
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {"wall": wall, "records": records, "errors": errors, "max_in_flight": server.max_in_flight,
                "heavy_clients": heavy_clients}


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=4, help="edits per client")
    ap.add_argument("--gpu-seconds", type=float, default=1.0, help="the simulated GPU's time per generated image")
    ap.add_argument("--heavy-share", type=float, default=0.25, help="share of clients asking for generative edits")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.settings:
            folder = Path(tmp) / name
            folder.mkdir()
            result = run_setting(name, args, folder)
            rows.append((name, result))
            print(f"{name}: {len(result['records'])} edits in {result['wall']:.1f} s, "
                  f"{len(result['errors'])} errors", file=sys.stderr)
            for error in result["errors"][:3]:
                print(f"  {error}", file=sys.stderr)
    print(f"App under load on {platform.machine()} / {os.cpu_count()} CPU cores / Python {platform.python_version()}: "
          f"{args.clients} gradio_client clients × {args.requests} /edit calls each, "
          f"{rows[0][1]['heavy_clients']} of them generative (FILL on a one-GPU Images API server, "
          f"{args.gpu_seconds:g} s per image), {SIDE} px images, offline rule Builder:\n")
    print("| setting | edits/min | classical p50 / p90 (s) | generative p50 / p90 (s) | generative requests at the server at once | errors |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        lat = {k: [e - s for kind, s, e in r["records"] if kind == k] for k in ("classical", "heavy")}
        per_min = 60 * len(r["records"]) / r["wall"]
        cells = [f"{_quantile(lat[k], 0.5):.2f} / {_quantile(lat[k], 0.9):.2f}" for k in ("classical", "heavy")]
        print(f"| {name} | {per_min:.1f} | {cells[0]} | {cells[1]} | {r['max_in_flight']} | {len(r['errors'])} |")
    print(f"\n(one run per setting; `python benchmarks/app_load.py {' '.join(sys.argv[1:])}`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
