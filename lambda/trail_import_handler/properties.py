"""Parse and validate the resource properties CloudFormation sends.

CloudFormation sends every property value as a string, so each one is parsed
here, once, into a frozen ``ImportProperties``. Every rejection names the
property, the value it got and the form it expects, before any API call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ImportResourceError

# Keys CloudFormation or the CDK add on their own; accepted and ignored.
CLOUDFORMATION_KEYS = frozenset({"ServiceToken", "ServiceTimeout"})
"""The properties CloudFormation itself reads from a custom resource, and sends along."""

# The rules of each value, written as the registry type's schema states them too (its "pattern", "maximum" and
# "maxLength"): a test proves that the schema and this parser accept the same values. Patterns end in
# (?![\s\S]), the very end of the text, because "$" also matches before a final line break (Python, Java).
_END = r"(?![\s\S])"
_REGION_NAME = r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}"
EVENT_DATA_STORE_ARN = (rf"^arn:aws[a-z-]*:cloudtrail:{_REGION_NAME}:[0-9]{{12}}:eventdatastore/"
                        rf"[A-Za-z0-9_.-]{{1,128}}{_END}")
ROLE_ARN = rf"^arn:aws[a-z-]*:iam::[0-9]{{12}}:role/[A-Za-z0-9_+=,.@/-]{{1,512}}{_END}"
REGION = rf"^{_REGION_NAME}{_END}"
MAX_PREFIX = 1024
# A bucket name (3-63 characters, no ".."), then an optional prefix: no "//", no control characters.
S3_LOCATION_URI = (rf"^s3://(?![^/]*\.\.)(?![\s\S]*//)[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]"
                   rf"(/[^\x00-\x1f]{{0,{MAX_PREFIX}}})?{_END}")
EVENT_TIME = (r"^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
              rf"(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]){_END}")
MAX_FAILED_ENTRIES = 2**63 - 1  # ImportStatistics.FailedEntries is a long (model)
MAX_RETRY_TOKEN = 256

_EVENT_DATA_STORE_ARN = re.compile(EVENT_DATA_STORE_ARN)
_ROLE_ARN = re.compile(ROLE_ARN)
_REGION = re.compile(REGION)
_S3_LOCATION_URI = re.compile(S3_LOCATION_URI)
_EVENT_TIME = re.compile(EVENT_TIME)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class ImportSource:
    """Where the trail logs are: an ``s3://bucket[/prefix]`` URI and its region."""

    uri: str
    region: str
    access_role_arn: str

    @property
    def bucket(self) -> str:
        """The bucket name."""
        return self.uri[len("s3://") :].split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The key prefix inside the bucket ("" for the whole bucket)."""
        parts = self.uri[len("s3://") :].split("/", 1)
        return parts[1] if len(parts) == 2 else ""


@dataclass(frozen=True)
class ImportWindow:
    """The time window of the import; ``None`` leaves that side open."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class VerifiedCounts:
    """What the deploy's verification proved of the window, to be set beside what the import copied."""

    log_files: int
    events: int
    strict: bool = False
    """Fail the resource when the import's events differ from the events verified (ReconcileStrictly)."""


@dataclass(frozen=True)
class ImportProperties:
    """The parsed properties of one ``Custom::CloudTrailLakeImport``."""

    destination: str
    source: ImportSource
    window: ImportWindow
    wait_for_completion: bool
    max_failed_entries: int
    retry_token: str
    preflight: bool = True
    verified: VerifiedCounts | None = None

    def same_import_as(self, other: ImportProperties) -> bool:
        """True when both describe the same data: destination, source and window.

        The access role is left out on purpose: a role CloudFormation replaced
        reads the same logs, and a new import would duplicate every event.
        """
        return (
            self.destination == other.destination
            and self.source.uri == other.source.uri
            and self.source.region == other.source.region
            and self.window == other.window
        )


def parse_properties(raw: Mapping[str, Any] | None) -> ImportProperties:
    """Parse ``ResourceProperties`` into ``ImportProperties`` or raise ``ImportResourceError``."""
    if not isinstance(raw, Mapping):
        raise ImportResourceError(
            f"ResourceProperties: expected an object of properties; got {_show(raw)}."
        )
    _reject_unknown(raw)
    destination = _match(
        raw, "EventDataStoreArn", _EVENT_DATA_STORE_ARN,
        "an event data store ARN such as arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE-id",
    )
    source = ImportSource(
        uri=_s3_uri(raw),
        region=_match(raw, "S3BucketRegion", _REGION, "an AWS region name such as us-east-1"),
        access_role_arn=_match(raw, "S3BucketAccessRoleArn", _ROLE_ARN,
                               "an IAM role ARN such as arn:aws:iam::111122223333:role/ImportRole"),
    )
    window = ImportWindow(start=_time(raw, "StartEventTime"), end=_time(raw, "EndEventTime"))
    if window.start and window.end and window.start >= window.end:
        raise ImportResourceError(
            f"StartEventTime ({window.start.isoformat()}) must be before EndEventTime ({window.end.isoformat()})."
        )
    return ImportProperties(
        destination=destination,
        source=source,
        window=window,
        wait_for_completion=_boolean(raw, "WaitForCompletion", default=True),
        max_failed_entries=_whole_number(raw, "MaxFailedEntries", default=0),
        retry_token=_retry_token(raw),
        preflight=_boolean(raw, "Preflight", default=True),
        verified=_verified(raw),
    )


def _verified(raw: Mapping[str, Any]) -> VerifiedCounts | None:
    given = [name for name in ("VerifiedLogFiles", "VerifiedEvents") if raw.get(name) not in (None, "")]
    if not given:
        if raw.get("ReconcileStrictly") not in (None, ""):
            raise ImportResourceError("ReconcileStrictly: give VerifiedLogFiles and VerifiedEvents too, the counts "
                                      "of the verification to reconcile with.")
        return None
    if len(given) == 1:
        missing = "VerifiedEvents" if given == ["VerifiedLogFiles"] else "VerifiedLogFiles"
        raise ImportResourceError(f"{missing}: expected it beside {given[0]}, a whole number such as \"1200\".")
    return VerifiedCounts(_count(raw, "VerifiedLogFiles"), _count(raw, "VerifiedEvents"),
                          _boolean(raw, "ReconcileStrictly", default=False))


def _count(raw: Mapping[str, Any], name: str) -> int:
    value = raw.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    raise ImportResourceError(f'{name}: expected a whole number of 0 or more, such as "1200"; got {_show(value)}.')


REQUIRED = ("EventDataStoreArn", "S3LocationUri", "S3BucketRegion", "S3BucketAccessRoleArn")
"""The properties every ``Custom::CloudTrailLakeImport`` must have."""
PROPERTY_NAMES = frozenset({*REQUIRED, "StartEventTime", "EndEventTime", "WaitForCompletion", "MaxFailedEntries",
                            "RetryToken", "Preflight", "VerifiedLogFiles", "VerifiedEvents", "ReconcileStrictly"})
"""Every property a ``Custom::CloudTrailLakeImport`` may have, beside the ServiceToken."""


def _reject_unknown(raw: Mapping[str, Any]) -> None:
    known = PROPERTY_NAMES
    unknown = sorted(str(key) for key in raw if key not in known and key not in CLOUDFORMATION_KEYS)
    if unknown:
        raise ImportResourceError(
            f"Unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(_show(k) for k in unknown[:5])}; "
            f"expected only: {', '.join(sorted(known))}."
        )


def _text(raw: Mapping[str, Any], name: str, expected: str) -> str:
    value = raw.get(name)
    if value is None or value == "":
        raise ImportResourceError(f"{name} is required: expected {expected}.")
    if not isinstance(value, str):
        raise ImportResourceError(f"{name}: expected {expected} as a string; got {_show(value)}.")
    return value


def _match(raw: Mapping[str, Any], name: str, pattern: re.Pattern[str], expected: str) -> str:
    value = _text(raw, name, expected)
    if not pattern.fullmatch(value):
        raise ImportResourceError(f"{name}: expected {expected}; got {_show(value)}.")
    return value


def _s3_uri(raw: Mapping[str, Any]) -> str:
    expected = "s3://bucket or s3://bucket/prefix, such as s3://my-trail-logs/org-trail"
    value = _text(raw, "S3LocationUri", expected)
    if _S3_LOCATION_URI.fullmatch(value):
        return value
    raise ImportResourceError(f"S3LocationUri: expected {expected}; got {_show(value)}{_uri_problem(value)}.")


def _uri_problem(value: str) -> str:
    """Which rule of S3_LOCATION_URI ``value`` breaks, for the message."""
    if not value.startswith("s3://"):
        return ""
    bucket, _, prefix = value[len("s3://") :].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        return (f" ({_show(bucket)} is not a bucket name: 3 to 63 lowercase letters, digits, '.' and '-', "
                "beginning and ending with a letter or digit, without '..')")
    if prefix.startswith("/") or "//" in prefix:
        return " (the prefix must not start with '/' or contain '//')"
    if len(prefix) > MAX_PREFIX:
        return f" (the prefix is {len(prefix)} characters long; at most {MAX_PREFIX})"
    return " (the prefix holds control characters)"


def _time(raw: Mapping[str, Any], name: str) -> datetime | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    expected = ("an RFC 3339 time with seconds and an offset (ISO 8601), such as 2024-01-31T00:00:00Z or "
                "2024-01-31T01:00:00+01:00")
    if not isinstance(value, str) or not _EVENT_TIME.fullmatch(value):
        naive = isinstance(value, str) and _EVENT_TIME.fullmatch(value + "Z") is not None
        raise ImportResourceError(f"{name}: expected {expected}; got {_show(value)}"
                                  f"{', which has no offset (add Z for UTC)' if naive else ''}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise ImportResourceError(f"{name}: {_show(value)} is no date: {error}; expected {expected}.") from None
    return parsed.astimezone(UTC)


def _boolean(raw: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ImportResourceError(f'{name}: expected "true" or "false"; got {_show(value)}.')


def _whole_number(raw: Mapping[str, Any], name: str, *, default: int) -> int:
    value = raw.get(name)
    if value is None or value == "":
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)  # JSON's 25.0 is the integer 25
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        number = int(value)
    if number is not None and 0 <= number <= MAX_FAILED_ENTRIES:
        return number
    raise ImportResourceError(f'{name}: expected a whole number from 0 to {MAX_FAILED_ENTRIES}, such as "0" or '
                              f'"25"; got {_show(value)}.')


def _retry_token(raw: Mapping[str, Any]) -> str:
    value = raw.get("RetryToken")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_RETRY_TOKEN:
        length = f" ({len(value)} characters)" if isinstance(value, str) else ""
        raise ImportResourceError(
            f"RetryToken: expected a string of at most {MAX_RETRY_TOKEN} characters; got {_show(value)}{length}."
        )
    return value


def _show(value: object) -> str:
    """A bounded, printable rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
