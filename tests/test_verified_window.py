"""The deploy's verification (``Custom::CloudTrailLakeArchiveVerification``) through its Provider entry points, as
the provider's role, with the ArchiveVerification state machine run on moto's interpreter, and a TrailImport that
depends on it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from cloudtrail_lake_import.testing import (
    IamEnforcement,
    SignedArchive,
)
from tests.engine import Engine, faulted, running
from tests.syntheses import kept
from trail_import_handler import clients, clock, verification_provider
from trail_import_handler.errors import ImportResourceError

# moto's own account: the state machine's ARN, which the template names, is the one moto gives it.
ACCOUNT, REGION, BUCKET = "123456789012", "us-east-1", "trail-logs"
STORE = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:eventdatastore/archive"
START = datetime(2024, 3, 1, tzinfo=UTC)


def _stack(**import_props: Any) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_s3

    from cloudtrail_lake_import import ArchiveVerification, TrailImport

    app = cdk.App()
    stack = cdk.Stack(app, "VerifiedImport", env=cdk.Environment(account=ACCOUNT, region=REGION))
    bucket = aws_s3.Bucket.from_bucket_name(stack, "Logs", BUCKET)
    verification = ArchiveVerification(stack, "Verification", source_bucket=bucket, max_concurrency=4)
    TrailImport(stack, "Import", event_data_store=STORE, source_bucket=bucket, verify=verification,
                start_time=START, end_time=START + timedelta(days=2), **import_props)
    return stack


def _template() -> dict[str, Any]:
    from aws_cdk.assertions import Template

    return dict(Template.from_stack(_stack()).to_json())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    synthesized: dict[str, Any] = kept("verified-window", _template)
    return synthesized


class Deploy:
    """The stack's verification resource, created and deleted as CloudFormation would through its provider."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.requests: list[tuple[str, dict[str, Any]]] = []
        """Every request the resource's handlers made: the operation and its parameters."""
        self.faults: dict[str, list[tuple[int, str]]] = {}
        """Errors the handlers' calls meet, by operation (``DescribeExecution``): each the HTTP status and error
        code of one call, in order; used up as they are met."""
        resources = engine.deployment.of_type("Custom::CloudTrailLakeArchiveVerification")
        ((self.logical, props),) = resources.items()
        self.props: dict[str, Any] = dict(props)
        (role,) = [engine.deployment.arn(k) for k, r in engine.deployment.resources.items()
                   if r["Type"] == "AWS::IAM::Role" and k.startswith("VerificationProvider") and "HandlerRole" in k]
        self.role = role
        self.machine = engine.state_machine(next(k for k in engine.deployment.resources
                                                 if k.startswith("VerificationStateMachine")
                                                 and engine.deployment.resources[k]["Type"]
                                                 == "AWS::StepFunctions::StateMachine"))

    def create(self, request_id: str | None = None, **changes: Any) -> dict[str, Any]:
        """Create as the framework runs it; the Data and the physical id, or the raised failure."""
        return self._run(self._request("Create", {**self.props, **changes}, request_id=request_id))

    def update(self, physical_id: str, **changes: Any) -> dict[str, Any]:
        """Update as the framework runs it: CloudFormation sends one when a property changed."""
        request = self._request("Update", {**self.props, **changes}, physical_id)
        return self._run({**request, "OldResourceProperties": self.props})

    def delete(self, physical_id: str) -> dict[str, Any]:
        """Delete as the framework runs it: is_complete follows on_event for a Delete too."""
        return self._run(self._request("Delete", self.props, physical_id))

    def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        # As aws-cdk-lib's provider framework does (custom-resources/lib/provider-framework/runtime/framework.js):
        # the event is the request with on_event's answer over it; is_complete is asked until IsComplete, and the
        # answer is the event with is_complete's answer over it, their Data merged.
        event = {**request, **self.call(verification_provider.on_event, request)}
        for _ in range(600):
            done = self.call(verification_provider.is_complete, event)
            assert set(done) <= {"IsComplete", "Data"}, done
            if done["IsComplete"]:
                answer = {**event, **done, "Data": {**event.get("Data", {}), **done.get("Data", {})}}
                return {**answer["Data"], "PhysicalResourceId": answer["PhysicalResourceId"]}
            assert "Data" not in done, "Data is not allowed while IsComplete is false"
            time.sleep(0.05)
        raise AssertionError("the verification did not end")

    def call(self, entry: Any, event: dict[str, Any]) -> dict[str, Any]:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        IamEnforcement(self.engine.world, self.role).attach(session.events)
        session.events.register("provide-client-params", self._record)
        fault: Any = self._fault  # a before-call handler answers in botocore's stead by returning
        session.events.register_first("before-call", fault)
        with clients.using(session):
            answer: dict[str, Any] = entry(event)
        return answer

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.name, dict(params)))

    def _fault(self, model: Any, **_: Any) -> Any:
        queued = self.faults.get(model.name)
        if not queued:
            return None
        return faulted(*queued.pop(0))

    def _request(self, request_type: str, props: dict[str, Any], physical_id: str | None = None, *,
                 request_id: str | None = None) -> dict[str, Any]:
        request = {"RequestType": request_type, "RequestId": request_id or f"request-{time.monotonic_ns()}",
                   "LogicalResourceId": self.logical, "ResourceType": "Custom::CloudTrailLakeArchiveVerification",
                   "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
                                  "arn%3Aaws%3Acloudformation?X-Amz-Signature=secret",
                   "ResourceProperties": props}
        if physical_id:
            request["PhysicalResourceId"] = physical_id
        return request


@pytest.fixture
def deploy(template: dict[str, Any]) -> Iterator[Deploy]:
    with running(template, account=ACCOUNT, region=REGION, source_bucket=BUCKET) as engine:
        yield Deploy(engine)


def _failed_create(deploy: Deploy) -> tuple[str, str]:
    """A Create that fails as its archive is not intact: the reason, and the report it names."""
    with pytest.raises(ImportResourceError) as failed:
        deploy.create()
    reason = str(failed.value)
    return reason, reason.split(" problem(s) in ", 1)[1].split(". It is not imported.", 1)[0]


def _archive(deploy: Deploy) -> SignedArchive:
    archive = SignedArchive(boto3.client("s3", region_name=REGION), BUCKET)
    deploy.engine.simulator.public_keys.append(archive.key.entry())
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
    return archive


def test_a_verified_window_completes_with_the_archives_counts_as_its_attributes(deploy: Deploy) -> None:
    _archive(deploy)
    data = deploy.create()
    run = data["PhysicalResourceId"].rsplit(":", 1)[-1]
    assert data["ReportUri"] == f"s3://verificationreports205f6937/verifications/{run}/report.json"
    # 49 digests and log files (the one of 23:07 before the window too); 48 hours of 3 events.
    assert {k: data[k] for k in ("DigestsVerified", "LogFilesVerified", "EventsInWindow", "Problems")} == \
        {"DigestsVerified": "49", "LogFilesVerified": "49", "EventsInWindow": "144", "Problems": "0"}
    mine = [d for d in deploy.engine.world.decisions if d.request.principal == deploy.role]
    assert {d.request.action for d in mine} == {"states:StartExecution", "states:DescribeExecution"}
    assert all(d.allowed for d in mine)


def test_a_changed_window_is_verified_again_in_a_run_of_its_own(deploy: Deploy) -> None:
    _archive(deploy)
    first = deploy.create()
    # CloudFormation sends an Update when a property changed: here the window ends a day earlier.
    changed = deploy.update(first["PhysicalResourceId"], EndTime="2024-03-02T00:00:00Z")
    assert changed["PhysicalResourceId"] != first["PhysicalResourceId"]
    # 24 hours of 3 events, and the 25 digests and log files from 23:07 the day before.
    assert {k: changed[k] for k in ("DigestsVerified", "LogFilesVerified", "EventsInWindow", "Problems")} == \
        {"DigestsVerified": "25", "LogFilesVerified": "25", "EventsInWindow": "72", "Problems": "0"}
    sfn = boto3.client("stepfunctions", region_name=REGION)
    assert json.loads(sfn.describe_execution(executionArn=changed["PhysicalResourceId"])["input"]) == {
        "start": "2024-03-01T00:00:00Z", "end": "2024-03-02T00:00:00Z", "accounts": [], "regions": []}
    assert len(sfn.list_executions(stateMachineArn=deploy.machine)["executions"]) == 2


def test_any_request_id_names_a_run_step_functions_accepts(deploy: Deploy) -> None:
    _archive(deploy)
    # A run's name is at most 80 characters, and StartExecution refuses white space, / and : in it; only
    # letters, digits, - and _ keep it usable in CloudWatch Logs (StartExecution's API reference). Every other
    # character becomes -, and the name is cut at 80.
    data = deploy.create(request_id="Deploy/Stack:1 Ab_" + "c" * 90)
    assert data["PhysicalResourceId"] == f"{deploy.machine.replace(':stateMachine:', ':execution:')}:" \
        f"cfn-Deploy-Stack-1-Ab_{'c' * 58}"


def test_an_archive_that_is_not_intact_fails_the_resource_naming_its_first_problems(deploy: Deploy) -> None:
    archive = _archive(deploy)
    for key in archive.log_keys[10:40]:
        archive.delete(key)
    reason, _ = _failed_create(deploy)
    assert reason.startswith("The archive s3://trail-logs is not intact: 30 problem(s) in s3://verificationreports"
                             "205f6937/verifications/cfn-request-")
    assert f"- {archive.log_keys[10]}: A log file a digest names is not in the bucket" in reason
    # The first problems that fit, and no more: what CloudFormation shows stays under its 4 KB.
    assert len(reason.encode()) <= 2500
    assert 5 <= reason.count("\n- ") < 30


def test_a_finished_report_of_the_same_source_and_window_is_accepted_without_running_again(deploy: Deploy) -> None:
    _archive(deploy)
    first = deploy.create()
    runs = len(boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deploy.machine)["executions"])
    again = deploy.create(AcceptReport=first["ReportUri"])
    assert again["PhysicalResourceId"] == first["ReportUri"]
    assert {k: again[k] for k in ("DigestsVerified", "LogFilesVerified", "EventsInWindow")} == \
        {k: first[k] for k in ("DigestsVerified", "LogFilesVerified", "EventsInWindow")}
    # The same source written with a trailing slash.
    assert deploy.create(AcceptReport=first["ReportUri"], Source="s3://trail-logs/")["PhysicalResourceId"] == \
        first["ReportUri"]
    assert len(boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deploy.machine)["executions"]) == runs


def test_the_report_of_an_archive_that_is_not_intact_is_refused_as_its_run_was(deploy: Deploy) -> None:
    archive = SignedArchive(boto3.client("s3", region_name=REGION), BUCKET)
    deploy.engine.simulator.public_keys.append(archive.key.entry())
    # The digests end ten hours before the window does: a problem of the account and region, with no object.
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 41)
    archive.delete(archive.log_keys[12])
    reason, report = _failed_create(deploy)
    head, *lines = reason.split("\n")
    assert head == f"The archive s3://trail-logs is not intact: 2 problem(s) in {report}. It is not imported. First:"
    assert lines[0].startswith(f"- {ACCOUNT} {REGION}: No digest accounts for 2024-03-02T")
    assert lines[0].endswith(" to 2024-03-03T00:00:00Z: digests were deleted, or CloudTrail has not delivered them "
                             "yet. Restore them, or verify again later.")
    assert lines[1] == (f"- {archive.log_keys[12]}: A log file a digest names is not in the bucket: it was deleted or "
                        "moved. Restore it, or the import will lack its events.")
    with pytest.raises(ImportResourceError) as refused:
        deploy.create(AcceptReport=report)
    assert str(refused.value) == reason


@pytest.mark.parametrize(("changes", "theirs", "ours"), [
    ({"EndTime": "2024-03-02T00:00:00Z"}, "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z",
     "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-02T00:00:00Z"),
    ({"Source": "s3://trail-logs/other"}, "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z",
     "s3://trail-logs/other for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z"),
    ({"Regions": ["us-east-1"]}, "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z",
     "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z, regions us-east-1"),
    ({"Accounts": [ACCOUNT, "444455556666"], "Regions": ["us-east-1"]},
     "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z",
     f"s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z, accounts {ACCOUNT}, 444455556666, regions "
     "us-east-1"),
    # A list written as one comma-separated string, as a template may give it.
    ({"Accounts": f"{ACCOUNT},444455556666", "Regions": "us-east-1"},
     "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z",
     f"s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z, accounts {ACCOUNT}, 444455556666, regions "
     "us-east-1")])
def test_a_report_of_another_source_or_window_is_refused(deploy: Deploy, changes: dict[str, Any], theirs: str,
                                                         ours: str) -> None:
    _archive(deploy)
    report = deploy.create()["ReportUri"]
    with pytest.raises(ImportResourceError) as refused:
        deploy.create(AcceptReport=report, **changes)
    assert str(refused.value) == (f"AcceptReport {report} is the report of {theirs}, not of {ours}: a report proves "
                                  "only its own source and window. Verify this window, or give its report.")


def test_deleting_the_resource_stops_a_verification_that_still_runs(deploy: Deploy) -> None:
    _archive(deploy)
    started = deploy.call(verification_provider.on_event, deploy._request("Create", deploy.props))
    execution = started["PhysicalResourceId"]
    assert deploy.delete(execution) == {"PhysicalResourceId": execution}
    stops = [d for d in deploy.engine.world.decisions if d.request.action == "states:StopExecution"]
    # moto's interpreter takes the StopExecution but DescribeExecution keeps answering RUNNING: what is proven here
    # is the request, as the provider's role, and that IAM allows it.
    assert [(d.request.resource, d.allowed) for d in stops] == [(execution, True)]
    # What the execution's history shows of why it stopped.
    assert [params for operation, params in deploy.requests if operation == "StopExecution"] == [
        {"executionArn": execution, "error": "StackDeleted",
         "cause": "The resource that started this verification was deleted."}]


@pytest.mark.parametrize(("changes", "message"), [
    ({"StartTime": "2024-03-01"}, "StartTime must be a UTC time such as 2024-01-01T00:00:00Z; got '2024-03-01'"),
    ({"Source": "trail-logs"}, "Source must be s3://BUCKET[/PREFIX], the archive the state machine verifies; got "
                               "'trail-logs'"),
    ({"StartTime": "2024-03-03T00:00:00Z"},
     "StartTime (2024-03-03T00:00:00Z) must be before EndTime (2024-03-03T00:00:00Z)"),
    ({"AcceptReport": "s3://reports/report.json"},
     "AcceptReport must be s3://REPORT_BUCKET/verifications/RUN/report.json, the report of a finished "
     "verification; got 's3://reports/report.json'"),
    ({"AcceptReport": "s3://" + "r" * 300}, "AcceptReport must be s3://REPORT_BUCKET/verifications/RUN/report.json, "
     f"the report of a finished verification; got {'s3://' + 'r' * 195!r}"),
    ({"StateMachineArn": "CloudTrailLakeVerification-Archive"},
     "StateMachineArn must be a state machine ARN; got 'CloudTrailLakeVerification-Archive'"),
    ({"EndTime": "2024-03-03"}, "EndTime must be a UTC time such as 2024-01-01T00:00:00Z; got '2024-03-03'"),
    # A value is quoted up to its first 200 characters.
    ({"EndTime": "2" * 300}, f"EndTime must be a UTC time such as 2024-01-01T00:00:00Z; got {'2' * 200!r}"),
    ({"Accounts": [123456789012]}, "Accounts must be a list of strings; got [123456789012]"),
    ({"Regions": {"us-east-1": True}}, "Regions must be a list of strings; got {'us-east-1': True}"),
    (None, "ResourceProperties must be an object")])
def test_a_bad_property_is_refused_naming_it_and_nothing_starts(deploy: Deploy, changes: dict[str, Any] | None,
                                                               message: str) -> None:
    request = deploy._request("Create", {**deploy.props, **changes} if changes is not None else {})
    if changes is None:
        request["ResourceProperties"] = "StateMachineArn=..."
    with pytest.raises(ImportResourceError) as refused:
        deploy.call(verification_provider.on_event, request)
    assert str(refused.value) == message
    assert boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deploy.machine)["executions"] == []


def test_a_verification_of_another_source_than_the_resource_names_is_refused(deploy: Deploy) -> None:
    _archive(deploy)
    # The state machine verifies its own ArchiveVerification's source, whatever Source the resource gives.
    with pytest.raises(ImportResourceError) as refused:
        deploy.create(Source="s3://trail-logs/other/")
    (run,) = boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deploy.machine)["executions"]
    assert str(refused.value) == (
        f"The verification {run['executionArn']} proved s3://trail-logs, not s3://trail-logs/other: its state "
        "machine is another ArchiveVerification's. Give the state machine of an ArchiveVerification of this source.")
    # Its own source, written with a trailing slash, is the same source.
    assert deploy.create(Source="s3://trail-logs/")["Problems"] == "0"


def test_a_state_machine_the_provider_may_not_start_is_refused_saying_which_it_may(deploy: Deploy) -> None:
    _archive(deploy)
    other = deploy.machine.replace(":stateMachine:", ":stateMachine:Other-")
    with pytest.raises(ImportResourceError) as denied:
        deploy.create(StateMachineArn=other)
    assert str(denied.value).startswith(f"StartExecution of {other} failed with AccessDeniedException: ")
    assert str(denied.value).endswith(
        ": the caller may not start it. A VerifiedWindow's provider may start its own ArchiveVerification's state "
        "machine; the registry type's execution role those that ResourceTypeRegistration's "
        "verification_state_machine_names names.")
    # An error without advice of its own is given as Step Functions gave it.
    deploy.faults["StartExecution"] = [(400, "InvalidExecutionInput")]
    with pytest.raises(ImportResourceError) as refused:
        deploy.create()
    assert str(refused.value) == (f"StartExecution of {deploy.machine} failed with InvalidExecutionInput: "
                                  "InvalidExecutionInput (a fault of the test)")


def test_a_window_without_events_completes_with_none_counted(deploy: Deploy) -> None:
    archive = SignedArchive(boto3.client("s3", region_name=REGION), BUCKET)
    deploy.engine.simulator.public_keys.append(archive.key.entry())
    # A trail that delivered its hourly files with no events in them.
    archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6, events_per_log=0)
    data = deploy.create()
    assert {k: data[k] for k in ("DigestsVerified", "LogFilesVerified", "EventsInWindow", "Problems")} == \
        {"DigestsVerified": "49", "LogFilesVerified": "49", "EventsInWindow": "0", "Problems": "0"}


def test_a_run_that_fails_fails_the_resource_with_the_verifiers_own_words(deploy: Deploy) -> None:
    _archive(deploy)
    deploy.engine.faults["s3.ListObjectsV2"] = [(403, "AccessDenied")]
    with pytest.raises(ImportResourceError) as failed:
        deploy.create()
    (execution,) = boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deploy.machine)["executions"]
    assert str(failed.value) == (
        f"The verification {execution['executionArn']} ended FAILED: VerificationRefused: ListObjectsV2 was denied "
        "(AccessDenied (a fault of the test)): the verifier's role, or the bucket or key policy of s3://trail-logs "
        "or s3://verificationreports205f6937, must allow it.")


def test_a_request_delivered_again_starts_no_second_verification_and_a_reused_id_with_another_window_none(
        deploy: Deploy) -> None:
    _archive(deploy)
    deploy.engine.released.clear()
    request = deploy._request("Create", deploy.props)
    first = deploy.call(verification_provider.on_event, request)
    again = deploy.call(verification_provider.on_event, request)
    assert again["PhysicalResourceId"] == first["PhysicalResourceId"]
    deploy.engine.released.set()
    while not deploy.call(verification_provider.is_complete, {**request, **first})["IsComplete"]:
        time.sleep(0.05)
    # Ended, the execution's name answers ExecutionAlreadyExists: it is this request's, by its input.
    late = deploy.call(verification_provider.on_event, request)
    assert late["PhysicalResourceId"] == first["PhysicalResourceId"]
    # Unless Step Functions shows the execution's input, it is not taken for this request's.
    deploy.faults["DescribeExecution"] = [(400, "AccessDeniedException")]
    with pytest.raises(ImportResourceError) as unproven:
        deploy.call(verification_provider.on_event, request)
    assert str(unproven.value).startswith(f"StartExecution of {deploy.machine} failed with ExecutionAlreadyExists: ")
    other = {**request, "ResourceProperties": {**deploy.props, "EndTime": "2024-03-02T00:00:00Z"}}
    with pytest.raises(ImportResourceError) as refused:
        deploy.call(verification_provider.on_event, other)
    assert str(refused.value).startswith(f"StartExecution of {deploy.machine} failed with ExecutionAlreadyExists: ")
    assert [e["executionArn"] for e in boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deploy.machine)["executions"]] == [first["PhysicalResourceId"]]


def test_a_verification_longer_than_the_deploy_waits_is_left_running_for_its_report_to_be_accepted(
        deploy: Deploy, monkeypatch: pytest.MonkeyPatch) -> None:
    _archive(deploy)
    deploy.engine.released.clear()  # the verification runs on past the deploy's wait
    started = datetime.now(UTC)
    request = deploy._request("Create", deploy.props)
    answer = deploy.call(verification_provider.on_event, request)
    execution = answer["PhysicalResourceId"]
    # TRAIL_IMPORT_WAIT_SECONDS, the provider's wait, is the template's 3,300 s; the framework's answer is a minute
    # short of it.
    assert abs(datetime.fromisoformat(answer["WaitUntil"]) - (started + timedelta(seconds=3240))) < \
        timedelta(seconds=30)
    assert deploy.call(verification_provider.is_complete, {**request, **answer}) == {"IsComplete": False}
    began = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=execution)["startDate"]
    until = datetime.fromisoformat(answer["WaitUntil"])
    monkeypatch.setattr(clock, "now", lambda: until - timedelta(microseconds=1))
    assert deploy.call(verification_provider.is_complete, {**request, **answer}) == {"IsComplete": False}
    monkeypatch.setattr(clock, "now", lambda: until)
    with pytest.raises(ImportResourceError) as waited:
        deploy.call(verification_provider.is_complete, {**request, **answer})
    run = execution.rsplit(":", 1)[-1]
    assert str(waited.value) == (
        f"The verification {execution} still runs after the 55-minute timeout; it goes on. When it has SUCCEEDED, "
        f"set AcceptReport to its report (s3://REPORT_BUCKET/verifications/{run}/report.json, in "
        "ArchiveVerification's report bucket) and deploy again, or use the registry type, whose create waits up to "
        "36 hours.")
    # The rollback's Delete, exactly the wait after the execution started, leaves it running: its report is what
    # the next deploy accepts.
    monkeypatch.setattr(clock, "now", lambda: began + timedelta(seconds=3300))
    deploy.delete(execution)
    assert [d for d in deploy.engine.world.decisions if d.request.action == "states:StopExecution"] == []


def test_a_report_that_cannot_be_read_or_names_no_window_is_refused(deploy: Deploy) -> None:
    _archive(deploy)
    report = deploy.create()["ReportUri"]
    bucket, key = report.removeprefix("s3://").split("/", 1)
    missing = report.replace("/verifications/", "/verifications/never-ran-")
    with pytest.raises(ImportResourceError) as unreadable:
        deploy.create(AcceptReport=missing)
    assert str(unreadable.value) == (f"AcceptReport {missing} cannot be read: NoSuchKey: The specified key does not "
                                     "exist. Give the report of a finished verification.")
    # A report without the request it answered (written by hand, say) proves no window.
    s3 = boto3.client("s3", region_name=REGION)
    written = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    forged = key.replace("verifications/", "verifications/by-hand-", 1)
    s3.put_object(Bucket=bucket, Key=forged, Body=json.dumps({"report": written["report"]}).encode())
    with pytest.raises(ImportResourceError) as unnamed:
        deploy.create(AcceptReport=f"s3://{bucket}/{forged}")
    assert str(unnamed.value) == (
        f"AcceptReport s3://{bucket}/{forged} is the report of s3://trail-logs for an unknown window, not of "
        "s3://trail-logs for 2024-03-01T00:00:00Z to 2024-03-03T00:00:00Z: a report proves only its own source and "
        "window. Verify this window, or give its report.")


def test_deleting_a_verification_step_functions_no_longer_keeps_succeeds(deploy: Deploy) -> None:
    # Step Functions keeps a STANDARD execution's history for 90 days: a stack deleted later finds none.
    gone = f"{deploy.machine.replace(':stateMachine:', ':execution:')}:cfn-request-long-ago"
    assert deploy.delete(gone) == {"PhysicalResourceId": gone}
    assert [operation for operation, _ in deploy.requests] == ["DescribeExecution"]


def test_the_report_of_many_problems_is_refused_with_as_many_of_its_first_as_fit_in_the_reason(deploy: Deploy) -> None:
    archive = _archive(deploy)
    for key in archive.log_keys[5:45]:
        archive.delete(key)
    _, report = _failed_create(deploy)
    bucket, key = report.removeprefix("s3://").split("/", 1)
    problems = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=bucket, Key=key)["Body"].read())["report"]["problems"]
    every = [f"- {p['key']}: {p['message']}" for p in problems]
    with pytest.raises(ImportResourceError) as refused:
        deploy.create(AcceptReport=report)
    reason = str(refused.value)
    head, *lines = reason.split("\n")
    assert head == f"The archive s3://trail-logs is not intact: 40 problem(s) in {report}. It is not imported. First:"
    # The report's first problems, in its order, as many as fit in 2,500 bytes, which the framework's answer
    # keeps under CloudFormation's 4 KB; one more would not fit.
    assert lines == every[:len(lines)]
    assert len(reason.encode()) <= 2500 < len(f"{reason}\n{every[len(lines)]}".encode())


def test_a_reason_filled_to_its_last_byte_keeps_every_problem_and_one_byte_more_drops_the_last(
        deploy: Deploy) -> None:
    _archive(deploy)
    report = deploy.create()["ReportUri"]
    bucket, key = report.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", region_name=REGION)
    written = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def refused(run: str, texts: list[str]) -> str:
        # A report written by hand for this window, its problems' sentences of chosen lengths.
        problems = [{"key": f"k{i}", "account": ACCOUNT, "region": REGION, "message": text}
                    for i, text in enumerate(texts)]
        at = f"verifications/{run}/report.json"
        s3.put_object(Bucket=bucket, Key=at, Body=json.dumps(
            {"request": written["request"], "report": {**written["report"], "problems": problems}}).encode())
        with pytest.raises(ImportResourceError) as failed:
            deploy.create(AcceptReport=f"s3://{bucket}/{at}")
        return str(failed.value)

    def head(run: str, problems: int) -> str:
        return (f"The archive s3://trail-logs is not intact: {problems} problem(s) in "
                f"s3://{bucket}/verifications/{run}/report.json. It is not imported. First:")

    # Six lines "- kI: SENTENCE" after the head, one newline before each, to exactly 2,500 bytes.
    room = 2500 - len(head("fills-2500", 6))
    sizes = [room // 6 - 7] * 5
    sizes.append(room - sum(size + 7 for size in sizes) - 7)
    texts = ["x" * size for size in sizes]
    lines = [f"- k{i}: {text}" for i, text in enumerate(texts)]
    exact = refused("fills-2500", texts)
    assert exact == "\n".join([head("fills-2500", 6), *lines])
    assert len(exact.encode()) == 2500
    # One byte more, and the last problem does not fit: the reason names the five before it.
    longer = refused("fills-2501", [*texts[:5], texts[5] + "x"])
    assert longer == "\n".join([head("fills-2501", 6), *lines[:5]])
    # A problem of 401 characters is cut to 400, saying so.
    cut = refused("cut-at-400", ["y" * 397])
    assert cut == "\n".join([head("cut-at-400", 1), f"- k0: {'y' * 393}..."])


def test_the_log_names_each_request_and_its_resource_and_never_holds_the_response_url(
        deploy: Deploy, caplog: pytest.LogCaptureFixture) -> None:
    _archive(deploy)
    caplog.set_level("INFO")
    execution = deploy.create()["PhysicalResourceId"]
    deploy.delete(execution)
    records = [r for r in caplog.records if r.name == "trail_import_handler.verification_provider"]
    seen = [(r.getMessage(), r.__dict__.get("request_type"), r.__dict__.get("logical_resource_id"),
             r.__dict__.get("physical_id")) for r in records]
    assert seen[0] == ("on_event", "Create", deploy.logical, None)
    assert set(seen[1:-2]) == {("is_complete", "Create", deploy.logical, execution)}
    assert seen[-2:] == [("on_event", "Delete", deploy.logical, execution),
                         ("is_complete", "Delete", deploy.logical, execution)]
    # The presigned ResponseURL is a secret: no record carries it.
    assert not any("ResponseURL" in str(r.__dict__) or "cloudformation-custom-resource-response" in str(r.__dict__)
                   for r in records)
