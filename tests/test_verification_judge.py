"""AWS's ``validate-logs`` judges our fixture and our verdicts, one tampering at a time.

First the fixture: on the clean archive the AWS CLI reports every digest and
log file valid, and so do we. Then each case changes the archive one way:
whatever the AWS CLI flags, we flag; where it misses something, we flag it,
naming each object by its key and each hour nothing accounts for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, SignedArchive, SigningKey, read_only_s3
from tests.verification_judge import AWS_CLI, Verdict, aws_cli, ours, serving

ACCOUNT, REGION, BUCKET = "111122223333", "us-east-1", "trail-logs"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events"
START = datetime(2024, 1, 1, tzinfo=UTC)
END = START + timedelta(hours=6)
# Digests of the hours before the window (its first digest's predecessor) and two after it (the digests that
# name the window's last log files).
WRITTEN_FROM, WRITTEN_HOURS = START - timedelta(hours=2), 10


@dataclass(frozen=True)
class Expected:
    """What a case must make us report: the keys of the objects tampered with, and whether some hours are
    accounted for by no digest; and what the AWS CLI is known to miss of it."""

    keys: frozenset[str] = frozenset()
    hours: bool = False
    notices: frozenset[str] = frozenset()
    aws_cli_misses: bool = False
    intact: bool = False


Tamper = Callable[[SignedArchive], Expected]


def _digest(archive: SignedArchive, hour: int) -> str:
    """The digest whose hour ends ``hour`` hours after the window's start."""
    stamp = (START + timedelta(hours=hour)).strftime("%Y%m%dT%H")
    (key,) = [k for k in archive.digest_keys if f"_{stamp}0713Z" in k]
    return key


def _log(archive: SignedArchive, hour: int) -> str:
    """The log file written in the hour that begins ``hour`` hours after the window's start."""
    stamp = (START + timedelta(hours=hour)).strftime("%Y%m%dT%H")
    (key,) = [k for k in archive.log_keys if f"_{stamp}37Z_" in k]
    return key


def clean(archive: SignedArchive) -> Expected:
    return Expected(intact=True)


def modify_a_log(archive: SignedArchive) -> Expected:
    archive.modify_log(_log(archive, 2))
    return Expected(frozenset({_log(archive, 2)}))


def delete_a_log(archive: SignedArchive) -> Expected:
    key = _log(archive, 3)
    archive.delete(key)
    return Expected(frozenset({key}))


def delete_a_digest(archive: SignedArchive) -> Expected:
    key = _digest(archive, 3)
    archive.delete(key)
    # Its log file is now named by no digest.
    return Expected(frozenset({key, _log(archive, 2)}), hours=True)


def modify_a_digest(archive: SignedArchive) -> Expected:
    key = _digest(archive, 2)
    archive.modify_digest(key)
    return Expected(frozenset({key}))


def add_an_unnamed_log(archive: SignedArchive) -> Expected:
    key = archive.add_unnamed_log(ACCOUNT, REGION, START + timedelta(hours=4, minutes=20))
    return Expected(frozenset({key}), aws_cli_misses=True)


def stop_and_restart_logging(archive: SignedArchive) -> Expected:
    # Logging goes on while validation is off for two hours: the logs of those hours are digested by nobody.
    for key in [*archive.digest_keys, *archive.log_keys]:
        archive.delete(key)
    fresh = SignedArchive(archive.s3, BUCKET, key=archive.key)
    fresh.write([ACCOUNT], [REGION], WRITTEN_FROM, WRITTEN_HOURS, off_hours=frozenset({4, 5}))
    archive.digest_keys[:], archive.log_keys[:] = fresh.digest_keys, fresh.log_keys
    unnamed = {fresh.add_unnamed_log(ACCOUNT, REGION, START + timedelta(hours=h, minutes=30)) for h in (2, 3)}
    return Expected(frozenset(unnamed), notices=frozenset({"chain-restart"}), aws_cli_misses=True)


def delete_two_consecutive_digests(archive: SignedArchive) -> Expected:
    first, second = _digest(archive, 2), _digest(archive, 3)
    archive.delete(first)
    archive.delete(second)
    # The second is named by its successor; of the first nothing is left that names it, but its hour is a gap,
    # and the log files both named are named by nobody now.
    return Expected(frozenset({second, _log(archive, 1), _log(archive, 2)}), hours=True, aws_cli_misses=True)


def delete_the_newest_digest(archive: SignedArchive) -> Expected:
    for key in [k for k in archive.digest_keys if k > _digest(archive, 5)]:
        archive.delete(key)  # the archive ends with the window: its newest digest is the window's last
    for key in [k for k in archive.log_keys if k >= _log(archive, 5)]:
        archive.delete(key)
    # The newest digest, of the hour ending 05:07, named the log file of 04:37.
    archive.delete(_digest(archive, 5))
    return Expected(frozenset({_log(archive, 4)}), hours=True, aws_cli_misses=True)


def append_a_gzip_member(archive: SignedArchive) -> Expected:
    archive.append_gzip_member(_log(archive, 1))
    return Expected(frozenset({_log(archive, 1)}))


def sign_with_an_unpublished_key(archive: SignedArchive) -> Expected:
    key = _digest(archive, 4)
    archive.resign(key, SigningKey())
    return Expected(frozenset({key}))


def remove_the_signature(archive: SignedArchive) -> Expected:
    key = _digest(archive, 1)
    archive.remove_signature(key)
    return Expected(frozenset({key}))


CASES = [clean, modify_a_log, delete_a_log, delete_a_digest, modify_a_digest, add_an_unnamed_log,
         stop_and_restart_logging, delete_two_consecutive_digests, delete_the_newest_digest, append_a_gzip_member,
         sign_with_an_unpublished_key, remove_the_signature]


@pytest.fixture
def archive() -> Iterator[tuple[SignedArchive, CloudTrailImportSimulator]]:
    simulator = CloudTrailImportSimulator()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        signed = SignedArchive(s3, BUCKET)
        simulator.public_keys.append(signed.key.entry())
        signed.write([ACCOUNT], [REGION], WRITTEN_FROM, WRITTEN_HOURS)
        yield signed, simulator


def both(archive: SignedArchive, simulator: CloudTrailImportSimulator) -> tuple[Verdict, Verdict]:
    snapshot = read_only_s3.Snapshot.of(archive.s3, BUCKET)
    with serving(snapshot, simulator) as (where, _):
        theirs = aws_cli(where, trail_arn=TRAIL_ARN, bucket=BUCKET, region=REGION, start=START, end=END)
        mine = ours(where, f"s3://{BUCKET}", START, END)
    return theirs, mine


def test_the_aws_cli_is_installed_from_the_projects_own_files() -> None:
    assert AWS_CLI.exists(), "make test creates .venv-awscli (the AWS CLI v1) first"


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_whatever_the_aws_cli_flags_we_flag_and_what_it_misses_we_flag_too(
        archive: tuple[SignedArchive, CloudTrailImportSimulator], case: Tamper) -> None:
    signed, simulator = archive
    expected = case(signed)
    theirs, mine = both(signed, simulator)
    side_by_side = f"AWS CLI exit {theirs.exit_code}, INVALID {sorted(theirs.invalid)}\n" \
                   f"ours exit {mine.exit_code}, problems {mine.report.get('problems')}\n{mine.output[-2000:]}"
    if expected.intact:
        # The fixture is right: AWS's own tool finds every digest and log file valid.
        assert theirs.exit_code == 0, theirs.output
        assert theirs.invalid == set()
        assert len(theirs.valid) == 14, theirs.output  # the window's 7 digests and 7 log files
        assert "7/7 digest files valid" in theirs.output
        assert (mine.exit_code, mine.report["problems"]) == (0, []), side_by_side
        assert mine.report["digests"]["valid"] >= 7
        assert mine.report["logFiles"]["valid"] >= 7
        return
    assert mine.exit_code == 1, side_by_side
    # Every object the AWS CLI calls invalid, we name as a problem.
    assert theirs.invalid <= mine.problem_keys, side_by_side
    # Every object tampered with, we name by its key; and the hours nothing accounts for.
    assert expected.keys <= mine.problem_keys, side_by_side
    kinds = {p["kind"] for p in mine.report["problems"]}
    assert ("hours-not-covered" in kinds) == expected.hours, side_by_side
    assert expected.notices <= {n["kind"] for n in mine.report["notices"]}, side_by_side
    if expected.aws_cli_misses:
        # Where AWS's tool falls short (REFERENCE.md, "Where the peer falls short"): it does not flag these.
        assert not expected.keys <= theirs.invalid, side_by_side
    else:
        assert theirs.exit_code == 1, side_by_side
        assert theirs.invalid, side_by_side


def test_an_organization_archive_the_aws_cli_does_not_find_from_the_bucket_we_verify_whole() -> None:
    simulator = CloudTrailImportSimulator()
    accounts = ["111122223333", "444455556666"]
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        signed = SignedArchive(s3, BUCKET, organization="o-a1b2c3d4e5")
        simulator.public_keys.append(signed.key.entry())
        signed.write(accounts, [REGION, "eu-west-1"], WRITTEN_FROM, WRITTEN_HOURS)
        signed.modify_log(next(k for k in signed.log_keys if "444455556666_CloudTrail_eu-west-1_20240101T03" in k))
        snapshot = read_only_s3.Snapshot.of(s3, BUCKET)
    with serving(snapshot, simulator) as (where, _):
        theirs = aws_cli(where, trail_arn=TRAIL_ARN, bucket=BUCKET, region=REGION, start=START, end=END)
        mine = ours(where, f"s3://{BUCKET}", START, END)
    # AWS's tool with --s3-bucket never looks under AWSLogs/o-ID/: nothing found, exit 0.
    assert theirs.exit_code == 0
    assert "No digests found" in theirs.output
    assert mine.exit_code == 1
    assert [(p["kind"], p["account"], p["region"]) for p in mine.report["problems"]] == [
        ("log-invalid", "444455556666", "eu-west-1")]
    assert mine.report["digests"]["valid"] == 2 * 2 * 7


def test_a_log_file_the_bucket_will_not_hand_over_stops_verification_with_exit_2(
        archive: tuple[SignedArchive, CloudTrailImportSimulator]) -> None:
    signed, simulator = archive
    snapshot = read_only_s3.Snapshot.of(signed.s3, BUCKET)
    snapshot.denied.add(_log(signed, 2))
    with serving(snapshot, simulator) as (where, _):
        mine = ours(where, f"s3://{BUCKET}", START, END)
    assert mine.exit_code == 2, mine.output
    assert f"Error: GetObject on bucket {BUCKET} failed with AccessDenied" in mine.output
    assert mine.output.endswith("your credentials need permission for GetObject.\n")
    assert "Traceback" not in mine.output
