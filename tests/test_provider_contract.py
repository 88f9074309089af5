"""Lifecycle scenarios through the Provider framework's real runtime (framework.js), as CloudFormation sees them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, failures
from cloudtrail_lake_import.testing.framework import FrameworkRun, ProviderFramework
from tests.driver import BLOCKING_SOURCE, cfn_request
from trail_import_handler import provider

CREATE_FAILED = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


class CloudFormation:
    """Sends requests for one logical resource through framework.js."""

    def __init__(self, framework: ProviderFramework) -> None:
        self.framework = framework

    def send(self, request_type: str, props: dict[str, Any], physical_id: str | None = None,
             old_props: dict[str, Any] | None = None) -> FrameworkRun:
        request = cfn_request(request_type, props, physical_id=physical_id, old_props=old_props,
                              logical_id="TrailImportResource1A2B3C4D")
        return self.framework.request(request)


def _cloudformation(sim: CloudTrailImportSimulator, total_timeout: float) -> CloudFormation:
    return CloudFormation(ProviderFramework(provider.on_event, provider.is_complete, advance=sim.advance,
                                            total_timeout=total_timeout))


@pytest.fixture
def cfn(sim: CloudTrailImportSimulator) -> CloudFormation:
    return _cloudformation(sim, total_timeout=3300)


@pytest.fixture
def ten_minute_cfn(sim: CloudTrailImportSimulator, monkeypatch: pytest.MonkeyPatch) -> CloudFormation:
    """A 10-minute waiter whose handler knows the limit, as the construct sets it."""
    monkeypatch.setenv("TRAIL_IMPORT_WAIT_SECONDS", "600")
    return _cloudformation(sim, total_timeout=600)


def test_create_completes_with_the_import_id_and_statistics(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    run = cfn.send("Create", props)
    response = run.response
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] in sim.imports
    assert response["Data"] == {
        "ImportId": response["PhysicalResourceId"], "ImportStatus": "COMPLETED", "PrefixesFound": "12",
        "PrefixesCompleted": "12", "FilesCompleted": "240", "EventsCompleted": "48000", "FailedEntries": "0"}
    assert run.is_complete_calls > 10


def test_failed_create_reports_the_failures_and_its_rollback_delete_succeeds(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(1000, message_size=900)))
    created = cfn.send("Create", props).response
    assert created["Status"] == "FAILED"
    import_id = created["PhysicalResourceId"]
    assert import_id in sim.imports, "the real id, so the rollback Delete reaches the handler"
    assert created["Reason"].startswith(f"Error: Import {import_id} ended FAILED with 1000 failed entries")
    assert "Logs: /aws/lambda/user-is-complete" in created["Reason"]
    assert len(json.dumps(created).encode()) < 4096
    rollback = cfn.send("Delete", props, physical_id=import_id).response
    assert rollback["Status"] == "SUCCESS"
    assert rollback["PhysicalResourceId"] == import_id
    assert sim.calls("StopImport") == []


def test_create_rejected_in_on_event_gets_the_marker_and_its_delete_never_reaches_the_handler(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    created = cfn.send("Create", {**props, "EndEventTime": "soon"}).response
    assert created["Status"] == "FAILED"
    assert created["PhysicalResourceId"] == CREATE_FAILED
    assert created["Reason"].startswith("Error: EndEventTime: expected an RFC 3339 time with seconds and an offset")
    rollback = cfn.send("Delete", props, physical_id=CREATE_FAILED)
    assert rollback.response["Status"] == "SUCCESS"
    assert rollback.invocations == []
    assert sim.requests == []


def test_update_with_replacement_then_delete_of_the_old_import(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    old_props = {**props, "WaitForCompletion": "false"}
    old_id = cfn.send("Create", old_props).response["PhysicalResourceId"]
    sim.finish_all()
    new_props = {**old_props, "EndEventTime": "2024-09-01T00:00:00Z", "WaitForCompletion": "true"}
    updated = cfn.send("Update", new_props, physical_id=old_id, old_props=old_props).response
    assert updated["Status"] == "SUCCESS"
    assert updated["PhysicalResourceId"] not in (old_id, "")
    assert updated["Data"]["ImportStatus"] == "COMPLETED"
    cleanup = cfn.send("Delete", old_props, physical_id=old_id).response
    assert cleanup["Status"] == "SUCCESS"
    assert cleanup["PhysicalResourceId"] == old_id


def test_update_with_a_new_retry_token_retries_under_the_same_physical_id(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(2)))
    created = cfn.send("Create", {**props, "MaxFailedEntries": "5"}).response
    assert created["Data"]["ImportStatus"] == "FAILED"
    updated = cfn.send("Update", {**props, "MaxFailedEntries": "5", "RetryToken": "retry-1"},
                       physical_id=created["PhysicalResourceId"], old_props={**props, "MaxFailedEntries": "5"})
    assert updated.response["Status"] == "SUCCESS"
    assert updated.response["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert updated.response["Data"]["ImportStatus"] == "COMPLETED"


def test_delete_of_a_running_import_stops_it(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    import_id = cfn.send("Create", {**props, "WaitForCompletion": "false"}).response["PhysicalResourceId"]
    deleted = cfn.send("Delete", props, physical_id=import_id)
    assert deleted.response == {
        "Status": "SUCCESS", "Reason": "SUCCESS", "StackId": deleted.response["StackId"],
        "RequestId": deleted.response["RequestId"], "PhysicalResourceId": import_id,
        "LogicalResourceId": "TrailImportResource1A2B3C4D", "Data": {}}
    assert sim.status_of(import_id) == "STOPPED"


def test_without_the_wait_limit_the_waiters_own_timeout_answers_and_the_rollback_stops_the_import(
    sim: CloudTrailImportSimulator, props: dict[str, str]
) -> None:
    cfn = _cloudformation(sim, total_timeout=600)
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=3)))
    run = cfn.send("Create", props)
    assert run.timed_out
    assert run.response["Status"] == "FAILED"
    assert run.response["Reason"] == "Operation timed out"
    import_id = run.response["PhysicalResourceId"]
    assert sim.status_of(import_id) == "IN_PROGRESS"
    assert cfn.send("Delete", props, physical_id=import_id).response["Status"] == "SUCCESS"
    assert sim.status_of(import_id) == "STOPPED"


def test_a_create_out_of_time_says_how_far_it_got_before_the_waiter_times_out(
    sim: CloudTrailImportSimulator, ten_minute_cfn: CloudFormation, props: dict[str, str]
) -> None:
    cfn = ten_minute_cfn
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=3)))
    run = cfn.send("Create", props)
    import_id = run.response["PhysicalResourceId"]
    assert not run.timed_out
    assert run.response["Status"] == "FAILED"
    assert run.response["Reason"].startswith(
        f"Error: Create of import {import_id} did not finish within the 10-minute timeout: status IN_PROGRESS, ")
    assert "The rollback stops it. Raise the timeout, or set WaitForCompletion to \"false\"." in run.response["Reason"]
    assert cfn.send("Delete", props, physical_id=import_id).response["Status"] == "SUCCESS"
    assert sim.status_of(import_id) == "STOPPED"


def test_a_redeploy_after_a_create_out_of_time_resumes_the_stopped_import(
    sim: CloudTrailImportSimulator, ten_minute_cfn: CloudFormation, props: dict[str, str]
) -> None:
    cfn = ten_minute_cfn
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=15)))
    first = cfn.send("Create", props)
    import_id = first.response["PhysicalResourceId"]
    assert first.response["Status"] == "FAILED"
    assert cfn.send("Delete", props, physical_id=import_id).response["Status"] == "SUCCESS", "the rollback"
    assert sim.status_of(import_id) == "STOPPED"
    redeploy = cfn.send("Create", props)
    assert redeploy.response["Status"] == "SUCCESS", redeploy.response.get("Reason")
    assert redeploy.response["PhysicalResourceId"] == import_id
    assert redeploy.response["Data"]["EventsCompleted"] == "48000"
    assert list(sim.imports) == [import_id], "one import for this destination, source and window"
    assert sim.copied_events(props["EventDataStoreArn"]) == 48_000


def test_a_replacement_out_of_time_is_stopped_and_the_previous_import_kept(
    sim: CloudTrailImportSimulator, ten_minute_cfn: CloudFormation, props: dict[str, str]
) -> None:
    cfn = ten_minute_cfn
    old_id = cfn.send("Create", props).response["PhysicalResourceId"]
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=3)))
    new_props = {**props, "EndEventTime": "2024-12-01T00:00:00Z"}
    response = cfn.send("Update", new_props, physical_id=old_id, old_props=props).response
    assert response["Status"] == "FAILED"
    (new_id,) = [i for i in sim.imports if i != old_id]
    assert f"Update of import {new_id} did not finish within the 10-minute timeout: status IN_PROGRESS, " in (
        response["Reason"])
    assert f"The replacement was stopped; import {old_id} is unchanged." in response["Reason"]
    sim.advance(sim.stop_seconds)
    assert sim.status_of(new_id) == "STOPPED"
    assert sim.status_of(old_id) == "COMPLETED"


def test_wait_disabled_answers_after_one_check(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    run = cfn.send("Create", {**props, "WaitForCompletion": "false"})
    assert run.is_complete_calls == 1
    assert run.response["Status"] == "SUCCESS"
    assert run.response["Data"]["ImportStatus"] == "INITIALIZING"


def test_a_create_that_waited_its_turn_answers_with_the_real_import_id(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=15)))
    blocker = cfn.send("Create", {**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"})
    run = cfn.send("Create", props)
    first_on_event = [p for name, p in run.invocations if name == "user-on-event"]
    assert first_on_event, "onEvent ran"
    assert run.response["Status"] == "SUCCESS"
    assert run.response["PhysicalResourceId"] in sim.imports
    assert run.response["PhysicalResourceId"] != blocker.response["PhysicalResourceId"]
    assert run.response["Data"]["ImportId"] == run.response["PhysicalResourceId"]


def test_the_presigned_response_url_reaches_no_handler_log_and_no_attribute(
    sim: CloudTrailImportSimulator, cfn: CloudFormation, props: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    run = cfn.send("Create", props)
    assert "X-Amz-Signature" not in caplog.text
    assert "X-Amz-Signature" not in json.dumps(run.response)
