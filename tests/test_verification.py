"""The verify command against archives in moto's S3, keys published by the simulator: each scenario what an auditor
would meet, and each bad input a clear message with exit code 2, never a traceback."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import time
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
from trail_import_handler.verification import Archive, PublicKeys, Report, verify

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
    assert report["window"] == {"start": "2024-03-01T00:00:00Z", "end": "2024-03-01T12:00:00Z"}


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
    # Nor one whose validity ended before them.
    (late,) = [k for k in archive.digest_keys if k.endswith("_20240301T110713Z.json.gz")]  # 4.5 hours after it
    archive.resign(late, first)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    invalid = [p for p in report["problems"] if p["kind"] == "digest-invalid" and p["key"] == late]
    assert [p["message"] for p in invalid if "was not valid at" in p["message"]], report["problems"]


def _without(field: str) -> Any:
    return lambda body: gzip.compress(json.dumps({k: v for k, v in json.loads(gzip.decompress(body)).items()
                                                  if k != field}).encode())


@pytest.mark.parametrize(("spoil", "detail", "readable"), [
    (lambda body: b"not gzip at all", "it is not gzip", False),
    (lambda body: gzip.compress(b"{not json"), "it is not JSON", False),
    (lambda body: gzip.compress(b"[]"), "it is not a JSON object", False),
    (_without("digestEndTime"), "a field is missing or malformed ('digestEndTime')", False),
    (lambda body: gzip.compress(json.dumps({**json.loads(gzip.decompress(body)), "digestStartTime": 1709251200})
                                .encode()), "a field is missing or malformed (not a time: 1709251200)", False),
    (lambda body: gzip.compress(json.dumps({**json.loads(gzip.decompress(body)), "digestS3Bucket": "elsewhere"})
                                .encode()), "it says it is s3://elsewhere/", True),
])
def test_a_digest_that_is_not_one_is_a_problem_naming_its_key(world: Any, spoil: Any, detail: str,
                                                              readable: bool) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    key = archive.digest_keys[6]
    archive.replace(key, spoil(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--json")
    assert result.exit_code == 1
    (invalid,) = [p for p in _report(result)["problems"] if p["kind"] == "digest-invalid"]
    assert invalid["key"] == key
    assert f"trusted: {detail}" in invalid["message"]
    # Its successor's record of it is compared only with a digest that could be read.
    assert sorted(p["kind"] for p in _report(result)["problems"] if p["key"] == key) == \
        (["digest-invalid", "digest-link"] if readable else ["digest-invalid"])


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
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--output", "table")
    assert result.exit_code == 1
    assert f"log-missing  {ACCOUNT} {REGION}  {archive.log_keys[6]}" in result.output
    assert "A log file a digest names is not in the bucket" in result.output
    assert result.output.rstrip().endswith("NOT intact: 1 problem(s).")


def test_the_piped_report_is_one_record_a_line(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    archive.delete(archive.log_keys[6])
    result = _verify(f"s3://{BUCKET}", *WINDOW)
    assert result.exit_code == 1
    slice_, problem, total = (line.split("\t") for line in result.output.splitlines())
    # 13 digests cover the window from 00:00 to 12:00; 12 of their 13 log files are there.
    assert slice_ == ["slice", ACCOUNT, REGION, "13", "0", "0", "12", "0", "1", "0", "33"]
    assert problem[:5] == ["problem", "log-missing", ACCOUNT, REGION, archive.log_keys[6]]
    assert problem[5].startswith("A log file a digest names is not in the bucket")
    assert total == ["total", "13", "13", "0", "not-intact"]


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
    assert result.output == ("Error: ListObjectsV2 on bucket no-such-bucket failed with NoSuchBucket (The specified "
                             "bucket does not exist): check the bucket name in SOURCE.\n")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_denied_list_public_keys_exits_2_naming_the_call(world: Any) -> None:
    _, simulator = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 4)
    simulator.inject_fault("ListPublicKeys", "AccessDeniedException", message="not authorized to ListPublicKeys")
    result = _verify(f"s3://{BUCKET}", *WINDOW)
    assert result.exit_code == 2
    assert result.output == ("Error: ListPublicKeys failed with AccessDeniedException (not authorized to "
                             "ListPublicKeys): your credentials need permission for ListPublicKeys.\n")


# --- what the report counts and says, scenario by scenario -------------------------------------------------------
# Expected figures come from how the fixture writes the archive: one digest an hour ending 7 min 13 s past it, its
# one log file at the middle of its hour, events stamped 30 s and more before the log file's own time.

def _problems(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(p["kind"], p["key"]) for p in report["problems"]]


def test_logging_turned_off_for_two_hours_is_a_notice_and_the_archive_is_intact(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=2), 16, off_hours=frozenset({6, 7}))
    restarted = sorted(k for k in archive.digest_keys if "_20240301T070713Z" in k)  # eu-west-1's, then us-east-1's
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--json")
    report = _report(result)
    # The restarted digest is signed over "null" for its predecessor's signature, as CloudTrail signs it.
    assert (result.exit_code, report["problems"]) == (0, [])
    assert [(n["kind"], n["key"], n["account"], n["region"]) for n in report["notices"]] == [
        ("chain-restart", restarted[0], ACCOUNT, "eu-west-1"), ("chain-restart", restarted[1], ACCOUNT, REGION)]
    gap = "afresh here (no digest from 2024-03-01T04:07:13Z to 2024-03-01T06:07:13Z)"
    assert gap in report["notices"][0]["message"]
    # Hours 6 and 7 of the 16 wrote nothing: 10 of the window's 12 digests and the one just after it, and their
    # log files (the first digest's was written before the window: it is checked, its events not counted).
    assert report["digests"] == {"checked": 2 * 11, "valid": 2 * 11, "invalid": 0, "missing": 0}
    assert report["logFiles"]["valid"] == 2 * 11


@pytest.mark.parametrize(("restart", "before"), [
    ("06:00:00", "the digest before it ends at 2024-03-01T06:07:13Z"),
    ("06:07:13", "the digest before it ends at 2024-03-01T06:07:13Z"),
    ("06:07:14", "the digest before it ends at 2024-03-01T06:07:13Z"),  # within a second: digest times round
    ("06:07:15", "no digest from 2024-03-01T06:07:13Z to 2024-03-01T06:07:15Z"),
])
def test_a_restarted_chain_is_a_notice_naming_where_the_old_one_ended_or_the_hours_between(
        world: Any, restart: str, before: str) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 8)  # the last digest ends at 06:07:13
    again = SignedArchive(s3, BUCKET, key=archive.key)  # a chain of its own: its first digest names no predecessor
    again.write([ACCOUNT], [REGION], datetime.fromisoformat(f"2024-03-01T{restart}+00:00"), 8)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert report["problems"] == []
    assert [(n["kind"], n["key"], n["account"], n["region"]) for n in report["notices"]] == [
        ("chain-restart", again.digest_keys[0], ACCOUNT, REGION)]
    assert f"afresh here ({before})" in report["notices"][0]["message"]


def test_a_digest_cut_from_the_end_of_the_window_leaves_its_hours_uncovered_naming_them(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 11)  # digests end 00:07:13 ... 09:07:13
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    (gap,) = report["problems"]
    assert (gap["kind"], gap["key"]) == ("hours-not-covered", None)
    assert "No digest accounts for 2024-03-01T09:07:13Z to 2024-03-01T12:00:00Z" in gap["message"]


@pytest.mark.parametrize(("end", "uncovered"), [
    ("09:07:14", []),
    ("09:07:15", ["No digest accounts for 2024-03-01T09:07:13Z to 2024-03-01T09:07:15Z"]),
])
def test_the_last_digest_covers_a_window_ending_within_a_second_of_it(world: Any, end: str,
                                                                      uncovered: list[str]) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 11)  # digests end 00:07:13 ... 09:07:13
    report = _report(_verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:00:00Z", "--end", f"2024-03-01T{end}Z",
                             "--json"))
    assert [p["message"].split("Z: ")[0] + "Z" for p in report["problems"]] == uncovered


def test_a_digest_ending_exactly_as_the_window_starts_accounts_for_none_of_it(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)  # digests end 23:07:13, 00:07:13, ...

    def checked(start: str) -> int:
        report = _report(_verify(f"s3://{BUCKET}", "--start", f"2024-03-01T{start}Z", "--end", "2024-03-01T12:00:00Z",
                                 "--json"))
        assert report["problems"] == [], start
        return int(report["digests"]["checked"])

    # The digest of 23:07:13 to 00:07:13 holds events of the window from 00:07:12, and of none from 00:07:13.
    assert checked("00:07:12") == checked("00:07:13") + 1 == checked("00:07:14") + 1


def test_digests_deleted_inside_the_window_name_the_missing_one_and_the_hours_only_it_covered(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    first, second = archive.digest_keys[4], archive.digest_keys[5]  # ending 03:07:13 and 04:07:13
    archive.delete(first)
    archive.delete(second)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    problems = _problems(report)
    # In the order the report gives them: by key, the hours that have none first.
    assert [kind for kind, _ in problems] == ["hours-not-covered", "digest-missing", "log-not-covered",
                                              "log-not-covered"]
    # The successor of the second names it once; nothing is left that names the first: its hour is a gap.
    assert problems.count(("digest-missing", second)) == 1
    assert ("digest-missing", first) not in problems
    (gap,) = [p for p in report["problems"] if p["kind"] == "hours-not-covered"]
    assert f"2024-03-01T02:07:13Z to 2024-03-01T04:07:13Z (the hours before {archive.digest_keys[6]})" \
        in gap["message"]
    # The two log files they named are named by nobody now.
    assert sorted(str(k) for kind, k in problems if kind == "log-not-covered") == sorted(archive.log_keys[4:6])
    assert report["digests"]["missing"] == 1
    assert report["logFiles"]["notCovered"] == 2


def test_a_digest_whose_content_and_signature_both_changed_is_named_with_both(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    rewritten = archive.digest_keys[5]
    archive.modify_digest(rewritten)
    archive.resign(rewritten, archive.key)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    (link,) = report["problems"]
    assert (link["kind"], link["key"]) == ("digest-link", rewritten)
    assert f"its SHA-256 and its signature differ from what {archive.digest_keys[6]} recorded" in link["message"]
    assert report["digests"] == {"checked": 13, "valid": 12, "invalid": 1, "missing": 0}


def test_a_digest_naming_its_predecessor_in_another_bucket_is_invalid(world: Any) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    key = archive.digest_keys[7]
    data = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    archive.replace(key, gzip.compress(json.dumps({**data, "previousDigestS3Bucket": "elsewhere"}).encode()))
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    invalid = [p for p in report["problems"] if p["kind"] == "digest-invalid" and p["key"] == key]
    assert any("it names its predecessor in bucket elsewhere" in p["message"] for p in invalid)


@pytest.mark.parametrize(("metadata", "detail", "link_broken"), [
    ({"signature": "ab" * 256, "signature-algorithm": "SHA1withRSA"}, "its signature algorithm is SHA1withRSA", True),
    ({"signature": "not hex", "signature-algorithm": "SHA256withRSA"}, "its signature or key cannot be read", True),
    ({"signature": "ab" * 256}, "its signature does not match its content", True),
    ({"signature-algorithm": "SHA256withRSA"}, "it has no signature metadata", False),
])
def test_a_digest_whose_signature_cannot_be_trusted_is_invalid_saying_why(
        world: Any, metadata: dict[str, str], detail: str, link_broken: bool) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    key = archive.digest_keys[6]
    archive.replace(key, s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), metadata)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    # A signature put in place of CloudTrail's is also not the one the successor recorded.
    assert sorted(_problems(report)) == [("digest-invalid", key)] + ([("digest-link", key)] if link_broken else [])
    (invalid,) = [p for p in report["problems"] if p["kind"] == "digest-invalid"]
    assert f"trusted: {detail}" in invalid["message"]
    assert report["digests"]["invalid"] == 1


@pytest.mark.parametrize(("spoil", "detail"), [
    (lambda body: body[:-12], "its gzip stream is cut short"),
    (lambda body: b"plain text, not gzip", "it is not gzip"),
    (lambda body: body + gzip.compress(b"{}"), "it holds data after its first gzip member"),
    # ... and read in more than one piece (a MiB each): the second member goes on past the first piece.
    (lambda body: body + gzip.compress(random.Random(7).randbytes(1_200_000)),
     "it holds data after its first gzip member"),
    (lambda body: gzip.compress(gzip.decompress(body) + b" "), "its SHA-256 differs from the one its digest recorded"),
])
def test_a_log_file_that_is_not_what_cloudtrail_wrote_is_invalid_saying_why(world: Any, spoil: Any,
                                                                             detail: str) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, events_per_log=4)
    key = archive.log_keys[5]
    archive.replace(key, spoil(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert _problems(report) == [("log-invalid", key)]
    assert f"wrote: {detail}" in report["problems"][0]["message"]
    assert report["logFiles"] == {"checked": 13, "valid": 12, "invalid": 1, "missing": 0, "notCovered": 0}
    # The events of a file that is not the original are not counted.
    assert report["eventsInWindow"] == 11 * 4


def test_only_the_windows_events_are_counted_in_a_log_file_that_straddles_its_start(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, events_per_log=4)
    # The log file of 00:37:13 holds events of 00:36:43, :42, :41 and :40; the window starts at 00:36:42.
    result = _verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:36:42Z", "--end", "2024-03-01T12:00:00Z", "--json")
    assert _report(result)["eventsInWindow"] == 2 + 11 * 4


def test_an_event_stamped_at_the_windows_end_is_not_in_it(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, events_per_log=4)
    # The log file of 11:37:13 holds events of 11:36:43, :42, :41 and :40; the window ends at 11:36:42.
    result = _verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:00:00Z", "--end", "2024-03-01T11:36:42Z", "--json")
    assert _report(result)["eventsInWindow"] == 11 * 4 + 2


def test_a_log_file_of_the_window_that_no_digest_names_is_a_problem_counted_as_unnamed(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    unnamed = archive.add_unnamed_log(ACCOUNT, REGION, START + timedelta(hours=4, minutes=20))
    archive.add_unnamed_log(ACCOUNT, REGION, START + timedelta(hours=12, minutes=20))  # after the window
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert _problems(report) == [("log-not-covered", unnamed)]
    assert report["logFiles"]["notCovered"] == 1


def test_an_unnamed_log_file_stamped_at_the_windows_start_is_in_it_and_one_stamped_at_its_end_is_not(
        world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    at_start = archive.add_unnamed_log(ACCOUNT, REGION, START)
    archive.add_unnamed_log(ACCOUNT, REGION, START + timedelta(hours=12))  # --end is not included
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert _problems(report) == [("log-not-covered", at_start)]


def test_an_account_and_region_without_digests_is_a_problem_naming_where_they_belong(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=2), 16)
    for key in [k for k in archive.digest_keys if "/CloudTrail-Digest/eu-west-1/" in k]:
        archive.delete(key)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    no_digests = [p for p in report["problems"] if p["kind"] == "no-digests"]
    assert [(p["account"], p["region"], p["key"]) for p in no_digests] == [(ACCOUNT, "eu-west-1", None)]
    assert f"No digest lies under AWSLogs/.../{ACCOUNT}/CloudTrail-Digest/eu-west-1/" in no_digests[0]["message"]
    # Its log files are named by no digest; us-east-1 is whole.
    assert {p["kind"] for p in report["problems"]} == {"no-digests", "log-not-covered"}
    assert report["digests"]["valid"] == 13


def test_accounts_and_regions_can_be_chosen_and_the_rest_is_not_read(world: Any) -> None:
    archive = _archive(world, organization="o-a1b2c3d4e5")
    archive.write(["111122223333", "444455556666"], [REGION, "eu-west-1"], START - timedelta(hours=2), 16)
    # A log file missing in every slice but the chosen one.
    for account, region in (("111122223333", REGION), ("111122223333", "eu-west-1"), ("444455556666", REGION)):
        archive.delete(next(k for k in archive.log_keys if f"{account}_CloudTrail_{region}_20240301T05" in k))
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json", "--account", "444455556666",
                             "--log-region", "eu-west-1"))
    assert (report["problems"], report["digests"]["valid"], report["logFiles"]["valid"]) == ([], 13, 13)


def test_a_bucket_holding_an_account_trail_and_an_organization_trail_is_verified_whole(world: Any) -> None:
    s3, _ = world
    own = _archive(world)  # the account's trail from before the organization's
    organization = SignedArchive(s3, BUCKET, key=own.key, organization="o-a1b2c3d4e5")
    own.write(["111122223333"], [REGION], START - timedelta(hours=2), 16)
    organization.write(["444455556666"], [REGION], START - timedelta(hours=2), 16)
    organization.delete(organization.log_keys[5])
    own.delete(own.log_keys[6])
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert _problems(report) == [("log-missing", own.log_keys[6]), ("log-missing", organization.log_keys[5])]
    assert report["digests"]["valid"] == 2 * 13


def test_an_archive_under_a_prefix_is_found_from_the_prefix_or_its_awslogs(world: Any) -> None:
    archive = _archive(world, prefix="org-trail")
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    for source in (f"s3://{BUCKET}/org-trail", f"s3://{BUCKET}/org-trail/", f"s3://{BUCKET}/org-trail/AWSLogs"):
        report = _report(_verify(source, *WINDOW, "--json"))
        assert (report["source"], report["digests"]["valid"]) == (source.rstrip("/"), 13), source


def test_progress_counts_each_digest_and_log_file_once_up_to_the_number_found(world: Any) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    seen: dict[str, list[tuple[int, int]]] = {}
    keys = PublicKeys.from_answer([{"PublicKeyList": [archive.key.entry()]}])
    report = verify(s3, lambda region: keys, Archive(BUCKET, "", START, START + timedelta(hours=12)), workers=4,
                    progress=lambda phase, done, total: seen.setdefault(phase, []).append((done, total)))
    assert report.intact
    # The digests fetched end from 00:07:13 to 13:07:13 (two hours past the window, for its last log files); the
    # log files checked are the 13 those digests that began in the window name.
    assert sorted(seen["digests"]) == [(n, 14) for n in range(1, 15)]
    assert sorted(seen["log files"]) == [(n, 13) for n in range(1, 14)]
    assert set(seen) == {"digests", "log files"}


def test_a_window_of_a_busy_archive_lists_its_own_days_not_those_around_them(world: Any) -> None:
    from moto.s3.models import s3_backends

    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    # More than a listing page (1,000 keys) of other days' files in each prefix: two days before the window
    # (the listing starts with the day before it, for a digest written after midnight) and the day after it.
    backend = s3_backends["123456789012"]["aws"]
    for folder, name in (("CloudTrail", "{a}_CloudTrail_{r}_{t:%Y%m%dT%H%MZ}_{n:04d}.json.gz"),
                         ("CloudTrail-Digest", "{a}_CloudTrail-Digest_{r}_trail_{r}_{t:%Y%m%dT%H%M%SZ}.json.gz")):
        for day in (START - timedelta(days=2), START + timedelta(days=1)):
            for n in range(1001):
                at = day + timedelta(seconds=80 * n)
                folder_of_day = f"AWSLogs/{ACCOUNT}/{folder}/{REGION}/{at:%Y/%m/%d}/"
                backend.put_object(BUCKET, folder_of_day + name.format(a=ACCOUNT, r=REGION, t=at, n=n), b"not read")
    listings: list[str] = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: listings.append(params["url_path"]))
    keys = PublicKeys.from_answer([{"PublicKeyList": [archive.key.entry()]}])
    report = verify(s3, lambda region: keys, Archive(BUCKET, "", START, START + timedelta(hours=12)))
    assert report.intact
    assert report.events_in_window == 12 * 3, "deep unless told otherwise: the log files' events are read"
    # AWSLogs/, the account, CloudTrail/ and CloudTrail-Digest/ (their regions), then one page each of the
    # region's digests and log files of the window's days.
    assert len(listings) == 4 + 2


def test_the_totals_of_an_organization_add_up_every_account_and_region(world: Any) -> None:
    archive = _archive(world, organization="o-a1b2c3d4e5")
    accounts = ["111122223333", "444455556666", "777788889999"]
    archive.write(accounts, [REGION, "eu-west-1"], START - timedelta(hours=2), 16)

    def log(account: str, region: str) -> str:
        return next(k for k in archive.log_keys if f"{account}_CloudTrail_{region}_20240301T05" in k)
    archive.modify_log(log("111122223333", "eu-west-1"))
    archive.delete(log("444455556666", "us-east-1"))
    archive.add_unnamed_log("111122223333", "us-east-1", START + timedelta(hours=3, minutes=20))
    archive.delete(archive.digest_keys[8])  # of 111122223333 in us-east-1: named by its successor
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert report["digests"] == {"checked": 6 * 13, "valid": 6 * 13 - 1, "invalid": 0, "missing": 1}
    # The deleted digest's log file is named by nobody now: unnamed, not checked.
    assert report["logFiles"] == {"checked": 6 * 13 - 1, "valid": 6 * 13 - 3, "invalid": 1, "missing": 1,
                                  "notCovered": 2}


def test_two_trails_of_one_account_and_region_are_two_chains_each_counted(world: Any) -> None:
    s3, _ = world
    management = _archive(world)
    data = SignedArchive(s3, BUCKET, trail="data-events", key=management.key)
    for archive in (management, data):
        archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    problems: set[tuple[str, str]] = set()
    for archive in (management, data):
        archive.delete(archive.digest_keys[4])  # named by its successor
        archive.modify_digest(archive.digest_keys[9])  # its old signature kept
        archive.modify_log(archive.log_keys[2])
        archive.delete(archive.log_keys[7])
        problems |= {("digest-missing", archive.digest_keys[4]), ("digest-invalid", archive.digest_keys[9]),
                     ("digest-link", archive.digest_keys[9]), ("log-invalid", archive.log_keys[2]),
                     ("log-missing", archive.log_keys[7]), ("log-not-covered", archive.log_keys[4])}
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert {(kind, str(key)) for kind, key in _problems(report) if kind != "hours-not-covered"} == problems
    assert report["digests"] == {"checked": 2 * 13, "valid": 2 * 11, "invalid": 2, "missing": 2}
    assert report["logFiles"] == {"checked": 2 * 12, "valid": 2 * 10, "invalid": 2, "missing": 2, "notCovered": 2}


def test_a_digest_that_begins_as_the_window_ends_is_not_the_windows(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    # The digest of 12:07:13 to 13:07:13 names the log file of 12:37:13, after the window.
    report = _report(_verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:00:00Z", "--end", "2024-03-01T12:07:13Z",
                             "--json"))
    assert (report["digests"]["checked"], report["logFiles"]["checked"]) == (13, 13)
    # The window's last digest ends as it does: every hour of it is accounted for.
    assert (report["problems"], report["notices"]) == ([], [])


def test_a_window_that_ends_where_logging_stopped_is_intact_and_the_later_restart_is_not_its_notice(
        world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, off_hours=frozenset({8}))  # 06:07 to 07:07
    report = _report(_verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:00:00Z", "--end", "2024-03-01T06:07:13Z",
                             "--json"))
    assert (report["problems"], report["notices"]) == ([], [])


def test_an_archive_whose_last_digest_ends_as_the_window_ends_is_intact(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 14)  # the last digest ends at 12:07:13
    report = _report(_verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:00:00Z", "--end", "2024-03-01T12:07:13Z",
                             "--json"))
    assert (report["problems"], report["digests"]["valid"]) == ([], 13)

def test_a_window_that_ends_where_a_new_chain_begins_has_no_notice_of_it(world: Any) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 8)  # the last digest ends at 06:07:13
    again = SignedArchive(s3, BUCKET, key=archive.key)  # its first digest begins at 06:00:00, naming none
    again.write([ACCOUNT], [REGION], START + timedelta(hours=6), 8)
    report = _report(_verify(f"s3://{BUCKET}", "--start", "2024-03-01T00:00:00Z", "--end", "2024-03-01T06:00:00Z",
                             "--json"))
    assert (report["problems"], report["notices"]) == ([], [])


def test_a_chain_restarting_just_after_the_window_began_is_a_notice_not_uncovered_hours(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, off_hours=frozenset({1}))  # 23:07 to 00:07
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert report["problems"] == []
    (notice,) = report["notices"]
    # The window's first digest (00:07:13 to 01:07:13) is the new chain's: nothing before it is the window's.
    assert notice["key"].endswith("_20240301T010713Z.json.gz")
    assert "afresh here (it names no predecessor)" in notice["message"]


def test_a_changed_digest_before_the_window_is_caught_through_the_windows_first(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 15)
    before = next(k for k in archive.digest_keys if "20240229T2307" in k)
    archive.modify_digest(before)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    assert sorted(_problems(report)) == [("digest-invalid", before), ("digest-link", before)]
    (invalid,) = [p for p in report["problems"] if p["kind"] == "digest-invalid"]
    assert "its signature does not match its content" in invalid["message"]


def test_a_first_digest_naming_a_predecessor_cloudtrail_would_not_name_reports_it_missing(world: Any) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16)
    first = archive.digest_keys[1]  # the window's first: 23:07:13 to 00:07:13
    body = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=first)["Body"].read()))
    archive.replace(first, gzip.compress(json.dumps({**body, "previousDigestS3Object": "elsewhere/x.json.gz"})
                                         .encode()))
    archive.resign(first, archive.key)  # signed again over what it now says
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    # Its successor recorded it as it was; the predecessor it names now is nowhere.
    assert _problems(report) == [("digest-link", first), ("digest-missing", "elsewhere/x.json.gz")]


def test_a_trail_whose_logging_began_in_the_window_is_intact_its_chain_starting_there(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START, 12)  # the first digest names no predecessor
    result = _verify(f"s3://{BUCKET}", *WINDOW, "--json")
    report = _report(result)
    assert (result.exit_code, report["problems"]) == (0, [])
    assert [(n["kind"], n["key"]) for n in report["notices"]] == [("chain-restart", archive.digest_keys[0])]
    assert "afresh here (it names no predecessor)" in report["notices"][0]["message"]
    assert report["digests"]["valid"] == 12


def test_each_later_link_is_still_checked_after_a_foreign_predecessor_a_deleted_digest_and_a_restart(
        world: Any) -> None:
    s3, _ = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, off_hours=frozenset({11}))

    def ending(hhmmss: str) -> str:
        (key,) = [k for k in archive.digest_keys if f"_20240301T{hhmmss}Z" in k]
        return key

    foreign, deleted, restarted = ending("020713"), ending("050713"), ending("110713")
    data = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=foreign)["Body"].read()))
    archive.replace(foreign, gzip.compress(json.dumps({**data, "previousDigestS3Bucket": "elsewhere"}).encode()))
    archive.delete(deleted)
    archive.modify_digest(restarted)  # the chain's new first digest, changed and signed again
    archive.resign(restarted, archive.key)
    report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    found = {(p["kind"], p["key"]) for p in report["problems"]}
    # Each is found in the one pass over the chain, whatever was found before it.
    assert {("digest-invalid", foreign), ("digest-missing", deleted), ("digest-link", restarted)} <= found
    assert [(n["kind"], n["key"]) for n in report["notices"]] == [("chain-restart", restarted)]


def test_the_reports_times_are_utc_whatever_the_machines_zone(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        archive = _archive(world)
        archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 16, off_hours=frozenset({6, 7}))
        report = _report(_verify(f"s3://{BUCKET}", *WINDOW, "--json"))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "(no digest from 2024-03-01T04:07:13Z to 2024-03-01T06:07:13Z)" in report["notices"][0]["message"]


def test_a_window_that_ends_just_before_midnight_is_covered_by_the_digest_named_the_next_day(world: Any) -> None:
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=2), 30)  # digests until 2024-03-02T04:07:13Z
    # The digest of 23:07:13 to 00:07:13 is named, and listed, under the next day.
    report = _report(_verify(f"s3://{BUCKET}", "--start", "2024-03-01T12:00:00Z", "--end", "2024-03-01T23:30:00Z",
                             "--json"))
    assert (report["problems"], report["digests"]["valid"]) == ([], 13)


def _days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    edges = [start + timedelta(days=d) for d in range((end - start).days)] + [end]
    return list(itertools.pairwise(edges))


@pytest.mark.parametrize(("tamper", "events"), [
    # 72 hours of two log files of 3 events in each of two regions;
    ("none", 72 * 2 * 3 * 2),
    # less one log file deleted;
    ("across-midnight", 72 * 2 * 3 * 2 - 3),
    # less one changed, and the two that the deleted digest named (unnamed now, so not counted).
    ("in-a-day", 72 * 2 * 3 * 2 - 3 - 2 * 3)])
def test_a_window_verified_a_day_at_a_time_adds_up_to_the_window_verified_whole(world: Any, tamper: str,
                                                                                events: int) -> None:
    s3, simulator = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=3), 24 * 3 + 6, logs_per_hour=2)
    if tamper == "across-midnight":
        # The digest of 23:07 to 00:07 is read by both days; the log files it names belong to the first.
        midnight = [k for k in archive.digest_keys if "20240302T000713Z" in k and REGION in k]
        archive.modify_digest(midnight[0])
        archive.delete(next(k for k in archive.log_keys if "20240301T2347Z" in k))
    elif tamper == "in-a-day":
        archive.modify_log(next(k for k in archive.log_keys if "20240302T12" in k and "eu-west-1" in k))
        archive.delete(next(k for k in archive.digest_keys if "20240302T150713Z" in k and REGION in k))
    window = Archive(BUCKET, "", START, START + timedelta(days=3))
    keys = PublicKeys.from_answer([{"PublicKeyList": simulator.public_keys}])
    whole = verify(s3, lambda region: keys, window)
    parts = [verify(s3, lambda region: keys, window, part=day) for day in _days(window.start, window.end)]
    combined = Report.combined(parts)
    assert combined.as_dict() == whole.as_dict()
    assert whole.events_in_window == events
    assert combined.intact is (tamper == "none")


def test_a_digest_unreadable_across_midnight_is_counted_once_and_its_hours_named_on_each_day(world: Any) -> None:
    s3, simulator = world
    archive = _archive(world)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 24 * 2 + 6)
    unreadable = next(k for k in archive.digest_keys if "20240302T000713Z" in k)
    archive.replace(unreadable, b"not a digest")
    window = Archive(BUCKET, "", START, START + timedelta(days=2))
    keys = PublicKeys.from_answer([{"PublicKeyList": simulator.public_keys}])
    whole = verify(s3, lambda region: keys, window).as_dict()
    combined = Report.combined(verify(s3, lambda region: keys, window, part=day)
                               for day in _days(window.start, window.end)).as_dict()
    assert combined["digests"] == whole["digests"] == {"checked": 49, "valid": 48, "invalid": 1, "missing": 0}
    assert combined["logFiles"] == whole["logFiles"]
    assert combined["eventsInWindow"] == whole["eventsInWindow"] == (48 - 1) * 3

    def hours(report: dict[str, Any]) -> list[str]:
        return [p["message"].split(": ")[0] for p in report["problems"] if p["kind"] == "hours-not-covered"]

    assert hours(whole) == ["No digest accounts for 2024-03-01T23:07:13Z to 2024-03-02T00:07:13Z (the hours before "
                            + unreadable.replace("T000713Z", "T010713Z") + ")"]
    # Each day names its own share of the hours.
    assert hours(combined) == [
        "No digest accounts for 2024-03-01T23:07:13Z to 2024-03-02T00:00:00Z (the hours before "
        + unreadable.replace("T000713Z", "T010713Z") + ")",
        "No digest accounts for 2024-03-02T00:00:00Z to 2024-03-02T00:07:13Z (the hours before "
        + unreadable.replace("T000713Z", "T010713Z") + ")"]
    others = [p for p in whole["problems"] if p["kind"] != "hours-not-covered"]
    assert others == [p for p in combined["problems"] if p["kind"] != "hours-not-covered"]
    assert [p["kind"] for p in others] == ["digest-invalid", "log-not-covered"]


def test_a_part_outside_the_window_is_refused(world: Any) -> None:
    s3, _ = world
    window = Archive(BUCKET, "", START, START + timedelta(days=1))
    with pytest.raises(ValueError, match="is not within the window"):
        verify(s3, lambda region: PublicKeys([]), window, part=(START, START + timedelta(days=2)))
