"""Run every benchmark, then write bench/results/report.md, results.json and chart.png.

Timings on shared machines are noisy: every comparison is measured side by
side in this one run and given as a ratio, next to the counts that do not
depend on the machine.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
RESULTS = ROOT / "bench" / "results"

from bench import (  # noqa: E402
    cold_start,
    monitor_cost,
    org_scale,
    preflight_requests,
    registry_type,
    synth_scaling,
    verification,
    verification_engine,
    waiting,
)
from bench.report import chart, markdown  # noqa: E402


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "cores": str(os.cpu_count()),
            "python": platform.python_version(), "node": node, "system": platform.platform()}


BENCHMARKS = (("synth", synth_scaling), ("waiting", waiting), ("cold_start", cold_start),
              ("preflight", preflight_requests), ("org_scale", org_scale), ("monitor_cost", monitor_cost),
              ("registry_type", registry_type), ("verification", verification),
              ("verification_engine", verification_engine))


def main(only: list[str]) -> None:
    """Run every benchmark, or with names (``bench/run.py verification``) only those, keeping the last
    figures of the others from results.json."""
    began = time.perf_counter()
    previous = json.loads((RESULTS / "results.json").read_text()) if only and (RESULTS / "results.json").exists() \
        else {}
    results: dict[str, Any] = {**previous, "machine": machine()}
    for name, module in BENCHMARKS:
        if only and name not in only:
            continue
        started = time.perf_counter()
        results[name] = module.measure()
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    if not only:
        results["bench_seconds"] = round(time.perf_counter() - began)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, RESULTS / "chart.png")
    (RESULTS / "report.md").write_text(markdown(results))
    print((RESULTS / "report.md").read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
