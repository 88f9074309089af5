"""Both verifiers on one archive: AWS's ``aws cloudtrail validate-logs`` (the AWS CLI v1, in its own environment)
and ours (``cloudtrail-lake-import verify``), each a process reading the same snapshot through a read-only
loopback S3, with ListPublicKeys answered by the simulator on a loopback CloudTrail endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, endpoint, read_only_s3

ROOT = Path(__file__).resolve().parent.parent
AWS_CLI = ROOT / ".venv-awscli" / "bin" / "aws"
OURS = Path(sys.executable).parent / "cloudtrail-lake-import"
_LINE = re.compile(r"^(?:\(backfill\) )?(Digest|Log) file\ts3://[^/]+/(\S+)\t(valid|INVALID.*)$", re.MULTILINE)


@dataclass
class Verdict:
    """What one tool said: its exit code, and the keys it called valid and invalid."""

    exit_code: int
    valid: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    output: str = ""
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def problem_keys(self) -> set[str]:
        return {p["key"] for p in self.report.get("problems", []) if p["key"]}


@dataclass(frozen=True)
class Endpoints:
    s3: str
    cloudtrail: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "AWS_ENDPOINT_URL_S3": self.s3, "AWS_ENDPOINT_URL_CLOUDTRAIL": self.cloudtrail,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1", "NO_COLOR": "1"}


@contextmanager
def serving(snapshot: read_only_s3.Snapshot, simulator: CloudTrailImportSimulator,
            latency: float = 0.0) -> Iterator[tuple[Endpoints, read_only_s3.Counters]]:
    with read_only_s3.serve(snapshot, latency=latency) as (s3, counters), endpoint.serve(simulator) as cloudtrail:
        yield Endpoints(s3, cloudtrail), counters


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_cli(where: Endpoints, *, trail_arn: str, bucket: str, region: str, start: datetime, end: datetime,
            prefix: str = "") -> Verdict:
    """``aws cloudtrail validate-logs`` for one region, as its users run it with --s3-bucket."""
    command = [str(AWS_CLI), "cloudtrail", "validate-logs", "--trail-arn", trail_arn, "--start-time", _time(start),
               "--end-time", _time(end), "--s3-bucket", bucket, "--region", region, "--endpoint-url", where.cloudtrail,
               "--verbose", *(["--s3-prefix", prefix] if prefix else [])]
    result = subprocess.run(command, env=where.env(), capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    verdict = Verdict(result.returncode, output=output)
    for _, key, status in _LINE.findall(output):
        (verdict.valid if status == "valid" else verdict.invalid).add(key)
    return verdict


def ours(where: Endpoints, source: str, start: datetime, end: datetime, *extra: str) -> Verdict:
    """``cloudtrail-lake-import verify --json``."""
    command = [str(OURS), "verify", source, "--start", _time(start), "--end", _time(end), "--json", *extra]
    result = subprocess.run(command, env=where.env(), capture_output=True, text=True, timeout=600, check=False)
    verdict = Verdict(result.returncode, output=result.stdout + result.stderr)
    if result.returncode in (0, 1):
        verdict.report = json.loads(result.stdout)
        verdict.invalid = verdict.problem_keys
    return verdict
