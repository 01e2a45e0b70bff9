"""The benchmark harness runs (quick) so it cannot rot; figures go to BENCHMARKS.md, not here."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("suite", ["synthetic", "planning"])
def test_quick_suite_writes_report(tmp_path, suite):
    r = subprocess.run([sys.executable, "-m", "lego_demo", "bench", "--suite", suite, "--quick", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert {"machine", "engines", "suite"} <= set(report)
    assert (tmp_path / "bench.md").read_text().startswith(f"## {suite} suite (quick)")
    if suite == "synthetic":
        cats = report["categories"]
        assert {"remove", "recolor", "background", "extract", "style", "tone", "text", "add"} <= set(cats)
        for c in cats.values():
            assert {"n", "success_rate", "p50_s", "p95_s", "check"} <= set(c) and c["n"] > 0
    else:
        assert report["n"] > 0 and report["invalid"] == 0
