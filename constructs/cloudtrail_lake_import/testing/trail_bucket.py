"""Realistic trail log buckets for tests and demos: the layout, names and records CloudTrail writes."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Put = Callable[[str, bytes], None]

_EVENTS = [("s3.amazonaws.com", "GetObject", True), ("ec2.amazonaws.com", "DescribeInstances", True),
           ("iam.amazonaws.com", "CreateRole", False), ("sts.amazonaws.com", "AssumeRole", False),
           ("kms.amazonaws.com", "Decrypt", True), ("cloudtrail.amazonaws.com", "LookupEvents", True)]


@dataclass(frozen=True)
class TrailLayout:
    """Which accounts, regions and days a trail bucket holds, and how busy they were."""

    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    days: int = 30
    files_per_day: int = 4
    records_per_file: int = 20
    accounts: tuple[str, ...] = ("111122223333",)
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-southeast-2")
    organization: str | None = None
    prefix: str = ""
    digests: bool = True
    stray_object: bool = True

    def log_files(self) -> Iterable[tuple[str, str, str, datetime]]:
        """(key, account, region, logged_at) of every log file, in key order per region."""
        root = f"{self.prefix.strip('/')}/" if self.prefix.strip("/") else ""
        org = f"{self.organization}/" if self.organization else ""
        every = timedelta(days=1) / self.files_per_day
        for account in self.accounts:
            for region in self.regions:
                for day in range(self.days):
                    for n in range(self.files_per_day):
                        at = self.start + timedelta(days=day) + every * n
                        folder = f"{root}AWSLogs/{org}{account}/CloudTrail/{region}/{at:%Y/%m/%d}/"
                        name = f"{account}_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_{day:04d}{n:04d}{region[:2]}.json.gz"
                        yield folder + name, account, region, at


def write_trail_logs(layout: TrailLayout, put: Put, *, compact: bool = False) -> int:
    """Write every file of ``layout`` with ``put(key, body)``; returns how many log files it wrote.

    ``compact`` writes one record per file, for layouts of hundreds of thousands of files.
    """
    rng = random.Random(7)
    written = 0
    for key, account, region, at in layout.log_files():
        count = 1 if compact else layout.records_per_file
        put(key, gzip.compress(json.dumps({"Records": [_record(rng, account, region, at, i)
                                                       for i in range(count)]}).encode()))
        written += 1
    root = f"{layout.prefix.strip('/')}/" if layout.prefix.strip("/") else ""
    org = f"{layout.organization}/" if layout.organization else ""
    for account in layout.accounts:
        if layout.digests:
            region = layout.regions[0]
            put(f"{root}AWSLogs/{org}{account}/CloudTrail-Digest/{region}/{layout.start:%Y/%m/%d}/"
                f"{account}_CloudTrail-Digest_{region}_trail_{region}_{layout.start:%Y%m%dT%H%M%SZ}.json.gz",
                gzip.compress(b'{"digestStartTime": "", "logFiles": []}'))
    if layout.stray_object:
        account, region = layout.accounts[0], layout.regions[0]
        put(f"{root}AWSLogs/{org}{account}/CloudTrail/{region}/{layout.start:%Y/%m/%d}/notes.txt", b"not a log")
    return written


def boto3_put(s3: Any, bucket: str) -> Put:
    """``put`` through an S3 client."""
    return lambda key, body: s3.put_object(Bucket=bucket, Key=key, Body=body)


def _record(rng: random.Random, account: str, region: str, at: datetime, index: int) -> dict[str, Any]:
    source, name, read_only = rng.choice(_EVENTS)
    when = at + timedelta(seconds=rng.randrange(0, 300))
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": f"AROAEXAMPLE{index:05d}:session",
                         "arn": f"arn:aws:sts::{account}:assumed-role/Operator/session", "accountId": account},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": f"198.51.100.{rng.randrange(1, 255)}", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"example": index}, "responseElements": None,
        "requestID": f"{rng.getrandbits(64):016x}", "eventID": f"{rng.getrandbits(128):032x}",
        "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": account, "eventCategory": "Management",
    }
