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


def test_synthetic_suite_with_a_judge_reports_judged_scores(registry):
    from fake_openai import FakeServer

    from lego_demo.bench import synthetic_suite
    from lego_demo.builders.openai_builder import OpenAIBuilder
    from lego_demo.critics.model import ModelCritic
    from lego_demo.editor import Editor

    editor = Editor.from_config()
    with FakeServer() as server:
        server.script = [("text", '<think>ok</think><score>{"semantic": 8, "quality": 2}</score><answer>done</answer>')] * 40
        judge = ModelCritic(OpenAIBuilder(registry, model="fake-vl", base_url=server.url))
        report = synthetic_suite.run(editor, quick=True, judge=judge)
    judged = report["categories"]["remove"]["judged"]
    assert judged["n"] >= 1 and judged["semantic"] == 8 and judged["quality"] == 2 and judged["overall"] == 4.0
    assert "judged SC / PQ / overall" in synthetic_suite.markdown(report)


@pytest.mark.parametrize("suite", ["photos", "think"])
def test_other_quick_suites_run(tmp_path, suite):
    r = subprocess.run([sys.executable, "-m", "lego_demo", "bench", "--suite", suite, "--quick", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    if suite == "photos":
        assert report["replan"]["cached_steps"] and report["end_to_end"] and not report["errors"]
    else:
        assert {"outline", "shadow", "dark-to-light recolour"} <= set(report["categories"])
