"""One trail log file against what its digest recorded: present, one gzip member, the same SHA-256 uncompressed.

The hash is taken as the object streams, so memory does not grow with the
archive; counting the events of the window needs the file's records, which are
parsed one file at a time.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LogCheck:
    """How one log file fared: ``valid``, ``invalid`` (with why) or ``missing``."""

    key: str
    status: Literal["valid", "invalid", "missing"]
    detail: str = ""
    events_in_window: int = 0


def check(s3: Any, bucket: str, key: str, expected_hash: str, start: datetime, end: datetime,
          *, deep: bool) -> LogCheck:
    """Read ``key`` and compare it with ``expected_hash``; count its events of [start, end). Not ``deep``: only
    that it exists (HeadObject)."""
    try:
        if not deep:
            s3.head_object(Bucket=bucket, Key=key)
            return LogCheck(key, "valid")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as error:
        # GetObject's error answer names NoSuchKey; HeadObject's has no body, so botocore gives its status.
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return LogCheck(key, "missing")
        raise
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    digest = hashlib.sha256()
    kept: list[bytes] = []
    try:
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            if inflater.eof:
                return LogCheck(key, "invalid", "it holds data after its first gzip member")
            data = inflater.decompress(chunk)
            digest.update(data)
            if deep:
                kept.append(data)
        tail = inflater.flush()
    except zlib.error as error:
        return LogCheck(key, "invalid", f"it is not gzip ({error})")
    finally:
        body.close()
    digest.update(tail)
    kept.append(tail)
    if inflater.unused_data:
        return LogCheck(key, "invalid", "it holds data after its first gzip member")
    if not inflater.eof:
        return LogCheck(key, "invalid", "its gzip stream is cut short")
    if digest.hexdigest() != expected_hash:
        return LogCheck(key, "invalid", "its SHA-256 differs from the one its digest recorded")
    return LogCheck(key, "valid", events_in_window=_events(b"".join(kept), start, end) if deep else 0)


def _events(inflated: bytes, start: datetime, end: datetime) -> int:
    try:
        records = json.loads(inflated).get("Records") or []
    except (ValueError, AttributeError):
        return 0
    count = 0
    for record in records:
        text = record.get("eventTime") if isinstance(record, dict) else None
        if isinstance(text, str):
            try:
                when = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                continue
            count += start <= when < end
    return count
