"""Preflight against moto's S3 with generated trail layouts: what it finds, what it flags, what it costs."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cloudtrail_lake_import.testing import CloudTrailImportSimulator
from cloudtrail_lake_import.testing.trail_bucket import TrailLayout, boto3_put, write_trail_logs
from tests.driver import ProviderDriver
from tests.handler_roles import admin_client
from trail_import_handler import preflight
from trail_import_handler.pricing import ingestion_cost
from trail_import_handler.properties import ImportSource, ImportWindow
from trail_import_handler.trail_logs import find_log_files

BUCKET = "trail-logs"
WEEK = ImportWindow(datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 14, 23, 59, tzinfo=UTC))
ORG = TrailLayout(days=21, organization="o-a1b2c3d4e5", accounts=("111122223333", "444455556666"))


def _bucket(s3: Any, *, ownership: str | None = "BucketOwnerEnforced", region: str = "us-east-1") -> None:
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=BUCKET, **config)
    if ownership:
        s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]})


def _source(prefix: str = "", region: str = "us-east-1") -> ImportSource:
    uri = f"s3://{BUCKET}/{prefix}" if prefix else f"s3://{BUCKET}"
    return ImportSource(uri, region, "arn:aws:iam::111122223333:role/TrailImportAccess")


def _put_direct(key: str, body: bytes) -> None:
    """Into moto's bucket without a request each: for layouts of thousands of files."""
    from moto.s3.models import s3_backends

    s3_backends["123456789012"]["aws"].put_object(BUCKET, key, body)


@pytest.fixture
def s3(aws: CloudTrailImportSimulator) -> Any:
    return admin_client("s3")


def test_finds_exactly_the_files_of_the_window_across_organization_accounts_and_regions(s3: Any) -> None:
    _bucket(s3)
    write_trail_logs(ORG, boto3_put(s3, BUCKET))
    report = preflight.run_preflight(s3, _source(), WEEK)
    # CloudTrail reads a file whose name dates it within the window, both ends included (model docs).
    expected = sorted(key for key, _, _, at in ORG.log_files() if datetime(2024, 1, 8, tzinfo=UTC) <= at
                      <= datetime(2024, 1, 14, 23, 59, tzinfo=UTC))
    assert [f.key for f in report.findings.files] == expected
    assert len(expected) == 7 * 4 * 3 * 2
    assert report.findings.regions == ["ap-southeast-2", "eu-west-1", "us-east-1"]
    assert report.blocking == []
    assert any("Digest files under AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/" in p.message
               for p in report.problems)
    assert report.events == pytest.approx(len(expected) * ORG.records_per_file, rel=0.1)
    assert report.uncompressed_bytes > report.findings.compressed_bytes
    assert set(report.costs) == {"one-year extendable retention", "seven-year retention"}
    json.dumps(report.as_dict())


def test_a_file_stamped_exactly_at_either_end_of_the_window_is_in_it_and_a_second_inside_is_not(s3: Any) -> None:
    _bucket(s3)
    one = TrailLayout(days=3, files_per_day=4, regions=("us-east-1",))  # a file every six hours from its start
    write_trail_logs(one, boto3_put(s3, BUCKET))
    start, end = one.start + timedelta(hours=12), one.start + timedelta(days=1, hours=18)
    stamped = {at: key for key, _, _, at in one.log_files()}
    ends = {stamped[start], stamped[end]}
    found = {f.key for f in preflight.run_preflight(s3, _source(), ImportWindow(start, end)).findings.files}
    assert ends <= found
    assert len(found) == 6, "12:00, 18:00, then the next day's four: both ends included"
    inside = ImportWindow(start + timedelta(seconds=1), end - timedelta(seconds=1))
    assert not ends & {f.key for f in preflight.run_preflight(s3, _source(), inside).findings.files}


def test_a_stray_object_among_the_logs_is_flagged(s3: Any) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=3, start=datetime(2024, 1, 1, tzinfo=UTC)), boto3_put(s3, BUCKET))
    report = preflight.run_preflight(s3, _source(), ImportWindow(datetime(2024, 1, 1, tzinfo=UTC), None))
    assert report.findings.other_objects == ["AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/notes.txt"]
    assert any("not CloudTrail log files, such as" in p.message and not p.blocking for p in report.problems)


def test_an_account_trail_beside_an_organization_trail_is_read_whole_and_every_stray_object_is_named(s3: Any) -> None:
    _bucket(s3)
    own = TrailLayout(days=10, stray_object=False)  # the account's trail from before the organization's
    organization = TrailLayout(days=10, organization="o-a1b2c3d4e5", accounts=("444455556666",),
                               regions=("eu-west-1", "us-east-1"), stray_object=False)
    for layout in (own, organization):
        write_trail_logs(layout, boto3_put(s3, BUCKET))
    strays = ("AWSLogs/readme.txt", "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/09/notes.txt",
              "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/eu-west-1/2024/01/10/notes.txt",
              "AWSLogs/o-a1b2c3d4e5/444455556666/Config/us-east-1/config.json")
    for stray in strays:
        s3.put_object(Bucket=BUCKET, Key=stray, Body=b"not a log")
    report = preflight.run_preflight(s3, _source(), WEEK, sample_size=0)
    expected = sorted(key for layout in (own, organization) for key, _, _, at in layout.log_files()
                      if datetime(2024, 1, 8, tzinfo=UTC) <= at <= datetime(2024, 1, 14, 23, 59, tzinfo=UTC))
    assert [f.key for f in report.findings.files] == expected
    assert len(expected) == 3 * 4 * (3 + 2)  # January 8 to 10, four files a day, five regions
    assert sorted(report.findings.other_objects) == [
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/09/notes.txt",
        "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/eu-west-1/2024/01/10/notes.txt",
        "AWSLogs/o-a1b2c3d4e5/444455556666/Config/",
        "AWSLogs/readme.txt"]


@pytest.mark.parametrize(("prefix", "regions", "list_requests"), [
    ("org-trail/AWSLogs/111122223333/CloudTrail/eu-west-1", ["eu-west-1"], 1),
    ("org-trail/AWSLogs/111122223333/CloudTrail/eu-west-1/", ["eu-west-1"], 1),
    ("org-trail/AWSLogs/111122223333/CloudTrail/", ["ap-southeast-2", "eu-west-1", "us-east-1"], 1 + 3),
    ("org-trail/AWSLogs/111122223333", ["ap-southeast-2", "eu-west-1", "us-east-1"], 2 + 3),
    ("/org-trail/", ["ap-southeast-2", "eu-west-1", "us-east-1"], 3 + 3),
])
def test_a_prefix_down_to_an_account_its_regions_or_one_region_is_walked_from_there(
        s3: Any, prefix: str, regions: list[str], list_requests: int) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=10, prefix="org-trail"), boto3_put(s3, BUCKET))
    report = preflight.run_preflight(s3, _source(prefix), WEEK)
    assert sorted({f.region for f in report.findings.files}) == report.findings.regions == regions
    assert len(report.findings.files) == 3 * 4 * len(regions)  # January 8 to 10, four files a day
    # From where the prefix points: the account's services, CloudTrail/'s regions, then one listing per region.
    assert report.findings.list_requests == list_requests


def test_a_week_of_a_year_of_logs_in_three_regions_lists_far_less_than_the_whole_prefix(aws: Any) -> None:
    s3 = admin_client("s3")
    _bucket(s3)
    year = TrailLayout(days=366, files_per_day=24, digests=False, stray_object=False)

    total = write_trail_logs(year, _put_direct, compact=True)
    window = ImportWindow(datetime(2024, 6, 10, tzinfo=UTC), datetime(2024, 6, 16, 23, 59, tzinfo=UTC))
    report = preflight.run_preflight(s3, _source(), window, sample_size=0)
    expected = sorted(key for key, _, _, at in year.log_files() if datetime(2024, 6, 10, tzinfo=UTC) <= at
                      <= datetime(2024, 6, 16, 23, 59, tzinfo=UTC))
    assert [f.key for f in report.findings.files] == expected
    # Listing the whole prefix would take a request per 1,000 keys (ListObjectsV2's MaxKeys at most).
    full_listing = math.ceil(total / 1000)
    ratio = full_listing / report.findings.list_requests
    print(f"\n{total} log files; full listing {full_listing} requests; preflight "
          f"{report.findings.list_requests}; ratio {ratio:.1f}")
    # AWSLogs/ (accounts), the account (services), CloudTrail/ (regions), then one page per region.
    assert report.findings.list_requests == 3 + 3
    assert ratio >= 4


def test_a_region_with_more_files_in_the_window_than_one_listing_page_is_read_to_its_last_file(aws: Any) -> None:
    s3 = admin_client("s3")
    _bucket(s3)
    busy = TrailLayout(days=46, files_per_day=24, regions=("us-east-1",), digests=False, stray_object=False)
    write_trail_logs(busy, _put_direct, compact=True)
    window = ImportWindow(busy.start, busy.start + timedelta(days=46))
    report = preflight.run_preflight(s3, _source(), window, sample_size=0)
    expected = [key for key, _, _, _ in busy.log_files()]
    assert len(expected) == 1104  # ListObjectsV2 answers at most 1,000 keys a page
    assert [f.key for f in report.findings.files] == expected
    # AWSLogs/, the account, CloudTrail/, then the region's two pages.
    assert report.findings.list_requests == 3 + 2


def test_bucket_in_another_region_is_blocking(s3: Any) -> None:
    _bucket(s3, region="eu-west-1")
    problems = preflight.check_bucket(s3, _source(region="us-east-1"))
    assert [p.message for p in problems if p.blocking] == [
        "Bucket trail-logs is in eu-west-1, not in us-east-1: set S3BucketRegion to eu-west-1."]


@pytest.mark.parametrize(("ownership", "named"), [
    (None, "ObjectWriter"),  # no ownership controls at all: S3's ACL default
    ("ObjectWriter", "ObjectWriter"),
    ("BucketOwnerPreferred", "BucketOwnerPreferred"),
])
def test_acls_enabled_is_blocking(s3: Any, ownership: str | None, named: str) -> None:
    _bucket(s3, ownership=ownership)
    (problem,) = preflight.check_bucket(s3, _source())
    assert (problem.blocking, problem.message) == (True, (
        f"Bucket trail-logs has ACLs enabled (Object Ownership {named}); CloudTrail imports only from buckets with "
        "ACLs disabled: set Object Ownership to BucketOwnerEnforced."))


def _answering_with(client: Any, operation: str, parsed: dict[str, Any], status: int = 200) -> Any:
    """``client``, whose ``operation`` is answered ``parsed`` with HTTP ``status`` (an answer moto does not give)."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    def answer(**_: Any) -> Any:
        return AWSResponse("https://s3.amazonaws.com/", status, HTTPHeaders(), None), {
            **parsed, "ResponseMetadata": {"HTTPStatusCode": status}}
    client.meta.events.register_first(f"before-call.s3.{operation}", answer)
    return client


def _answering(client: Any, operation: str, code: str, message: str, status: int) -> Any:
    """``client``, whose ``operation`` gets the error answer S3 gives with ``code``."""
    return _answering_with(client, operation, {"Error": {"Code": code, "Message": message}}, status)


@pytest.mark.parametrize(("region", "problems"), [
    ("eu-west-1", []),
    ("us-east-1", ["Bucket trail-logs is in eu-west-1, not in us-east-1: set S3BucketRegion to eu-west-1."]),
])
def test_a_bucket_whose_location_is_the_old_eu_constraint_is_in_eu_west_1(
        s3: Any, region: str, problems: list[str]) -> None:
    # S3 API Reference, GetBucketLocation: "Buckets with a LocationConstraint of EU reside in eu-west-1."
    _bucket(s3)
    _answering_with(s3, "GetBucketLocation", {"LocationConstraint": "EU"})
    assert [p.message for p in preflight.check_bucket(s3, _source(region=region))] == problems


def test_ownership_controls_the_caller_may_not_read_are_a_warning_naming_the_permission(s3: Any) -> None:
    _bucket(s3)
    _answering(s3, "GetBucketOwnershipControls", "AccessDenied", "Access Denied", 403)
    (problem,) = preflight.check_bucket(s3, _source())
    assert (problem.blocking, problem.denied) == (False, True)
    assert problem.message.startswith("Access denied reading bucket trail-logs (s3:GetBucketOwnershipControls); the "
                                      "check was skipped. The caller needs s3:GetBucketOwnershipControls on it")


def test_missing_bucket_is_blocking(s3: Any) -> None:
    (problem,) = preflight.check_bucket(s3, _source())
    assert (problem.blocking, problem.message) == (True, "Bucket trail-logs does not exist: check S3LocationUri.")


def test_a_bucket_s3_cannot_answer_for_is_blocking_with_s3s_own_words(s3: Any) -> None:
    _bucket(s3)
    _answering(s3, "GetBucketOwnershipControls", "InternalError", "We encountered an internal error.", 500)
    (problem,) = preflight.check_bucket(s3, _source())
    assert problem.blocking is True
    assert problem.message.startswith("Bucket trail-logs: InternalError: An error occurred (InternalError) when "
                                      "calling the GetBucketOwnershipControls operation")


def test_no_file_in_the_window_is_blocking(s3: Any) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=3), boto3_put(s3, BUCKET))
    problems = preflight.check_source(s3, _source(), WEEK)
    assert [(p.blocking, p.message) for p in problems] == [(
        True, "No CloudTrail log file under s3://trail-logs is dated between 2024-01-08T00:00:00+00:00 and "
        "2024-01-14T23:59:00+00:00: check S3LocationUri, StartEventTime and EndEventTime.")]


@pytest.mark.parametrize(("window", "span"), [
    (ImportWindow(None, datetime(2020, 1, 1, tzinfo=UTC)), "between any date and 2020-01-01T00:00:00+00:00"),
    (ImportWindow(datetime(2030, 1, 1, tzinfo=UTC), None), "between 2030-01-01T00:00:00+00:00 and any date"),
])
def test_no_file_in_a_window_open_at_one_end_says_so(s3: Any, window: ImportWindow, span: str) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=3), boto3_put(s3, BUCKET))
    (problem,) = preflight.check_source(s3, _source(), window)
    assert f"is dated {span}: check" in problem.message


@pytest.mark.parametrize("allowed", [True, False])
def test_kms_encrypted_logs_need_decrypt_in_the_access_role(s3: Any, allowed: bool) -> None:
    _bucket(s3)
    key = admin_client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    iam = admin_client("iam")
    iam.create_role(RoleName="TrailImportAccess", AssumeRolePolicyDocument="{}")
    actions = ["s3:GetObject", "kms:Decrypt"] if allowed else ["s3:GetObject"]
    iam.put_role_policy(RoleName="TrailImportAccess", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": [key, "*"]}]}))
    problems = preflight.check_encryption(s3, iam, _source(), "arn:aws:iam::111122223333:role/TrailImportAccess")
    assert bool(problems) is not allowed
    if problems:
        assert problems[0].blocking is True
        assert problems[0].message == (
            f"The logs are encrypted with KMS key {key}, and access role TrailImportAccess has no policy allowing "
            "kms:Decrypt on it (the key policy must allow it too).")


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
@pytest.mark.parametrize("allowed", [True, False])
def test_decrypt_granted_by_a_managed_policy_of_a_role_under_a_path_is_found(
        s3: Any, algorithm: str, allowed: bool) -> None:
    _bucket(s3)
    key = admin_client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm, "KMSMasterKeyID": key}}]})
    iam = admin_client("iam")
    role = iam.create_role(RoleName="TrailImportAccess", Path="/audit/imports/", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="TrailImportAccess", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    action = "kms:Decrypt" if allowed else "kms:Encrypt"
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": key}]}
    managed = iam.create_policy(PolicyName="decrypt", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="TrailImportAccess", PolicyArn=managed)
    assert role["Role"]["Arn"] == "arn:aws:iam::123456789012:role/audit/imports/TrailImportAccess"
    problems = preflight.check_encryption(s3, iam, _source(), role["Role"]["Arn"])
    assert [p.message.split(",")[1] for p in problems] == ([] if allowed else [
        " and access role TrailImportAccess has no policy allowing kms:Decrypt on it (the key policy must allow it "
        "too)."])


def test_logs_encrypted_with_s3_managed_keys_need_no_decrypt(s3: Any) -> None:
    _bucket(s3)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    iam = admin_client("iam")
    iam.create_role(RoleName="TrailImportAccess", AssumeRolePolicyDocument="{}")
    assert preflight.check_encryption(s3, iam, _source(), "arn:aws:iam::111122223333:role/TrailImportAccess") == []


def test_create_with_preflight_fails_fast_naming_the_fix_and_starts_nothing(
    aws: CloudTrailImportSimulator, s3: Any, props: dict[str, str]
) -> None:
    _bucket(s3, ownership="ObjectWriter")
    outcome = ProviderDriver(aws).create({**props, "Preflight": "true", "S3LocationUri": f"s3://{BUCKET}"})
    assert outcome.status == "FAILED"
    assert outcome.reason.startswith("Preflight of s3://trail-logs failed: Bucket trail-logs has ACLs enabled")
    assert outcome.reason.endswith('Set Preflight to "false" to skip these checks.')
    assert aws.imports == {}


def test_create_with_preflight_starts_the_import_when_the_source_is_ready(
    aws: CloudTrailImportSimulator, s3: Any, props: dict[str, str]
) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=2, start=datetime(2024, 3, 1, tzinfo=UTC)), boto3_put(s3, BUCKET))
    outcome = ProviderDriver(aws).create({**props, "Preflight": "true", "S3LocationUri": f"s3://{BUCKET}"})
    assert outcome.status == "SUCCESS", outcome.reason
    assert len(aws.imports) == 1


def test_a_bucket_of_another_account_that_denies_the_handler_warns_and_the_import_starts(
    aws: CloudTrailImportSimulator, s3: Any, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    _bucket(s3)
    assert aws.iam is not None
    # The owner granted the access role (so CloudTrail can read), not the handler's role.
    grant = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject"],
             "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
             "Condition": {"ArnEquals": {"aws:PrincipalArn": props["S3BucketAccessRoleArn"]}}}
    aws.iam.add_bucket(BUCKET, account="444455556666", policy={"Statement": [grant]})
    outcome = ProviderDriver(aws).create({**props, "Preflight": "true", "S3LocationUri": f"s3://{BUCKET}"})
    assert outcome.status == "SUCCESS", outcome.reason
    warnings = [r.__dict__.get("problem", "") for r in caplog.records if r.getMessage() == "preflight"]
    assert warnings == ["Access denied reading bucket trail-logs (s3:GetBucketLocation); the check was skipped. "
                        "The caller needs s3:GetBucketLocation on it, and a bucket of another account must grant "
                        "it in its bucket policy too."]


def test_a_bucket_of_another_account_without_the_owners_statement_fails_naming_it(
    aws: CloudTrailImportSimulator, props: dict[str, str]
) -> None:
    assert aws.iam is not None
    aws.iam.add_bucket(BUCKET, account="444455556666")
    outcome = ProviderDriver(aws).create({**props, "S3LocationUri": f"s3://{BUCKET}"})
    assert outcome.status == "FAILED"
    assert outcome.reason.startswith(
        "StartImport failed with InsufficientEncryptionPolicyException: The policy of bucket trail-logs does not "
        "allow arn:aws:iam::111122223333:role/TrailImportAccess")
    assert ('Add to the policy of bucket trail-logs: {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:'
            'root"},"Action":["s3:ListBucket","s3:GetBucketAcl","s3:GetObject"],"Resource":["arn:aws:s3:::trail-logs",'
            '"arn:aws:s3:::trail-logs/*"],"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/'
            'TrailImportAccess"}}}') in outcome.reason
    # The key statement, as the guide writes it: on behalf of this account and this destination only.
    assert (f'"StringEquals":{{"aws:SourceAccount":"111122223333","aws:SourceArn":"{props["EventDataStoreArn"]}"}}'
            in outcome.reason)
    assert aws.imports == {}


def test_a_bucket_policy_that_does_not_name_the_access_role_is_a_warning_quoting_the_statement(s3: Any) -> None:
    _bucket(s3)
    role = "arn:aws:iam::111122223333:role/TrailImportAccess"
    report = preflight.run_preflight(s3, _source(), WEEK, role_arn=role, sample_size=0)
    (warning,) = [p for p in report.as_dict()["problems"] if "does not name access role" in p["message"]]
    assert warning["blocking"] is False
    assert warning["message"].endswith(
        '{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["s3:ListBucket",'
        '"s3:GetBucketAcl","s3:GetObject"],"Resource":["arn:aws:s3:::trail-logs","arn:aws:s3:::trail-logs/*"],'
        f'"Condition":{{"ArnEquals":{{"aws:PrincipalArn":"{role}"}}}}}}')
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::trail-logs/*", "Condition": {"ArnEquals": {"aws:PrincipalArn": role}}}]}))
    report = preflight.run_preflight(s3, _source(), WEEK, role_arn=role, sample_size=0)
    assert not [p for p in report.problems if "does not name access role" in p.message]


@pytest.mark.parametrize("accounts", [2, 40])
def test_the_create_check_stops_at_the_first_file_whatever_the_number_of_accounts(s3: Any, accounts: int) -> None:
    _bucket(s3)
    layout = TrailLayout(start=WEEK.start or datetime(2024, 1, 8, tzinfo=UTC), days=1, files_per_day=1,
                         accounts=tuple(str(100000000000 + n) for n in range(accounts)),
                         organization="o-a1b2c3d4e5", digests=False, stray_object=False)
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    findings = find_log_files(s3, _source(), WEEK, enough=1)
    assert [f.account for f in findings.files] == ["100000000000"]
    # AWSLogs/, the organization, the first account, its CloudTrail/, then the first region's window
    assert findings.list_requests == 5


def test_the_whole_preflight_lists_accounts_concurrently_and_finds_what_a_sequential_walk_finds(s3: Any) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=14, organization="o-a1b2c3d4e5", accounts=("111122223333", "444455556666")),
                     boto3_put(s3, BUCKET))
    one = find_log_files(s3, _source(), WEEK, workers=1)
    many = find_log_files(s3, _source(), WEEK, workers=8)
    assert [f.key for f in many.files] == [f.key for f in one.files]
    assert len(many.files) == 2 * 3 * 7 * 4
    assert many.digest_prefixes == one.digest_prefixes == [
        "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/", "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail-Digest/"]
    assert many.other_objects == one.other_objects
    assert many.list_requests == one.list_requests


# CloudTrail pricing page, CloudTrail Lake ingestion per GB in US East (N. Virginia), as pricing.py records them.
ONE_YEAR, SEVEN_YEAR = "one-year extendable retention", "seven-year retention"


@pytest.mark.parametrize(("uncompressed_bytes", "one_year", "seven_year"), [
    (0, 0.0, 0.0),
    (3 * 1024**3, 2.25, 7.50),            # three GiB at $0.75 and $2.50
    (1_500_000_000, 1.05, 3.49),          # 1.397 GiB: $1.0477 and $3.4925, in cents
    (7 * 1024**4, 5376.0, 17920.0),       # seven TiB: 7,168 GiB
])
def test_the_estimated_cost_is_the_gib_the_store_ingests_at_each_options_price_in_cents(
        uncompressed_bytes: int, one_year: float, seven_year: float) -> None:
    assert ingestion_cost(uncompressed_bytes) == {ONE_YEAR: one_year, SEVEN_YEAR: seven_year}


def test_a_bucket_policy_the_caller_may_not_read_is_a_warning_naming_the_permission(
        aws: CloudTrailImportSimulator, props: dict[str, str]) -> None:
    import boto3

    _bucket(admin_client("s3"))
    assert aws.iam is not None
    # A bucket of another account that lets the caller list it, not read its policy.
    grant = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}
    aws.iam.add_bucket(BUCKET, account="444455556666", policy={"Statement": [grant]})
    (warning,) = preflight.check_bucket_policy(boto3.client("s3"), _source())
    assert (warning.blocking, warning.denied) == (False, True)
    assert warning.message.startswith("Access denied reading bucket trail-logs (s3:GetBucketPolicy); the check was "
                                      "skipped. The caller needs s3:GetBucketPolicy on it")


def test_the_report_a_user_reads_as_json_has_every_figure_of_the_window(s3: Any) -> None:
    import gzip

    _bucket(s3)
    layout = TrailLayout(days=3, start=datetime(2024, 1, 1, tzinfo=UTC), regions=("us-east-1", "eu-west-1"))
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    window = ImportWindow(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, 23, 59, tzinfo=UTC))
    report = preflight.run_preflight(s3, _source(), window, sample_size=1000).as_dict()
    # What the test reads for itself: the log files dated in the window, their stored and uncompressed bytes.
    in_window = sorted(key for key, _, _, at in layout.log_files()
                       if datetime(2024, 1, 1, tzinfo=UTC) <= at <= datetime(2024, 1, 2, 23, 59, tzinfo=UTC))
    stored = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in in_window]
    inflated = [gzip.decompress(body) for body in stored]
    events = sum(len(json.loads(data)["Records"]) for data in inflated)
    assert set(report) == {"source", "region", "window", "problems", "files", "regions", "compressed_bytes",
                           "estimated_uncompressed_bytes", "estimated_events", "sampled_files", "estimated_cost_usd",
                           "prices", "digest_prefixes", "other_objects", "list_requests"}
    assert (report["source"], report["region"]) == ("s3://trail-logs", "us-east-1")
    assert report["window"] == {"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-02T23:59:00+00:00"}
    assert (report["files"], report["regions"]) == (len(in_window), ["eu-west-1", "us-east-1"])
    assert report["compressed_bytes"] == sum(len(body) for body in stored)
    # Every file read: the estimate is the count itself.
    assert report["sampled_files"] == len(in_window)
    assert report["estimated_uncompressed_bytes"] == sum(len(data) for data in inflated)
    assert report["estimated_events"] == events
    assert report["estimated_cost_usd"] == ingestion_cost(sum(len(data) for data in inflated))
    assert report["prices"] == {"as_of": "2025-01", "region": "us-east-1"}
    assert report["digest_prefixes"] == ["AWSLogs/111122223333/CloudTrail-Digest/"]
    assert report["other_objects"] == ["AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/notes.txt"]
    # AWSLogs/ (accounts), the account (services), CloudTrail/ (regions), then one listing per region.
    assert report["list_requests"] == 3 + 2
    assert [p["blocking"] for p in report["problems"]] == [False, False]


@pytest.mark.parametrize(("statement", "bucket_names", "allowed"), [
    ({"Action": "kms:*", "Resource": "KEY"}, "KeyId", True),  # the ARN ends with the id the bucket names
    ({"Action": ["kms:Decrypt"], "Resource": ["KEY"]}, "Arn", True),
    ({"Action": "*", "Resource": "*"}, "Arn", True),
    ({"Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:123456789012:key/another"}, "KeyId", False),
    ({"Action": "kms:Decrypt", "Resource": "KEY", "Effect": "Deny"}, "Arn", False),
    # IAM's wildcards and its case-blind action names (IAM User Guide, "IAM JSON policy elements: Action").
    ({"Action": "KMS:decrypt", "Resource": "KEY"}, "Arn", True),
    ({"Action": "kms:De*", "Resource": "arn:aws:kms:*:123456789012:key/*"}, "Arn", True),
    ({"Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:123456789012:key/*"}, "KeyId", True),
    ({"Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:444455556666:key/*"}, "Arn", False),
    ({"Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:123456789012:alias/*"}, "KeyId", False),
    ({"Action": "kms:En*", "Resource": "*"}, "Arn", False),
    ({"Action": "kms:Decrypt?", "Resource": "*"}, "Arn", False),
    ({"Action": "kms:Decryp?", "Resource": "*"}, "Arn", True),
    ({"Action": "kms:Decrypt", "Resource": "*"}, "KeyId", True),
    # ARNs are case sensitive (same page): the key's id in capitals names another key.
    ({"Action": "kms:Decrypt", "Resource": "KEY_IN_CAPITALS"}, "Arn", False),
    ({"Action": "kms:Decrypt", "Resource": "KEY_IN_CAPITALS"}, "KeyId", False),
])
def test_which_statements_let_the_access_role_decrypt(s3: Any, statement: dict[str, Any], bucket_names: str,
                                                      allowed: bool) -> None:
    _bucket(s3)
    key = admin_client("kms").create_key()["KeyMetadata"]
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key[bucket_names]}}]})
    capitals = key["Arn"].replace(key["KeyId"], key["KeyId"].upper())
    assert capitals != key["Arn"]
    filled = json.loads(json.dumps({"Effect": "Allow", **statement}).replace('"KEY"', json.dumps(key["Arn"]))
                        .replace('"KEY_IN_CAPITALS"', json.dumps(capitals)))
    iam = admin_client("iam")
    iam.create_role(RoleName="TrailImportAccess", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="TrailImportAccess", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [filled]}))
    problems = preflight.check_encryption(s3, iam, _source(), "arn:aws:iam::111122223333:role/TrailImportAccess")
    assert (problems == []) is allowed


def test_the_create_check_of_a_bucket_that_will_not_be_listed_warns_naming_the_permission(
        aws: CloudTrailImportSimulator) -> None:
    import boto3

    _bucket(admin_client("s3"))
    assert aws.iam is not None
    grant = {"Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["s3:GetBucketLocation", "s3:GetBucketOwnershipControls"], "Resource": f"arn:aws:s3:::{BUCKET}"}
    aws.iam.add_bucket(BUCKET, account="444455556666", policy={"Statement": [grant]})
    problems = preflight.check_source(boto3.client("s3"), _source(), WEEK)
    assert [(p.blocking, p.denied) for p in problems] == [(False, True)]
    assert problems[0].message.startswith("Access denied reading bucket trail-logs (s3:ListBucket)")


def test_the_create_check_stops_listing_at_the_first_file_of_the_window(s3: Any) -> None:
    _bucket(s3)
    layout = TrailLayout(start=datetime(2024, 1, 8, tzinfo=UTC), days=2, files_per_day=24, digests=False,
                         stray_object=False)
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    listings: list[str] = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: listings.append(params["url_path"]))
    assert preflight.check_source(s3, _source(), WEEK) == []
    # AWSLogs/, the account, CloudTrail/, then the first region's window: one page, and no other region.
    assert len(listings) == 4


def test_the_s3_client_asks_the_buckets_own_region() -> None:
    assert preflight.s3_client("eu-central-1").meta.region_name == "eu-central-1"


def _preflight_of_kms_bucket_with_bare_role(s3: Any) -> tuple[str, preflight.PreflightReport]:
    """The bucket encrypted with a new KMS key, and the preflight of a week as an access role with no policy."""
    key = admin_client("kms").create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    iam = admin_client("iam")
    role = iam.create_role(RoleName="TrailImportAccess", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return key, preflight.run_preflight(s3, _source(), WEEK, iam=iam, role_arn=role, sample_size=0)


def test_the_whole_preflight_of_a_kms_bucket_names_the_missing_decrypt_and_the_bucket_policy_both(s3: Any) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=10), boto3_put(s3, BUCKET))
    key, report = _preflight_of_kms_bucket_with_bare_role(s3)
    assert [(p.blocking, p.message.split(",")[0].split(" does not")[0]) for p in report.problems] == [
        (True, f"The logs are encrypted with KMS key {key}"),
        (False, "The policy of bucket trail-logs"),
        (False, "Digest files under AWSLogs/111122223333/CloudTrail-Digest/ are not events; the import skips them."),
    ]


def test_the_digest_notice_names_the_first_three_accounts_digest_prefixes(s3: Any) -> None:
    _bucket(s3)
    accounts = ("111111111111", "222222222222", "333333333333", "444444444444")
    write_trail_logs(TrailLayout(days=10, accounts=accounts, stray_object=False), boto3_put(s3, BUCKET))
    report = preflight.run_preflight(s3, _source(), WEEK, sample_size=0)
    assert [p.message for p in report.problems] == [
        "Digest files under AWSLogs/111111111111/CloudTrail-Digest/, AWSLogs/222222222222/CloudTrail-Digest/, "
        "AWSLogs/333333333333/CloudTrail-Digest/ are not events; the import skips them."]


@pytest.mark.parametrize(("sample_size", "read"), [(1, [0]), (2, [0, 6]), (4, [0, 3, 6, 9])])
def test_the_sample_read_for_the_estimate_is_spread_over_the_window(
        s3: Any, sample_size: int, read: list[int]) -> None:
    _bucket(s3)
    layout = TrailLayout(days=3, files_per_day=4, regions=("us-east-1",), digests=False, stray_object=False)
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    files = [key for key, _, _, _ in layout.log_files()]
    assert len(files) == 12
    fetched: list[str] = []
    s3.meta.events.register("before-call.s3.GetObject", lambda params, **_: fetched.append(params["url_path"]))
    report = preflight.run_preflight(s3, _source(), ImportWindow(layout.start, None), sample_size=sample_size)
    assert [path.rsplit("/", 1)[-1] for path in fetched] == [files[n].rsplit("/", 1)[-1] for n in read]
    assert report.sampled_files == sample_size
    # Every file holds as many records: scaled by stored bytes, the sample's count is the window's, near enough.
    assert report.events == pytest.approx(12 * layout.records_per_file, rel=0.05)


def test_the_create_check_goes_on_to_the_next_region_only_while_it_has_found_no_file(s3: Any) -> None:
    _bucket(s3)
    layout = TrailLayout(start=datetime(2024, 1, 8, tzinfo=UTC), days=1, files_per_day=1, digests=False,
                         stray_object=False)  # one file in each of three regions
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    listings: list[str] = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: listings.append(params["url_path"]))
    assert preflight.check_source(s3, _source(), WEEK) == []
    # AWSLogs/, the account, CloudTrail/, then the first region's window, which holds the one file needed.
    assert len(listings) == 4


def test_the_json_report_names_fifty_stray_objects_and_counts_them_all(s3: Any) -> None:
    _bucket(s3)
    write_trail_logs(TrailLayout(days=10, stray_object=False), boto3_put(s3, BUCKET))
    for n in range(60):
        s3.put_object(Bucket=BUCKET, Key=f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/09/note-{n:02d}.txt",
                      Body=b"not a log")
    report = preflight.run_preflight(s3, _source(), WEEK, sample_size=0)
    assert report.as_dict()["other_objects"] == [
        f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/09/note-{n:02d}.txt" for n in range(50)]
    assert any(p.message.startswith("60 object(s) are not CloudTrail log files") for p in report.problems)


def test_a_check_wanting_more_files_than_a_region_holds_gathers_them_across_regions(s3: Any) -> None:
    _bucket(s3)
    layout = TrailLayout(start=datetime(2024, 1, 8, tzinfo=UTC), days=1, files_per_day=3, digests=False,
                         stray_object=False)
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    for region in ("ap-southeast-2", "eu-west-1"):  # listed before the region's log files ("0" < "1")
        s3.put_object(Bucket=BUCKET, Key=f"AWSLogs/111122223333/CloudTrail/{region}/2024/01/08/0-note.txt", Body=b"")
    findings = find_log_files(s3, _source(), WEEK, enough=4)
    # Regions in key order: the first region's three files, then one of the next, and no region after.
    assert [(f.region, f.key.rsplit("_", 1)[0][-5:]) for f in findings.files] == [
        ("ap-southeast-2", "0000Z"), ("ap-southeast-2", "0800Z"), ("ap-southeast-2", "1600Z"),
        ("eu-west-1", "0000Z")]
    assert findings.regions == ["ap-southeast-2", "eu-west-1"]
    assert findings.other_objects == [f"AWSLogs/111122223333/CloudTrail/{region}/2024/01/08/0-note.txt"
                                      for region in ("ap-southeast-2", "eu-west-1")]


def test_a_window_without_an_end_under_a_lower_case_prefix_ending_in_a_capital_x_reads_every_file_after_its_start(
        s3: Any) -> None:
    # A key under "org-trail-X/" sorts after any upper-case bound, and a trailing "X" is the prefix's own.
    _bucket(s3)
    layout = TrailLayout(days=10, files_per_day=2, regions=("us-east-1",), prefix="org-trail-X", digests=False,
                         stray_object=False)
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    start = datetime(2024, 1, 6, tzinfo=UTC)
    report = preflight.run_preflight(s3, _source("org-trail-X"), ImportWindow(start, None), sample_size=0)
    expected = sorted(key for key, _, _, at in layout.log_files() if at >= start)
    assert len(expected) == 10
    assert [f.key for f in report.findings.files] == expected


def test_a_thousand_stray_objects_beside_an_account_hide_neither(s3: Any) -> None:
    _bucket(s3)
    layout = TrailLayout(days=10, regions=("us-east-1",), digests=False, stray_object=False)
    write_trail_logs(layout, boto3_put(s3, BUCKET))
    # After the account's prefix in key order: the delimiter listing of AWSLogs/ takes two pages of 1,000.
    for n in range(1000):
        _put_direct(f"AWSLogs/zz-export-{n:04d}.csv", b"")
    report = preflight.run_preflight(s3, _source(), WEEK, sample_size=0)
    assert [f.key for f in report.findings.files] == sorted(
        key for key, _, _, at in layout.log_files() if datetime(2024, 1, 8, tzinfo=UTC) <= at)  # 8 to 10 January
    assert len(report.findings.other_objects) == 1000
    # AWSLogs/ in two pages, the account, its CloudTrail/, the region's window.
    assert report.findings.list_requests == 5


def test_a_kms_bucket_with_acls_enabled_is_told_of_both(s3: Any) -> None:
    _bucket(s3, ownership="ObjectWriter")
    write_trail_logs(TrailLayout(days=10, digests=False, stray_object=False), boto3_put(s3, BUCKET))
    key, report = _preflight_of_kms_bucket_with_bare_role(s3)
    blocking = [p.message for p in report.blocking]
    assert len(blocking) == 2
    assert blocking[0].startswith("Bucket trail-logs has ACLs enabled")
    assert blocking[1].startswith(f"The logs are encrypted with KMS key {key}")
