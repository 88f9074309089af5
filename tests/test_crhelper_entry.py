"""The crhelper entry point serves plain CloudFormation templates with the same lifecycle."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cloudtrail_lake_import.testing import (
    CloudTrailImportSimulator,
    ImportPlan,
    failures,
)
from tests.crhelper_driver import CrhelperDriver, response_listener
from tests.handler_roles import HandlerRoles, admin_client


@pytest.fixture
def caller(handler_roles: HandlerRoles) -> str:
    """The crhelper function runs as the StandaloneImportProvider's role."""
    return handler_roles.standalone_role


@pytest.fixture
def crhelper(aws: CloudTrailImportSimulator, monkeypatch: pytest.MonkeyPatch, caller: str,
             handler_roles: HandlerRoles) -> Iterator[CrhelperDriver]:
    with response_listener() as (listener, certificate):
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        _deploy_function(handler_roles.standalone_function)
        with CrhelperDriver(aws, listener, function_name=handler_roles.standalone_function).running_as(caller) as d:
            yield d


def _deploy_function(name: str) -> None:
    role = admin_client("iam").create_role(RoleName="handler", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("trail_import_handler/__init__.py", "")
    admin_client("lambda").create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="trail_import_handler.cfn.handler",
        Code={"ZipFile": code.getvalue()},
    )


def test_create_polls_until_completed_and_answers_with_statistics(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    response = crhelper.request("Create", props)
    assert response["Status"] == "SUCCESS", response["Reason"]
    import_id = response["PhysicalResourceId"]
    assert import_id in sim.imports
    assert response["Data"] == {
        "ImportId": import_id, "ImportStatus": "COMPLETED", "PrefixesFound": "12", "PrefixesCompleted": "12",
        "FilesCompleted": "240", "EventsCompleted": "48000", "FailedEntries": "0",
    }
    assert crhelper.polls >= 10
    assert crhelper.rules() == [], "the polling rule is removed once the import is done"


def test_failed_import_answers_failed_with_a_short_reason_and_keeps_the_import_id(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(50, message_size=500)))
    response = crhelper.request("Create", props)
    assert response["Status"] == "FAILED"
    assert response["PhysicalResourceId"] in sim.imports, "the rollback Delete must reach the import"
    assert len(response["Reason"]) <= 256
    first = sim.imports[response["PhysicalResourceId"]].plan.failures[0]
    # The short form names the first failure whole, where crhelper would cut the long one.
    assert response["Reason"].startswith(f"Import {response['PhysicalResourceId']} FAILED: 50 failed entries > "
                                         f"MaxFailedEntries 0. First: {first.error_type} at {first.location[:60]}")
    assert "(truncated)" not in response["Reason"]


def test_a_strict_reconciliation_that_differs_answers_failed_with_the_counts_in_a_short_reason(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(events=47_990))
    response = crhelper.request("Create", {**props, "VerifiedLogFiles": "240", "VerifiedEvents": "48000",
                                           "ReconcileStrictly": "true"})
    assert response["Status"] == "FAILED"
    assert response["Reason"] == (f"Import {response['PhysicalResourceId']}: 47990 events imported, 48000 verified "
                                  "(ReconcileStrictly).")


def test_a_source_that_does_not_admit_the_access_role_answers_with_cloudtrails_own_sentence_uncut(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    assert sim.iam is not None
    sim.iam.add_bucket("trail-logs", account="444455556666")  # another account's, without the owner's statement
    response = crhelper.request("Create", {**props, "S3LocationUri": "s3://trail-logs"})
    assert response["Status"] == "FAILED"
    # crhelper keeps 256 characters of a reason: the service's sentence whole, not the start of the statement to add.
    assert response["Reason"].startswith(
        "StartImport failed with InsufficientEncryptionPolicyException: The policy of bucket trail-logs does not "
        "allow arn:aws:iam::111122223333:role/TrailImportAccess"), response["Reason"]
    assert "Add to the policy" not in response["Reason"]
    assert "(truncated)" not in response["Reason"]
    assert sim.imports == {}


def test_bad_property_answers_failed_naming_it_and_starts_nothing(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    response = crhelper.request("Create", {**props, "MaxFailedEntries": "-1"})
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith("MaxFailedEntries: expected a whole number")
    assert sim.imports == {}
    delete = crhelper.request("Delete", props, physical_id=response["PhysicalResourceId"])
    assert delete["Status"] == "SUCCESS"


def test_update_replacing_the_window_answers_a_new_physical_id(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    old = crhelper.request("Create", props)["PhysicalResourceId"]
    new_props = {**props, "EndEventTime": "2024-09-01T00:00:00Z"}
    response = crhelper.request("Update", new_props, physical_id=old, old_props=props)
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] not in (old, "True")
    assert response["PhysicalResourceId"] in sim.imports


def test_update_of_the_access_role_keeps_the_import(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    old = crhelper.request("Create", props)["PhysicalResourceId"]
    new_props = {**props, "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/Replaced"}
    response = crhelper.request("Update", new_props, physical_id=old, old_props=props)
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == old
    assert len(sim.imports) == 1


def test_delete_of_a_running_import_stops_it(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    created = crhelper.request("Create", {**props, "WaitForCompletion": "false"})
    assert created["Status"] == "SUCCESS"
    response = crhelper.request("Delete", props, physical_id=created["PhysicalResourceId"])
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert sim.status_of(created["PhysicalResourceId"]) == "STOPPED"


def test_polling_gives_up_before_the_service_timeout_and_says_so(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=5)))
    response = crhelper.request("Create", {**props, "ServiceTimeout": "60"})
    assert response["Status"] == "FAILED"
    import_id = response["PhysicalResourceId"]
    assert response["Reason"].startswith(
        f"Create of import {import_id} did not finish within ServiceTimeout (60 s): status IN_PROGRESS, 0 events")
    assert response["Reason"].endswith("The rollback stops it.")
    assert crhelper.rules() == [], "no rule keeps polling after the answer"
    rollback = crhelper.request("Delete", props, physical_id=import_id)
    assert rollback["Status"] == "SUCCESS"
    assert sim.status_of(import_id) == "STOPPED"


def test_a_redeploy_after_giving_up_resumes_the_stopped_import(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=40)))
    first = crhelper.request("Create", {**props, "ServiceTimeout": "900"})
    import_id = first["PhysicalResourceId"]
    assert first["Status"] == "FAILED"
    assert crhelper.request("Delete", props, physical_id=import_id)["Status"] == "SUCCESS", "the rollback"
    assert sim.status_of(import_id) == "STOPPED"
    redeploy = crhelper.request("Create", props)
    assert redeploy["Status"] == "SUCCESS", redeploy["Reason"]
    assert redeploy["PhysicalResourceId"] == import_id
    assert redeploy["Data"]["EventsCompleted"] == "48000"
    assert list(sim.imports) == [import_id], "one import for this destination, source and window"
    assert sim.copied_events(props["EventDataStoreArn"]) == 48_000


@pytest.mark.parametrize("timeout", [None, "soon"], ids=["no-ServiceTimeout", "unreadable-ServiceTimeout"])
def test_polling_gives_up_on_the_simulated_hour_before_cloudformation_does(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str], timeout: str | None
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=5)))
    # CloudFormation's own limit then: an hour.
    response = crhelper.request("Create", props if timeout is None else {**props, "ServiceTimeout": timeout})
    assert response["Status"] == "FAILED"
    assert "did not finish within ServiceTimeout (3600 s): status IN_PROGRESS" in response["Reason"]
    assert 55 <= crhelper.polls <= 59, "one poll a minute until the margin before the hour"


def test_answers_never_carry_crhelper_or_handler_bookkeeping(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    response = crhelper.request("Create", {**props, "WaitForCompletion": "false"})
    assert not {"WaitUntil", "RetryAfter", "PhysicalResourceId", "CrHelperPoll"} & set(response["Data"])


def test_new_retry_token_retries_the_failed_import_under_the_same_id(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(2)))
    created = crhelper.request("Create", props)
    assert created["Status"] == "FAILED"
    import_id = created["PhysicalResourceId"]
    retried = crhelper.request("Update", {**props, "RetryToken": "1"}, physical_id=import_id, old_props=props)
    assert retried["Status"] == "SUCCESS", retried["Reason"]
    assert retried["PhysicalResourceId"] == import_id
    assert retried["Data"]["ImportStatus"] == "COMPLETED"


def test_replacement_waits_for_the_old_import_then_the_old_ids_delete_succeeds(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    old_props = {**props, "WaitForCompletion": "false"}
    old_id = crhelper.request("Create", old_props)["PhysicalResourceId"]
    assert sim.status_of(old_id) in ("INITIALIZING", "IN_PROGRESS")
    new_props = {**old_props, "S3LocationUri": "s3://trail-logs/other"}
    updated = crhelper.request("Update", new_props, physical_id=old_id, old_props=old_props)
    assert updated["Status"] == "SUCCESS"
    assert updated["PhysicalResourceId"] not in (old_id, "")
    assert sim.status_of(old_id) == "COMPLETED", "one import at a time: the new one started after the old"
    cleanup = crhelper.request("Delete", old_props, physical_id=old_id)
    assert cleanup["Status"] == "SUCCESS"
    assert sim.calls("StopImport") == []


def test_an_import_stopped_outside_the_stack_answers_failed_with_the_short_reason(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=30)))
    sim.stop_from_outside_after(timedelta(minutes=5))
    response = crhelper.request("Create", props)
    assert response["Status"] == "FAILED"
    # crhelper cuts reasons short: the short form, whole, rather than the long one cut.
    assert response["Reason"].startswith(f"Import {response['PhysicalResourceId']} was STOPPED outside this stack.")
    assert "events" not in response["Reason"]


def test_a_preflight_that_blocks_answers_with_its_first_problem(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    store = sim.add_event_data_store("pending", status="PENDING_DELETION")
    response = crhelper.request("Create", {**props, "EventDataStoreArn": store, "Preflight": "true"})
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(f"Preflight failed: Event data store {store} is PENDING_DELETION, not "
                                         "ENABLED: it takes no copies.")
    assert sim.calls("StartImport") == []


def test_a_create_that_waited_its_turn_until_the_timeout_says_it_never_started(
    sim: CloudTrailImportSimulator, crhelper: CrhelperDriver, props: dict[str, str]
) -> None:
    sim.hold_account(timedelta(hours=3))
    response = crhelper.request("Create", {**props, "ServiceTimeout": "300"})
    assert response["Status"] == "FAILED"
    assert re.match(r"Create of import \S+ did not finish within ServiceTimeout \(300 s\): status not started, 0 "
                    r"events so far\.", response["Reason"]), response["Reason"]
    assert [r for r in sim.requests if r.operation == "StartImport" and r.error is None] == []
