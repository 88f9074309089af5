"""A CloudTrail-like trail archive in an S3 bucket, its hourly digests signed with a test RSA key.

The layout, fields and signature are those of the CloudTrail User Guide
("CloudTrail digest file structure", "Custom implementations of CloudTrail log
file integrity validation"), and AWS's own ``aws cloudtrail validate-logs``
accepts the archive as valid (tests/test_verification_judge.py). Publish the
key with ``simulator.public_keys.append(key.entry())``; the tampering methods
change the archive one way each, as an auditor's tests need. The signing
string is written out here again, apart from the verifier's: a test's
expected values must not come from the code under test.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_DIGEST_MINUTE = timedelta(minutes=7, seconds=13)  # CloudTrail's hours end at no round minute


@dataclass
class SigningKey:
    """A test key pair, as CloudTrail keeps one per region: its fingerprint and when it signs."""

    valid_from: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    """The start of the key's validity, as ListPublicKeys gives it."""
    valid_until: datetime = datetime(2100, 1, 1, tzinfo=UTC)
    """The end of the key's validity, as ListPublicKeys gives it."""
    bits: int = 2048
    """The RSA key's size in bits."""
    _private: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._private = rsa.generate_private_key(public_exponent=65537, key_size=self.bits)

    @property
    def der(self) -> bytes:
        """The public key as ListPublicKeys gives it: PKCS #1 RSAPublicKey, DER."""
        from cryptography.hazmat.primitives import serialization

        return bytes(self._private.public_key().public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.PKCS1))

    @property
    def fingerprint(self) -> str:
        """The key's fingerprint as digests name it (digestPublicKeyFingerprint): the MD5 of its DER form, in hex."""
        return hashlib.md5(self.der, usedforsecurity=False).hexdigest()

    def sign(self, message: bytes) -> str:
        """The signature of message as CloudTrail signs a digest: RSA PKCS #1 v1.5 with SHA-256, in hex."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return bytes(self._private.sign(message, padding.PKCS1v15(), hashes.SHA256())).hex()

    def entry(self) -> dict[str, Any]:
        """This key as one entry of ListPublicKeys."""
        return {"Value": self.der, "ValidityStartTime": self.valid_from, "ValidityEndTime": self.valid_until,
                "Fingerprint": self.fingerprint}


@dataclass
class _Chain:
    previous: tuple[str, str, str] | None = None  # key, inflated SHA-256, signature


class SignedArchive:
    """Writes trail log files and their signed digests to ``bucket`` through ``s3`` (a boto3 client)."""

    def __init__(self, s3: Any, bucket: str, *, prefix: str = "", organization: str | None = None,
                 trail: str = "management-events", home_region: str = "us-east-1",
                 key: SigningKey | None = None) -> None:
        self.s3, self.bucket, self.trail, self.home_region = s3, bucket, trail, home_region
        self.root = (prefix.strip("/") + "/" if prefix.strip("/") else "") + "AWSLogs/" + \
            (f"{organization}/" if organization else "")
        """The prefix the accounts' logs are under: PREFIX/AWSLogs/ (with the organization's id, if any)."""
        self.key = key or SigningKey()
        """The key the digests are signed with; its public half is what ListPublicKeys should answer."""
        self.log_keys: list[str] = []
        """The keys of the log files written, in order."""
        self.digest_keys: list[str] = []
        """The keys of the digests written, in order."""
        self.events = 0
        """The events the log files written hold, in all."""
        self._chains: dict[tuple[str, str], _Chain] = {}
        self._hashes: dict[str, str] = {}

    def write(self, accounts: list[str], regions: list[str], start: datetime, hours: int, *,
              logs_per_hour: int = 1, events_per_log: int = 3, off_hours: frozenset[int] = frozenset(),
              key: SigningKey | None = None) -> None:
        """``hours`` hours from ``start`` for each account and region. In ``off_hours`` logging is off: no logs,
        no digests, and the next digest starts its chain afresh."""
        for account in accounts:
            for region in regions:
                for hour in range(hours):
                    chain = self._chains.setdefault((account, region), _Chain())
                    if hour in off_hours:
                        chain.previous = None
                        continue
                    begins = start + timedelta(hours=hour) + (_DIGEST_MINUTE if hour else timedelta())
                    ends = start + timedelta(hours=hour + 1) + _DIGEST_MINUTE
                    logs = [self._log(account, region, begins + (ends - begins) * (i + 1) / (logs_per_hour + 1),
                                      events_per_log) for i in range(logs_per_hour)]
                    self._digest(account, region, chain, begins, ends, logs, key or self.key)

    # --- tampering -----------------------------------------------------------------------------
    def modify_log(self, key: str) -> None:
        """Add a record to a log file, re-compressed: its hash no longer matches."""
        data = json.loads(gzip.decompress(self._get(key)))
        data["Records"].append(dict(data["Records"][0], eventID=str(uuid.uuid4())))
        self._put(key, gzip.compress(json.dumps(data).encode()))

    def delete(self, key: str) -> None:
        """Delete the object at key, as someone tampering with the archive would."""
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def modify_digest(self, key: str) -> None:
        """Change a digest's content and keep its old signature."""
        answer = self.s3.get_object(Bucket=self.bucket, Key=key)
        data = json.loads(gzip.decompress(answer["Body"].read()))
        data["newestEventTime"] = "2001-01-01T00:00:00Z"
        self._put(key, gzip.compress(json.dumps(data).encode()), answer.get("Metadata"))

    def add_unnamed_log(self, account: str, region: str, when: datetime) -> str:
        """A log file in CloudTrail's layout that no digest names."""
        return self._log(account, region, when, 1)

    def append_gzip_member(self, key: str) -> None:
        """A second gzip member after the log file's own: the hash of the first still matches."""
        self._put(key, self._get(key) + gzip.compress(b'{"Records": []}'))

    def resign(self, key: str, with_key: SigningKey) -> None:
        """Sign a digest again with another key (naming that key's fingerprint)."""
        data = json.loads(gzip.decompress(self._get(key)))
        data["digestPublicKeyFingerprint"] = with_key.fingerprint
        inflated = json.dumps(data).encode()
        self._put(key, gzip.compress(inflated), {"signature": with_key.sign(_signing_string(data, inflated)),
                                                 "signature-algorithm": "SHA256withRSA"})

    def remove_signature(self, key: str) -> None:
        """Write the digest at key again without its signature metadata."""
        self._put(key, self._get(key), {})

    def replace(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
        """Put ``body`` at ``key`` (a digest that is not JSON or not gzip, say), keeping its metadata."""
        kept = self.s3.head_object(Bucket=self.bucket, Key=key).get("Metadata")
        self._put(key, body, kept if metadata is None else metadata)

    # --- writing -------------------------------------------------------------------------------
    def _log(self, account: str, region: str, when: datetime, events: int) -> str:
        records = [{"eventVersion": "1.09", "eventTime": (when - timedelta(seconds=30 + i)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"), "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                    "awsRegion": region, "sourceIPAddress": "192.0.2.10", "userAgent": "signed-archive",
                    "eventID": str(uuid.uuid4()), "eventType": "AwsApiCall", "recipientAccountId": account,
                    "userIdentity": {"type": "AWSAccount", "accountId": account}} for i in range(events)]
        key = (f"{self.root}{account}/CloudTrail/{region}/{when:%Y/%m/%d}/{account}_CloudTrail_{region}_"
               f"{when:%Y%m%dT%H%M}Z_{uuid.uuid4().hex[:16]}.json.gz")
        inflated = json.dumps({"Records": records}).encode()
        self._put(key, gzip.compress(inflated))
        self.log_keys.append(key)
        self.events += events
        self._hashes[key] = hashlib.sha256(inflated).hexdigest()
        return key

    def _digest(self, account: str, region: str, chain: _Chain, begins: datetime, ends: datetime, logs: list[str],
                key: SigningKey) -> None:
        name = (f"{self.root}{account}/CloudTrail-Digest/{region}/{ends:%Y/%m/%d}/{account}_CloudTrail-Digest_"
                f"{region}_{self.trail}_{self.home_region}_{ends:%Y%m%dT%H%M%S}Z.json.gz")
        previous = chain.previous
        data = {
            "awsAccountId": account, "digestStartTime": _text(begins), "digestEndTime": _text(ends),
            "digestS3Bucket": self.bucket, "digestS3Object": name, "digestPublicKeyFingerprint": key.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": _text(ends) if logs else None, "oldestEventTime": _text(begins) if logs else None,
            "previousDigestS3Bucket": self.bucket if previous else None,
            "previousDigestS3Object": previous[0] if previous else None,
            "previousDigestHashValue": previous[1] if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous[2] if previous else None,
            "logFiles": [{"s3Bucket": self.bucket, "s3Object": log, "hashValue": self._hashes[log],
                          "hashAlgorithm": "SHA-256", "newestEventTime": _text(ends), "oldestEventTime": _text(begins)}
                         for log in logs],
        }
        inflated = json.dumps(data).encode()
        signature = key.sign(_signing_string(data, inflated))
        self._put(name, gzip.compress(inflated), {"signature": signature, "signature-algorithm": "SHA256withRSA"})
        chain.previous = (name, hashlib.sha256(inflated).hexdigest(), signature)
        self.digest_keys.append(name)

    def _get(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def _put(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=metadata or {})


def _signing_string(data: dict[str, Any], inflated: bytes) -> bytes:
    previous = data["previousDigestSignature"] if data["previousDigestSignature"] is not None else "null"
    return (f"{data['digestEndTime']}\n{data['digestS3Bucket']}/{data['digestS3Object']}\n"
            f"{hashlib.sha256(inflated).hexdigest()}\n{previous}").encode()


def _text(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
