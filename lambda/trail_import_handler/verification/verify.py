"""Verify an archive: every digest chain of the window, every log file the digests name, and every log file
they do not.

Requests run ``workers`` at a time (one S3 client shared by the threads, as
boto3 clients allow; one ListPublicKeys per region). A digest or log file found
wrong is a problem, not an error: the report says which and why. Errors are
what stop verification itself (access denied, a missing bucket).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ..trail_logs import Lister, parse_log_file
from . import chain, digest, layout, log_files
from .chain import Fetched
from .digest import DigestFormatError, DigestName, PublicKeys
from .report import Finding, Report

# A log file written in the window's last hour is named by a digest delivered after the window ends.
AFTER_WINDOW = timedelta(hours=2)
Progress = Callable[[str, int, int], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Archive:
    """What to verify: the bucket, the prefix above ``AWSLogs/``, and the window [start, end)."""

    bucket: str
    prefix: str
    start: datetime
    end: datetime
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}" + (f"/{self.prefix.strip('/')}" if self.prefix.strip("/") else "")


def verify(s3: Any, public_keys: Callable[[str], PublicKeys], archive: Archive, *, deep: bool = True,
           workers: int = 16, progress: Progress | None = None, slices: list[layout.Slice] | None = None,
           part: tuple[datetime, datetime] | None = None) -> Report:
    """Verify ``archive``; ``public_keys(region)`` answers ListPublicKeys for a region (called once each).

    ``slices`` are the archive's (account, region) slices when they are known already, so that they are not
    looked for again. ``part`` is a [start, end) within the window, verified as one of the pieces the window is
    cut into: a digest is counted by the piece it begins in, a log file by the piece its name dates it in, so
    that the pieces' counts add up to the window's; events are counted over the whole window.
    """
    if part is not None and not archive.start <= part[0] < part[1] <= archive.end:
        raise ValueError(f"the part {part[0]:%Y-%m-%dT%H:%M:%SZ} to {part[1]:%Y-%m-%dT%H:%M:%SZ} is not within "
                         f"the window")
    run = _Run(s3, archive, deep, max(1, workers), progress or (lambda phase, done, total: None), part)
    return run.go(public_keys, slices)


class _Run:
    def __init__(self, s3: Any, archive: Archive, deep: bool, workers: int, progress: Progress,
                 part: tuple[datetime, datetime] | None) -> None:
        self.s3, self.archive, self.deep, self.workers, self.progress = s3, archive, deep, workers, progress
        self.start, self.end = part or (archive.start, archive.end)
        # Whether the window goes on before or after what this run verifies: another piece counts what lies there.
        self.before, self.after = self.start > archive.start, self.end < archive.end
        self.lister = Lister(s3, archive.bucket)
        self.report = Report(archive.uri, self.start, self.end, deep=deep)
        self._lock = threading.Lock()

    def go(self, public_keys: Callable[[str], PublicKeys], known: list[layout.Slice] | None) -> Report:
        a = self.archive
        slices = known if known is not None else layout.find_slices(
            self.lister, a.prefix, accounts=a.accounts, regions=a.regions, workers=self.workers)
        listed = self._map(self._list, slices)
        regions = sorted({s.region for s in slices})
        keys = dict(zip(regions, self._map(public_keys, regions), strict=True))
        wanted = [(where, name) for where, (names, _) in zip(slices, listed, strict=True) for name in names
                  if self.start < name.end <= self.end + AFTER_WINDOW]
        fetched = self._map(lambda item: self._fetch(item[1], keys[item[0].region]), wanted, phase="digests")
        by_slice: dict[int, list[Fetched]] = {id(where): [] for where in slices}
        for (where, _), f in zip(wanted, fetched, strict=True):
            by_slice[id(where)].append(f)
        chains: list[tuple[layout.Slice, list[Fetched]]] = []
        for where in slices:
            mine = by_slice[id(where)]
            trails = sorted({f.name.trail for f in mine}) or [""]
            chains += [(where, [f for f in mine if f.name.trail == trail]) for trail in trails]
        predecessors = self._map(lambda c: self._predecessor(c[1], keys[c[0].region]), chains)
        checks: dict[str, tuple[layout.Slice, digest.LogEntry]] = {}
        for (where, trail_chain), predecessor in zip(chains, predecessors, strict=True):
            self._chain(where, trail_chain, predecessor)
        for where, (_, logs) in zip(slices, listed, strict=True):
            checks.update({entry.key: (where, entry) for entry in self._named(where, by_slice[id(where)], set(logs))})
        results = self._map(lambda item: (item[0], log_files.check(self.s3, a.bucket, item[1].key,
                                                                     item[1].hash_value, a.start, a.end,
                                                                     deep=self.deep)),
                            [checks[k] for k in sorted(checks)], phase="log files")
        for where, result in results:
            self._log_result(where, result)
        return self.report

    def _list(self, where: layout.Slice) -> tuple[list[DigestName], list[str]]:
        start, end = self.start, self.end
        names = layout.digest_keys(self.lister, where.digests, start, end + AFTER_WINDOW) if where.digests else []
        logs = layout.log_keys(self.lister, where.logs, start, end) if where.logs else []
        return names, logs

    def _chain(self, where: layout.Slice, fetched: list[Fetched], predecessor: Fetched | None) -> None:
        """The chain's links and coverage; the tally of its digests."""
        a, summary = self.archive, self.report.summary(where.account, where.region)
        if where.digests is None:
            self._problem("no-digests", None, where, f"AWSLogs/.../{where.account}/CloudTrail-Digest/{where.region}/")
            return
        verdict = chain.examine(fetched, predecessor, bucket=a.bucket, account=where.account, region=where.region,
                                start=self.start, end=self.end)
        self.report.problems += verdict.problems
        self.report.notices += verdict.notices
        summary.digests.missing += sum(1 for p in verdict.problems if p.kind == "digest-missing")
        if predecessor is not None and predecessor.problem:
            self._problem("digest-invalid", predecessor.name.key, where, predecessor.problem)
        for f in fetched:
            if f.problem:
                self._problem("digest-invalid", f.name.key, where, f.problem)
            if self._counts(f):
                if f.problem or f.name.key in verdict.bad_keys:
                    summary.digests.invalid += 1
                else:
                    summary.digests.valid += 1

    def _named(self, where: layout.Slice, fetched: list[Fetched], listed: set[str]) -> list[digest.LogEntry]:
        """The log files to check: those the window's digests name, and those of the window named just after it.
        A log file of the window that no digest names is a problem here."""
        summary = self.report.summary(where.account, where.region)
        named: set[str] = set()
        checked: list[digest.LogEntry] = []
        for f in fetched:
            for entry in f.digest.log_files if f.digest else ():
                named.add(entry.key)
                if f.digest is not None and (f.digest.start < self.end or entry.key in listed) and \
                        self._dates(entry.key):
                    checked.append(entry)
        for key in sorted(listed - named):
            summary.log_files.not_covered += 1
            self._problem("log-not-covered", key, where)
        return checked

    def _counts(self, fetched: Fetched) -> bool:
        """Whether this run counts the digest: it begins here (one that could not be read: it ends here)."""
        if fetched.digest is None:
            return not (self.after and fetched.name.end > self.end)
        return fetched.digest.start < self.end and not (self.before and fetched.digest.start < self.start)

    def _dates(self, key: str) -> bool:
        """Whether this run checks the log file: its name dates it here, or the window has no more pieces there."""
        found = parse_log_file(key, 0)
        if found is None:
            return True
        return not (self.before and found.logged_at < self.start) and not (self.after and found.logged_at >= self.end)

    def _log_result(self, where: layout.Slice, result: log_files.LogCheck) -> None:
        summary = self.report.summary(where.account, where.region)
        if result.status == "valid":
            summary.log_files.valid += 1
            summary.events_in_window += result.events_in_window
        elif result.status == "missing":
            summary.log_files.missing += 1
            self._problem("log-missing", result.key, where)
        else:
            summary.log_files.invalid += 1
            self._problem("log-invalid", result.key, where, result.detail)

    def _predecessor(self, fetched: list[Fetched], keys: PublicKeys) -> Fetched | None:
        """The digest before the window's first, outside the window, so that the first link is checked too."""
        present = [(f.name, f.digest) for f in fetched if f.digest is not None and not f.name.backfill]
        if not present:
            return None
        first, earliest = min(present, key=lambda pair: pair[0].end)
        previous_key = earliest.previous_key
        if previous_key is None:
            return None
        if any(f.name.key == previous_key for f in fetched):
            return None
        name = digest.parse_name(previous_key) or DigestName(previous_key, "", "", "", first.end, False)
        return self._fetch(name, keys)

    def _fetch(self, name: DigestName, keys: PublicKeys) -> Fetched:
        try:
            answer = self.s3.get_object(Bucket=self.archive.bucket, Key=name.key)
        except ClientError as error:
            # A GET's error answer carries S3's code; "404" is only a HEAD's (log_files.check without reading).
            if error.response.get("Error", {}).get("Code") == "NoSuchKey":
                return Fetched(name, None, missing=True)
            raise
        stored = answer["Body"].read()
        metadata = {k.lower(): v for k, v in (answer.get("Metadata") or {}).items()}
        try:
            inflated = digest.inflate(stored)
            parsed = digest.parse(inflated)
        except DigestFormatError as error:
            return Fetched(name, None, problem=f"{error}")
        signature = metadata.get("signature")
        sha = hashlib.sha256(inflated).hexdigest()
        problem: str | None
        if parsed.bucket != self.archive.bucket or parsed.key != name.key:
            problem = f"it says it is s3://{parsed.bucket}/{parsed.key}"
        elif not signature:
            problem = "it has no signature metadata"
        elif metadata.get("signature-algorithm", "SHA256withRSA") != "SHA256withRSA":
            problem = f"its signature algorithm is {metadata.get('signature-algorithm')}"
        else:
            problem = keys.problem(parsed, inflated, signature)
        return Fetched(name, parsed, sha, signature, problem)

    def _problem(self, kind: str, key: str | None, where: layout.Slice, detail: str = "") -> None:
        self.report.problems.append(Finding(kind, key, where.account, where.region, detail))

    def _map(self, work: Callable[[T], R], items: list[T], phase: str = "") -> list[R]:
        done = [0]

        def one(item: T) -> R:
            result = work(item)
            with self._lock:
                done[0] += 1
                if phase:
                    self.progress(phase, done[0], len(items))
            return result

        if len(items) <= 1:
            return [one(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(one, items))
