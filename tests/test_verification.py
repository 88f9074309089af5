"""The verify command against archives in moto's S3, keys published by the simulator: each scenario what an auditor
would meet, and each bad input a clear message with exit code 2, never a traceback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from cloudtrail_lake_import.cli import main
from cloudtrail_lake_import.testing import (
    MOTO_CONFIG,
    CloudTrailImportSimulator,
    SignedArchive,
    SigningKey,
    default_session,
)

ACCOUNT, REGION, BUCKET = "111122223333", "us-east-1", "trail-logs"
START = datetime(2024, 3, 1, tzinfo=UTC)
WINDOW = ["--start", "2024-03-01T00:00:00Z", "--end", "2024-03-01T12:00:00Z"]


@pytest.fixture
def world() -> Iterator[tuple[Any, CloudTrailImportSimulator]]:
    simulator = CloudTrailImportSimulator()
    with mock_aws(config=MOTO_CONFIG), default_session(simulator):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield s3, simulator


def _archive(world: tuple[Any, CloudTrailImportSimulator], **options: Any) -> SignedArchive:
    s3, simulator = world
    archive = SignedArchive(s3, BUCKET, **options)
    simulator.public_keys.append(archive.key.entry())
    return archive


def _verify(*args: str) -> Result:
    return CliRunner().invoke(main, ["verify", *args])


def _report(result: Result) -> dict[str, Any]:
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def test_an_intact_archive_exits_0_and_counts_the_windows_events(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=2), 16, events_per_log=4)
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--json")
    report = _report(result)
    assert result.exit_code == 0
    assert report["problems"] == []
    # 12 hours in each of 2 regions: the 12 digests that end in the window and the one ending just after it.
    assert report["digests"] == {"checked": 26, "valid": 26, "invalid": 0, "missing": 0}
    assert report["logFiles"]["notCovered"] == 0
    # One log file an hour of 4 events, stamped 30 minutes into the digest's hour: 12 in each region's window.
    assert report["eventsInWindow"] == 2 * 12 * 4


def test_a_digest_rewritten_and_signed_again_is_caught_by_its_successors_record(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    rewritten = archive.digest_keys[5]
    archive.modify_digest(rewritten)
    archive.resign(rewritten, archive.key)  # a valid signature over the new content
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    found = {(p["kind"], p["key"]) for p in report["problems"]}
    assert found == {("digest-link", rewritten)}
    assert "differ from what" in report["problems"][0]["message"]


def test_an_organization_archive_is_verified_from_the_bucket_alone(world: Any) -> None:
    archive = _archive(world, organization="o-a1b2c3d4e5")
    accounts = ["111122223333", "444455556666", "777788889999"]
    archive.write(accounts, [REGION, "eu-west-1"], START - timedelta(hours=2), 16)
    archive.delete(archive.log_keys[-9])
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert {(p["account"], p["region"]) for p in report["problems"]} == {("777788889999", "eu-west-1")}
    assert [p["kind"] for p in report["problems"]] == ["log-missing"]
    assert report["digests"]["valid"] == 3 * 2 * 13


def test_the_first_digest_is_checked_against_its_predecessor_outside_the_window(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 15)
    before = [k for k in archive.digest_keys if "20240229T2307" in k]
    archive.delete(before[0])
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert {(p["kind"], p["key"]) for p in report["problems"] if p["kind"] == "digest-missing"} == \
        {("digest-missing", before[0])}
    # The window's first digest (23:07 to 00:07) still covers its first hour.
    assert [p for p in report["problems"] if p["kind"] == "hours-not-covered"] == []


def test_a_key_rotated_in_the_window_is_two_fingerprints_and_the_archive_is_intact(world: Any) -> None:
    s3, simulator = world
    rotation = START + timedelta(hours=6, minutes=30)
    first, second = SigningKey(valid_until=rotation), SigningKey(valid_from=rotation)
    simulator.public_keys += [first.entry(), second.entry()]
    archive = SignedArchive(s3, BUCKET, key=first)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 8)
    archive.write([ACCOUNT], [REGION], START + timedelta(hours=6), 8, key=second)
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--json")
    assert (result.exit_code, _report(result)["problems"]) == (0, [])
    # A key that was not valid for a digest's hours is not accepted for it.
    archive.resign(archive.digest_keys[2], second)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert {(p["kind"], p["key"]) for p in report["problems"] if p["kind"] == "digest-invalid"} == \
        {("digest-invalid", archive.digest_keys[2])}
    assert any("was not valid at" in p["message"] for p in report["problems"])


@pytest.mark.parametrize(("spoil", "detail"), [
    (lambda body: b"not gzip at all", "it is not gzip"),
    (lambda body: gzip.compress(b"{not json"), "it is not JSON"),
    (lambda body: gzip.compress(json.dumps({**json.loads(gzip.decompress(body)), "digestS3Bucket": "elsewhere"})
                                .encode()), "it says it is s3://elsewhere/"),
])
def test_a_digest_that_is_not_one_is_a_problem_naming_its_key(world: Any, spoil: Any, detail: str) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    key = archive.digest_keys[6]
    archive.replace(key, spoil(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--json")
    assert result.exit_code == 1
    (invalid,) = [p for p in _report(result)["problems"] if p["kind"] == "digest-invalid"]
    assert invalid["key"] == key
    assert detail in invalid["message"]


def test_chain_only_checks_that_named_log_files_exist_without_reading_them(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    archive.modify_log(archive.log_keys[4])
    archive.delete(archive.log_keys[6])
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json", "--chain-only"))
    assert [(p["kind"], p["key"]) for p in report["problems"]] == [("log-missing", archive.log_keys[6])]
    assert report["eventsInWindow"] is None


def test_the_text_report_names_each_problem_and_sums_up(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    archive.delete(archive.log_keys[6])
    result = _verify(f"s3://{BUCKET}", *WINDOW)
    assert result.exit_code == 1
    assert f"log-missing  {ACCOUNT} {REGION}  {archive.log_keys[6]}" in result.output
    assert "A log file a digest names is not in the bucket" in result.output
    assert result.output.rstrip().endswith("NOT intact: 1 problem(s).")


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "2024-03-02T00:00:00Z", "--end", "2024-03-01T00:00:00Z"], "is not before --end"),
    (["--start", "yesterday", "--end", "2024-03-01T00:00:00Z"], "Invalid value for --start: expected an ISO 8601"),
    (["--start", "2024-03-01T00:00:00", "--end", "2024-03-02T00:00:00Z"], "has no offset; add Z for UTC"),
])
def test_a_bad_window_exits_2_naming_the_option(world: Any, args: list[str], message: str) -> None:
    result = _verify(f"s3://{BUCKET}", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_missing_bucket_exits_2_and_says_so(world: Any) -> None:
    result = _verify("s3://no-such-bucket", *WINDOW)
    assert result.exit_code == 2
    assert "NoSuchBucket" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_denied_list_public_keys_exits_2_naming_the_call(world: Any) -> None:
    _, simulator = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 4)
    simulator.inject_fault("ListPublicKeys", "AccessDeniedException", message="not authorized to ListPublicKeys")
    result = _verify(f"s3://{BUCKET}", *WINDOW)
    assert result.exit_code == 2
    assert "Access denied calling ListPublicKeys" in result.output
