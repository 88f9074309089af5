"""Where an archive's digests and log files are: its (account, region) slices, and a window's keys in each.

``[prefix/]AWSLogs/[o-ORG/]ACCOUNT/{CloudTrail,CloudTrail-Digest}/REGION/YYYY/MM/DD/``:
accounts and regions come from delimiter listings (organization prefixes
included), and inside a region one listing runs from the day before the
window to its last day, as the preflight lists (``trail_logs``).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..trail_logs import ACCOUNT_NAME, ORGANIZATION_NAME, Lister, parse_log_file
from .digest import DigestName, parse_name


@dataclass(frozen=True)
class Slice:
    """One account and region of the archive: where its logs and its digests are."""

    account: str
    region: str
    logs: str | None
    digests: str | None


def find_slices(lister: Lister, prefix: str, *, accounts: Iterable[str] = (), regions: Iterable[str] = (),
                workers: int = 8) -> list[Slice]:
    """Every (account, region) under ``prefix`` with logs or digests, limited to ``accounts`` and ``regions``."""
    base = prefix.strip("/")
    root = (f"{base}/" if base else "") + ("" if base.endswith("AWSLogs") else "AWSLogs/")
    wanted_accounts, wanted_regions = set(accounts), set(regions)
    found = [a for a in _accounts(lister, root) if not wanted_accounts or _name(a) in wanted_accounts]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(found) or 1))) as pool:
        per_account = list(pool.map(lambda a: _account_slices(lister, a), found))
    return sorted((s for slices in per_account for s in slices if not wanted_regions or s.region in wanted_regions),
                  key=lambda s: (s.account, s.region))


def digest_keys(lister: Lister, digests: str, start: datetime, end: datetime) -> list[DigestName]:
    """The digests of a region whose names date them from the day before ``start`` to the day of ``end``."""
    return [name for item in lister.objects(digests, _day(digests, start - timedelta(days=1)),
                                            _day(digests, end) + "~")
            if (name := parse_name(item["Key"])) is not None]


def log_keys(lister: Lister, logs: str, start: datetime, end: datetime) -> list[str]:
    """The trail log files of a region whose names date them within [start, end)."""
    keys = []
    for item in lister.objects(logs, _day(logs, start - timedelta(days=1)), _day(logs, end) + "~"):
        found = parse_log_file(item["Key"], int(item.get("Size", 0)))
        if found is not None and start <= found.logged_at < end:
            keys.append(found.key)
    return keys


def _accounts(lister: Lister, prefix: str) -> list[str]:
    children, _ = lister.children(prefix)
    found = []
    for child in children:
        name = _name(child)
        if ACCOUNT_NAME.fullmatch(name):
            found.append(child)
        elif ORGANIZATION_NAME.fullmatch(name):
            found += _accounts(lister, child)
    return found


def _account_slices(lister: Lister, account_prefix: str) -> list[Slice]:
    services, _ = lister.children(account_prefix)
    by_region: dict[str, dict[str, str]] = {}
    for service in services:
        kind = _name(service)
        if kind in ("CloudTrail", "CloudTrail-Digest"):
            for region in lister.children(service)[0]:
                by_region.setdefault(_name(region), {})[kind] = region
    account = _name(account_prefix)
    return [Slice(account, region, where.get("CloudTrail"), where.get("CloudTrail-Digest"))
            for region, where in by_region.items()]


def _day(prefix: str, day: datetime) -> str:
    return f"{prefix}{day:%Y/%m/%d}/"


def _name(prefix: str) -> str:
    return prefix.rstrip("/").rsplit("/", 1)[-1]
