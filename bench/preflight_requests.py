"""Preflight's S3 list requests and wall time for windows of 1, 7 and 90 days, against listing the prefix whole.

A year of hourly trail logs in three regions, in moto's S3. Wall times on
moto are dominated by moto scanning its keys on every request, so they track
the request counts; the counts are what S3 bills and throttles.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda")]
for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"), ("AWS_REGION", "us-east-1")):
    os.environ.setdefault(name, value)

BUCKET = "trail-logs"
WINDOWS = (1, 7, 90)
START = datetime(2024, 6, 1, tzinfo=UTC)


def measure() -> dict[str, Any]:
    import boto3
    from moto import mock_aws
    from moto.s3.models import s3_backends

    from cloudtrail_lake_import.testing.trail_bucket import TrailLayout, write_trail_logs
    from trail_import_handler.preflight import run_preflight
    from trail_import_handler.properties import ImportSource, ImportWindow
    from trail_import_handler.trail_logs import Lister

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        backend = s3_backends["123456789012"]["aws"]

        def put(key: str, body: bytes) -> None:
            backend.put_object(BUCKET, key, body)

        total = write_trail_logs(TrailLayout(start=datetime(2024, 1, 1, tzinfo=UTC), days=366, files_per_day=24,
                                             digests=False, stray_object=False), put, compact=True)
        began = time.perf_counter()
        whole = Lister(s3, BUCKET)
        listed = sum(1 for _ in whole.objects(""))
        full = {"list_requests": whole.requests, "seconds": round(time.perf_counter() - began, 2), "objects": listed}
        source = ImportSource(f"s3://{BUCKET}", "us-east-1", "arn:aws:iam::111122223333:role/bench")
        windows = {}
        for days in WINDOWS:
            window = ImportWindow(START, START + timedelta(days=days) - timedelta(minutes=1))
            began = time.perf_counter()
            report = run_preflight(s3, source, window, sample_size=0)
            windows[str(days)] = {"files": len(report.findings.files),
                                  "list_requests": report.findings.list_requests,
                                  "seconds": round(time.perf_counter() - began, 2)}
    return {"log_files": total, "full_listing": full, "preflight": windows}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
