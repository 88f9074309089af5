"""Import lifecycle scenarios through the Provider entry points, against the simulator."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, ScriptedFailure, failures
from cloudtrail_lake_import.testing.service_error import ServiceError
from tests.driver import BLOCKING_SOURCE, OTHER_SOURCE, ProviderDriver, import_properties
from trail_import_handler import clock

STATISTICS = ("PrefixesFound", "PrefixesCompleted", "FilesCompleted", "EventsCompleted", "FailedEntries")


def _finished(sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]) -> str:
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    return outcome.physical_id


def test_create_waits_for_completed_import_and_reports_its_statistics(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS"
    assert outcome.checks > 10, "the resource waited for the import"
    assert outcome.physical_id in sim.imports
    assert outcome.data == {
        "ImportId": outcome.physical_id, "ImportStatus": "COMPLETED", "PrefixesFound": "12",
        "PrefixesCompleted": "12", "FilesCompleted": "240", "EventsCompleted": "48000", "FailedEntries": "0",
    }


def test_create_without_waiting_completes_as_soon_as_the_import_started(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    outcome = provider.create({**props, "WaitForCompletion": "false"})
    assert outcome.status == "SUCCESS"
    assert outcome.checks == 1
    assert outcome.data["ImportStatus"] == "INITIALIZING"
    assert sim.status_of(outcome.physical_id) == "INITIALIZING"


def test_failed_import_over_the_threshold_fails_with_its_first_failures(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    outcome = provider.create({**props, "MaxFailedEntries": "2"})
    assert outcome.status == "FAILED"
    assert outcome.physical_id in sim.imports, "the rollback Delete must reach the import"
    first = sim.imports[outcome.physical_id].plan.failures[0]
    copied = sim.copied_events(props["EventDataStoreArn"])
    assert copied > 0
    assert (f"Import {outcome.physical_id} ended FAILED with 3 failed entries, more than MaxFailedEntries (2); "
            f"{copied} events were imported. First failures:\n- {first.location}: FileParseError: "
            f"{first.message}\n") in outcome.reason
    assert outcome.reason.rstrip().endswith(
        f"All failures: aws cloudtrail list-import-failures --import-id {outcome.physical_id}")


def test_failure_reason_fits_the_4kb_response_with_1000_long_failures(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(1000, message_size=900)))
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    # What the Provider framework sends: "Error: " + reason + a Logs line + its Node.js stack.
    stack = "\n".join(f"    at invokeUserFunction (/var/task/framework.js:1:{n})" for n in range(10))
    response = {
        "Status": "FAILED", "Reason": f"Error: {outcome.reason}\n\nLogs: /aws/lambda/{'x' * 64}\n\n{stack}",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/" + "s" * 128 + "/" + "g" * 36,
        "RequestId": "r" * 36, "PhysicalResourceId": outcome.physical_id, "LogicalResourceId": "L" * 255,
        "Data": {},
    }
    assert len(json.dumps(response).encode()) < 4096
    assert "1000 failed entries" in outcome.reason
    assert "more not shown" in outcome.reason
    assert outcome.reason.count("\n- s3://trail-logs/") >= 1


def test_the_reason_keeps_to_its_own_2500_bytes_in_whole_lines_whatever_the_characters(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    # Three-byte characters: a budget counted in characters would let the reason run to three times its bytes.
    # Long lines first, short ones after: the ones shown are the first, though a later short one would fit.
    wide = tuple(ScriptedFailure(location=f.location, message="日" * (280 if n < 12 else 3))
                 for n, f in enumerate(failures(40)))
    sim.plan_next_import(ImportPlan(failures=wide))
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    reason = outcome.reason
    head, *lines, rest, tail = reason.split("\n")
    assert head.startswith(f"Import {outcome.physical_id} ended FAILED with 40 failed entries")
    assert tail == f"All failures: aws cloudtrail list-import-failures --import-id {outcome.physical_id}"
    # Each failure a line of at most 300 characters, the first ones first, none cut between lines.
    assert [line.split(": ")[0] for line in lines] == [f"- {f.location}" for f in wide[:len(lines)]]
    assert lines
    assert all(line.startswith(f"- {f.location}: FileParseError: 日") and len(line) <= 300
               for line, f in zip(lines, wide, strict=False))
    line_bytes = max(len(line.encode()) for line in lines)
    assert 2500 - 2 * line_bytes < len(reason.encode()) <= 2500, "full to within a line, and never over"
    # The reason names the first 25 failures (one ListImportFailures page): those it has no room for are counted.
    assert rest == f"(+{25 - len(lines)} more not shown)"


@pytest.mark.parametrize("failed", [0, 2, 5])
def test_failed_import_at_or_below_the_threshold_succeeds(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], failed: int
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(failed)))
    outcome = provider.create({**props, "MaxFailedEntries": "5"})
    assert outcome.status == "SUCCESS"
    assert outcome.data["FailedEntries"] == str(failed)
    assert outcome.data["ImportStatus"] == ("FAILED" if failed else "COMPLETED")


def test_import_stopped_from_outside_while_waiting_fails_saying_so(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=30)))
    sim.stop_from_outside_after(timedelta(minutes=5))
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    copied = sim.copied_events(props["EventDataStoreArn"])
    assert copied > 0
    # What was copied, that it stays, and the two ways on.
    assert (f"Import {outcome.physical_id} was STOPPED outside this stack (StopImport) after {copied} events; the "
            "events imported so far stay in the event data store. Change RetryToken to retry it, or remove the "
            "resource.") in outcome.reason


def test_delete_of_a_running_import_stops_it_and_waits_for_stopped(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    created = provider.create({**props, "WaitForCompletion": "false"})
    sim.advance(120)
    outcome = provider.delete(created.physical_id, props)
    assert outcome.status == "SUCCESS"
    assert outcome.checks >= 2, "waited for STOPPED"
    assert sim.status_of(created.physical_id) == "STOPPED"
    assert len(sim.calls("StopImport")) == 1


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "STOPPED"])
def test_delete_of_a_finished_import_stops_nothing(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], status: str
) -> None:
    if status == "FAILED":
        sim.plan_next_import(ImportPlan(failures=failures(1)))
    created = provider.create({**props, "WaitForCompletion": "false"})
    if status == "STOPPED":
        sim.stop_from_outside(created.physical_id)
    sim.finish_all()
    assert sim.status_of(created.physical_id) == status
    outcome = provider.delete(created.physical_id, props)
    assert outcome.status == "SUCCESS"
    assert sim.calls("StopImport") == []


def test_delete_of_an_unknown_import_succeeds_without_stopping(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    outcome = provider.delete("a0000000-0000-0000-0000-00000000dead", props)
    assert outcome.status == "SUCCESS"
    assert sim.calls("StopImport") == []


def test_delete_with_invalid_properties_still_succeeds(
    sim: CloudTrailImportSimulator, provider: ProviderDriver
) -> None:
    outcome = provider.delete("CREATE_FAILED_MARKER", {"EventDataStoreArn": "nonsense"})
    assert outcome.status == "SUCCESS"


@pytest.mark.parametrize(
    "change",
    [
        {"EventDataStoreArn": "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/second-store"},
        {"S3LocationUri": "s3://trail-logs/other-trail"},
        {"S3BucketRegion": "eu-west-1"},
        {"StartEventTime": "2023-07-01T00:00:00Z"},
        {"EndEventTime": "2024-08-01T00:00:00Z"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_update_of_destination_source_or_window_starts_a_new_import(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], change: dict[str, str]
) -> None:
    sim.add_event_data_store("second-store")
    old_id = _finished(sim, provider, props)
    new_props = {**props, **change}
    outcome = provider.update(old_id, new_props, props)
    assert outcome.status == "SUCCESS"
    assert outcome.physical_id != old_id
    assert len(sim.calls("StartImport")) == 2
    assert outcome.data["ImportId"] == outcome.physical_id


def test_update_with_a_new_retry_token_retries_the_failed_import_under_the_same_id(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(4)))
    created = provider.create({**props, "WaitForCompletion": "false"})
    sim.finish_all()
    assert sim.status_of(created.physical_id) == "FAILED"
    old_props = {**props, "WaitForCompletion": "false"}
    outcome = provider.update(created.physical_id, {**props, "RetryToken": "2"}, old_props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.physical_id == created.physical_id
    assert outcome.data["ImportStatus"] == "COMPLETED"
    retries = [c for c in sim.calls("StartImport") if "ImportId" in c.params]
    assert [c.params["ImportId"] for c in retries] == [created.physical_id]


@pytest.mark.parametrize(
    "change",
    [
        {"S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/ReplacedByCloudFormation"},
        {"MaxFailedEntries": "10"},
        {"WaitForCompletion": "false"},
        {"RetryToken": "new-token"},
        {"StartEventTime": "2024-01-01T01:00:00+01:00"},
    ],
    ids=["access-role", "max-failed-entries", "wait", "retry-token-on-completed", "same-instant-other-offset"],
)
def test_update_of_anything_else_starts_nothing(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], change: dict[str, str]
) -> None:
    old_id = _finished(sim, provider, props)
    outcome = provider.update(old_id, {**props, **change}, props)
    assert outcome.status == "SUCCESS"
    assert outcome.physical_id == old_id
    assert len(sim.calls("StartImport")) == 1
    assert outcome.data["ImportStatus"] == "COMPLETED"


@pytest.mark.parametrize("status", ["COMPLETED", "IN_PROGRESS", "FAILED", "STOPPED"])
def test_create_adopts_a_matching_import_instead_of_starting_a_duplicate(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], status: str
) -> None:
    if status == "FAILED":
        sim.plan_next_import(ImportPlan(failures=failures(2)))
    existing = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    if status in ("COMPLETED", "FAILED"):
        sim.finish_all()
    else:
        sim.advance(120)
    if status == "STOPPED":
        sim.stop_from_outside(existing)
        sim.advance(30)
    assert sim.status_of(existing) == status
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.physical_id == existing
    assert outcome.data["ImportStatus"] == "COMPLETED"
    new_imports = [c for c in sim.calls("StartImport") if "ImportId" not in c.params]
    assert len(new_imports) == 1, "only the original StartImport"
    retried = [c for c in sim.calls("StartImport") if "ImportId" in c.params]
    assert len(retried) == (1 if status in ("FAILED", "STOPPED") else 0)
    assert sim.copied_events(props["EventDataStoreArn"]) == 48_000, "every event copied once"


def test_a_deploy_that_timed_out_and_was_rolled_back_resumes_the_stopped_import_on_the_next_deploy(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=2)))
    provider.timeout = 55 * 60
    timed_out = provider.create(props)
    assert timed_out.status == "TIMEOUT"
    assert provider.delete(timed_out.physical_id, props).status == "SUCCESS", "the rollback"
    stopped_at = sim.imports[timed_out.physical_id].statistics(sim.now)["EventsCompleted"]
    assert sim.status_of(timed_out.physical_id) == "STOPPED"
    assert 0 < stopped_at < 48_000
    provider.timeout = 3 * 3600
    redeploy = provider.create(props)
    assert redeploy.status == "SUCCESS", redeploy.reason
    assert redeploy.physical_id == timed_out.physical_id, "the same import, resumed"
    assert list(sim.imports) == [timed_out.physical_id]
    assert redeploy.data["EventsCompleted"] == "48000"
    assert sim.copied_events(props["EventDataStoreArn"]) == 48_000, "what the first deploy copied is not copied again"


def test_a_stopped_import_waits_its_turn_then_resumes(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    stopped = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.advance(180)
    sim.stop_from_outside(stopped)
    sim.advance(30)
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=15)))
    blocker = provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"}).physical_id
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.physical_id == stopped
    assert outcome.data["ImportStatus"] == "COMPLETED"
    refused = [r for r in sim.requests
               if r.operation == "StartImport" and r.error == "AccountHasOngoingImportException"]
    assert refused, "the first resume met the running import"
    assert sim.status_of(blocker) == "COMPLETED"
    assert len(sim.imports) == 2


def test_a_resumed_import_that_fails_is_judged_once_not_resumed_again(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    stopped = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.advance(180)
    sim.stop_from_outside(stopped)
    sim.advance(30)
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    assert f"Import {stopped} ended FAILED with 3 failed entries" in outcome.reason
    assert len([c for c in sim.calls("StartImport") if "ImportId" in c.params]) == 1


def test_an_import_of_another_window_is_not_adopted(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    other = _finished(sim, provider, {**props, "EndEventTime": "2024-03-01T00:00:00Z"})
    outcome = provider.create(props)
    assert outcome.physical_id != other
    assert len(sim.calls("StartImport")) == 2


def test_the_same_create_delivered_twice_starts_one_import(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    first = provider.create(props)
    second = provider.create(props)
    assert first.physical_id == second.physical_id
    assert len(sim.imports) == 1


def test_create_waits_its_turn_while_another_import_runs(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    other = provider.create(import_properties(props["EventDataStoreArn"], **OTHER_SOURCE))
    assert other.status == "SUCCESS"
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    blocker = provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.physical_id in sim.imports
    assert outcome.physical_id != blocker.physical_id
    assert outcome.data["ImportStatus"] == "COMPLETED"
    refused = [r for r in sim.requests if r.error == "AccountHasOngoingImportException"]
    assert refused, "the first StartImport met the running import"


def test_two_creates_waiting_their_turn_are_each_named_by_their_own_request(
    sim: CloudTrailImportSimulator, props: dict[str, str]
) -> None:
    from tests.driver import cfn_request
    from trail_import_handler import provider as entry

    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    entry.on_event(cfn_request("Create", {**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"}))
    first, second = (cfn_request("Create", import_properties(props["EventDataStoreArn"], **source))
                     for source in ({}, OTHER_SOURCE))
    # CloudFormation asks a custom resource for a physical id of its own; the request id is unique to each.
    assert [entry.on_event(request)["PhysicalResourceId"] for request in (first, second)] == [
        f"pending-import-{first['RequestId']}", f"pending-import-{second['RequestId']}"]


def test_a_retry_waits_its_turn_while_another_import_runs(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    failed = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.finish_all()
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=15)))
    provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    outcome = provider.update(failed, {**props, "RetryToken": "1"}, props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.physical_id == failed
    assert outcome.data["ImportStatus"] == "COMPLETED"


def test_a_retry_that_fails_again_is_a_verdict_not_a_loop(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    again = ImportPlan(failures=failures(3))
    sim.plan_next_import(ImportPlan(failures=failures(3), retry=again))
    failed = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.finish_all()
    outcome = provider.update(failed, {**props, "RetryToken": "1"}, props)
    assert outcome.status == "FAILED"
    assert "ended FAILED with 3 failed entries" in outcome.reason
    assert len([c for c in sim.calls("StartImport") if "ImportId" in c.params]) == 1


@pytest.mark.parametrize("status", ["INITIALIZING", "IN_PROGRESS"])
def test_delete_of_a_create_that_waited_its_turn_stops_the_import_it_started(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], status: str
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=3), initializing=timedelta(hours=1)))
    provider.timeout = 30 * 45
    timed_out = provider.create(props)
    assert timed_out.status == "TIMEOUT"
    assert timed_out.physical_id.startswith("pending-import-")
    mine = [i for i, imp in sim.imports.items() if imp.source["S3LocationUri"] == props["S3LocationUri"]]
    assert len(mine) == 1
    if status == "IN_PROGRESS":
        sim.advance(3600)
    assert sim.status_of(mine[0]) == status
    outcome = provider.delete(timed_out.physical_id, props)
    assert outcome.status == "SUCCESS"
    assert sim.status_of(mine[0]) == "STOPPED"


OPERATIONS = ["ListImports", "StartImport", "GetImport", "ListImportFailures"]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("InternalFailure", 500)])
def test_throttling_and_server_errors_are_retried_and_the_scenario_ends_correctly(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str],
    operation: str, code: str, status: int,
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(2)))
    sim.inject_fault(operation, code, status=status, times=3)
    outcome = provider.create({**props, "MaxFailedEntries": "1"})
    assert outcome.status == "FAILED"
    assert "ended FAILED with 2 failed entries" in outcome.reason
    assert len(sim.imports) == 1
    assert [r for r in sim.requests if r.error == code], "the fault was met and retried"


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("InternalFailure", 500)])
def test_stop_import_faults_are_retried_and_delete_ends_stopped(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], code: str, status: int
) -> None:
    created = provider.create({**props, "WaitForCompletion": "false"})
    sim.inject_fault("StopImport", code, status=status, times=3)
    outcome = provider.delete(created.physical_id, props)
    assert outcome.status == "SUCCESS"
    assert sim.status_of(created.physical_id) == "STOPPED"


def test_a_start_answered_with_a_server_error_after_taking_effect_starts_one_import(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.inject_fault("StartImport", "InternalFailure", status=500, applied=True)
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert len(sim.imports) == 1
    assert outcome.physical_id in sim.imports


def test_checks_ride_out_a_service_that_stays_unavailable_for_a_while(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    created = provider.create({**props, "WaitForCompletion": "false"})
    sim.inject_fault("GetImport", "InternalFailure", status=500, times=25)
    outcome = provider.update(created.physical_id, props, {**props, "WaitForCompletion": "false"})
    assert outcome.status == "SUCCESS"
    assert outcome.data["ImportStatus"] == "COMPLETED"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown-store", "StartImport failed with EventDataStoreNotFoundException"),
        ("rejected-source", "InvalidImportSourceException: The bucket has ACLs enabled. (check S3LocationUri"),
        ("access-denied", "AccessDeniedException: not authorized (the handler's role lacks cloudtrail:StartImport "
                          "or iam:PassRole on the access role)."),
    ],
)
def test_service_rejections_fail_create_naming_what_to_fix(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], setup: str, expected: str
) -> None:
    if setup == "unknown-store":
        props["EventDataStoreArn"] = props["EventDataStoreArn"] + "-gone"
    elif setup == "rejected-source":
        sim.reject_source(props["S3LocationUri"], "The bucket has ACLs enabled.")
    else:
        sim.inject_fault("StartImport", "AccessDeniedException", message="not authorized")
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    assert expected in outcome.reason
    assert sim.imports == {}


def test_entries_being_retried_or_that_succeeded_are_not_reported_as_failures(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    retried, succeeded, failed = failures(3)
    sim.plan_next_import(ImportPlan(failures=(replace(retried, status="RETRY"), replace(succeeded, status="SUCCEEDED"),
                                              failed)))
    outcome = provider.create({**props, "MaxFailedEntries": "0"})
    assert outcome.status == "FAILED"
    assert "ended FAILED with 1 failed entries, more than MaxFailedEntries (0)" in outcome.reason
    assert failed.location in outcome.reason
    assert retried.location not in outcome.reason
    assert succeeded.location not in outcome.reason


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_of_a_code_we_have_never_seen_is_ridden_out_not_a_failed_stack(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], status: int
) -> None:
    created = provider.create({**props, "WaitForCompletion": "false"})
    sim.inject_fault("GetImport", "UnheardOfServerFault", status=status, times=25, message="try later")
    outcome = provider.update(created.physical_id, props, {**props, "WaitForCompletion": "false"})
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.data["ImportStatus"] == "COMPLETED"
    assert [r.error for r in sim.requests if r.operation == "GetImport"].count("UnheardOfServerFault") == 25


def test_a_create_finds_the_import_to_adopt_past_the_first_list_imports_page(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    source = {"S3LocationUri": props["S3LocationUri"], "S3BucketRegion": props["S3BucketRegion"],
              "S3BucketAccessRoleArn": props["S3BucketAccessRoleArn"]}
    start = datetime.fromisoformat(props["StartEventTime"])
    for day in range(44):  # other windows of the same source: two full pages of ListImports and more
        sim.add_past_import(props["EventDataStoreArn"], source, start=start - timedelta(days=day + 2),
                            end=start - timedelta(days=day + 1))
    stopped = sim.add_past_import(props["EventDataStoreArn"], source, start=start,
                                  end=datetime.fromisoformat(props["EndEventTime"]), status="STOPPED")
    assert sim.page_size["ListImports"] * 2 < len(sim.imports)
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    # The duplicate avoided: the stopped copy on the third page is resumed, no second import copies it again.
    assert outcome.physical_id == stopped
    assert [c.params.get("ImportId") for c in sim.calls("StartImport")] == [stopped]


def test_the_handlers_clock_is_utc_and_compares_with_the_services_timestamps() -> None:
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    assert abs(now.timestamp() - time.time()) < 60
    assert now > datetime(2024, 1, 1, tzinfo=UTC)  # a naive clock would raise here, waiting's deadline with it


# What a user must look at when StartImport refuses a Create, for every error botocore's model lists for it. The
# service's code and message come first in the reason; then the property or the grant to check.
_START_REFUSALS = {
    "EventDataStoreARNInvalidException": ["(check EventDataStoreArn)."],
    "EventDataStoreNotFoundException": ["no such event data store in this account and region"],
    "InvalidEventDataStoreStatusException": ["the event data store (EventDataStoreArn) must be ENABLED"],
    "InvalidEventDataStoreCategoryException": ["(EventDataStoreArn) must collect CloudTrail events"],
    "InactiveEventDataStoreException": ["the event data store (EventDataStoreArn) is not active"],
    "InvalidImportSourceException": ["(check S3LocationUri, S3BucketRegion and S3BucketAccessRoleArn).",
                                     "must trust cloudtrail.amazonaws.com", "s3:ListBucket, s3:GetBucketAcl and "
                                     "s3:GetObject on s3://"],
    "InsufficientEncryptionPolicyException": ["(the bucket or KMS key policy must let the access role read the logs)",
                                              "Add to the policy of bucket ", "to the policy of each KMS key"],
    "InvalidParameterException": ["(check StartEventTime, EndEventTime and the source properties)."],
    "OperationNotPermittedException": ["only the management account can import into an organization event data"],
    "UnsupportedOperationException": [],
    "ImportNotFoundException": [],
}


def _start_import_errors() -> list[str]:
    model = botocore.session.get_session().get_service_model("cloudtrail").operation_model("StartImport")
    # AccountHasOngoingImportException is no refusal: the Create waits its turn (its own scenarios).
    return sorted({shape.name for shape in model.error_shapes} - {"AccountHasOngoingImportException"})


def test_every_error_start_import_can_answer_is_covered_here() -> None:
    assert _start_import_errors() == sorted(_START_REFUSALS)


@pytest.mark.parametrize("code", sorted(_START_REFUSALS))
def test_each_refusal_of_start_import_fails_create_with_the_services_words_and_what_to_check(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], code: str
) -> None:
    sim.inject_fault("StartImport", code, message="the service's own words")
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    assert f"StartImport failed with {code}: the service's own words" in outcome.reason
    for words in _START_REFUSALS[code]:
        assert words in outcome.reason
    if not _START_REFUSALS[code]:
        assert f"{code}: the service's own words." in outcome.reason, "no hint where there is none to give"
    assert sim.imports == {}


@pytest.mark.parametrize("operation", ["GetImport", "ListImports"])
def test_a_handler_role_denied_a_call_fails_naming_the_action_it_lacks(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], operation: str
) -> None:
    sim.inject_fault(operation, "AccessDeniedException", message="not authorized", times=50)
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    assert (f"{operation} failed with AccessDeniedException: not authorized "
            f"(the handler's role lacks cloudtrail:{operation}).") in outcome.reason


def _statement_after(words: str, reason: str) -> dict[str, object]:
    statement, _ = json.JSONDecoder().raw_decode(reason, reason.index(words) + len(words))
    assert isinstance(statement, dict)
    return statement


def test_a_source_the_access_role_may_not_read_names_the_bucket_and_key_statements_the_guide_documents(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.inject_fault("StartImport", "InsufficientEncryptionPolicyException", message="cannot read the source")
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    role, store = props["S3BucketAccessRoleArn"], props["EventDataStoreArn"]
    account = role.split(":")[4]
    # CloudTrail User Guide, "Copying trail events to CloudTrail Lake": the bucket policy and the KMS key policy
    # for copying trail events, the principal the role's account narrowed to the role (REFERENCE.md, IAM).
    assert _statement_after("Add to the policy of bucket trail-logs: ", outcome.reason) == {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject"],
        "Resource": ["arn:aws:s3:::trail-logs", "arn:aws:s3:::trail-logs/*"],
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role}},
    }
    assert _statement_after("to the policy of each KMS key: ", outcome.reason) == {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role},
                      "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::trail-logs/*"},
                      "StringEquals": {"aws:SourceAccount": account, "aws:SourceArn": store}},
    }


def test_a_retry_that_waited_its_turn_and_fails_again_is_a_verdict_not_a_second_resume(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3), retry=ImportPlan(failures=failures(2))))
    failed = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.finish_all()
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=15)))
    provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    outcome = provider.update(failed, {**props, "RetryToken": "1"}, props)
    assert outcome.status == "FAILED"
    assert f"Import {failed} ended FAILED with 2 failed entries" in outcome.reason
    resumed = [c for c in sim.calls("StartImport") if c.params.get("ImportId") == failed and c.error is None]
    assert len(resumed) == 1, "resumed once, after its turn came; the run that failed again is the verdict"


def test_a_refusal_of_another_call_gives_the_services_words_and_no_start_import_hint(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.inject_fault("GetImport", "InvalidParameterException", message="the service's own words")
    outcome = provider.create(props)
    assert outcome.status == "FAILED"
    assert "GetImport failed with InvalidParameterException: the service's own words." in outcome.reason
    assert "check" not in outcome.reason.split("InvalidParameterException")[1]


def test_the_first_failures_are_read_across_pages_in_order_and_no_page_more_than_needed(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    # Pages of 50 (the simulator's): 10 failed among 50 entries, 15 among the next 50, then 5 more; the others
    # are being retried or succeeded, which ListImportFailures also lists.
    entries = failures(30 + 90)
    failed, others = list(entries[:30]), [replace(f, status="RETRY") for f in entries[30:]]
    order = failed[:10] + others[:40] + failed[10:25] + others[40:75] + failed[25:] + others[75:]
    sim.plan_next_import(ImportPlan(failures=tuple(order)))
    outcome = provider.create({**props, "MaxFailedEntries": "0"})
    assert outcome.status == "FAILED"
    assert "ended FAILED with 30 failed entries" in outcome.reason
    shown = [line[2:].split(": ", 1)[0] for line in outcome.reason.splitlines() if line.startswith("- ")]
    more = [line for line in outcome.reason.splitlines() if line.startswith("(+")]
    # The first 25 failed entries, in the service's order; those that do not fit are counted.
    assert shown == [f.location for f in failed[:len(shown)]]
    assert more == ([f"(+{25 - len(shown)} more not shown)"] if len(shown) < 25 else [])
    assert len(sim.calls("ListImportFailures")) == 2, "the 25 were on the first two pages"


def test_an_import_whose_failures_cannot_be_listed_fails_naming_the_action_the_role_lacks(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    sim.inject_fault("ListImportFailures", "AccessDeniedException", message="not authorized", times=50)
    outcome = provider.create({**props, "MaxFailedEntries": "0"})
    assert outcome.status == "FAILED"
    assert ("ListImportFailures failed with AccessDeniedException: not authorized (the handler's role lacks "
            "cloudtrail:ListImportFailures).") in outcome.reason


def test_the_log_tells_an_operator_each_request_its_resource_and_what_was_decided_and_checked(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    records = [r for r in caplog.records if r.name == "trail_import_handler.provider"]

    def fields(message: str, *names: str) -> list[tuple[object, ...]]:
        return [tuple(r.__dict__.get(n) for n in names) for r in records if r.getMessage() == message]

    assert fields("on_event", "request_type", "logical_resource_id", "physical_id") == [
        ("Create", "TrailImport", None)]
    assert fields("decided", "physical_id") == [(outcome.physical_id,)]
    asked = fields("is_complete", "request_type", "logical_resource_id", "physical_id")
    assert asked
    assert set(asked) == {("Create", "TrailImport", outcome.physical_id)}
    checked = fields("checked", "physical_id", "complete", "import_status")
    assert len(checked) == len(asked)
    assert checked[-1] == (outcome.physical_id, True, "COMPLETED")
    assert all(c == (outcome.physical_id, False, c[2]) and c[2] in ("INITIALIZING", "IN_PROGRESS")
               for c in checked[:-1])


def test_the_log_says_why_an_update_started_a_new_import_or_retried_one(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    failed = provider.create({**props, "MaxFailedEntries": "3"}).physical_id
    retried = provider.update(failed, {**props, "MaxFailedEntries": "3", "RetryToken": "1"},
                              {**props, "MaxFailedEntries": "3"})
    assert retried.status == "SUCCESS", retried.reason
    moved = {**props, "MaxFailedEntries": "3", "RetryToken": "1", "EndEventTime": "2024-08-01T00:00:00Z"}
    replaced = provider.update(failed, moved, {**props, "MaxFailedEntries": "3", "RetryToken": "1"})
    assert replaced.status == "SUCCESS", replaced.reason
    said = [(r.getMessage(), r.__dict__.get("import_id"), r.__dict__.get("old_physical_id"))
            for r in caplog.records if r.name == "trail_import_handler.lifecycle"
            and r.getMessage() in ("RetryToken changed: retrying import",
                                   "destination, source or window changed: a new import")]
    assert said == [("RetryToken changed: retrying import", failed, None),
                    ("destination, source or window changed: a new import", None, failed)]


def _told(caplog: pytest.LogCaptureFixture, *names: str) -> list[tuple[object, ...]]:
    """What the lifecycle logged: each message with the named fields, in order."""
    return [(r.getMessage(), *(r.__dict__.get(n) for n in names)) for r in caplog.records
            if r.name == "trail_import_handler.lifecycle"]


def test_the_log_tells_an_import_that_waited_its_turn_started_and_was_stopped_by_a_delete(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    blocker = provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"}).physical_id
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=5)))
    started = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    assert started != blocker
    caplog.clear()
    assert provider.delete(started, props).status == "SUCCESS"
    assert _told(caplog, "import_id").count(("stopping import", started)) == 1


def test_the_log_tells_a_create_that_waits_its_turn_and_then_starts(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    caplog.clear()
    outcome = provider.create(props)
    assert outcome.status == "SUCCESS", outcome.reason
    told = _told(caplog, "import_id")
    assert told[0] == ("another import runs in the account; waiting its turn", None)
    assert ("started import after waiting its turn", outcome.physical_id) in told


def test_the_log_tells_an_adopted_import_and_its_status(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    existing = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.finish_all()
    assert ("started import", existing) in _told(caplog, "import_id")
    caplog.clear()
    provider.create(props)
    assert ("adopting import", existing, "COMPLETED") in _told(caplog, "import_id", "import_status")


def test_the_log_tells_a_retry_that_waits_its_turn_and_a_check_that_met_an_unavailable_service(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    failed = provider.create({**props, "WaitForCompletion": "false"}).physical_id
    sim.finish_all()
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=15)))
    provider.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    caplog.clear()
    outcome = provider.update(failed, {**props, "RetryToken": "1"}, props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert ("another import runs in the account; the retry waits its turn", None) in _told(caplog, "import_id")
    # Then a check meets CloudTrail down through every retry: it says so and checks again.
    caplog.clear()
    sim.inject_fault("GetImport", "InternalFailure", status=500, times=25, message="down for now")
    again = provider.update(failed, {**props, "RetryToken": "1", "WaitForCompletion": "false"},
                            {**props, "RetryToken": "1"})
    assert again.status == "SUCCESS", again.reason
    assert ("CloudTrail unavailable; checking again later",
            "GetImport failed with InternalFailure after retries: down for now") in _told(caplog, "error")


def test_a_delete_whose_import_is_gone_by_the_time_it_stops_it_succeeds(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=2)))
    running = provider.create({**props, "WaitForCompletion": "false"}).physical_id

    def gone_before_the_stop(params: dict[str, object]) -> dict[str, object]:
        # Gone between the GetImport that found it running and the StopImport: aged out of the account's history.
        del sim.imports[running]
        raise ServiceError("ImportNotFoundException", "The import does not exist.")

    sim._op_StopImport = gone_before_the_stop  # type: ignore[method-assign]
    outcome = provider.delete(running, props)
    assert outcome.status == "SUCCESS", outcome.reason
    assert [r.error for r in sim.requests if r.operation == "StopImport"] == ["ImportNotFoundException"]


def test_a_delete_of_a_create_that_waited_its_turn_with_unreadable_properties_succeeds(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]
) -> None:
    from trail_import_handler.lifecycle import pending_id

    outcome = provider.delete(pending_id("request-that-waited"), {**props, "StartEventTime": "whenever"})
    assert outcome.status == "SUCCESS", outcome.reason
    assert sim.calls("StopImport") == []
