"""Does one client's worst request slow everyone else down? (issue 21, the load acceptance)

    python benchmarks/app_worst_requests.py [--clients 4] [--edits 8] [--concurrency N] [--json out.json]

Launches `python app.py` as its own process on 127.0.0.1 (the shipped queue settings, the step
cache off so that every edit computes) and drives it with gradio_client:

1. idle: `--clients` clients each run `--edits` /edit calls one after another, each on its own
   320×240 scene (p50/p95 latency per edit);
2. attacked: the same, while one more client sends, one after another and over and over, the
   worst request of each kind the hardening issue names (`worst_requests`): a long TEXT, a long
   RES prompt, a huge workflow, a decompression-bomb upload — each both as the issue sent it
   (far beyond any bound) and as the largest request the app's bounds accept (read from the
   code: spec.MAX_STR_CHARS, validate.MAX_STEPS and run_limits.DEFAULT_WORK_BUDGET at 2048 px,
   images.MAX_PIXELS), on a 2048 px image.

Everything is bounded: every call has a client-side timeout, the run has an overall deadline,
and the server process is killed at the end. The server's resident memory (its process tree)
is sampled throughout. Acceptance: attacked p95 ≤ 2 × idle p95, no normal edit times out, peak
RSS ≤ 1.5 GB. Prints a Markdown table for docs/RELIABILITY.md / BENCHMARKS.md (name the
machine and whether it was quiet) and exits 1 when the acceptance fails.

The requests beyond the bounds are fixed here; those at the bounds follow the code, so the
script is re-run unchanged when the bounds change.
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from serving import free_port, wait_serving  # noqa: E402

EDIT_TIMEOUT_S = 60.0  # one normal /edit, queue wait included
ATTACK_TIMEOUT_S = 60.0  # one worst request (the server may keep working on it after this)
DEADLINE_S = 900.0  # the whole benchmark
P95_RATIO_LIMIT = 2.0
RSS_LIMIT_MB = 1536
SIZE = (320, 240)
INSTRUCTIONS = ("make it brighter", "remove the {a}", "make the {b} green", "turn it into a watercolor painting",
                "remove the {b}", "make it darker")


def _workflow(steps: list[dict], result: str) -> str:
    return json.dumps({"process": "worst case", "pipeline": [*steps, {"result": result}]})


def _caps() -> dict:
    """The app's bounds as the code declares them today (defaults when a bound does not exist)."""
    caps = {"str": 100_000, "steps": 10_000, "pixels": 40_000_000}
    try:
        from lego_demo.spec import MAX_STR_CHARS

        caps["str"] = MAX_STR_CHARS
    except ImportError:
        pass
    try:
        from lego_demo.validate import MAX_STEPS

        caps["steps"] = MAX_STEPS
    except ImportError:
        pass
    try:  # a run's steps × image pixels (issue 21): the most steps a workflow may have at 2048 px
        from lego_demo.images import WORKING_MAX_SIDE
        from lego_demo.run_limits import DEFAULT_WORK_BUDGET

        caps["steps"] = min(caps["steps"], DEFAULT_WORK_BUDGET // WORKING_MAX_SIDE**2)
    except ImportError:
        pass
    from lego_demo.images import MAX_PIXELS

    caps["pixels"] = MAX_PIXELS
    return caps


def _text(chars: int) -> str:
    """TEXT laying out `chars` characters (D1: 100,000 held the GIL up to 6.6 s at a time)."""
    return _workflow([{"step": 1, "model": "TEXT", "input": {"image": "init[image]", "text": "W" * chars},
                       "output": {"image": "step1[image]"}}], "[step1[image]]")


def _prompt(chars: int) -> str:
    """RES reading a `chars`-character prompt (D2: ~1.4 ms per word; 1 MB took minutes)."""
    words = ("red circle " * (chars // 11 + 1))[:chars].strip()  # words RES knows: it reads them all
    return _workflow([{"step": 1, "model": "RES", "input": {"image": "init[image]", "prompt": words},
                       "output": {"mask": "step1[mask]"}}], "[step1[mask]]")


def _chain(steps: int) -> str:
    """`steps` steps, each pair a GrabCut subject (SOS) and a background blur (CBG) on the last
    result (D6: 10,000 steps made validation quadratic)."""
    pipeline = []
    for n in range(1, steps + 1, 2):
        source = "init[image]" if n == 1 else f"step{n - 1}[image]"
        pipeline.append({"step": n, "model": "SOS", "input": {"image": source},
                         "output": {"mask": f"step{n}[mask]"}})
        if n + 1 <= steps:
            pipeline.append({"step": n + 1, "model": "CBG", "input": {"image": source, "mask": f"step{n}[mask]",
                                                                      "prompt": "blur the background"},
                             "output": {"image": f"step{n + 1}[image]"}})
    last = steps if steps % 2 == 0 else steps - 1
    return _workflow(pipeline, f"[step{last}[image]]")


def worst_requests(caps: dict) -> dict[str, tuple[str, str]]:
    """Kind → (what is sent, workflow text or "bomb"/"largest"): for each kind the issue names,
    the attack as it reported it (far beyond any bound) and the largest request the app's
    current bounds accept (at the caps, on a 2048 px image)."""
    return {
        "long text (100,000 characters)": ("/run_workflow", _text(100_000)),
        f"longest text accepted ({min(500, caps['str'])} characters)": ("/run_workflow", _text(min(500, caps["str"]))),
        "long prompt (1 MB)": ("/run_workflow", _prompt(1_000_000)),
        f"longest prompt accepted ({caps['str']} characters)": ("/run_workflow", _prompt(caps["str"])),
        "huge workflow (10,000 steps)": ("/run_workflow", _chain(10_000)),
        f"largest workflow accepted ({min(caps['steps'], 10_000)} steps: SOS + CBG)":
            ("/run_workflow", _chain(min(caps["steps"], 10_000))),
        "bomb upload (13000×13000 PNG)": ("/edit", "bomb"),
        "largest upload accepted (just under the pixel limit)": ("/edit", "largest"),
    }




class RssSampler(threading.Thread):
    """Peak resident memory of a process and its children, sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:  # the server is gone
                return
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:  # a child that ended meanwhile (this stopped the sampling before)
                    pass
            self.peak_mb = max(self.peak_mb, rss / 2**20)
            self.stop.wait(0.2)


def _scenes(tmp: Path, clients: int) -> list[tuple[Path, list[str]]]:
    from PIL import Image

    from lego_demo.synthetic import make_scene

    jobs = []
    for i in range(clients):
        scene = make_scene(*SIZE, background_kind=("stripes", "tiles", "checker", "gradient")[i % 4], seed=200 + i)
        path = tmp / f"client{i}.png"
        Image.fromarray(scene.image).save(path)
        a, b = scene.objects[0].name, scene.objects[1].name
        jobs.append((path, [t.format(a=a, b=b) for t in INSTRUCTIONS]))
    return jobs


def _attack_images(tmp: Path) -> dict[str, Path]:
    """The attacker's images: a 2048 px photo (the working size: the most work a step can get),
    a 13000×13000 PNG of a few hundred KB (D4: Gradio decoded it to 2 GB before the app's size
    check) and the largest photo the pixel limit accepts."""
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut())
    paths = {"big": tmp / "big.png", "bomb": tmp / "bomb.png", "largest": tmp / "largest.jpg"}
    photo.resize((2048, 2048), Image.LANCZOS).save(paths["big"])
    Image.new("1", (13000, 13000)).save(paths["bomb"], optimize=True)
    side = int((_caps()["pixels"] * 0.98) ** 0.5)
    photo.resize((side, side), Image.BILINEAR).save(paths["largest"], quality=90)
    return paths


def _is_timeout(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, (TimeoutError, httpx.TimeoutException))


def _connect(url: str, tries: int = 5):
    """A gradio_client Client; its start-up requests may time out on a loaded server: retry."""
    from gradio_client import Client

    for attempt in range(tries):
        try:
            return Client(url, verbose=False)
        except Exception as exc:
            if attempt == tries - 1 or not _is_timeout(exc):
                raise
    raise AssertionError("unreachable")


def _normal_round(url: str, jobs, edits: int, more=lambda: False,
                  deadline: float = float("inf")) -> tuple[list[float], int, list[str]]:
    """Each client runs /edit calls one after another: `edits` of them, and on while `more()`
    (until `deadline`, a time.monotonic() value); (latencies, timeouts, errors)."""
    from gradio_client import handle_file

    latencies: list[float] = []
    timeouts = [0]
    errors: list[str] = []
    lock = threading.Lock()

    def client(path: Path, instructions: list[str]) -> None:
        c = _connect(url)
        k = 0
        while (k < edits or more()) and time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                c.submit(handle_file(str(path)), instructions[k % len(instructions)],
                         api_name="/edit").result(timeout=EDIT_TIMEOUT_S)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # a normal edit that times out or fails is counted, not hidden
                with lock:
                    if _is_timeout(exc):
                        timeouts[0] += 1
                    else:
                        errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
            k += 1

    threads = [threading.Thread(target=client, args=job, daemon=True) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, min(deadline, time.monotonic() + DEADLINE_S) - time.monotonic()) + EDIT_TIMEOUT_S)
    return latencies, timeouts[0], errors


def _attacker(url: str, images: dict[str, Path], stop: threading.Event, log: list[dict],
              cycled: threading.Event) -> None:
    """Sends the worst requests, kind after kind, until stopped; `cycled` is set once every kind
    was sent."""
    from gradio_client import handle_file

    requests = worst_requests(_caps())
    c = _connect(url)
    while not stop.is_set():
        for kind, (api, what) in requests.items():
            if stop.is_set():
                return
            if api == "/edit":
                args = (handle_file(str(images[what])), "make it brighter")
            else:
                args = (handle_file(str(images["big"])), what)
            t0 = time.perf_counter()
            try:
                c.submit(*args, api_name=api).result(timeout=ATTACK_TIMEOUT_S)
                outcome = "ran"
            except Exception as exc:  # the answer we hope for: a quick, clear refusal
                outcome = (f"no answer in {ATTACK_TIMEOUT_S:.0f} s" if _is_timeout(exc)
                           else "refused: " + str(exc).replace("\n", " ")[:90])
            log.append({"kind": kind, "seconds": round(time.perf_counter() - t0, 2), "outcome": outcome})
        cycled.set()


def _stats(lat: list[float]) -> dict:
    if not lat:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    s = sorted(lat)
    return {"n": len(s), "p50": round(statistics.median(s), 3), "p95": round(s[int(0.95 * (len(s) - 1))], 3),
            "max": round(s[-1], 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--edits", type=int, default=8, help="edits per client per phase")
    p.add_argument("--concurrency", type=int, default=None, help="app.py --concurrency (default: the app's)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    started = time.monotonic()

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    # --cache-mb 0: every edit computes (a repeated edit served from the step cache would hide the load)
    queue = [] if args.concurrency is None else ["--concurrency", str(args.concurrency)]
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--cache-mb", "0", *queue],
                            cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watchdog = threading.Timer(DEADLINE_S, proc.kill)  # bounded, whatever happens
    watchdog.start()
    try:
        wait_serving(url, proc)
        rss = RssSampler(proc.pid)
        rss.start()
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            jobs = _scenes(tmp, args.clients)
            attack_images = _attack_images(tmp)
            _normal_round(url, jobs, 2)  # warm-up: engines load, caches fill
            idle, idle_timeouts, idle_errors = _normal_round(url, jobs, args.edits)
            idle_rss = rss.peak_mb
            stop, cycled, attacks = threading.Event(), threading.Event(), []
            attacker = threading.Thread(target=_attacker, args=(url, attack_images, stop, attacks, cycled),
                                        daemon=True)
            attacker.start()
            time.sleep(1.0)  # the first worst request is in flight
            # the normal clients go on until every kind of worst request has been sent once
            loaded, loaded_timeouts, loaded_errors = _normal_round(
                url, jobs, args.edits, more=lambda: not cycled.is_set(), deadline=started + DEADLINE_S - 120)
            stop.set()
            attacker.join(ATTACK_TIMEOUT_S + 5)
        rss.stop.set()
        peak = rss.peak_mb
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(30)

    idle_s, loaded_s = _stats(idle), _stats(loaded)
    ratio = (loaded_s["p95"] / idle_s["p95"]) if idle_s["p95"] and loaded_s["p95"] else None
    ok = (ratio is not None and ratio <= P95_RATIO_LIMIT and loaded_timeouts == 0 and idle_timeouts == 0
          and peak <= RSS_LIMIT_MB)
    report = {"machine": f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs",
              "clients": args.clients, "edits": args.edits, "concurrency": args.concurrency,
              "idle": idle_s, "attacked": loaded_s, "p95_ratio": None if ratio is None else round(ratio, 2),
              "timeouts": {"idle": idle_timeouts, "attacked": loaded_timeouts},
              "errors": {"idle": idle_errors, "attacked": loaded_errors},
              "rss_mb": {"after idle": round(idle_rss), "peak": round(peak)}, "worst_requests": attacks,
              "seconds": round(time.monotonic() - started, 1), "acceptance": ok}

    print(f"\n{args.clients} clients × {args.edits} /edit at {SIZE[0]}×{SIZE[1]}, --concurrency "
          f"{args.concurrency or 'default'}; "
          f"machine: {report['machine']}\n")
    print("| phase | edits | p50 s | p95 s | max s | timeouts |")
    print("|---|---|---|---|---|---|")
    for name, st, to in (("idle", idle_s, idle_timeouts), ("one client sends worst requests", loaded_s, loaded_timeouts)):
        print(f"| {name} | {st['n']} | {st['p50']} | {st['p95']} | {st['max']} | {to} |")
    print(f"\np95 attacked / idle = {report['p95_ratio']} (limit {P95_RATIO_LIMIT}); server peak RSS "
          f"{report['rss_mb']['peak']} MB (limit {RSS_LIMIT_MB}); acceptance: {'PASS' if ok else 'FAIL'}\n")
    print("| worst request | seconds | outcome |")
    print("|---|---|---|")
    for a in attacks:
        print(f"| {a['kind']} | {a['seconds']} | {a['outcome']} |")
    for phase, errs in report["errors"].items():
        for e in errs[:5]:
            print(f"error ({phase}): {e}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
