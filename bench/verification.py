"""Verifying an archive: ``cloudtrail-lake-import verify`` against ``aws cloudtrail validate-logs`` (AWS CLI v1),
both deep (every digest and every log file read), as whole processes, in one run.

The archive is a signed fixture (``SignedArchive``) served by a read-only loopback S3 running as a process of
its own, each request held ``latency`` seconds (the round trip from outside the bucket's region) without using
its CPU; its own CPU per request is reported. ListPublicKeys comes from the simulator on a loopback endpoint.
The AWS CLI checks one region per run, so it runs once per region, one after another, as its users run it.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUCKET, TRAIL_ACCOUNT = "trail-logs", "111122223333"
START = datetime(2024, 1, 1, tzinfo=UTC)
AWS_CLI = ROOT / ".venv-awscli" / "bin" / "aws"
OURS = Path(sys.executable).parent / "cloudtrail-lake-import"
WORKERS = 32


def _archive(accounts: int, regions: list[str], hours: int, *, organization: str | None = None,
             logs_per_hour: int = 2) -> tuple[Any, Any, int, int]:
    """The snapshot of a signed archive, the simulator that publishes its key, and its digest and log counts."""
    import boto3
    from moto import mock_aws

    from cloudtrail_lake_import.testing import CloudTrailImportSimulator, SignedArchive, read_only_s3

    simulator = CloudTrailImportSimulator()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        archive = SignedArchive(s3, BUCKET, organization=organization)
        simulator.public_keys.append(archive.key.entry())
        ids = [f"{111122223333 + n * 111111:012d}" for n in range(accounts)]
        # One hour before the window (the first digest's predecessor) and two after (the last log files' digests).
        archive.write(ids, regions, START - timedelta(hours=1), hours + 3, logs_per_hour=logs_per_hour)
        snapshot = read_only_s3.Snapshot.of(s3, BUCKET)
    return snapshot, simulator, len(archive.digest_keys), len(archive.log_keys)


@contextmanager
def _standin(snapshot: Any, latency: float) -> Iterator[tuple[str, dict[str, Any]]]:
    """The read-only S3 as a process; after the block, its counters fill the dict yielded."""
    with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as stream:
        pickle.dump(snapshot, stream)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "constructs"), str(ROOT / "lambda")])}
    process = subprocess.Popen([sys.executable, "-m", "cloudtrail_lake_import.testing.read_only_s3", stream.name,
                                str(latency)], stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    counters: dict[str, Any] = {}
    try:
        yield url, counters
    finally:
        process.terminate()
        counters.update(json.loads(process.stdout.readline() or "{}"))
        process.wait(timeout=30)
        os.unlink(stream.name)


def _run(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall seconds, exit code, CPU seconds and peak memory (MB) of one process.

    The peak is the process's own VmHWM, read until it ends: wait4's ru_maxrss would count the bench's own
    memory too, which the child holds between fork and exec."""
    before = os.times()
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.DEVNULL)
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - began
        out.seek(0)
        text = out.read().decode(errors="replace")
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"seconds": round(wall, 2), "exit": process.returncode, "peak_mb": round(peak_kb / 1024, 1),
            "cpu_seconds": round(cpu, 2), "output": text}


def _high_water_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _env(s3_url: str, cloudtrail_url: str) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL_S3": s3_url, "AWS_ENDPOINT_URL_CLOUDTRAIL": cloudtrail_url,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true"}


def _ours(snapshot: Any, simulator: Any, latency: float, end: datetime) -> dict[str, Any]:
    from cloudtrail_lake_import.testing import endpoint

    with endpoint.serve(simulator) as cloudtrail, _standin(snapshot, latency) as (s3, counters):
        result = _run([str(OURS), "verify", f"s3://{BUCKET}", "--start", f"{START:%Y-%m-%dT%H:%M:%SZ}",
                       "--end", f"{end:%Y-%m-%dT%H:%M:%SZ}", "--json", "--workers", str(WORKERS)], _env(s3, cloudtrail))
    report = json.loads(result.pop("output"))
    assert result["exit"] == 0, result
    assert report["problems"] == [], report["problems"][:3]
    return {**result, "requests": counters.get("requests", 0), "standin_cpu_seconds": counters.get("cpu_seconds", 0),
            "digests": report["digests"]["valid"], "log_files": report["logFiles"]["valid"]}


def _aws_cli(snapshot: Any, simulator: Any, latency: float, regions: list[str], end: datetime) -> dict[str, Any]:
    from cloudtrail_lake_import.testing import endpoint

    total: dict[str, Any] = {"seconds": 0.0, "requests": 0, "peak_mb": 0.0, "cpu_seconds": 0.0, "digests": 0,
                             "log_files": 0, "standin_cpu_seconds": 0.0}
    with endpoint.serve(simulator) as cloudtrail:
        for region in regions:
            with _standin(snapshot, latency) as (s3, counters):
                result = _run([str(AWS_CLI), "cloudtrail", "validate-logs", "--trail-arn",
                               f"arn:aws:cloudtrail:us-east-1:{TRAIL_ACCOUNT}:trail/management-events",
                               "--start-time", f"{START:%Y-%m-%dT%H:%M:%SZ}", "--end-time",
                               f"{end:%Y-%m-%dT%H:%M:%SZ}", "--s3-bucket", BUCKET, "--region", region,
                               "--endpoint-url", cloudtrail], _env(s3, cloudtrail))
            assert result["exit"] == 0, result["output"][-2000:]
            output = result["output"]
            total["seconds"] = round(total["seconds"] + result["seconds"], 2)
            total["cpu_seconds"] = round(total["cpu_seconds"] + result["cpu_seconds"], 2)
            total["peak_mb"] = max(total["peak_mb"], result["peak_mb"])
            total["requests"] += counters.get("requests", 0)
            total["standin_cpu_seconds"] += counters.get("cpu_seconds", 0)
            total["digests"] += int(output.split(" digest files valid")[0].rsplit("\n", 1)[-1].split("/")[0])
            total["log_files"] += int(output.split(" log files valid")[0].rsplit("\n", 1)[-1].split("/")[0])
    return total


def measure() -> dict[str, Any]:
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    results: dict[str, Any] = {"workers": WORKERS}
    snapshot, simulator, digests, logs = _archive(1, regions, 72)
    results["three_regions"] = {"digests_written": digests, "log_files_written": logs, "by_latency": {}}
    end = START + timedelta(hours=72)
    for latency in (0.05, 0.02):
        ours, theirs = _ours(snapshot, simulator, latency, end), _aws_cli(snapshot, simulator, latency, regions, end)
        results["three_regions"]["by_latency"][str(latency)] = {"ours": ours, "aws_cli": theirs}
    results["three_regions"]["ours_at_0"] = _ours(snapshot, simulator, 0.0, end)
    org, org_simulator, org_digests, org_logs = _archive(20, regions, 24, organization="o-a1b2c3d4e5",
                                                          logs_per_hour=1)
    results["organization"] = {"digests_written": org_digests, "log_files_written": org_logs,
                               "ours": _ours(org, org_simulator, 0.05, START + timedelta(hours=24))}
    month, month_simulator, _, _ = _archive(1, ["us-east-1"], 30 * 24, logs_per_hour=1)
    results["memory"] = {
        f"{days}_days": _ours(month, month_simulator, 0.0, START + timedelta(days=days)) for days in (1, 30)}
    return results


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "constructs"), str(ROOT / "lambda")]
    print(json.dumps(measure(), indent=2))
