"""The documented checks of the destination event data store: blocking ones stop Create before StartImport."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from cloudtrail_lake_import.cli import main
from cloudtrail_lake_import.testing import CloudTrailImportSimulator, IamWorld
from cloudtrail_lake_import.testing.trail_bucket import TrailLayout, boto3_put, write_trail_logs
from tests.driver import ProviderDriver
from tests.handler_roles import admin_client

BUCKET = "trail-logs"


def _create(sim: CloudTrailImportSimulator, props: dict[str, str]) -> Any:
    return ProviderDriver(sim).create({**props, "Preflight": "true", "S3LocationUri": f"s3://{BUCKET}"})


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The preflight's warnings, as the handler logged them."""
    return [str(r.__dict__.get("problem", "")) for r in caplog.records if r.getMessage() == "preflight"]


def _source_ready(days: int = 7, start: datetime = datetime(2024, 6, 1, tzinfo=UTC)) -> None:
    s3 = admin_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    write_trail_logs(TrailLayout(days=days, start=start, files_per_day=2), boto3_put(s3, BUCKET))


@pytest.mark.parametrize(("store", "message"), [
    ({"retention_days": 365},
     "Nothing would be copied: the window ends 2024-07-01T00:00:00+00:00, before the store's 365-day retention "
     "period begins (2025-01-05T09:00:00+00:00). Move the window, or raise the store's retention."),
    ({"status": "PENDING_DELETION"},
     "is PENDING_DELETION, not ENABLED: it takes no copies. Wait until it is ENABLED, or choose another "
     "EventDataStoreArn."),
    ({"categories": ("ConfigurationItem",)},
     "holds ConfigurationItem events, not CloudTrail events: choose an event data store for CloudTrail events."),
    ({"organization": True},
     "is an organization event data store: only the management account (123456789012) can copy trail events into "
     "it, not 111122223333 (a delegated administrator cannot either). Deploy the import in the management account."),
], ids=["window-outside-retention", "not-enabled", "not-cloudtrail-events", "organization-store-not-management"])
def test_a_destination_that_cannot_take_the_copy_fails_create_before_start_import(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], store: dict[str, Any], message: str
) -> None:
    admin_client("organizations").create_organization(FeatureSet="ALL")
    aws.add_event_data_store(destination, **store)
    outcome = _create(aws, props)
    assert outcome.status == "FAILED"
    assert outcome.reason.startswith(f"Preflight of s3://{BUCKET} failed: ")
    assert message in outcome.reason
    assert aws.calls("StartImport") == []


def test_a_destination_that_does_not_exist_fails_create_naming_the_property(
    aws: CloudTrailImportSimulator, props: dict[str, str]
) -> None:
    aws.event_data_stores.clear()
    outcome = _create(aws, props)
    assert outcome.status == "FAILED"
    assert f"Event data store {props['EventDataStoreArn']} does not exist in this account and region: check " \
           "EventDataStoreArn." in outcome.reason
    assert aws.calls("StartImport") == []


@pytest.mark.parametrize(("store", "warning"), [
    ({"retention_days": 600},
     "Events logged before 2024-05-15T09:00:00+00:00 are outside the store's 600-day retention period and will not "
     "be copied."),
    ({"created": datetime(2024, 6, 15, tzinfo=UTC)},
     "also ingests events live since 2024-06-15T00:00:00+00:00: events of the window after that would be in it "
     "twice. End the window before the store's creation, or stop its ingestion."),
    ({"created": datetime(2024, 7, 1, tzinfo=UTC)},  # the window's very end: not "earlier than the creation"
     "also ingests events live since 2024-07-01T00:00:00+00:00"),
], ids=["window-partly-outside-retention", "window-overlaps-live-ingestion", "window-ends-at-the-stores-creation"])
def test_a_destination_that_would_copy_less_or_twice_warns_and_the_import_starts(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], store: dict[str, Any], warning: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _source_ready()
    aws.add_event_data_store(destination, **store)
    outcome = _create(aws, props)
    assert outcome.status == "SUCCESS", outcome.reason
    warnings = _warnings(caplog)
    assert any(warning in w for w in warnings), warnings


def test_an_organization_store_of_the_management_account_passes(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    admin_client("organizations").create_organization(FeatureSet="ALL")
    _source_ready()
    aws.add_event_data_store(destination, organization=True)
    outcome = _create(aws, props)
    assert outcome.status == "SUCCESS", outcome.reason


def test_an_organization_store_in_an_account_outside_any_organization_is_not_judged_by_one(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str]
) -> None:
    _source_ready()  # no organization: DescribeOrganization answers AWSOrganizationsNotInUseException
    aws.add_event_data_store(destination, organization=True)
    outcome = _create(aws, props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert aws.calls("StartImport")


def test_an_organization_store_whose_management_account_cannot_be_read_warns_and_the_import_starts(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], iam: IamWorld, caller: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An SCP or a permissions boundary may deny it even though the handler's role allows it.
    iam.roles[caller].policies.append({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "organizations:DescribeOrganization", "Resource": "*"}]})
    admin_client("organizations").create_organization(FeatureSet="ALL")
    _source_ready()
    aws.add_event_data_store(destination, organization=True)
    outcome = _create(aws, props)
    assert outcome.status == "SUCCESS", outcome.reason
    warnings = _warnings(caplog)
    assert ("Access denied calling organizations:DescribeOrganization; whether this is the management account was "
            "not checked.") in warnings
    assert aws.calls("StartImport")


def _preflight_command(aws: CloudTrailImportSimulator, destination: str, *window: str) -> Any:
    """The command line's preflight of the bucket into ``destination``, as a person types it and reads it on a
    terminal."""
    return CliRunner().invoke(main, ["--region", "us-east-1", "--output", "table", "preflight", f"s3://{BUCKET}",
                                     "--bucket-region", "us-east-1", "--destination", destination, *window],
                              obj={"sleep": aws.advance})


class TestThePreflightCommand:
    """The command line's preflight: what a person sees."""

    @pytest.fixture
    def caller(self) -> None:
        """The command runs as a person, whose permissions are theirs to give: no IAM model here."""
        return None

    def test_preflight_command_reports_the_share_of_files_outside_retention(
        self, aws: CloudTrailImportSimulator, destination: str
    ) -> None:
        _source_ready(days=20, start=datetime(2024, 5, 3, tzinfo=UTC))
        aws.add_event_data_store(destination, retention_days=600)  # the cutoff is 2024-05-15T09:00Z
        result = _preflight_command(aws, destination, "--start", "2024-05-01T00:00:00Z",
                                    "--end", "2024-06-01T00:00:00Z")
        assert result.exit_code == 0, result.output
        # 12 days and the first of two files on the 13th, of 20 days of 2 files a day in 3 regions
        assert "note     75 of 120 log files (62%) were logged before 2024-05-15T09:00:00+00:00, outside the store's " \
               "600-day retention period: their events will not be copied." in result.output

    def test_preflight_command_blocks_when_every_file_is_outside_retention(
        self, aws: CloudTrailImportSimulator, destination: str
    ) -> None:
        _source_ready(days=3, start=datetime(2024, 1, 1, tzinfo=UTC))
        aws.add_event_data_store(destination, retention_days=365)
        result = _preflight_command(aws, destination)
        assert result.exit_code == 1
        assert "BLOCKING 18 of 18 log files (100%) were logged before" in result.output

    def test_preflight_command_says_nothing_of_retention_when_it_holds_every_file(
        self, aws: CloudTrailImportSimulator, destination: str
    ) -> None:
        _source_ready(days=3, start=datetime(2024, 1, 1, tzinfo=UTC))
        aws.add_event_data_store(destination, retention_days=3653)
        result = _preflight_command(aws, destination)
        assert result.exit_code == 0, result.output
        assert "Log files     18 " in result.output, result.output
        assert "retention period" not in result.output


def test_a_store_that_reports_no_retention_period_is_not_judged_by_one() -> None:
    from trail_import_handler.destination import Store, store_problems
    from trail_import_handler.properties import ImportWindow

    store = Store(arn="arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/x", status="STOPPED_INGESTION",
                  organization=False, retention_days=None, categories=frozenset({"Management"}), created=None)
    window = ImportWindow(datetime(2010, 1, 1, tzinfo=UTC), datetime(2011, 1, 1, tzinfo=UTC))
    assert store_problems(store, window, datetime(2026, 1, 5, tzinfo=UTC)) == []


def test_a_window_with_no_start_into_a_store_with_retention_warns_that_the_older_events_stay_behind(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    _source_ready()
    aws.add_event_data_store(destination, retention_days=600)  # the cutoff is 2024-05-15T09:00Z
    outcome = _create(aws, {k: v for k, v in props.items() if k != "StartEventTime"})
    assert outcome.status == "SUCCESS", outcome.reason
    warnings = _warnings(caplog)
    assert ("Events logged before 2024-05-15T09:00:00+00:00 are outside the store's 600-day retention period and "
            "will not be copied.") in warnings


@pytest.mark.parametrize(("region", "endpoint"), [
    ("eu-west-1", "https://organizations.us-east-1.amazonaws.com"),
    ("cn-north-1", "https://organizations.cn-northwest-1.amazonaws.com.cn"),
    ("us-gov-west-1", "https://organizations.us-gov-west-1.amazonaws.com"),
])
def test_a_handler_asks_the_organizations_endpoint_of_its_own_partition(
    monkeypatch: pytest.MonkeyPatch, region: str, endpoint: str
) -> None:
    from trail_import_handler.destination import organizations_client

    # The function's region, as Lambda sets it; the endpoints are botocore's (endpoints.json, each partition's
    # global Organizations endpoint).
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    assert organizations_client().meta.endpoint_url == endpoint



def test_every_blocking_problem_is_named_in_one_reason_and_how_to_skip_the_checks(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str]
) -> None:
    admin_client("organizations").create_organization(FeatureSet="ALL")  # managed from 123456789012
    aws.add_event_data_store(destination, status="PENDING_DELETION", organization=True,
                             categories=("ConfigurationItem", "ActivityAuditLog"))
    outcome = _create(aws, props)
    assert outcome.status == "FAILED"
    assert (f"Preflight of s3://{BUCKET} failed: Event data store {destination} is PENDING_DELETION, not ENABLED: it "
            "takes no copies. Wait until it is ENABLED, or choose another EventDataStoreArn. Event data store "
            f"{destination} holds ActivityAuditLog, ConfigurationItem events, not CloudTrail events: choose an event "
            "data store for "
            f"CloudTrail events. Event data store {destination} is an organization event data store: only the "
            "management account (123456789012) can copy trail events into it, not 111122223333 (a delegated "
            'administrator cannot either). Deploy the import in the management account. Set Preflight to "false" to '
            "skip these checks.") in outcome.reason
    assert aws.calls("StartImport") == []


def test_a_window_that_ends_before_the_stores_creation_is_not_warned_of_duplicates(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    _source_ready()
    aws.add_event_data_store(destination, created=datetime(2024, 7, 1, 0, 0, 1, tzinfo=UTC))
    outcome = _create(aws, props)
    assert outcome.status == "SUCCESS", outcome.reason
    problems = _warnings(caplog)
    assert not [p for p in problems if "ingests events live" in p], problems


def test_a_store_the_handler_may_not_describe_is_warned_of_and_the_import_starts(
    aws: CloudTrailImportSimulator, destination: str, props: dict[str, str], iam: IamWorld, caller: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    iam.roles[caller].policies.append({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "cloudtrail:GetEventDataStore", "Resource": "*"}]})
    _source_ready()
    outcome = _create(aws, props)
    assert outcome.status == "SUCCESS", outcome.reason
    warnings = _warnings(caplog)
    assert (f"Access denied reading event data store {destination} (cloudtrail:GetEventDataStore); its checks were "
            "skipped.") in warnings
    assert aws.calls("StartImport")
