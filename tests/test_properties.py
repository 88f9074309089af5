"""Every property, given a wrong value, fails with its own message and starts nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cloudtrail_lake_import.testing import CloudTrailImportSimulator
from tests.driver import ProviderDriver
from trail_import_handler.errors import ImportResourceError
from trail_import_handler.properties import parse_properties

BAD_VALUES: list[tuple[str, Any, str]] = [
    ("EventDataStoreArn", None, "EventDataStoreArn is required"),
    ("EventDataStoreArn", "my-store", "EventDataStoreArn: expected an event data store ARN"),
    ("EventDataStoreArn", "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "eventdatastore"),
    ("EventDataStoreArn", 42, "as a string"),
    ("S3LocationUri", None, "S3LocationUri is required"),
    ("S3LocationUri", "trail-logs/prefix", "S3LocationUri: expected s3://bucket"),
    ("S3LocationUri", "s3://Bad_Bucket/x", "('Bad_Bucket' is not a bucket name: 3 to 63 lowercase letters, digits, "
     "'.' and '-', beginning and ending with a letter or digit, without '..')"),
    ("S3LocationUri", "s3://trail-logs//double", "must not start with '/' or contain '//'"),
    ("S3LocationUri", "s3://trail-logs/" + "p" * 2000, "(the prefix is 2000 characters long; at most 1024)"),
    ("S3BucketRegion", "", "S3BucketRegion is required"),
    ("S3BucketRegion", "US-EAST-1", "S3BucketRegion: expected an AWS region name"),
    ("S3BucketAccessRoleArn", "arn:aws:iam::111122223333:user/bob", "S3BucketAccessRoleArn: expected an IAM role ARN"),
    ("StartEventTime", "yesterday", "StartEventTime: expected an RFC 3339 time with seconds and an offset (ISO 8601)"),
    ("StartEventTime", "2024-01-01T00:00:00", "got '2024-01-01T00:00:00', which has no offset (add Z for UTC)."),
    ("EndEventTime", "2024-13-01T00:00:00Z", "EndEventTime: expected an RFC 3339 time"),
    ("EndEventTime", "2023-06-01T00:00:00Z", "StartEventTime (2024-01-01T00:00:00+00:00) must be before EndEventTime"),
    ("WaitForCompletion", "yes", 'WaitForCompletion: expected "true" or "false"'),
    ("WaitForCompletion", 1, 'WaitForCompletion: expected "true" or "false"'),
    ("MaxFailedEntries", "-3", "MaxFailedEntries: expected a whole number from 0 to 9223372036854775807"),
    ("MaxFailedEntries", "1.5", "MaxFailedEntries: expected a whole number"),
    ("MaxFailedEntries", "ten", "MaxFailedEntries: expected a whole number"),
    ("RetryToken", "r" * 300, "RetryToken: expected a string of at most 256 characters"),
    ("RetryToken", ["a"], "RetryToken: expected a string"),
    ("MaxFailedEntry", "3", "Unknown property 'MaxFailedEntry'"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_VALUES, ids=[f"{n}={v!r:.20}" for n, v, _ in BAD_VALUES])
def test_bad_property_fails_create_with_its_own_message_and_starts_nothing(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, Any], name: str, value: Any, message: str
) -> None:
    if value is None:
        props.pop(name)
    else:
        props[name] = value
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    assert message in outcome.reason
    assert sim.requests == [], "no API call before the properties are valid"


def test_properties_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(ImportResourceError, match="ResourceProperties: expected an object"):
        parse_properties("EventDataStoreArn=x")  # type: ignore[arg-type]


def test_valid_strings_parse_into_typed_values(props: dict[str, str]) -> None:
    props.update(WaitForCompletion="FALSE", MaxFailedEntries="25", StartEventTime="2024-01-01T02:00:00+02:00")
    parsed = parse_properties(props)
    assert parsed.wait_for_completion is False
    assert parsed.max_failed_entries == 25
    assert parsed.window.start is not None
    assert parsed.window.start.isoformat() == "2024-01-01T00:00:00+00:00"
    assert parsed.source.bucket == "trail-logs"
    assert parsed.source.prefix == "org-trail"


def test_window_is_optional(props: dict[str, str]) -> None:
    del props["StartEventTime"], props["EndEventTime"]
    parsed = parse_properties(props)
    assert parsed.window.start is None
    assert parsed.window.end is None


@pytest.mark.parametrize(("name", "value", "message"), [
    # Start equal to end is an empty window, not a one-instant one.
    ("EndEventTime", "2024-01-01T00:00:00Z", "StartEventTime (2024-01-01T00:00:00+00:00) must be before EndEventTime"),
    ("S3LocationUri", "s3://trail..logs/x", "without '..'"),
    ("RetryToken", "r" * 257, "RetryToken: expected a string of at most 256 characters; got 'rrrr"),
])
def test_a_value_just_past_a_bound_is_refused_naming_it(props: dict[str, str], name: str, value: str,
                                                         message: str) -> None:
    with pytest.raises(ImportResourceError, match=re.escape(message)):
        parse_properties({**props, name: value})


def test_a_retry_token_of_exactly_the_maximum_length_is_taken(props: dict[str, str]) -> None:
    assert parse_properties({**props, "RetryToken": "r" * 256}).retry_token == "r" * 256
