"""ArchiveVerification's state machine, as synthesized, run on moto's Step Functions interpreter over archives in
moto's S3: each Lambda task answered by the handler module in-process, as the role the template gives it."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from cloudtrail_lake_import.testing import (
    SignedArchive,
)
from tests.engine import Engine, running
from tests.syntheses import kept
from trail_import_handler.archive_verification import first_problems
from trail_import_handler.verification import Archive, PublicKeys, verify
from trail_import_handler.verification.report import Finding, Report

ACCOUNT, REGION, BUCKET = "111122223333", "us-east-1", "trail-logs"
START = datetime(2024, 3, 1, tzinfo=UTC)
WINDOW = {"start": "2024-03-01T00:00:00Z", "end": "2024-03-03T00:00:00Z"}
ORGANIZATION = "o-a1b2c3d4e5"


@functools.cache
def _synthesized(props: tuple[tuple[str, Any], ...]) -> str:
    return json.dumps(kept("archive-verification", lambda: _template(**dict(props)), props=props))


def _template(**props: Any) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk import aws_s3
    from aws_cdk.assertions import Template

    from cloudtrail_lake_import import ArchiveVerification

    app = cdk.App()
    stack = cdk.Stack(app, "Verified", env=cdk.Environment(account=ACCOUNT, region=REGION))
    if "report_bucket" in props:
        props["report_bucket"] = aws_s3.Bucket.from_bucket_name(stack, "Reports", props["report_bucket"])
    source = aws_s3.Bucket.from_bucket_name(stack, "Logs", props.pop("source_bucket_name", BUCKET))
    ArchiveVerification(stack, "Verification", source_bucket=source, max_concurrency=4, **props)
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The stack with the props the test is parametrized with (``indirect``), else with none."""
    props: dict[str, Any] = getattr(request, "param", {})
    synthesized: dict[str, Any] = json.loads(_synthesized(tuple(sorted(props.items()))))
    return synthesized


@pytest.fixture
def engine(template: dict[str, Any]) -> Iterator[Engine]:
    with running(template, account=ACCOUNT, region=REGION, source_bucket=BUCKET) as engine:
        yield engine


def _archive(engine: Engine, **options: Any) -> SignedArchive:
    archive = SignedArchive(boto3.client("s3", region_name=REGION), BUCKET, **options)
    engine.simulator.public_keys.append(archive.key.entry())
    return archive


def _summary(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == "SUCCEEDED", (answer.get("error"), answer.get("cause"))
    summary: dict[str, Any] = json.loads(answer["output"])
    return summary


def _report(engine: Engine, summary: dict[str, Any]) -> dict[str, Any]:
    bucket, key = summary["reportUri"].removeprefix("s3://").split("/", 1)
    report: dict[str, Any] = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=bucket, Key=key)["Body"].read())
    return report


def _whole(engine: Engine, prefix: str = "") -> dict[str, Any]:
    """What the verify command's core finds over the whole window from one machine."""
    keys = PublicKeys.from_answer([{"PublicKeyList": engine.simulator.public_keys}])
    window = Archive(BUCKET, prefix, START, START + timedelta(days=2))
    return verify(boto3.client("s3", region_name=REGION), lambda region: keys, window).as_dict()


def test_a_clean_archive_is_intact_and_counted_as_from_one_machine(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=3), 48 + 6)
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    # In each of two regions, 49 digests: the 48 that begin in the window's 48 hours and the one from 23:07 before
    # it; each names one log file, that of 23:37 before the window too, of 3 events each.
    assert summary["intact"] is True
    assert (summary["digestsVerified"], summary["logFilesVerified"], summary["eventsInWindow"]) == \
        (2 * 49, 2 * 49, 2 * 48 * 3)
    assert summary["problems"] == 0
    assert summary["firstProblems"] == []
    assert (summary["window"], summary["notices"]) == ({**WINDOW, "accounts": [], "regions": []}, 0)
    report = _report(engine, summary)
    # Stored as JSON for whoever opens it, without the whitespace a Map's thousands of reads would pay for.
    bucket, key = summary["reportUri"].removeprefix("s3://").split("/", 1)
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)
    assert stored["ContentType"] == "application/json"
    body = stored["Body"].read()
    assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert report["report"] == _whole(engine)
    assert report["request"] == {**WINDOW, "accounts": [], "regions": []}
    assert sorted(report) == ["record", "report", "request", "run"]
    assert report["run"] == "run-1"
    # Two slices of two days: one plan, four pieces, two roll-ups, one summary.
    steps = [payload["step"] for _, payload in engine.invocations]
    assert sorted(steps) == ["plan", "roll-up", "roll-up", "summarize", "verify", "verify", "verify", "verify"]
    # The whole window's counts, kept where ImportMonitor looks for an import of the same source and window.
    window = "s3://trail-logs|2024-03-01T00:00:00Z|2024-03-03T00:00:00Z"
    bucket = summary["reportUri"].removeprefix("s3://").split("/", 1)[0]
    kept = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=bucket, Key=f"verifications/windows/{hashlib.sha256(window.encode()).hexdigest()}.json")["Body"].read())
    assert {k: kept[k] for k in ("source", "intact", "logFilesVerified", "eventsInWindow", "reportUri")} == {
        "source": "s3://trail-logs", "intact": True, "logFilesVerified": 2 * 49, "eventsInWindow": 2 * 48 * 3,
        "reportUri": summary["reportUri"]}
    assert (kept["window"], kept["run"]) == ({**WINDOW, "accounts": [], "regions": []}, "run-1")


def test_the_summary_names_as_many_first_problems_as_fit_its_budget_as_json() -> None:
    found = [Finding("log-missing", f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/03/01/log-{n}.json.gz", ACCOUNT,
                     REGION) for n in range(3)]
    lines = [f"{f.key}: {f.message}" for f in found]
    # What the three lines take in the summary's JSON, quotes and separators with them.
    budget = len(json.dumps(lines).encode())
    report = Report(f"s3://{BUCKET}", START, START + timedelta(days=1), problems=list(reversed(found)))
    assert first_problems(report, budget) == lines
    assert first_problems(report, budget - 1) == lines[:2]
    assert first_problems(report, len(json.dumps(lines[:1]).encode())) == lines[:1]


def _verifier_role(engine: Engine) -> str:
    (logical,) = [k for k, r in engine.deployment.resources.items()
                  if r["Type"] == "AWS::IAM::Role" and "Verification" in k and "StateMachine" not in k]
    return engine.deployment.arn(logical)


def test_every_call_of_the_verifier_is_made_as_its_role_and_allowed(engine: Engine) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    _summary(engine.run(engine.state_machine(), WINDOW))
    mine = [d for d in engine.world.decisions if d.request.principal == _verifier_role(engine)]
    assert {d.request.action for d in mine} == {"s3:ListBucket", "s3:GetObject", "s3:PutObject",
                                                "cloudtrail:ListPublicKeys"}
    assert all(d.allowed for d in mine)


def test_a_tampered_archive_is_a_result_naming_each_object_and_agreeing_with_one_machine(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=3), 48 + 6)
    changed = next(k for k in archive.digest_keys if "20240302T000713Z" in k and REGION in k)
    archive.modify_digest(changed)
    deleted = next(k for k in archive.log_keys if "20240301T1437Z" in k and "eu-west-1" in k)
    archive.delete(deleted)
    answer = engine.run(engine.state_machine(), WINDOW)
    summary = _summary(answer)  # a bad archive is what the run found, not a failed run
    assert summary["intact"] is False
    # The changed digest fails its own signature and its successor's record of it.
    assert summary["problems"] == 3
    deleted_line, signature_line, link_line = summary["firstProblems"]
    assert deleted_line == (f"{deleted}: A log file a digest names is not in the bucket: it was deleted or moved. "
                            "Restore it, or the import will lack its events.")
    assert signature_line == (f"{changed}: The digest cannot be trusted: its signature does not match its content. "
                              "Someone changed or replaced it; restore the original before you import.")
    # A line is cut at 400 characters, saying so.
    assert link_line.startswith(f"{changed}: The digest no longer matches what its successor recorded of it (its "
                                "SHA-256 differ from what ")
    assert len(link_line) == 400
    assert link_line.endswith("...")
    assert _report(engine, summary)["report"] == _whole(engine)


@pytest.mark.parametrize("template", [{"source_prefix": "org-trail"}], indirect=True)
def test_an_organization_archive_is_verified_account_by_account_and_region_by_region(engine: Engine) -> None:
    accounts = ["111122223333", "444455556666", "777788889999"]
    archive = _archive(engine, prefix="org-trail", organization=ORGANIZATION)
    archive.write(accounts, [REGION, "eu-west-1"], START - timedelta(hours=3), 48 + 6)
    archive.modify_log(next(k for k in archive.log_keys if "444455556666_CloudTrail_eu-west-1_20240302T0937Z" in k))
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    report = _report(engine, summary)
    assert report["report"] == _whole(engine, prefix="org-trail")
    assert [(p["kind"], p["account"], p["region"]) for p in report["report"]["problems"]] == \
        [("log-invalid", "444455556666", "eu-west-1")]
    # 3 accounts x 2 regions x 2 days: six slices, twelve pieces.
    steps = [payload["step"] for _, payload in engine.invocations]
    assert (steps.count("verify"), steps.count("roll-up")) == (12, 6)
    assert summary["digestsVerified"] == 3 * 2 * 49


def test_a_run_of_some_regions_only_keeps_no_counts_for_the_whole_window(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=3), 48 + 6)
    summary = _summary(engine.run(engine.state_machine(), {**WINDOW, "regions": [REGION]}))
    bucket = summary["reportUri"].removeprefix("s3://").split("/", 1)[0]
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket, Prefix="verifications/windows/")
    assert listed.get("KeyCount") == 0


def _refusal(answer: dict[str, Any]) -> str:
    assert answer["status"] == "FAILED", answer.get("output")
    assert answer["error"] == "VerificationRefused"
    message: str = json.loads(answer["cause"])["errorMessage"]
    return message


def _pieces_verified(engine: Engine) -> int:
    return sum(1 for _, payload in engine.invocations if payload["step"] == "verify")


def test_a_bucket_without_trail_logs_is_refused_before_any_piece(engine: Engine) -> None:
    message = _refusal(engine.run(engine.state_machine(), WINDOW))
    assert message == ("There are no trail logs or digests in s3://trail-logs (under AWSLogs/[o-ORG/]ACCOUNT/"
                       "CloudTrail-Digest/REGION/): check the source's bucket and prefix.")
    assert _pieces_verified(engine) == 0


def test_a_trail_without_log_file_validation_is_refused_saying_how_to_turn_it_on(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 12)
    for key in archive.digest_keys:
        archive.delete(key)
    message = _refusal(engine.run(engine.state_machine(), WINDOW))
    assert message == ("There is no CloudTrail-Digest prefix in s3://trail-logs (under AWSLogs/[o-ORG/]ACCOUNT/"
                       "CloudTrail-Digest/REGION/): log file validation was never on for the trail, so no log file "
                       "can be proven. Turn it on (aws cloudtrail update-trail --enable-log-file-validation); logs "
                       "delivered before then stay unproven.")
    assert _pieces_verified(engine) == 0


def test_accounts_and_regions_the_archive_lacks_are_refused_naming_them(engine: Engine) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48)
    chosen = {**WINDOW, "accounts": ["444455556666", "555566667777"], "regions": ["eu-west-1", "eu-north-1"]}
    assert _refusal(engine.run(engine.state_machine(), chosen)) == (
        "There are no trail logs or digests in s3://trail-logs (under AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/"
        "REGION/) for accounts 444455556666, 555566667777 and regions eu-west-1, eu-north-1: check the source's "
        "bucket and prefix.")
    assert _refusal(engine.run(engine.state_machine(), {**WINDOW, "regions": ["eu-west-1"]}, name="run-2")) == (
        "There are no trail logs or digests in s3://trail-logs (under AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/"
        "REGION/) for regions eu-west-1: check the source's bucket and prefix.")
    assert _pieces_verified(engine) == 0


@pytest.mark.parametrize("window", [
    # After the archive's last digest, and before its first (with a digest of the day before the window listed).
    {"start": "2024-06-01T00:00:00Z", "end": "2024-06-03T00:00:00Z"},
    {"start": "2024-02-27T00:00:00Z", "end": "2024-02-29T00:00:00Z"}])
def test_a_window_without_digests_is_refused_naming_it(engine: Engine, window: dict[str, str]) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48)
    message = _refusal(engine.run(engine.state_machine(), window))
    assert message == (f"No digest in s3://trail-logs (under AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/REGION/) "
                       f"covers {window['start']} to {window['end']}: log file validation was off then, or the "
                       "window lies outside the trail's logs. Choose a window the digests cover.")
    assert _pieces_verified(engine) == 0


# The archive's digests, each an hour long, end at 22:07:13 on Feb 29, 23:07:13, and so on to 09:07:13 on Mar 1. A
# digest covers a window when it ends inside it, or within the two hours after it that the window's last log files
# take.
@pytest.mark.parametrize(("window", "covered"), [
    pytest.param({"start": "2024-03-01T09:07:13Z", "end": "2024-03-02T00:00:00Z"}, False,
                 id="starting as the last digest ends"),
    pytest.param({"start": "2024-02-29T00:00:00Z", "end": "2024-02-29T20:07:13Z"}, True,
                 id="ending two hours before the first digest ends"),
    pytest.param({"start": "2024-02-29T00:00:00Z", "end": "2024-02-29T20:07:12Z"}, False,
                 id="ending a second earlier"),
    pytest.param({"start": "2024-03-01T02:00:00Z", "end": "2024-03-01T06:00:00Z"}, True,
                 id="some hours of one day"),
])
def test_a_window_is_refused_only_when_no_digest_covers_it(
        engine: Engine, window: dict[str, str], covered: bool) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 12)
    answer = engine.run(engine.state_machine(), window)
    if covered:
        assert answer["status"] == "SUCCEEDED", answer.get("cause")
        assert _pieces_verified(engine) == 1
    else:
        assert _refusal(answer).startswith("No digest in s3://trail-logs")
        assert _pieces_verified(engine) == 0


def test_a_log_file_no_digest_names_is_found_by_the_piece_of_its_day(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    unnamed = archive.add_unnamed_log(ACCOUNT, REGION, START + timedelta(hours=30, minutes=20))
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    assert (summary["intact"], summary["problems"]) == (False, 1)
    assert summary["firstProblems"][0].startswith(f"{unnamed}: ")


def test_a_quiet_region_whose_digests_name_no_log_file_is_verified_by_its_digests(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    archive.write([ACCOUNT], ["eu-north-1"], START - timedelta(hours=3), 48 + 6, logs_per_hour=0)
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    assert summary["intact"] is True
    assert (summary["digestsVerified"], summary["logFilesVerified"]) == (2 * 49, 49)


def test_each_day_of_the_window_is_a_piece_with_its_report_under_that_day(engine: Engine) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 72 + 6)
    window = {"start": "2024-03-01T00:00:00Z", "end": "2024-03-04T00:00:00Z"}
    summary = _summary(engine.run(engine.state_machine(), window))
    assert (summary["intact"], summary["digestsVerified"]) == (True, 73)
    assert _pieces_verified(engine) == 3
    bucket = summary["reportUri"].removeprefix("s3://").split("/", 1)[0]
    pieces = f"verifications/run-1/pieces/{ACCOUNT}/{REGION}/"
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket, Prefix=pieces)
    assert [item["Key"] for item in listed["Contents"]] == [
        f"{pieces}2024-03-01.json", f"{pieces}2024-03-02.json", f"{pieces}2024-03-03.json"]


@pytest.mark.parametrize(("request_", "message"), [
    ({"start": "2024-03-01", "end": "2024-03-02T00:00:00Z"},
     "start must be a UTC time such as 2024-01-01T00:00:00Z; got '2024-03-01'"),
    ({"start": "2024-03-01T00:00:00Z"}, "end must be a UTC time such as 2024-01-01T00:00:00Z; got None"),
    ({"start": "2024-02-30T00:00:00Z", "end": "2024-03-02T00:00:00Z"},
     "start is not a real time: 2024-02-30T00:00:00Z"),
    ({"start": "2024-03-02T00:00:00Z", "end": "2024-03-01T00:00:00Z"},
     "start (2024-03-02T00:00:00Z) must be before end (2024-03-01T00:00:00Z)"),
    ({**WINDOW, "accounts": "111122223333"}, "accounts must be a list, each 12 digits; got '111122223333'"),
    ({**WINDOW, "regions": ["US-EAST-1"]},
     "regions must be a list, each a region name such as us-east-1; got ['US-EAST-1']"),
    ({**WINDOW, "prefix": "x"}, "The execution's input has unknown fields ['prefix']: expected start, end, accounts "
                                "and regions")])
def test_a_bad_request_is_refused_naming_the_field(engine: Engine, request_: dict[str, Any], message: str) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 12)
    assert _refusal(engine.run(engine.state_machine(), request_)) == message
    assert _pieces_verified(engine) == 0


@pytest.mark.parametrize("template", [{"report_bucket": "reports-in-ireland"}], indirect=True)
def test_a_report_bucket_in_another_region_is_refused_at_the_plan(engine: Engine) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="reports-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 12)
    assert _refusal(engine.run(engine.state_machine(), WINDOW)) == (
        "The report bucket reports-in-ireland is in eu-west-1, not in us-east-1 with the verification: give "
        "ArchiveVerification a report bucket of its own region.")
    assert _pieces_verified(engine) == 0


# botocore's redirector follows a 301 itself where it can; where the answer reaches the plan (a client of its own
# endpoint, say), S3's x-amz-bucket-region header still names the bucket's region.
def test_a_report_bucket_whose_region_comes_only_in_a_redirect_is_refused_at_the_plan(engine: Engine) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 12)
    engine.faults["s3.HeadBucket"] = [(301, "PermanentRedirect", {"x-amz-bucket-region": "eu-west-1"})]
    assert _refusal(engine.run(engine.state_machine(), WINDOW)) == (
        "The report bucket verificationreports205f6937 is in eu-west-1, not in us-east-1 with the verification: "
        "give ArchiveVerification a report bucket of its own region.")
    assert _pieces_verified(engine) == 0


def test_a_redirect_that_names_the_report_buckets_own_region_lets_the_run_go_on(engine: Engine) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    engine.faults["s3.HeadBucket"] = [(301, "PermanentRedirect", {"x-amz-bucket-region": REGION})]
    assert _summary(engine.run(engine.state_machine(), WINDOW))["intact"] is True


# Throttling; any 5xx, with a code on the list or not; a listed code whatever its status.
@pytest.mark.parametrize("fault", [(503, "SlowDown"), (500, "InternalFailure"), (400, "RequestTimeout")])
def test_a_piece_that_meets_throttling_past_botocores_retries_is_verified_on_the_state_machines_retry(
        engine: Engine, fault: tuple[int, str]) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    engine.faults["s3.GetObject"] = [fault]
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    assert summary["intact"] is True
    assert summary["digestsVerified"] == 49
    # Two pieces, one of them twice.
    assert _pieces_verified(engine) == 3


@pytest.mark.parametrize("template", [{"source_bucket_name": "no-such-logs"}], indirect=True)
def test_a_source_bucket_that_does_not_exist_is_refused_naming_it(engine: Engine) -> None:
    assert _refusal(engine.run(engine.state_machine(), WINDOW)) == (
        "Bucket no-such-logs does not exist (ListObjectsV2): check the source and the report bucket.")
    assert _pieces_verified(engine) == 0


_POLICIES = "the verifier's role, or the bucket or key policy of s3://trail-logs or s3://verificationreports205f6937"


# Each fault's answer is botocore's once its retries gave up; none is retried by the state machine either.
@pytest.mark.parametrize(("operation", "fault", "refusal"), [
    pytest.param("s3.ListObjectsV2", (403, "AccessDenied"),
                 f"ListObjectsV2 was denied (AccessDenied (a fault of the test)): {_POLICIES}, must allow it.",
                 id="a denied read"),
    pytest.param("cloudtrail.ListPublicKeys", (400, "AccessDeniedException"),
                 f"ListPublicKeys was denied (AccessDeniedException (a fault of the test)): {_POLICIES}, must allow "
                 "it.", id="a denied public key listing"),
    # S3's error reference does not promise BucketName, and the fault's answer has none.
    pytest.param("s3.ListObjectsV2", (404, "NoSuchBucket"),
                 "Bucket trail-logs or verificationreports205f6937 does not exist (ListObjectsV2): check the source "
                 "and the report bucket.", id="a missing bucket S3 does not name"),
    pytest.param("s3.ListObjectsV2", (400, "InvalidArgument"),
                 "ListObjectsV2 failed with InvalidArgument: InvalidArgument (a fault of the test)",
                 id="a read refused for another reason"),
])
def test_a_call_the_plan_may_not_make_fails_the_run_naming_it_and_is_not_retried(
        engine: Engine, operation: str, fault: tuple[int, str], refusal: str) -> None:
    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    engine.faults[operation] = [fault]
    assert _refusal(engine.run(engine.state_machine(), WINDOW)) == refusal
    assert [payload["step"] for _, payload in engine.invocations] == ["plan"]


def test_the_state_machines_role_may_do_what_the_interpreter_did_for_it(engine: Engine) -> None:
    """moto's interpreter makes the state machine's own calls unauthorized: they are asked of IAM here, as the
    state machine's role, for the objects the run read and wrote."""
    from cloudtrail_lake_import.testing.iam_policy import Request

    _archive(engine).write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    _summary(engine.run(engine.state_machine(), WINDOW))
    deployment = engine.deployment
    (role,) = [deployment.arn(k) for k, r in deployment.resources.items()
               if r["Type"] == "AWS::IAM::Role" and "StateMachineRole" in k]
    (function,) = [deployment.arn(k) for k, r in deployment.resources.items() if r["Type"] == "AWS::Lambda::Function"]
    (machine,) = [deployment.arn(k) for k, r in deployment.resources.items()
                  if r["Type"] == "AWS::StepFunctions::StateMachine"]
    reports = boto3.client("s3", region_name=REGION)
    (bucket,) = [deployment.physical_name(k) for k, r in deployment.resources.items() if r["Type"] == "AWS::S3::Bucket"]
    keys = [o["Key"] for o in reports.list_objects_v2(Bucket=bucket)["Contents"]]
    manifests = [k for k in keys if k.endswith("manifest.json")]
    plans = [k for k in keys if "/plan/" in k]
    assert len(manifests) == 2
    assert len(plans) == 2
    asked = [("lambda:InvokeFunction", function), ("states:StartExecution", machine),
             *[("s3:GetObject", f"arn:aws:s3:::{bucket}/{k}") for k in plans],
             *[("s3:PutObject", f"arn:aws:s3:::{bucket}/{k}") for k in manifests]]
    decisions = [engine.world.authorize(Request(role, action, resource, {})) for action, resource in asked]
    assert [(d.request.action, d.allowed) for d in decisions] == [(action, True) for action, _ in asked]


@pytest.mark.parametrize("template", [{"source_bucket_name": "ireland-trail-logs", "source_region": "eu-west-1"}],
                         indirect=True)
def test_a_source_in_another_region_is_read_there_and_reported_here(engine: Engine) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="ireland-trail-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    engine.world.add_bucket("ireland-trail-logs", account=ACCOUNT)
    archive = SignedArchive(s3, "ireland-trail-logs")
    engine.simulator.public_keys.append(archive.key.entry())
    archive.write([ACCOUNT], ["eu-west-1"], START - timedelta(hours=3), 48 + 6)
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    assert (summary["intact"], summary["digestsVerified"]) == (True, 49)
    assert summary["reportUri"].startswith("s3://verificationreports205f6937/verifications/run-1/")


def _midnight_digest(archive: SignedArchive) -> str:
    return next(k for k in archive.digest_keys if "20240302T000713Z" in k)


@pytest.mark.aws_tool
@pytest.mark.parametrize("tamper", ["clean", "log-before-midnight", "digest-across-midnight", "deleted-digest"])
def test_the_aws_cli_judges_the_engine_on_a_busy_archive_tampered_where_the_pieces_meet(
        engine: Engine, tamper: str) -> None:
    """AWS's validate-logs reads the same archive (a snapshot served by a read-only loopback S3): whatever it
    calls invalid, the engine names; on the clean archive both find it whole. Busy: a log file every five
    minutes, two days, tampered at the midnight where the two days' pieces meet."""
    from cloudtrail_lake_import.testing import read_only_s3
    from tests.verification_judge import aws_cli, serving

    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6, logs_per_hour=12)
    tampered: set[str] = set()
    if tamper == "log-before-midnight":
        tampered = {next(k for k in archive.log_keys if "20240301T2357Z" in k)}
        archive.modify_log(*tampered)
    elif tamper == "digest-across-midnight":
        tampered = {_midnight_digest(archive)}
        archive.modify_digest(*tampered)
    elif tamper == "deleted-digest":
        tampered = {_midnight_digest(archive)}
        archive.delete(*tampered)
    snapshot = read_only_s3.Snapshot.of(boto3.client("s3", region_name=REGION), BUCKET)
    with serving(snapshot, engine.simulator) as (where, _):
        theirs = aws_cli(where, trail_arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events",
                         bucket=BUCKET, region=REGION, start=START, end=START + timedelta(days=2))
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    named = {p["key"] for p in _report(engine, summary)["report"]["problems"]}
    if tamper == "clean":
        assert (theirs.exit_code, theirs.invalid) == (0, set()), theirs.output
        assert len(theirs.valid) > 2 * 24 * 12, theirs.output  # the fixture is right: every digest and log file
        assert summary["intact"] is True
        assert summary["logFilesVerified"] >= 2 * 24 * 12
        return
    assert theirs.exit_code == 1, theirs.output
    assert theirs.invalid, theirs.output
    assert theirs.invalid <= named, (theirs.invalid, named)
    assert tampered <= named
    assert summary["intact"] is False
