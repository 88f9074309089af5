"""Preflight on an organization trail bucket of 10, 100 and 500 accounts: list requests and wall time.

S3 here is an in-memory bucket that answers ListObjectsV2 as S3 does (prefix,
delimiter, StartAfter, 1,000 keys a page) after a fixed latency per request,
so wall times measure how the listings are arranged, not moto's key scans.
Compared, side by side in this run, with the previous arrangement: every
account and region enumerated one after the other, then each region listed
(the Create check stopping at its first file, regions 8 at a time).
"""

from __future__ import annotations

import bisect
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda")]

ACCOUNTS = (10, 100, 500)
REGIONS = ("ap-southeast-2", "eu-west-1", "us-east-1")
LATENCY_SECONDS = 0.025  # a typical first-byte time of an S3 LIST in-region
START = datetime(2024, 6, 1, tzinfo=UTC)


class LatentBucket:
    """ListObjectsV2 over sorted keys, each request answered after ``latency`` seconds."""

    def __init__(self, keys: list[str], latency: float) -> None:
        self.keys = sorted(keys)
        self.latency = latency

    # The parameter names are the API's.
    def list_objects_v2(self, *, Bucket: str, Prefix: str = "", Delimiter: str = "",  # noqa: N803
                        StartAfter: str = "", ContinuationToken: str = "",  # noqa: N803
                        MaxKeys: int = 1000) -> dict[str, Any]:  # noqa: N803
        time.sleep(self.latency)
        after = ContinuationToken or StartAfter
        i = bisect.bisect_right(self.keys, after) if after else bisect.bisect_left(self.keys, Prefix)
        contents: list[dict[str, Any]] = []
        prefixes: list[str] = []
        last = ""
        while i < len(self.keys) and self.keys[i].startswith(Prefix) and len(contents) + len(prefixes) < MaxKeys:
            key = self.keys[i]
            cut = key.find(Delimiter, len(Prefix)) if Delimiter else -1
            if cut >= 0:
                common = key[: cut + 1]
                prefixes.append(common)
                last = common + "\uffff"
                i = bisect.bisect_left(self.keys, last)
            else:
                contents.append({"Key": key, "Size": 2048})
                last = key
                i += 1
        truncated = i < len(self.keys) and self.keys[i].startswith(Prefix)
        page: dict[str, Any] = {"Contents": contents, "CommonPrefixes": [{"Prefix": p} for p in prefixes],
                                "IsTruncated": truncated}
        if truncated:
            page["NextContinuationToken"] = last
        return page


def organization_keys(accounts: int, days: int = 2, per_day: int = 4) -> list[str]:
    keys = []
    for n in range(accounts):
        account = str(100000000000 + n)
        for region in REGIONS:
            for hour in range(days * per_day):
                at = START + timedelta(hours=hour * 24 / per_day)
                keys.append(f"AWSLogs/o-a1b2c3d4e5/{account}/CloudTrail/{region}/{at:%Y/%m/%d}/"
                            f"{account}_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_{hour:016d}.json.gz")
        keys.append(f"AWSLogs/o-a1b2c3d4e5/{account}/CloudTrail-Digest/{REGIONS[0]}/digest.json.gz")
    return keys


def _previous(s3: Any, source: Any, window: Any, enough: int | None) -> tuple[int, int]:
    """The previous arrangement: enumerate every account and region in turn, then list the regions 8 at a time."""
    from trail_import_handler import trail_logs

    lister = trail_logs.Lister(s3, source.bucket)
    findings = trail_logs.Findings()
    regions = list(trail_logs._regions(lister, "AWSLogs/", findings))
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = sum(len(files) for files, _ in pool.map(
            lambda prefix: trail_logs._region_files(lister, prefix, window, enough), regions))
    return found, lister.requests


def measure() -> dict[str, Any]:
    from trail_import_handler.properties import ImportSource, ImportWindow
    from trail_import_handler.trail_logs import find_log_files

    source = ImportSource("s3://org-trail-logs", "us-east-1", "arn:aws:iam::111122223333:role/bench")
    window = ImportWindow(START, START + timedelta(days=2) - timedelta(minutes=1))
    rows: dict[str, Any] = {}
    for accounts in ACCOUNTS:
        s3 = LatentBucket(organization_keys(accounts), LATENCY_SECONDS)
        row: dict[str, Any] = {}
        for name, enough in (("create_check", 1), ("full_preflight", None)):
            began = time.perf_counter()
            findings = find_log_files(s3, source, window, enough=enough)
            ours = {"files": len(findings.files), "list_requests": findings.list_requests,
                    "seconds": round(time.perf_counter() - began, 2)}
            began = time.perf_counter()
            files, requests = _previous(s3, source, window, enough)
            before = {"files": files, "list_requests": requests, "seconds": round(time.perf_counter() - began, 2)}
            row[name] = {"ours": ours, "previous": before}
        rows[str(accounts)] = row
    return {"latency_ms": LATENCY_SECONDS * 1000, "regions": len(REGIONS), "accounts": rows}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
