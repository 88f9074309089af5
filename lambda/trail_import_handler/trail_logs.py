"""Where CloudTrail writes trail log files in S3, and how to find those of a window without listing everything.

Layout: ``[prefix/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz``. Accounts and regions
are found with delimiter listings; inside a region, one listing starts just
before the window's first day and stops after its last, so a window of days
costs a page or two per region, whatever the bucket holds besides.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .properties import ImportSource, ImportWindow

_LOG_FILE = re.compile(
    r"(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$"
)
ACCOUNT_NAME = re.compile(r"^\d{12}$")
ORGANIZATION_NAME = re.compile(r"^o-[a-z0-9]{10,32}$")
_DAY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/[^/]*$")


@dataclass(frozen=True)
class TrailLogFile:
    """One trail log file the import would read."""

    key: str
    size: int
    account: str
    region: str
    logged_at: datetime


@dataclass
class Findings:
    """What the listings found under the source."""

    files: list[TrailLogFile] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    digest_prefixes: list[str] = field(default_factory=list)
    other_objects: list[str] = field(default_factory=list)
    list_requests: int = 0

    @property
    def compressed_bytes(self) -> int:
        return sum(f.size for f in self.files)


def parse_log_file(key: str, size: int) -> TrailLogFile | None:
    """The trail log file at ``key``, or None when the name is not one CloudTrail writes."""
    match = _LOG_FILE.search(key)
    if match is None:
        return None
    logged_at = datetime.strptime(match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    return TrailLogFile(key, size, match["account"], match["region"], logged_at)


def in_window(logged_at: datetime, window: ImportWindow) -> bool:
    """CloudTrail reads a file when the date in its name is within the window."""
    return (window.start is None or logged_at >= window.start) and (window.end is None or logged_at <= window.end)


class Lister:
    """Counts the list requests it makes, so that their cost can be reported and tested."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.requests = 0
        self._lock = threading.Lock()

    def children(self, prefix: str) -> tuple[list[str], list[str]]:
        """The sub-prefixes and the object keys directly under ``prefix``."""
        prefixes: list[str] = []
        keys: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            keys += [o["Key"] for o in page.get("Contents", [])]
        return prefixes, keys

    def objects(self, prefix: str, start_after: str = "", stop_after: str = "") -> Iterator[dict[str, Any]]:
        """Objects under ``prefix`` in key order, from ``start_after`` until a key passes ``stop_after``."""
        extra = {"StartAfter": start_after} if start_after else {}
        for page in self._pages(Prefix=prefix, **extra):
            for item in page.get("Contents", []):
                if stop_after and item["Key"] > stop_after:
                    return
                yield item

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            with self._lock:
                self.requests += 1
            page = self.s3.list_objects_v2(Bucket=self.bucket, **kwargs,
                                           **({"ContinuationToken": token} if token else {}))
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return


def find_log_files(s3: Any, source: ImportSource, window: ImportWindow, *, workers: int = 8,
                   enough: int | None = None) -> Findings:
    """The trail log files of the window under ``source``, with digest and stray objects flagged.

    With ``enough`` (the handler's cheap check), accounts and regions are walked one at a time, in key order,
    and the walk stops as soon as that many files are found: its requests do not grow with the number of
    accounts and regions. Without it (the whole preflight), accounts are listed ``workers`` at a time, then
    regions.
    """
    lister = Lister(s3, source.bucket)
    findings = Findings()
    base = source.prefix.strip("/")
    root = f"{base}/" if base else ""
    if "AWSLogs/" not in root:
        root += "AWSLogs/"
    if enough is not None:
        for region in _regions(lister, root, findings):
            files, strays = _region_files(lister, region, window, enough - len(findings.files))
            findings.regions.append(_name(region))
            findings.files += files
            findings.other_objects += strays
            if len(findings.files) >= enough:
                break
    else:
        regions = list(_regions(lister, root, findings, workers=workers))
        findings.regions = sorted({_name(r) for r in regions})
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(regions) or 1))) as pool:
            for files, strays in pool.map(lambda prefix: _region_files(lister, prefix, window, None), regions):
                findings.files += files
                findings.other_objects += strays
    findings.files.sort(key=lambda f: f.key)
    findings.list_requests = lister.requests
    return findings


@dataclass
class _Account:
    """What one account's prefix holds: its CloudTrail region prefixes, digests, and anything else."""

    regions: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)


def _regions(lister: Lister, root: str, findings: Findings, *, workers: int | None = None) -> Iterator[str]:
    """``.../CloudTrail/REGION/`` prefixes under ``root`` in key order: lazily, or ``workers`` accounts at a time."""
    after = root.split("AWSLogs/", 1)[1]
    parts = after.strip("/").split("/") if after else []
    if len(parts) >= 3 and parts[-2] == "CloudTrail":
        yield root
        return
    if parts and parts[-1] == "CloudTrail":
        yield from lister.children(root)[0]
        return
    accounts = iter([root]) if parts and ACCOUNT_NAME.fullmatch(parts[-1]) else _accounts(lister, root, findings)
    if workers is None:
        for prefix in accounts:
            yield from _take(findings, _account(lister, prefix))
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for account in pool.map(lambda prefix: _account(lister, prefix), list(accounts)):
            yield from _take(findings, account)


def _accounts(lister: Lister, prefix: str, findings: Findings) -> Iterator[str]:
    """Account prefixes under ``prefix``, through organization prefixes, lazily and in key order."""
    children, strays = lister.children(prefix)
    findings.other_objects += strays
    for child in children:
        name = _name(child)
        if ACCOUNT_NAME.fullmatch(name):
            yield child
        elif ORGANIZATION_NAME.fullmatch(name):
            yield from _accounts(lister, child, findings)
        else:
            findings.other_objects.append(child)


def _account(lister: Lister, prefix: str) -> _Account:
    services, strays = lister.children(prefix)
    account = _Account(others=strays)
    for service in services:
        name = _name(service)
        if name == "CloudTrail":
            account.regions += lister.children(service)[0]
        elif name == "CloudTrail-Digest":
            account.digests.append(service)
        else:
            account.others.append(service)
    return account


def _take(findings: Findings, account: _Account) -> list[str]:
    """Record the account's digests and stray objects; its region prefixes."""
    findings.digest_prefixes += account.digests
    findings.other_objects += account.others
    return account.regions


def _name(prefix: str) -> str:
    return prefix.rstrip("/").rsplit("/", 1)[-1]


def _region_files(lister: Lister, region_prefix: str, window: ImportWindow,
                  enough: int | None) -> tuple[list[TrailLogFile], list[str]]:
    start_after = _day_prefix(region_prefix, window.start - timedelta(days=1)) + "~" if window.start else ""
    stop_after = _day_prefix(region_prefix, window.end) + "~" if window.end else ""
    files: list[TrailLogFile] = []
    strays: list[str] = []
    for item in lister.objects(region_prefix, start_after, stop_after):
        found = parse_log_file(item["Key"], int(item.get("Size", 0)))
        if found is None:
            strays.append(item["Key"])
        elif in_window(found.logged_at, window):
            files.append(found)
            if enough is not None and len(files) >= enough:
                break
    return files, strays


def _day_prefix(region_prefix: str, day: datetime) -> str:
    return f"{region_prefix}{day:%Y/%m/%d}/"
