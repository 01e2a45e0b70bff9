"""Re-measure and rewrite the generated part of BENCHMARKS.md (between the bench markers):
every `python -m lego_demo bench` suite plus the foundation figures. The hand-written parts
(targets, comparison with the papers) are left as they are.

    python benchmarks/refresh.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
SUITES = ("synthetic", "photos", "planning", "think")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for suite in SUITES:
            out = Path(tmp) / suite
            cmd = [sys.executable, "-m", "lego_demo", "bench", "--suite", suite, "--out", str(out)]
            subprocess.run(cmd + (["--quick"] if args.quick else []), cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            text = (out / "bench.md").read_text(encoding="utf-8")
            parts.append("#" + text[text.index("## "):].strip())  # from its heading on (no stray log lines)
    core = subprocess.run([sys.executable, str(ROOT / "benchmarks/core_bench.py")], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    parts.append(core)
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"BENCHMARKS.md has no {START} … {END} section", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + START + "\n\n" + "\n\n".join(parts) + "\n\n" + END + tail, encoding="utf-8")
    print(f"rewrote the generated section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
