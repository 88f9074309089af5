"""The types of the constructs' props, checked when a construct is made: a wrong one is named with the type
expected (a TypeError, as aws-cdk's own constructs raise), rather than failing later where the value is used."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Token

Expected = tuple[str, Callable[[Any], bool]]


def _jsii(attribute: str) -> Callable[[Any], bool]:
    # CDK's interfaces are typing Protocols that isinstance cannot check (an imported resource is a dynamic
    # proxy): what makes a value one is the attribute every implementation has.
    return lambda value: not isinstance(value, (str, bytes, int, float, dict, list, tuple)) and hasattr(
        value, attribute)


TIME: Expected = ("a timezone-aware datetime, such as datetime(2024, 1, 1, tzinfo=timezone.utc)",
                  lambda value: isinstance(value, datetime))
TEXT: Expected = ("a string", lambda value: isinstance(value, str))
FLAG: Expected = ("True or False", lambda value: isinstance(value, bool))
WHOLE: Expected = ("a whole number (an int)", lambda value: isinstance(value, int) and not isinstance(value, bool))
DURATION: Expected = ("a Duration, such as Duration.minutes(55)", lambda value: isinstance(value, Duration))
REMOVAL: Expected = ("a RemovalPolicy, such as RemovalPolicy.RETAIN", lambda value: isinstance(value, RemovalPolicy))
BUCKET: Expected = ("an s3.IBucket, such as s3.Bucket.from_bucket_name(self, 'TrailLogs', 'my-trail-logs')",
                    _jsii("bucket_arn"))
ROLE: Expected = ("an iam.IRole, such as iam.Role.from_role_arn(self, 'ImportRole', arn)", _jsii("role_arn"))
KEY: Expected = ("a kms.IKey, such as kms.Key.from_key_arn(self, 'TrailKey', arn)", _jsii("key_arn"))
def each(expected: Expected) -> Expected:
    """A list or tuple of ``expected`` (not a string, which is a sequence of characters)."""
    form, fits = expected
    kind, comma, example = form.removeprefix("a ").removeprefix("an ").partition(", ")
    return (f"a list of {kind}s{comma}{example}",
            lambda value: isinstance(value, (list, tuple)) and all(fits(item) for item in value))


SOURCE_PREFIX_FORM = ("a key prefix within source_bucket, such as 'org-trail' or 'org-trail/AWSLogs/o-a1b2c3d4e5' "
                      "(at most 1,024 characters, no '//'; a leading or trailing '/' is dropped)")


def check(name: str, value: Any, expected: Expected, *, required: bool = False) -> None:
    """Raise TypeError naming ``name`` and the type expected unless ``value`` is of that type (or None, for a
    prop that is not ``required``)."""
    form, fits = expected
    if (value is not None or required) and not fits(value):
        raise TypeError(f"{name}: expected {form}; got {_shown(value)}")


def check_source_prefix(prefix: str | None) -> None:
    """A prefix is a key prefix within the bucket, not a URI or a path of empty segments."""
    check("source_prefix", prefix, TEXT)
    if not prefix or Token.is_unresolved(prefix):
        return
    if "://" in prefix or prefix.startswith("s3:"):
        raise ValueError(f"source_prefix: expected {SOURCE_PREFIX_FORM}, not a URI (the bucket is source_bucket); "
                         f"got {prefix[:80]!r}")
    if "//" in prefix or len(prefix) > 1024:
        raise ValueError(f"source_prefix: expected {SOURCE_PREFIX_FORM}; got {prefix[:80]!r}")


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:77] + '...' if len(text) > 80 else text}"
