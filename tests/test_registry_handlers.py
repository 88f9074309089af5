"""The registry resource type's handlers, played as CloudFormation plays them, against the simulator.

CloudTrail is the simulator; SSM (the type's ownership records) is moto. Every
call is made as the execution role ResourceTypeRegistration synthesizes, through
the IAM model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cloudformation_cli_python_lib import resource as support_resource
from cloudformation_cli_python_lib.boto3_proxy import SessionProxy

from cloudtrail_lake_import import _type_package as type_package
from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, failures
from cloudtrail_lake_import.testing.service_error import ServiceError
from tests.driver import BLOCKING_SOURCE, OTHER_SOURCE, ROLE_ARN, ProviderDriver, import_properties
from tests.handler_roles import HandlerRoles, admin_client
from tests.registry_driver import RegistryDriver, handler_request
from trail_import_handler import import_search


@pytest.fixture
def caller(handler_roles: HandlerRoles) -> str:
    return handler_roles.registry_role


@pytest.fixture
def registry(aws: CloudTrailImportSimulator, monkeypatch: pytest.MonkeyPatch, caller: str) -> Iterator[RegistryDriver]:
    # The credentials CloudFormation hands each request are the execution role's: the default session here.
    def execution_role_session(credentials: object, region: str | None = None) -> SessionProxy | None:
        return SessionProxy(boto3._get_default_session()) if credentials else None

    monkeypatch.setattr(support_resource, "_get_boto_session", execution_role_session)
    driver = RegistryDriver(aws, caller)
    yield driver
    # Each handler used only what the schema declares for it: the execution role has the union of them all.
    declared = {name: set(handler["permissions"]) for name, handler in type_package.schema()["handlers"].items()}
    for handler, actions in driver.used.items():
        assert actions <= declared[handler], f"{handler} used {sorted(actions - declared[handler])} undeclared"


def typed(destination: str, **overrides: Any) -> dict[str, Any]:
    """Properties of the type as a template gives them: those of the custom resource, booleans as booleans."""
    props: dict[str, Any] = {k: v for k, v in import_properties(destination).items() if k != "ServiceToken"}
    props["Preflight"] = False
    props.update(overrides)
    return props


def test_a_ten_hour_import_completes_inside_one_create(registry: RegistryDriver, sim: CloudTrailImportSimulator,
                                                       destination: str) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=10), events=2_400_000, files=48_000))
    answer = registry.create(typed(destination))
    assert answer.status == "SUCCESS", answer.message
    assert answer.model["ImportStatus"] == "COMPLETED"
    assert answer.model["EventsCompleted"] == 2_400_000
    assert answer.waited >= 10 * 3600
    # A check every minute at first, every five minutes once the import has run 50 minutes.
    assert 120 < answer.calls < 200
    # Every IN_PROGRESS answer carried the primary identifier, and the ImportId once the import existed.
    assert all(p["Id"] == answer.model["Id"] for p in answer.progress)
    assert all(p["ImportId"] == answer.model["ImportId"] for p in answer.progress)
    events = [p.get("EventsCompleted", 0) for p in answer.progress]
    assert events == sorted(events)
    assert events[-1] > 0
    assert len(sim.calls("StartImport")) == 1
    assert "WaitForCompletion" not in answer.model
    assert "Preflight" not in answer.model


def test_a_create_that_cloudtrail_keeps_throttling_answers_each_invocation_well_within_its_minute(
        registry: RegistryDriver, sim: CloudTrailImportSimulator, destination: str) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=30)))
    sim.inject_fault("GetImport", times=12)
    answer = registry.create(typed(destination))
    assert answer.status == "SUCCESS", answer.message
    assert len([r for r in sim.requests if r.error == "ThrottlingException"]) == 12
    # A request is tried a few times within an invocation, then the next invocation goes on: botocore's backoff
    # (standard mode, up to 20 s a try) never eats into the handler's minute the way ten tries would.
    assert max(registry.invocation_seconds) <= 15, registry.invocation_seconds


def test_the_custom_resource_gives_up_on_the_same_import_after_an_hour(sim: CloudTrailImportSimulator,
                                                                      destination: str) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=10)))
    outcome = ProviderDriver(sim, timeout=3600).create(import_properties(destination))
    assert outcome.status == "TIMEOUT"
    assert sim.status_of(outcome.physical_id) == "IN_PROGRESS"


def test_read_list_and_delete(registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    created = registry.create(typed(destination, StartEventTime="2024-01-01T00:00:00+00:00"))
    resource_id, import_id = created.model["Id"], created.model["ImportId"]
    assert resource_id != import_id
    read = registry.read(resource_id)
    assert read.status == "SUCCESS", read.message
    assert read.model == {
        "Id": resource_id, "ImportId": import_id, "ImportStatus": "COMPLETED", "EventDataStoreArn": destination,
        "S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": "us-east-1", "S3BucketAccessRoleArn": ROLE_ARN,
        # As the template wrote it, since it names the same instant as GetImport's.
        "StartEventTime": "2024-01-01T00:00:00+00:00", "EndEventTime": "2024-07-01T00:00:00Z",
        "PrefixesFound": 12, "PrefixesCompleted": 12, "FilesCompleted": 240, "EventsCompleted": 48_000,
        "FailedEntries": 0,
    }
    assert registry.list_all()[0] == [resource_id]
    deleted = registry.delete(created.model)
    assert deleted.status == "SUCCESS", deleted.message
    # The import outlives the resource; the resource is gone.
    assert sim.status_of(import_id) == "COMPLETED"
    for after in (registry.read(resource_id), registry.delete(created.model),
                  registry.update(created.model, typed(destination, RetryToken="x"))):
        assert (after.status, after.error_code) == ("FAILED", "NotFound")
        assert resource_id in after.message
    assert registry.list_all()[0] == []


def test_delete_stops_a_running_import_and_waits_for_it(registry: RegistryDriver, destination: str,
                                                       sim: CloudTrailImportSimulator) -> None:
    created = registry.create(typed(destination, WaitForCompletion=False))
    import_id = created.model["ImportId"]
    assert sim.status_of(import_id) in ("INITIALIZING", "IN_PROGRESS")
    sim.advance(120)
    deleted = registry.delete(created.model)
    assert deleted.status == "SUCCESS", deleted.message
    assert deleted.calls > 1
    assert sim.status_of(import_id) == "STOPPED"
    assert len(sim.calls("StopImport")) == 1


def test_a_create_delivered_twice_starts_one_import(registry: RegistryDriver, destination: str,
                                                    sim: CloudTrailImportSimulator) -> None:
    first = registry.create(typed(destination))
    second = registry.create(typed(destination))
    assert first.status == second.status == "SUCCESS"
    assert first.model["ImportId"] == second.model["ImportId"]
    assert len(sim.calls("StartImport")) == 1
    assert sim.copied_events(destination) == 48_000


def test_a_first_invocation_delivered_again_that_fails_leaves_the_first_deliverys_resource_and_import(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    request = handler_request("CREATE", typed(destination), token="delivered-twice", type_name=registry.type_name)
    first = registry.invoke(request)
    assert first["status"] == "IN_PROGRESS"
    resource_id, import_id = first["resourceModel"]["Id"], first["resourceModel"]["ImportId"]
    # Delivered again and answered: the same resource and import, its record found, not an error.
    repeat = registry.invoke(request)
    assert repeat["status"] == "IN_PROGRESS", repeat.get("message")
    assert (repeat["resourceModel"]["Id"], repeat["resourceModel"]["ImportId"]) == (resource_id, import_id)
    assert len(sim.calls("StartImport")) == 1
    # The same first request again, whose search fails at once: its failure is its own answer, nothing more.
    sim.inject_fault("ListImports", "InvalidParameterException", message="Refused once")
    again = registry.invoke(request)
    assert again["status"] == "FAILED"
    assert registry.read(resource_id).status == "SUCCESS", "the first delivery's record stays"
    assert sim.status_of(import_id) in ("INITIALIZING", "IN_PROGRESS"), "and its import runs on"


def test_a_create_resumes_a_stopped_import_and_copies_nothing_twice(registry: RegistryDriver, destination: str,
                                                                    sim: CloudTrailImportSimulator) -> None:
    started = registry.create(typed(destination, WaitForCompletion=False))
    import_id = started.model["ImportId"]
    sim.advance(300)
    sim.stop_from_outside(import_id)
    sim.advance(60)
    resumed = registry.create(typed(destination))
    assert resumed.status == "SUCCESS", resumed.message
    assert resumed.model["ImportId"] == import_id
    assert [c.params.get("ImportId") for c in sim.calls("StartImport")] == [None, import_id]
    assert sim.copied_events(destination) == 48_000


def test_the_36_hour_limit_stops_the_import_and_the_next_create_resumes_it(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=40)))
    answer = registry.create(typed(destination))
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    assert "did not finish within the registry's 36-hour limit" in answer.message
    so_far = re.search(r"status IN_PROGRESS, (\d+) events so far\. It was stopped; the next Create of the same "
                       r"import resumes it where it ended\. Set WaitForCompletion", answer.message)
    assert so_far, answer.message
    assert int(so_far.group(1)) > 0, "what was copied before the limit"
    assert answer.waited < 36 * 3600
    sim.advance(30)
    assert sim.running() == []
    again = registry.create(typed(destination))
    assert again.status == "SUCCESS", again.message
    assert len(sim.imports) == 1
    assert sim.copied_events(destination) == 48_000


def test_failed_entries_over_the_threshold_fail_the_create_naming_them(registry: RegistryDriver, destination: str,
                                                                       sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    answer = registry.create(typed(destination, MaxFailedEntries=2))
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    assert "3 failed entries, more than MaxFailedEntries (2)" in answer.message
    assert "s3://trail-logs/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/" in answer.message


def test_failed_entries_within_the_threshold_complete_and_a_retry_token_resumes(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3)))
    created = registry.create(typed(destination, MaxFailedEntries=3))
    assert created.status == "SUCCESS", created.message
    assert (created.model["ImportStatus"], created.model["FailedEntries"]) == ("FAILED", 3)
    previous = {**typed(destination, MaxFailedEntries=3), "Id": created.model["Id"],
                "ImportId": created.model["ImportId"]}
    updated = registry.update(previous, typed(destination, MaxFailedEntries=3, RetryToken="retry-1"))
    assert updated.status == "SUCCESS", updated.message
    assert updated.model["ImportId"] == created.model["ImportId"]
    assert updated.model["ImportStatus"] == "COMPLETED"
    assert [c.params.get("ImportId") for c in sim.calls("StartImport")] == [None, created.model["ImportId"]]


def test_an_update_of_the_window_is_refused_as_not_updatable(registry: RegistryDriver, destination: str) -> None:
    created = registry.create(typed(destination))
    previous = {**typed(destination), "Id": created.model["Id"], "ImportId": created.model["ImportId"]}
    answer = registry.update(previous, typed(destination, EndEventTime="2024-08-01T00:00:00Z"))
    assert (answer.status, answer.error_code) == ("FAILED", "NotUpdatable")
    assert answer.message == ("EndEventTime cannot change: a new destination, source or window is a new import, "
                              "which CloudFormation makes by replacing the resource.")


@pytest.mark.parametrize(("overrides", "named"), [
    ({"S3LocationUri": "trail-logs"}, "S3LocationUri: expected s3://bucket"),
    ({"MaxFailedEntries": -1}, "MaxFailedEntries: expected a whole number"),
    ({"WaitForCompletion": "yes"}, 'WaitForCompletion: expected "true" or "false"'),
    ({"StartEventTime": "2024-09-01T00:00:00Z"}, "StartEventTime (2024-09-01T00:00:00+00:00) must be before"),
])
def test_bad_input_is_an_invalid_request_naming_the_property(registry: RegistryDriver, destination: str,
                                                             sim: CloudTrailImportSimulator,
                                                             overrides: dict[str, Any], named: str) -> None:
    answer = registry.create(typed(destination, **overrides))
    assert (answer.status, answer.error_code) == ("FAILED", "InvalidRequest")
    assert named in answer.message
    assert sim.calls("StartImport") == []


def test_a_preflight_failure_is_an_invalid_request(registry: RegistryDriver, sim: CloudTrailImportSimulator) -> None:
    store = sim.add_event_data_store("pending", status="PENDING_DELETION")
    answer = registry.create(typed(store, Preflight=True))
    assert (answer.status, answer.error_code) == ("FAILED", "InvalidRequest")
    assert "Preflight of s3://trail-logs/org-trail failed" in answer.message
    assert sim.calls("StartImport") == []


def test_list_pages_through_the_types_resources(registry: RegistryDriver, destination: str,
                                                sim: CloudTrailImportSimulator) -> None:
    owned = []
    for month in range(1, 13):
        answer = registry.create(typed(destination, StartEventTime=f"2023-{month:02d}-01T00:00:00Z",
                                       EndEventTime=f"2023-{month:02d}-02T00:00:00Z"))
        assert answer.status == "SUCCESS", answer.message
        owned.append(answer.model["Id"])
    # Imports no resource of the type owns are left out: one deleted, one started by a custom resource.
    assert registry.delete({"Id": owned.pop()}).status == "SUCCESS"
    assert ProviderDriver(sim).create(import_properties(destination, **OTHER_SOURCE)).status == "SUCCESS"
    assert len(sim.imports) == 13
    ids, pages = registry.list_all()
    assert sorted(ids) == sorted(owned)
    # GetParametersByPath answers ten records a page at most.
    assert pages == 2


def test_a_running_create_is_recorded_so_that_a_rollback_delete_stops_it(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(2)))
    answer = registry.create(typed(destination))
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    # Not the first answer: the resource exists, carries its Id, and the rollback deletes it.
    resource_id = answer.progress[0]["Id"]
    assert registry.read(resource_id).status == "SUCCESS"
    assert registry.delete({"Id": resource_id}).status == "SUCCESS"
    assert registry.read(resource_id).error_code == "NotFound"


def test_a_create_whose_first_answer_fails_leaves_no_resource_and_no_running_import(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    # StartImport succeeds, then the first GetImport is refused.
    sim.inject_fault("GetImport", "AccessDeniedException", message="User is not authorized")
    answer = registry.create(typed(destination))
    assert (answer.status, answer.error_code, answer.calls) == ("FAILED", "AccessDenied", 1)
    assert "GetImport failed with AccessDeniedException" in answer.message
    (import_id,) = sim.imports
    sim.advance(30)
    assert sim.running() == []
    assert registry.list_all()[0] == []
    again = registry.create(typed(destination))
    assert (again.status, again.model["ImportId"]) == ("SUCCESS", import_id)
    assert sim.copied_events(destination) == 48_000


def test_a_create_waits_its_turn_while_another_import_runs(registry: RegistryDriver, destination: str,
                                                           sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=30)))
    blocker = ProviderDriver(sim).create(import_properties(destination, **OTHER_SOURCE, WaitForCompletion="false"))
    answer = registry.create(typed(destination))
    assert answer.status == "SUCCESS", answer.message
    assert answer.model["ImportId"] not in ("", blocker.physical_id)
    assert sim.status_of(blocker.physical_id) == "COMPLETED"
    # Every answer names the resource by its Id; while waiting its turn it has no ImportId yet, and from its
    # first StartImport on, every answer has.
    assert all(p["Id"] == answer.model["Id"] for p in answer.progress)
    waiting = [p for p in answer.progress if "ImportId" not in p]
    assert waiting
    started = answer.progress[len(waiting):]
    assert started
    assert all(p["ImportId"] == answer.model["ImportId"] for p in started)
    assert [r.error for r in sim.requests if r.operation == "StartImport"].count(
        "AccountHasOngoingImportException") >= 1


def test_an_unreachable_aws_is_a_network_failure_that_names_it(registry: RegistryDriver, destination: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    from trail_import_handler import ownership

    def unreachable(self: object, import_id: str) -> None:
        raise EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com/")

    monkeypatch.setattr(ownership.Ownership, "recorded", unreachable)
    answer = registry.read("a0000000-0000-0000-0000-000000000001")
    assert (answer.status, answer.error_code) == ("FAILED", "NetworkFailure")
    assert "https://ssm.us-east-1.amazonaws.com/" in answer.message


def test_records_live_under_the_registered_name_and_a_failed_claim_starts_nothing(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    # Registered as TrailLogs::CloudTrailLake::Import, the role may write that path only: a type registered
    # under another name needs a role for its own path (ResourceTypeRegistration(type_name=...) grants it).
    registry.type_name = "Acme::Audit::TrailImport"
    answer = registry.create(typed(destination))
    assert (answer.status, answer.error_code) == ("FAILED", "AccessDenied")
    assert "ssm:PutParameter of the record /Acme/Audit/TrailImport/" in answer.message
    # The record comes before StartImport: nothing was started that nobody would own.
    assert sim.imports == {}
    registry.type_name = "TrailLogs::CloudTrailLake::Import"
    assert registry.create(typed(destination)).status == "SUCCESS"
    assert len(sim.imports) == 1


def test_list_refused_its_records_names_the_path_and_the_grant_it_needs(
        registry: RegistryDriver, destination: str) -> None:
    registry.type_name = "Acme::Audit::TrailImport"  # the role may read TrailLogs::CloudTrailLake::Import's only
    answer = registry.run("LIST", {})
    assert (answer.status, answer.error_code) == ("FAILED", "AccessDenied")
    assert answer.message.startswith(
        "ssm:GetParametersByPath of the records under /Acme/Audit/TrailImport failed with AccessDeniedException: ")
    assert answer.message.endswith(
        "(the type's execution role needs ssm:GetParametersByPath on parameter/Acme/Audit/TrailImport).")


def test_parameters_under_the_types_path_that_are_not_its_records_are_no_resources(
        registry: RegistryDriver, destination: str) -> None:
    created = registry.create(typed(destination))
    path = "/TrailLogs/CloudTrailLake/Import"
    ssm = admin_client("ssm")
    for name, value in (("not-json", "hello"), ("a-list", "[1, 2]"), ("no-import", '{"Properties": {}}'),
                        ("blank", '{"PhysicalId": "", "Properties": {}}')):
        ssm.put_parameter(Name=f"{path}/{name}", Value=value, Type="String")
    assert registry.list_all()[0] == [created.model["Id"]]
    (record,) = ssm.describe_parameters(ParameterFilters=[
        {"Key": "Name", "Values": [path_of(created.model["Id"])]}])["Parameters"]
    assert record["Description"] == "A CloudFormation resource's import; removed when that resource is deleted."
    for name in ("not-json", "a-list", "no-import", "blank"):
        assert registry.read(name).error_code == "NotFound"


def test_a_refused_read_or_delete_of_a_record_names_the_record_and_the_grant_it_needs(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator, handler_roles: HandlerRoles,
) -> None:
    created = registry.create(typed(destination))
    resource_id = created.model["Id"]
    world = sim.iam
    assert world is not None
    policies = world.roles[handler_roles.registry_role].policies
    saved = list(policies)
    for refused in ("ssm:GetParameter", "ssm:DeleteParameter"):
        policies[:] = [{**d, "Statement": [{**st, "Action": [a for a in _actions(st) if a != refused]}
                                           if "Action" in st else st for st in d["Statement"]]} for d in saved]
        answer = registry.read(resource_id) if refused == "ssm:GetParameter" else registry.delete(created.model)
        assert (answer.status, answer.error_code) == ("FAILED", "AccessDenied"), answer.message
        assert answer.message.startswith(
            f"{refused} of the record {path_of(resource_id)} failed with AccessDeniedException: ")
        assert f"is not authorized to perform: {refused}" in answer.message, "the service's own words"
        assert answer.message.endswith(
            f"(the type's execution role needs {refused} on parameter/TrailLogs/CloudTrailLake/Import/*).")
    policies[:] = saved
    assert registry.delete(created.model).status == "SUCCESS", "once allowed, the Delete CloudFormation retries ends"


def path_of(resource_id: str) -> str:
    """The record of a resource of the type registered as TrailLogs::CloudTrailLake::Import."""
    return f"/TrailLogs/CloudTrailLake/Import/{resource_id}"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def test_a_rollback_of_a_create_still_waiting_its_turn_deletes_it_and_nothing_runs_afterwards(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=3)))
    blocker = ProviderDriver(sim).create(import_properties(destination, **BLOCKING_SOURCE, WaitForCompletion="false"))
    waiting = registry.run("CREATE", typed(destination), stop_after=5)
    # CloudFormation has the resource's identifier from the first answer on, though no import exists yet.
    assert waiting.status == "IN_PROGRESS"
    assert {p["Id"] for p in waiting.progress} == {waiting.model["Id"]}
    assert all("ImportId" not in p for p in waiting.progress)
    # The stack rolls back: CloudFormation deletes the resource by the model of its last answer.
    deleted = registry.delete(waiting.model)
    assert deleted.status == "SUCCESS", deleted.message
    assert registry.read(waiting.model["Id"]).error_code == "NotFound"
    assert registry.list_all()[0] == []
    assert sim.status_of(blocker.physical_id) == "IN_PROGRESS", "another source's import is not this resource's"
    # The blocker ends and the account is free: nothing of the deleted resource ever starts.
    sim.advance(4 * 3600)
    assert list(sim.imports) == [blocker.physical_id]
    assert sim.status_of(blocker.physical_id) == "COMPLETED"


def test_a_rollback_after_the_waiting_create_started_its_import_stops_it(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    blocker = ProviderDriver(sim).create(import_properties(destination, **BLOCKING_SOURCE, WaitForCompletion="false"))
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=5)))
    answer = registry.run("CREATE", typed(destination), stop_after=40)
    assert answer.status == "IN_PROGRESS"
    import_id = answer.model["ImportId"]
    assert import_id != blocker.physical_id
    assert sim.status_of(import_id) == "IN_PROGRESS"
    assert registry.delete(answer.model).status == "SUCCESS"
    assert sim.status_of(import_id) == "STOPPED"
    assert sim.running() == []


def _past_imports(sim: CloudTrailImportSimulator, destination: str, count: int, *, stopped_at: int) -> str:
    """``count`` past imports of ``destination``; the one at ``stopped_at`` is a stopped copy of ``typed``'s window
    and source (its id is returned), the others near misses: another source, or another window."""
    source = {"S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": "us-east-1",
              "S3BucketAccessRoleArn": ROLE_ARN}
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
    other_source = {**source, "S3LocationUri": "s3://trail-logs/other-trail"}
    stopped = ""
    for n in range(count):
        if n == stopped_at:
            stopped = sim.add_past_import(destination, source, start=start, end=end, status="STOPPED")
        elif n % 2:
            sim.add_past_import(destination, other_source, start=start, end=end)
        else:
            sim.add_past_import(destination, source, start=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=n),
                                end=datetime(2020, 1, 2, tzinfo=UTC) + timedelta(days=n))
    return stopped


def test_a_create_adopts_the_right_import_among_500_past_ones_each_invocation_within_60_seconds(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    stopped = _past_imports(sim, destination, 500, stopped_at=400)
    sim.throttle("GetImport", per_second=1.0)
    answer = registry.create(typed(destination))
    assert answer.status == "SUCCESS", answer.message
    # The copy of this very window that was stopped midway is resumed, not copied afresh.
    assert answer.model["ImportId"] == stopped
    assert [c.params.get("ImportId") for c in sim.calls("StartImport")] == [stopped]
    assert len(sim.imports) == 500
    # Every invocation answered within CloudFormation's 60 seconds; reading 500 imports at one a second took many.
    assert max(registry.invocation_seconds) <= 60, max(registry.invocation_seconds)
    assert sum(1 for p in answer.progress if "ImportId" not in p) >= 10
    # While it searched, every answer carried the resource's identifier.
    assert all(p.get("Id") == answer.model["Id"] for p in answer.progress)
    assert [r for r in sim.requests if r.operation == "GetImport" and r.error == "ThrottlingException"]


def test_a_create_still_searching_is_a_resource_that_a_rollback_deletes(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    _past_imports(sim, destination, 500, stopped_at=400)
    sim.throttle("GetImport", per_second=1.0)
    searching = registry.run("CREATE", typed(destination), stop_after=2)
    assert searching.status == "IN_PROGRESS"
    resource_id = searching.model["Id"]
    read = registry.read(resource_id)
    assert (read.status, read.model.get("Id"), read.model.get("ImportId")) == ("SUCCESS", resource_id, None)
    assert registry.list_all()[0] == [resource_id]
    assert registry.delete(searching.model).status == "SUCCESS"
    assert registry.list_all()[0] == []
    assert sim.calls("StartImport") == []
    assert sim.running() == []


def test_a_create_waiting_its_turn_among_500_past_imports_reads_only_the_new_ones(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    _past_imports(sim, destination, 500, stopped_at=-1)
    blocker = sim.hold_account(timedelta(minutes=45))
    sim.throttle("GetImport", per_second=1.0)
    answer = registry.create(typed(destination))
    assert answer.status == "SUCCESS", answer.message
    assert answer.model["ImportId"] not in (blocker, "")
    assert len(sim.imports) == 502
    # Each check while waiting read the imports created since the search, not the 500 before it.
    assert max(registry.invocation_seconds) <= 60, max(registry.invocation_seconds)
    assert sum(1 for p in answer.progress if "ImportId" not in p) >= 20
    reads = sum(1 for r in sim.requests if r.operation == "GetImport" and r.error is None)
    assert reads < 500 + 200, reads


def test_a_search_carried_in_the_callback_context_resumes_exactly_where_it_stood() -> None:
    # CloudFormation keeps the callbackContext as JSON between invocations: every part of a search survives it.
    stood = import_search.ImportSearch(
        began=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), created_since=datetime(2026, 1, 5, 8, 55, tzinfo=UTC),
        token="ListImports:40", offset=15, matches=("a0000000-0000-0000-0000-000000000007",), done=False)
    assert import_search.ImportSearch.from_carried(json.loads(json.dumps(stood.carried()))) == stood
    fresh = import_search.ImportSearch(began=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert import_search.ImportSearch.from_carried(json.loads(json.dumps(fresh.carried()))) == fresh


def test_an_update_of_the_threshold_only_starts_nothing_and_keeps_the_resource_and_its_import(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(2)))
    created = registry.create(typed(destination, MaxFailedEntries=5))
    assert created.status == "SUCCESS", created.message
    updated = registry.update(created.model, typed(destination, MaxFailedEntries=3))
    assert updated.status == "SUCCESS", updated.message
    assert (updated.model["Id"], updated.model["ImportId"]) == (created.model["Id"], created.model["ImportId"])
    assert (updated.model["ImportStatus"], updated.model["FailedEntries"]) == ("FAILED", 2)
    assert "MaxFailedEntries" not in updated.model, "write-only: never returned"
    assert len(sim.calls("StartImport")) == 1
    # And CloudFormation's read afterwards agrees with what the update answered.
    read = registry.read(created.model["Id"])
    assert read.status == "SUCCESS", read.message
    assert {k: read.model[k] for k in updated.model} == updated.model


def test_an_update_of_a_resource_that_is_not_there_is_not_found(registry: RegistryDriver, destination: str,
                                                                  sim: CloudTrailImportSimulator) -> None:
    gone = {**typed(destination), "Id": "TrailImport-no-such-resource"}
    answer = registry.update(gone, typed(destination, MaxFailedEntries=1))
    assert (answer.status, answer.error_code) == ("FAILED", "NotFound")
    assert answer.message == ("No resource of this type has Id TrailImport-no-such-resource: it was deleted, or "
                              "never made by this type in this account and region.")
    # A request that names no Id at all is told so.
    nameless = registry.run("UPDATE", typed(destination, MaxFailedEntries=1), previous=typed(destination))
    assert (nameless.status, nameless.error_code) == ("FAILED", "NotFound")
    assert nameless.message.startswith("No resource of this type has Id (no Id given): ")
    read = registry.run("READ", {})
    assert (read.status, read.error_code) == ("FAILED", "NotFound")
    assert read.message.startswith("No resource of this type has Id (no Id given): ")
    assert sim.calls("StartImport") == []


def test_a_retry_that_runs_for_hours_answers_in_progress_with_the_whole_model_until_it_completes(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3), retry=ImportPlan(duration=timedelta(hours=3))))
    created = registry.create(typed(destination, MaxFailedEntries=3))
    assert created.status == "SUCCESS", created.message
    desired = typed(destination, MaxFailedEntries=3, RetryToken="retry-1")
    began = sim.now
    updated = registry.update(created.model, desired)
    assert updated.status == "SUCCESS", updated.message
    assert len(updated.progress) >= 5, "three hours of waiting, answered IN_PROGRESS call by call"
    for model in updated.progress:
        # Each answer is the next call's desired state: it names the resource, its import and every property.
        assert (model["Id"], model["ImportId"]) == (created.model["Id"], created.model["ImportId"])
        assert {k: model[k] for k in desired} == desired
    assert sim.now - began >= timedelta(hours=3)
    assert (updated.model["ImportStatus"], updated.model["ImportId"]) == ("COMPLETED", created.model["ImportId"])


def test_an_import_stopped_outside_the_stack_fails_the_create_as_not_stabilized(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=2)))
    sim.stop_from_outside_after(timedelta(minutes=30))
    answer = registry.create(typed(destination))
    # The request was valid; the import did not end as asked: NotStabilized, CloudFormation's code for that.
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    assert "was STOPPED outside this stack (StopImport)" in answer.message


def test_a_failed_create_that_cannot_clean_up_says_so_and_still_gives_its_own_reason(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator, caller: str,
        caplog: pytest.LogCaptureFixture) -> None:
    # The first GetImport is refused; so are the clean-up's StopImport and, by a deny the role cannot see, the
    # record's deletion: the log names each step left undone, and the import and resource it concerns.
    sim.inject_fault("GetImport", "AccessDeniedException", message="User is not authorized")
    sim.inject_fault("StopImport", "AccessDeniedException", message="no stopping", times=10)
    assert sim.iam is not None
    sim.iam.roles[caller].policies.append({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "ssm:DeleteParameter", "Resource": "*"}]})
    answer = registry.create(typed(destination))
    assert (answer.status, answer.error_code) == ("FAILED", "AccessDenied")
    assert "GetImport failed with AccessDeniedException: User is not authorized" in answer.message
    (import_id,) = sim.imports
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "could not" in r.getMessage()]
    assert len(warnings) == 2, warnings
    stop = re.fullmatch(rf"could not stop import {import_id} of a failed Create (\S+): StopImport failed with "
                        r"AccessDeniedException: no stopping \(the handler's role lacks cloudtrail:StopImport\)\.",
                        warnings[0])
    assert stop, warnings[0]
    resource_id = stop.group(1)
    assert warnings[1].startswith(f"could not forget of a failed Create {resource_id}: ssm:DeleteParameter of the "
                                  f"record /TrailLogs/CloudTrailLake/Import/{resource_id} failed with "
                                  "AccessDeniedException: "), warnings[1]


def test_a_read_gives_the_window_as_the_template_wrote_it_or_else_as_the_import_reports_it_in_utc(
        registry: RegistryDriver, destination: str) -> None:
    # The same instants in other spellings: read back as written, so that CloudFormation sees no drift.
    written = typed(destination, StartEventTime="2024-01-01T02:00:00+02:00", EndEventTime="2024-07-01T00:00:00.000Z")
    created = registry.create(written)
    assert created.status == "SUCCESS", created.message
    read = registry.read(created.model["Id"])
    assert (read.model["StartEventTime"], read.model["EndEventTime"]) == (
        "2024-01-01T02:00:00+02:00", "2024-07-01T00:00:00.000Z")
    # A record whose times were lost (edited by hand) reads the import's own, in UTC.
    ssm = admin_client("ssm")
    name = f"/TrailLogs/CloudTrailLake/Import/{created.model['Id']}"
    record = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    for key in ("StartEventTime", "EndEventTime"):
        del record["Properties"][key]
    ssm.put_parameter(Name=name, Value=json.dumps(record), Overwrite=True)
    read = registry.read(created.model["Id"])
    assert read.status == "SUCCESS", read.message
    assert (read.model["StartEventTime"], read.model["EndEventTime"]) == (
        "2024-01-01T00:00:00Z", "2024-07-01T00:00:00Z")


def test_list_gives_each_resource_by_id_with_what_identifies_its_import(
        registry: RegistryDriver, destination: str) -> None:
    created = registry.create(typed(destination, MaxFailedEntries=4))
    assert created.status == "SUCCESS", created.message
    listed = registry.run("LIST", {})
    assert listed.status == "SUCCESS", listed.message
    # The schema's createOnlyProperties and the import's id: what tells one import of the type from another.
    expected = {k: v for k, v in typed(destination).items()
                if k in ("EventDataStoreArn", "S3LocationUri", "S3BucketRegion", "StartEventTime", "EndEventTime")}
    assert listed.models == [{"Id": created.model["Id"], "ImportId": created.model["ImportId"], **expected}]


def test_an_update_that_outlasts_the_36_hour_limit_fails_and_leaves_its_import_running_owned(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(failures=failures(3), retry=ImportPlan(duration=timedelta(hours=40))))
    created = registry.create(typed(destination, MaxFailedEntries=3))
    assert created.status == "SUCCESS", created.message
    import_id = created.model["ImportId"]
    answer = registry.update(created.model, typed(destination, MaxFailedEntries=3, RetryToken="retry-1"))
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    assert answer.message.startswith(f"Update of import {import_id} did not finish within the registry's 36-hour "
                                     "limit: status IN_PROGRESS, ")
    assert answer.message.endswith(" events so far. It runs on, owned by this resource: Read reports its progress. "
                                   'Set WaitForCompletion to "false" to stop waiting for it.')
    assert sim.running() == [import_id]
    read = registry.read(created.model["Id"])
    assert (read.model["ImportId"], read.model["ImportStatus"]) == (import_id, "IN_PROGRESS")


# CloudFormation's handler error codes (cloudformation-cli-python-lib HandlerErrorCode): the user's input for what
# names a property to fix; the service's own failure otherwise.
@pytest.mark.parametrize(("code", "status", "expected"), [
    *[(code, 400, "InvalidRequest") for code in (
        "EventDataStoreARNInvalidException", "EventDataStoreNotFoundException", "InvalidEventDataStoreStatusException",
        "InvalidEventDataStoreCategoryException", "InactiveEventDataStoreException", "InvalidImportSourceException",
        "InsufficientEncryptionPolicyException", "InvalidParameterException", "OperationNotPermittedException")],
    ("UnsupportedOperationException", 400, "GeneralServiceException"),
    ("AccessDeniedException", 400, "AccessDenied"),
    ("ThrottlingException", 400, "Throttling"),
    ("InternalFailure", 500, "ServiceInternalError"),
])
def test_a_create_that_start_import_refuses_answers_the_contracts_error_code(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator,
        code: str, status: int, expected: str) -> None:
    sim.inject_fault("StartImport", code, status=status, message="refused", times=50)
    answer = registry.create(typed(destination))
    assert (answer.status, answer.error_code) == ("FAILED", expected)
    assert f"StartImport failed with {code}" in answer.message
    assert sim.imports == {}


def test_a_rollback_finds_the_import_a_waiting_create_started_but_never_recorded(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    sim.plan_next_import(ImportPlan(duration=timedelta(minutes=20)))
    ProviderDriver(sim).create(import_properties(destination, **BLOCKING_SOURCE, WaitForCompletion="false"))
    answer = registry.run("CREATE", typed(destination), stop_after=1)
    assert answer.status == "IN_PROGRESS"
    assert "ImportId" not in answer.model, "still waiting its turn"
    sim.finish_all()
    # The Create's next invocation started its import and ended before it could record it (a timeout, a crash).
    sim.plan_next_import(ImportPlan(duration=timedelta(hours=5)))
    started = ProviderDriver(sim).create(import_properties(destination, WaitForCompletion="false")).physical_id
    assert sim.status_of(started) in ("INITIALIZING", "IN_PROGRESS")
    deleted = registry.delete(answer.model)
    assert deleted.status == "SUCCESS", deleted.message
    assert sim.status_of(started) == "STOPPED"
    assert sim.running() == []


def test_a_delete_that_names_no_resource_is_not_found(registry: RegistryDriver) -> None:
    answer = registry.run("DELETE", {})
    assert (answer.status, answer.error_code) == ("FAILED", "NotFound")
    assert answer.message.startswith("No resource of this type has Id (no Id given): ")


def test_a_read_of_a_resource_whose_import_is_gone_is_not_found_naming_the_resource(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    created = registry.create(typed(destination))
    assert created.status == "SUCCESS", created.message
    del sim.imports[created.model["ImportId"]]  # GetImport finds nothing: the account's history no longer has it
    read = registry.read(created.model["Id"])
    assert (read.status, read.error_code) == ("FAILED", "NotFound")
    assert read.message.startswith(f"No resource of this type has Id {created.model['Id']}: ")


def test_an_update_of_both_ends_of_the_window_names_both(registry: RegistryDriver, destination: str) -> None:
    created = registry.create(typed(destination))
    answer = registry.update(created.model, typed(destination, StartEventTime="2023-01-01T00:00:00Z",
                                                  EndEventTime="2024-08-01T00:00:00Z"))
    assert (answer.status, answer.error_code) == ("FAILED", "NotUpdatable")
    assert answer.message.startswith("StartEventTime, EndEventTime cannot change: ")


@pytest.mark.parametrize(("waited", "seconds"), [
    (timedelta(0), 60), (timedelta(minutes=10), 60),          # every minute at first
    (timedelta(minutes=15), 90), (timedelta(minutes=30), 180),  # then a tenth of the time waited
    (timedelta(minutes=50), 300), (timedelta(hours=30), 300),   # at most every five minutes
])
def test_checks_come_every_minute_then_a_tenth_of_the_time_waited_at_most_every_five_minutes(
        monkeypatch: pytest.MonkeyPatch, waited: timedelta, seconds: int) -> None:
    from trail_import_handler.registry import CALLBACK_SECONDS_ENV, callback_seconds

    monkeypatch.delenv(CALLBACK_SECONDS_ENV, raising=False)
    assert callback_seconds(waited) == seconds
    monkeypatch.setenv(CALLBACK_SECONDS_ENV, "7")  # a fixed delay, for a test of the type's own
    assert callback_seconds(waited) == 7


def test_a_create_that_resumed_a_stopped_import_and_then_failed_stops_it_again(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    source = {"S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": "us-east-1",
              "S3BucketAccessRoleArn": ROLE_ARN}
    props = typed(destination)
    stopped = sim.add_past_import(destination, source, start=datetime.fromisoformat(props["StartEventTime"]),
                                  end=datetime.fromisoformat(props["EndEventTime"]), status="STOPPED")
    # The search reads the stopped import (GetImport), the Create resumes it, then its first check is refused.
    get_import = sim._op_GetImport
    calls: list[dict[str, Any]] = []

    def refused_after_the_resume(params: dict[str, Any]) -> dict[str, Any]:
        if sim.calls("StartImport") and not calls:
            calls.append(params)
            raise ServiceError("AccessDeniedException", "User is not authorized")
        return get_import(params)

    sim._op_GetImport = refused_after_the_resume  # type: ignore[method-assign]
    answer = registry.create(props)
    assert (answer.status, answer.error_code) == ("FAILED", "AccessDenied")
    assert [c.params.get("ImportId") for c in sim.calls("StartImport")] == [stopped], "resumed, not started anew"
    sim.advance(30)
    assert sim.status_of(stopped) == "STOPPED", "the Create that failed set it running: it stopped it again"


def test_a_request_without_credentials_fails_saying_the_type_needs_an_execution_role(
        aws: CloudTrailImportSimulator, props: dict[str, str]) -> None:
    from trail_import_handler import registry

    request = handler_request("CREATE", props)
    del request["requestData"]["callerCredentials"]  # a type registered without an execution role
    answer = registry.resource(request, None)
    assert (answer["status"], answer["errorCode"], answer["message"]) == (
        "FAILED", "InvalidCredentials",
        "No credentials came with the request: register the type with an execution role.")
    assert aws.imports == {}


def test_creates_that_carry_no_request_token_are_resources_of_their_own(
        registry: RegistryDriver, destination: str, sim: CloudTrailImportSimulator) -> None:
    # CloudFormation's bearer token fixes a Create's Id across deliveries; without one, two Creates must not
    # share an Id (and so one record), or deleting either would stop the other's import.
    first = registry.run("CREATE", typed(destination), token="")
    second = registry.run("CREATE", typed(destination, StartEventTime="2024-07-01T00:00:00Z",
                                          EndEventTime="2024-10-01T00:00:00Z"), token="")
    assert first.status == second.status == "SUCCESS", (first.message, second.message)
    assert first.model["Id"] != second.model["Id"]
    assert first.model["ImportId"] != second.model["ImportId"]
    assert sorted(registry.list_all()[0]) == sorted([first.model["Id"], second.model["Id"]])
    assert registry.delete(first.model).status == "SUCCESS"
    assert registry.read(second.model["Id"]).model["ImportId"] == second.model["ImportId"]


def test_an_update_that_carries_no_previous_state_is_not_found_naming_no_id(registry: RegistryDriver,
                                                                            destination: str) -> None:
    # CloudFormation sends the previous state with every Update; a request without it is answered, not a crash.
    answer = registry.run("UPDATE", typed(destination, MaxFailedEntries=1))
    assert (answer.status, answer.error_code) == ("FAILED", "NotFound")
    assert answer.message.startswith("No resource of this type has Id (no Id given): ")
