"""What the step cache costs in memory, and what a smaller one loses: for each cache size, a
fresh process runs the same sequence of edits on sample photos (1024 and 2048 px, four
"visitors" taking turns, each edit followed by a re-plan with feedback), and reports the growth
of its resident memory over the run and how many re-plans found their shared steps cached.

    python benchmarks/step_cache_rss.py [--cache-mb 512 256 128] [--edits 56]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from lego_demo.bench.sample_photos import photo
from lego_demo.editor import Editor, EditorConfig

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

editor = Editor.from_config(EditorConfig(cache_bytes=int({mb} * 2**20)))
cases = [("astronaut", "blur the background", "stronger"), ("astronaut", "make her orange suit blue", "stronger"),
         ("grace_hopper", "make her jacket dark red", "stronger"), ("coffee", "turn it into a pencil sketch", "stronger"),
         ("motorcycle", "make the red parts blue", "stronger"), ("rocket", "make the sky orange", "stronger"),
         ("chelsea", "make it look like winter", "stronger")]
editor.edit("blur the background", photo("astronaut", 256))
base = rss_mb()
hits = replans = 0
visitors = [[] for _ in range(4)]
for i in range({edits}):
    name, instruction, feedback = cases[i % len(cases)]
    side = 2048 if i % 3 == 0 else 1024
    image = photo(name, side)
    image[0, 0, 0] ^= (i // len(cases)) + 1  # every visitor's photo differs a little: no sharing between them
    plan, _ = editor.edit(instruction, image)
    visitors[i % 4] = [(instruction, image, plan, feedback)]  # each visitor holds their last edit only
    if len(visitors[(i + 1) % 4]) > 0:  # the next visitor re-plans their last edit after feedback
        ins, img, p, fb = visitors[(i + 1) % 4][-1]
        _, run = editor.edit(ins, img, feedback=[fb], previous=p)
        if len(p.workflow.steps) > 1:  # a one-step plan has nothing to share
            replans += 1
            hits += bool(run.cached)
print(json.dumps({{"cache_mb": {mb}, "edits": {edits}, "rss_growth_mb": round(rss_mb() - base, 1),
                   "cache_mb_used": round(editor.executor.cache.bytes / 2**20, 1),
                   "replans": replans, "replans_with_cached_steps": hits}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-mb", type=float, nargs="+", default=[512, 256, 128])
    ap.add_argument("--edits", type=int, default=56)
    args = ap.parse_args()
    rows = []
    for mb in args.cache_mb:
        code = WORKER.format(root=str(ROOT), mb=mb, edits=args.edits)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            print(r.stderr[-2000:], file=sys.stderr)
            return 1
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    print("\n| step cache | RSS growth over the run | cache held at the end | re-plans that found their steps cached |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['cache_mb']:g} MB | {r['rss_growth_mb']} MB | {r['cache_mb_used']} MB | "
              f"{r['replans_with_cached_steps']}/{r['replans']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
