"""One digest chain (a trail's digests of one account and region): its links, and the hours it accounts for.

Pure: it is given what was fetched and says what is wrong. Each digest names
its predecessor by key, signature and SHA-256; a digest whose predecessor is
absent names the missing one; hours of the window that no digest covers are
problems unless the chain restarted there (all previous* fields null), which
is a notice: logging or validation was off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .digest import Digest, DigestName
from .report import Finding

_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class Fetched:
    """A digest as fetched: its content when it could be read, and whether it is to be trusted."""

    name: DigestName
    digest: Digest | None
    inflated_sha256: str | None = None
    signature: str | None = None
    problem: str | None = None
    """Why it cannot be trusted (signature, format, bucket), or None."""
    missing: bool = False


@dataclass
class ChainVerdict:
    problems: list[Finding]
    notices: list[Finding]
    bad_keys: set[str]
    """Digests found wrong through their successor's record of them."""


def examine(chain: list[Fetched], predecessor: Fetched | None, *, bucket: str, account: str, region: str,
            start: datetime, end: datetime) -> ChainVerdict:
    """Check the links of ``chain`` (the window's digests of one trail) and that its digests cover [start, end)."""
    verdict = ChainVerdict([], [], set())
    present = [(f, f.digest) for f in chain if f.digest is not None and not f.name.backfill]
    by_key = {f.name.key: f for f in (*chain, *([predecessor] if predecessor else []))}
    reported: set[str] = set()

    def problem(kind: str, key: str | None, detail: str = "") -> None:
        verdict.problems.append(Finding(kind, key, account, region, detail))

    for current, digest in present:
        if digest.restarts:
            continue
        if digest.previous_bucket not in (None, bucket):
            problem("digest-invalid", current.name.key, f"it names its predecessor in bucket {digest.previous_bucket}")
            continue
        previous = by_key.get(digest.previous_key or "")
        if previous is None or previous.missing:
            if digest.previous_key and digest.previous_key not in reported:
                reported.add(digest.previous_key)
                problem("digest-missing", digest.previous_key)
            continue
        mismatch = _link_mismatch(previous, digest)
        if mismatch:
            verdict.bad_keys.add(previous.name.key)
            problem("digest-link", previous.name.key, mismatch)

    # The predecessor ends where the window's first digest begins: it counts for the first link, not for coverage.
    cursor = start  # the window is accounted for up to here
    last_end: datetime | None = None  # where the latest digest so far ends
    for fetched, digest in sorted(present, key=lambda pair: pair[1].start):
        gap = digest.start > cursor + _SLACK and cursor < end
        if digest.restarts and (gap or start <= digest.start < end):
            # Logging or validation was off: hours without digests before it are a notice, not a problem.
            verdict.notices.append(Finding("chain-restart", fetched.name.key, account, region,
                                           _before_restart(last_end, digest.start)))
        elif gap:
            problem("hours-not-covered", None, f"{_show(cursor)} to {_show(min(digest.start, end))} (the hours "
                    f"before {fetched.name.key})")
        cursor = max(cursor, digest.end)
        last_end = digest.end if last_end is None else max(last_end, digest.end)
    if cursor + _SLACK < end:
        problem("hours-not-covered", None, f"{_show(cursor)} to {_show(end)}")
    return verdict


def _link_mismatch(previous: Fetched, digest: Digest) -> str:
    if previous.digest is None:
        return ""
    wrong = []
    if digest.previous_hash and previous.inflated_sha256 and digest.previous_hash != previous.inflated_sha256:
        wrong.append("its SHA-256")
    if digest.previous_signature and previous.signature and digest.previous_signature != previous.signature:
        wrong.append("its signature")
    return " and ".join(wrong) + f" differ from what {digest.key} recorded" if wrong else ""


def _before_restart(last_end: datetime | None, restart: datetime) -> str:
    if last_end is None:
        return "it names no predecessor"
    if restart > last_end + _SLACK:
        return f"no digest from {_show(last_end)} to {_show(restart)}"
    return f"the digest before it ends at {_show(last_end)}"


def _show(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
