"""What a cold start pays to import each entry module beyond boto3, and how big each function's asset is.

``python -X importtime`` in a fresh interpreter per module, several times,
median of the self+children time of the entry module's own import; boto3's
import is measured the same way and subtracted. Asset sizes are the staged
folders zipped as the CDK zips them.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
ENTRIES = {"provider (on_event, is_complete)": "trail_import_handler.provider",
           "crhelper entry (cfn.handler)": "trail_import_handler.cfn"}


def import_microseconds(module: str) -> float:
    """Median cumulative import time of ``module`` in a fresh interpreter, in microseconds."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'lambda'}", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "PYTHONDONTWRITEBYTECODE": "1"}
    samples = []
    for _ in range(RUNS):
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import boto3; import {module}"],
                                env=env, capture_output=True, text=True, check=True)
        samples.append(_cumulative(result.stderr, module))
    return statistics.median(samples)


def boto3_microseconds() -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    samples = []
    for _ in range(RUNS):
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import boto3"], env=env,
                                capture_output=True, text=True, check=True)
        samples.append(_cumulative(result.stderr, "boto3"))
    return statistics.median(samples)


def _cumulative(report: str, module: str) -> float:
    pattern = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|\s*" + re.escape(module) + r"$", re.MULTILINE)
    match = pattern.search(report)
    if match is None:
        raise RuntimeError(f"{module} not in the importtime report")
    return float(match.group(1))


def asset_bytes(packages: tuple[str, ...]) -> int:
    """The zipped size of a folder holding ``packages`` as the construct stages them."""
    sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda")]
    from cloudtrail_lake_import._asset import _staged

    folder = Path(_staged(packages))
    target = Path(tempfile.mkdtemp(prefix="bench-asset-")) / "asset.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return target.stat().st_size


def measure() -> dict[str, Any]:
    boto3_us = boto3_microseconds()
    return {
        "boto3_import_ms": round(boto3_us / 1000, 1),
        "entries": {name: {"import_ms_beyond_boto3": round(import_microseconds(module) / 1000, 1)}
                    for name, module in ENTRIES.items()},
        "assets": {"provider functions": asset_bytes(("trail_import_handler",)),
                   "crhelper function": asset_bytes(("trail_import_handler", "crhelper"))},
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
