"""What running classical steps in worker processes would cost (issue 21: the alternative to
stopping an engine's thread in process; docs/RELIABILITY.md records the decision).

    python benchmarks/worker_cost.py

A worker is started the portable way (multiprocessing "spawn", the default on Windows and
macOS), imports the package and discovers the bricks, then runs steps sent to it: the image
and mask go as raw bytes over a pipe and the result comes back the same way (no pickle of
arrays). Measured: start-up to ready, the worker's RSS when ready and after its lazy helpers
have loaded (mediapipe face detection, the OCR detector, which each worker would load again),
and the per-step transfer (image and mask there, the result back) at 1024 and 2048 px.
Not a test: timings depend on the machine; run it on a quiet one.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import skimage.data as data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WARM_UP = [  # steps whose lazy helpers stay loaded in the worker afterwards
    ("RES", {"prompt": "the face"}, "mask"),
    ("TEXT", {"text": "CLOSED", "replace": "OPEN"}, "image"),
    ("SOS", {}, "mask"),
]


def _worker(conn) -> None:
    sys.path.insert(0, str(ROOT))
    from lego_demo.executor import Executor
    from lego_demo.registry import Registry
    from lego_demo.workflow import Ref, Step, Workflow

    executor = Executor(Registry.discover(), step_timeout=None)
    conn.send_bytes(b"ready")
    while True:
        try:
            header = conn.recv()
        except EOFError:
            return
        shape = header["shape"]
        image = np.frombuffer(conn.recv_bytes(), np.uint8).reshape(shape)
        mask = np.frombuffer(conn.recv_bytes(), bool).reshape(shape[:2])
        if header["brick"] is None:  # echo: the transfer alone
            conn.send({"shape": image.shape, "dtype": image.dtype.str})
            conn.send_bytes(memoryview(image).cast("B"))
            continue
        out = header["out"]
        inputs = {"image": Ref(None, "image"), **header["inputs"]}
        wf = Workflow("w", [Step(1, header["brick"], inputs, {out: Ref(1, out)})], [Ref(1, out)])
        executor.cache.clear()
        try:
            result = np.ascontiguousarray(executor.run(wf, image, mask).results[0])
        except Exception as exc:  # the parent raises it
            conn.send({"error": f"{type(exc).__name__}: {exc}"})
            continue
        conn.send({"shape": result.shape, "dtype": result.dtype.str})
        conn.send_bytes(memoryview(result).cast("B"))


def _call(conn, image: np.ndarray, mask: np.ndarray, brick: str, inputs: dict, out: str) -> np.ndarray:
    conn.send({"shape": image.shape, "brick": brick, "inputs": inputs, "out": out})
    conn.send_bytes(memoryview(image).cast("B"))
    conn.send_bytes(memoryview(np.ascontiguousarray(mask)).cast("B"))
    header = conn.recv()
    if "error" in header:
        raise RuntimeError(f"{brick} in the worker: {header['error']}")
    return np.frombuffer(conn.recv_bytes(), np.dtype(header["dtype"])).reshape(header["shape"])


def photo(side: int) -> np.ndarray:
    img = data.astronaut()  # a face (mediapipe) and, drawn on it, a word (OCR)
    f = side / max(img.shape[:2])
    img = np.ascontiguousarray(cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC))
    cv2.putText(img, "OPEN", (side // 2, side // 6), cv2.FONT_HERSHEY_DUPLEX, side / 300, (255, 255, 255),
                max(2, side // 150), cv2.LINE_AA)
    return img


def main() -> None:
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    t = time.perf_counter()
    process = context.Process(target=_worker, args=(child,), daemon=True)
    process.start()
    child.close()  # so that a worker that dies is an EOFError here, not a hang
    parent.recv_bytes()
    start_s = time.perf_counter() - t
    worker = psutil.Process(process.pid)
    ready_mb = worker.memory_info().rss / 2**20
    image, mask = photo(1024), np.zeros((0, 0), bool)
    mask = np.zeros(image.shape[:2], bool)
    mask[image.shape[0] // 4: image.shape[0] // 2, image.shape[1] // 4: image.shape[1] // 2] = True
    for brick, inputs, out in WARM_UP:
        _call(parent, image, mask, brick, inputs, out)
    warm_mb = worker.memory_info().rss / 2**20
    print(f"worker start-up to ready (spawn, import, discover bricks): {start_s:.2f} s")
    print(f"worker RSS: {ready_mb:.0f} MB ready, {warm_mb:.0f} MB after RES face + TEXT replace + SOS "
          f"(this process: {psutil.Process().memory_info().rss / 2**20:.0f} MB)")
    print("| size | transfer per step (image + mask there, image back) |")
    print("|---|---:|")
    for side in (1024, 2048):
        image = photo(side)[: side * 3 // 4]  # 4:3
        mask = np.zeros(image.shape[:2], bool)
        echo = []
        for _ in range(9):
            t = time.perf_counter()
            back = _call(parent, image, mask, None, {}, "image")
            echo.append(time.perf_counter() - t)
        assert np.array_equal(back, image)
        print(f"| {image.shape[1]}×{image.shape[0]} | {1000 * statistics.median(echo):.1f} ms |")
    parent.close()
    process.join(5)


if __name__ == "__main__":
    main()
