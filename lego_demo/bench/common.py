"""What every suite shares: timing stats, the machine description, writing bench.json/md."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # torch missing or broken: no GPU figures either way
        gpu = None
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "date": time.strftime("%Y-%m-%d"),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "gpu": gpu,
    }


def engines_in_use(registry) -> dict[str, str]:
    chosen = {}
    for spec in registry.specs():
        try:
            engine = registry.choose_engine(spec)
            chosen[spec.name] = f"{engine.name} ({engine.kind})"
        except Exception as exc:  # no engine here: say why
            chosen[spec.name] = f"none: {exc}"
    return chosen


def write(out_dir: str | Path, report: dict, markdown: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    (out / "bench.md").write_text(markdown + "\n", encoding="utf-8")
