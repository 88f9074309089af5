"""CloudTrail's digest files: their names, their fields, the string CloudTrail signs, and checking the signature.

A digest is written every hour per trail, account and region (CloudTrail User
Guide, "CloudTrail digest file structure"); its signature is S3 object
metadata, over ``digestEndTime``, the digest's own bucket and key, the SHA-256
of its uncompressed bytes and the previous digest's signature. The RSA check
is the ``cryptography`` package's (PKCS #1 v1.5 with SHA-256), never ours.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_SIGNING_DELAY = timedelta(hours=2)
# How far beyond a window ListPublicKeys is asked: the AWS CLI asks two hours past it; this covers a signing delay too.
KEY_MARGIN = timedelta(hours=4)
DIGEST_NAME = re.compile(
    rf"(?P<account>\d{{12}})_CloudTrail-Digest_(?P<region>{_REGION})_(?P<trail>.+)_(?P<home>{_REGION})_"
    r"(?P<stamp>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json\.gz$")


@dataclass(frozen=True)
class DigestName:
    """What a digest's key says: whose, which trail, and when its hour ended."""

    key: str
    account: str
    region: str
    trail: str
    end: datetime
    backfill: bool


def parse_name(key: str) -> DigestName | None:
    """The digest named by ``key``, or None when it is no digest key."""
    match = DIGEST_NAME.search(key.rsplit("/", 1)[-1])
    if match is None:
        return None
    end = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return DigestName(key, match["account"], match["region"], match["trail"], end, bool(match["backfill"]))


@dataclass(frozen=True)
class LogEntry:
    """One log file a digest names (in the digest's bucket), with the SHA-256 of its uncompressed bytes."""

    key: str
    hash_value: str


@dataclass(frozen=True)
class Digest:
    """The fields of one digest that verification reads."""

    start: datetime
    end: datetime
    end_text: str
    bucket: str
    key: str
    fingerprint: str
    previous_bucket: str | None
    previous_key: str | None
    previous_hash: str | None
    previous_signature: str | None
    log_files: tuple[LogEntry, ...]

    @property
    def restarts(self) -> bool:
        """True when the chain starts afresh here (logging or validation was turned on again)."""
        return self.previous_key is None and self.previous_signature is None


class DigestFormatError(ValueError):
    """The object is not a digest CloudTrail writes."""


def inflate(stored: bytes) -> bytes:
    """The digest's uncompressed bytes, exactly as CloudTrail hashed them."""
    try:
        return gzip.decompress(stored)
    except (OSError, EOFError, zlib.error) as error:
        raise DigestFormatError(f"it is not gzip ({error})") from None


def parse(inflated: bytes) -> Digest:
    """The digest in ``inflated``; raises ``DigestFormatError`` naming what is wrong."""
    try:
        data = json.loads(inflated)
    except (ValueError, UnicodeDecodeError) as error:
        raise DigestFormatError(f"it is not JSON ({error})") from None
    if not isinstance(data, dict):
        raise DigestFormatError("it is not a JSON object")
    try:
        logs = tuple(LogEntry(str(f["s3Object"]), str(f["hashValue"]))
                     for f in data.get("logFiles") or [])
        return Digest(
            start=_time(data["digestStartTime"]), end=_time(data["digestEndTime"]),
            end_text=str(data["digestEndTime"]), bucket=str(data["digestS3Bucket"]), key=str(data["digestS3Object"]),
            fingerprint=str(data["digestPublicKeyFingerprint"]),
            previous_bucket=data.get("previousDigestS3Bucket"), previous_key=data.get("previousDigestS3Object"),
            previous_hash=data.get("previousDigestHashValue"),
            previous_signature=data.get("previousDigestSignature"), log_files=logs)
    except (KeyError, TypeError, ValueError) as error:
        raise DigestFormatError(f"a field is missing or malformed ({error})") from None


def signing_string(digest: Digest, inflated: bytes) -> bytes:
    """What CloudTrail signs ("Custom implementations of CloudTrail log file integrity validation")."""
    previous = digest.previous_signature if digest.previous_signature is not None else "null"
    text = f"{digest.end_text}\n{digest.bucket}/{digest.key}\n{hashlib.sha256(inflated).hexdigest()}\n{previous}"
    return text.encode()


@dataclass(frozen=True)
class PublicKey:
    """One key of ListPublicKeys: the DER bytes (PKCS #1 RSAPublicKey) and when it signed."""

    fingerprint: str
    der: bytes
    valid_from: datetime | None
    valid_until: datetime | None


class PublicKeys:
    """A region's published keys, by fingerprint."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self._keys = {k.fingerprint: k for k in keys}

    @classmethod
    def from_answer(cls, answers: Iterable[Mapping[str, Any]]) -> PublicKeys:
        """From ListPublicKeys pages (boto3 hands ``Value`` over as bytes)."""
        return cls(PublicKey(str(k["Fingerprint"]), bytes(k["Value"]), k.get("ValidityStartTime"),
                             k.get("ValidityEndTime"))
                   for page in answers for k in page.get("PublicKeyList", []))

    @classmethod
    def fetch(cls, cloudtrail: Any, start: datetime, end: datetime) -> PublicKeys:
        """The keys that ``cloudtrail`` (a client of the digests' region) lists for [start, end], with a margin:
        a digest near the window's edge may be signed by the key of the hours beyond it."""
        pages, token = [], None
        while True:
            page = cloudtrail.list_public_keys(StartTime=start - KEY_MARGIN, EndTime=end + KEY_MARGIN,
                                               **({"NextToken": token} if token else {}))
            pages.append(page)
            token = page.get("NextToken")
            if not token:
                return cls.from_answer(pages)

    def record(self) -> list[dict[str, Any]]:
        """The keys as JSON-ready data that ``from_record`` reads back."""
        return [{"fingerprint": k.fingerprint, "der": base64.b64encode(k.der).decode(),
                 "validFrom": k.valid_from.isoformat() if k.valid_from else None,
                 "validUntil": k.valid_until.isoformat() if k.valid_until else None} for k in self._keys.values()]

    @classmethod
    def from_record(cls, data: Iterable[Mapping[str, Any]]) -> PublicKeys:
        """The keys ``record`` wrote."""
        def time(text: str | None) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        return cls(PublicKey(str(k["fingerprint"]), base64.b64decode(k["der"]), time(k["validFrom"]),
                             time(k["validUntil"])) for k in data)

    def problem(self, digest: Digest, inflated: bytes, signature_hex: str) -> str | None:
        """Why ``digest`` is not signed by a published key of its region, or None when it is."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        key = self._keys.get(digest.fingerprint)
        if key is None:
            return f"no public key of its region has fingerprint {digest.fingerprint}"
        # A digest is signed after its hour ends, up to about an hour later: around a key's rotation its end time
        # may lie just outside the key's validity (the AWS CLI asks for keys until two hours past the window).
        if (key.valid_from and digest.end < key.valid_from - _SIGNING_DELAY) or \
                (key.valid_until and digest.end > key.valid_until + _SIGNING_DELAY):
            return f"key {digest.fingerprint} was not valid at {digest.end_text}"
        try:
            signature = bytes.fromhex(signature_hex)
            public = serialization.load_der_public_key(key.der)
        except ValueError as error:
            return f"its signature or key cannot be read ({error})"
        if not isinstance(public, rsa.RSAPublicKey):
            return f"key {digest.fingerprint} is not an RSA key"
        try:
            public.verify(signature, signing_string(digest, inflated), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "its signature does not match its content"
        return None


def _time(text: object) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
