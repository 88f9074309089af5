"""The simulator answers real boto3 clients as the import service would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, failures
from tests.driver import ROLE_ARN
from trail_import_handler import cloudtrail


def _start(destination: str, uri: str = "s3://trail-logs") -> str:
    ct = boto3.client("cloudtrail")
    answer = ct.start_import(
        Destinations=[destination],
        ImportSource={"S3": {"S3LocationUri": uri, "S3BucketRegion": "us-east-1",
                             "S3BucketAccessRoleArn": ROLE_ARN}},
        StartEventTime=datetime(2024, 1, 1, tzinfo=UTC),
        EndEventTime=datetime(2024, 2, 1, tzinfo=UTC),
    )
    return str(answer["ImportId"])


def test_import_moves_through_statuses_and_statistics_grow(sim: CloudTrailImportSimulator, destination: str) -> None:
    import_id = _start(destination)
    ct = boto3.client("cloudtrail")
    seen = []
    events = []
    for _ in range(12):
        answer = ct.get_import(ImportId=import_id)
        seen.append(answer["ImportStatus"])
        events.append(answer["ImportStatistics"]["EventsCompleted"])
        sim.advance(60)
    assert seen[0] == "INITIALIZING"
    assert "IN_PROGRESS" in seen
    assert seen[-1] == "COMPLETED"
    assert events == sorted(events)
    assert events[-1] == sim.default_plan.events
    assert answer["StartEventTime"] == datetime(2024, 1, 1, tzinfo=UTC)


def test_second_import_while_one_runs_is_refused_with_the_modeled_error(
    sim: CloudTrailImportSimulator, destination: str
) -> None:
    _start(destination)
    with pytest.raises(ClientError) as caught:
        _start(destination, "s3://trail-logs/second")
    assert caught.value.response["Error"]["Code"] == "AccountHasOngoingImportException"
    ct = boto3.client("cloudtrail")
    assert isinstance(caught.value, ct.exceptions.AccountHasOngoingImportException)


def test_botocore_validates_requests_against_the_service_model(sim: CloudTrailImportSimulator) -> None:
    ct = boto3.client("cloudtrail")
    with pytest.raises(ParamValidationError):
        ct.start_import(Destinations=["a", "b"], ImportSource={"S3": {"S3LocationUri": "s3://x"}})  # type: ignore[typeddict-item]
    assert sim.requests == []


def test_unknown_import_and_unknown_store_answer_their_codes(sim: CloudTrailImportSimulator) -> None:
    ct = boto3.client("cloudtrail")
    with pytest.raises(ct.exceptions.ImportNotFoundException):
        ct.get_import(ImportId="a0000000-0000-0000-0000-00000000dead")
    with pytest.raises(ct.exceptions.EventDataStoreNotFoundException):
        _start("arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/missing")


def test_stop_moves_a_running_import_to_stopped(sim: CloudTrailImportSimulator, destination: str) -> None:
    import_id = _start(destination)
    sim.advance(120)
    boto3.client("cloudtrail").stop_import(ImportId=import_id)
    assert sim.status_of(import_id) == "IN_PROGRESS"
    sim.advance(sim.stop_seconds)
    assert sim.status_of(import_id) == "STOPPED"


def test_failures_are_paginated_with_next_token(sim: CloudTrailImportSimulator, destination: str) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(130)))
    import_id = _start(destination)
    sim.finish_all()
    paginator = boto3.client("cloudtrail").get_paginator("list_import_failures")
    pages = list(paginator.paginate(ImportId=import_id))
    assert len(pages) == 3
    assert sum(len(p["Failures"]) for p in pages) == 130
    assert sim.status_of(import_id) == "FAILED"


def test_injected_faults_are_retried_by_the_handlers_client(sim: CloudTrailImportSimulator, destination: str) -> None:
    import_id = _start(destination)
    sim.inject_fault("GetImport", "ThrottlingException", times=2)
    sim.inject_fault("GetImport", "InternalFailure", status=500, times=1)
    answer = cloudtrail.client().get_import(ImportId=import_id)
    assert answer["ImportId"] == import_id
    assert [r.error for r in sim.requests if r.operation == "GetImport"] == [
        "ThrottlingException", "ThrottlingException", "InternalFailure", None]


def test_invalid_next_token_is_refused(sim: CloudTrailImportSimulator, destination: str) -> None:
    ct = boto3.client("cloudtrail")
    with pytest.raises(ct.exceptions.InvalidNextTokenException):
        ct.list_imports(NextToken="forged")


@pytest.mark.parametrize("operation", ["list_imports", "list_import_failures"])
def test_max_results_beyond_the_models_range_is_refused_as_the_service_would(
        sim: CloudTrailImportSimulator, destination: str, operation: str) -> None:
    import_id = _start(destination)
    ct = boto3.client("cloudtrail")
    ask = getattr(ct, operation)
    extra = {"ImportId": import_id} if operation == "list_import_failures" else {}
    ask(MaxResults=1000, **extra)  # the model's "max": 1000
    # botocore enforces only the minimum on the client: the service answers the error its model lists.
    with pytest.raises(ct.exceptions.InvalidParameterException, match="MaxResults must be between 1 and 1000"):
        ask(MaxResults=1001, **extra)
    with pytest.raises(ParamValidationError):
        ask(MaxResults=0, **extra)


def test_a_stop_from_outside_comes_once_the_running_import_has_run_long_enough(
        sim: CloudTrailImportSimulator, destination: str) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=1)))
    import_id = _start(destination)
    sim.stop_from_outside_after(timedelta(minutes=5))
    sim.advance(4 * 60)
    assert sim.status_of(import_id) == "IN_PROGRESS"
    sim.advance(2 * 60)
    sim.advance(sim.stop_seconds)
    assert sim.status_of(import_id) == "STOPPED"
    assert [r for r in sim.requests if r.operation == "StopImport"] == [], "stopped by someone else, not a request"
