"""The registry type's own verification (``VerifyWith``), played as CloudFormation plays the type's handlers: the
ArchiveVerification state machine of the handler roles' stack runs on moto's interpreter, its function answered
in-process, and every handler call is made as the execution role ResourceTypeRegistration synthesizes there.
Nothing here synthesizes: the handler roles' synthesis is shared (and cached for mutation runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from cloudformation_cli_python_lib import resource as support_resource
from cloudformation_cli_python_lib.boto3_proxy import SessionProxy

from cloudtrail_lake_import import _type_package as type_package
from cloudtrail_lake_import.testing import (
    Connection,
    IamEnforcement,
    ImportPlan,
    SignedArchive,
    failures,
)
from tests.driver import ROLE_ARN
from tests.engine import Engine, running
from tests.handler_roles import HandlerRoles
from tests.registry_driver import Answer, RegistryDriver

# The handler roles' account: moto gives the state machine its ARN in it (MOTO_ACCOUNT_ID), as the execution role's
# policy names it.
ACCOUNT, REGION, BUCKET = "111122223333", "us-east-1", "trail-logs"
STORE = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:eventdatastore/archive"
START = datetime(2024, 3, 1, tzinfo=UTC)


class Deploy:
    """The handler roles' stack deployed (its ArchiveVerification of s3://trail-logs/org-trail, and the type's
    execution role), a verified import's properties as a template gives them, and the type's handlers answering as
    that role."""

    def __init__(self, engine: Engine, machine: str, registry: RegistryDriver) -> None:
        self.engine, self.machine, self.registry = engine, machine, registry
        self.props: dict[str, Any] = {
            "EventDataStoreArn": STORE, "S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": REGION,
            "S3BucketAccessRoleArn": ROLE_ARN, "StartEventTime": "2024-03-01T00:00:00+00:00",
            "EndEventTime": "2024-03-03T00:00:00+00:00", "VerifyWith": machine}
        self.sim = engine.simulator

    def archive(self) -> SignedArchive:
        archive = SignedArchive(_admin("s3"), BUCKET, prefix="org-trail")
        self.sim.public_keys.append(archive.key.entry())
        archive.write([ACCOUNT], [REGION], START - timedelta(hours=3), 48 + 6)
        return archive

    def create(self, **changes: Any) -> Answer:
        return self.registry.create({**self.props, **changes})

    def executions(self) -> list[dict[str, Any]]:
        sfn = _admin("stepfunctions")
        return list(sfn.list_executions(stateMachineArn=self.machine)["executions"])


def _admin(service: str) -> Any:
    """A client of the test itself, not of the execution role."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name=REGION).client(service)  # type: ignore[call-overload]


@pytest.fixture
def deploy(handler_roles: HandlerRoles, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deploy]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with running(handler_roles.template, account=ACCOUNT, region=REGION, source_bucket=BUCKET) as engine:
        role = handler_roles.registry_role
        (logical,) = [k for k, r in engine.deployment.resources.items()
                      if r["Type"] == "AWS::StepFunctions::StateMachine" and k.startswith("Verification")]
        machine = engine.state_machine(logical)
        # As CloudTrail wants a source (the preflight checks): ACLs disabled.
        _admin("s3").put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        sim = engine.simulator
        sim.add_event_data_store(STORE)
        sim.default_plan = ImportPlan(duration=timedelta(hours=2), events=144, files=49)

        # The credentials CloudFormation hands each request are the execution role's: a session of its own,
        # since moto's interpreter makes its clients (the item reader's, the result writer's) from the default one.
        handlers = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        IamEnforcement(engine.world, role).attach(handlers.events)
        Connection(sim, role).attach(handlers.events)

        def execution_role_session(credentials: object, region: str | None = None) -> SessionProxy | None:
            return SessionProxy(handlers) if credentials else None

        monkeypatch.setattr(support_resource, "_get_boto_session", execution_role_session)
        # The interpreter runs in threads in real time: each check of the handler waits a little for it.
        registry = RegistryDriver(sim, role, max_calls=2000, pause=0.02)
        yield Deploy(engine, machine, registry)
        declared = {name: set(h["permissions"]) for name, h in type_package.schema()["handlers"].items()}
        for handler, actions in registry.used.items():
            assert actions <= declared[handler], f"{handler} used {sorted(actions - declared[handler])} undeclared"
        denied = [d for d in engine.world.decisions if d.request.principal == role and not d.allowed]
        assert denied == []


def test_a_clean_archive_is_proved_then_imported_and_its_counts_reconciled(deploy: Deploy) -> None:
    deploy.archive()
    answer = deploy.create()
    assert answer.status == "SUCCESS", answer.message
    model = answer.model
    # 49 digests and log files (the one of 23:07 before the window too); 48 hours of 3 events.
    assert {k: model[k] for k in ("DigestsVerified", "LogFilesVerified", "EventsVerified")} == \
        {"DigestsVerified": 49, "LogFilesVerified": 49, "EventsVerified": 144}
    (execution,) = deploy.executions()
    assert execution["name"] == f"import-{model['Id']}"
    assert execution["status"] == "SUCCEEDED"
    assert model["VerificationReportUri"].endswith(f"/verifications/{execution['name']}/report.json")
    # The import began only once the verification had written its report; it copied what the plan said, and is
    # reconciled.
    assert len(deploy.sim.calls("StartImport")) == 1
    actions = [d.request.action for d in deploy.engine.world.decisions]
    report = max(i for i, d in enumerate(deploy.engine.world.decisions)
                 if d.request.action == "s3:PutObject" and d.request.resource.endswith("/report.json"))
    assert actions.index("cloudtrail:StartImport") > report
    assert (model["ImportStatus"], model["EventsCompleted"], model["FilesCompleted"]) == ("COMPLETED", 144, 49)
    assert (model["EventsDifference"], model["FilesDifference"]) == (0, 0)
    # The verifying answers carried no import, and the Id from the first one on.
    verifying = [p for p in answer.progress if "ImportId" not in p]
    assert verifying
    assert {p["Id"] for p in answer.progress} == {model["Id"]}
    assert "VerifyWith" not in model
    # Read gives what the Create ended with.
    read = deploy.registry.read(model["Id"])
    assert read.status == "SUCCESS", read.message
    assert {k: read.model.get(k) for k in model} == model


def test_an_archive_that_is_not_intact_fails_the_create_naming_the_object_and_nothing_is_imported(
        deploy: Deploy) -> None:
    archive = deploy.archive()
    archive.delete(archive.log_keys[12])
    answer = deploy.create()
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    assert answer.message.startswith("The archive s3://trail-logs/org-trail is not intact: 1 problem(s) in s3://")
    assert f"- {archive.log_keys[12]}: A log file a digest names is not in the bucket" in answer.message
    assert deploy.sim.calls("StartImport") == []
    # The rollback's Delete finds the resource, and leaves nothing behind.
    resource_id = answer.progress[-1]["Id"]
    deleted = deploy.registry.delete({"Id": resource_id})
    assert deleted.status == "SUCCESS", deleted.message
    assert (deploy.registry.read(resource_id).error_code) == "NotFound"
    assert deploy.sim.calls("StartImport") == []


def test_a_rollback_while_the_window_is_proved_stops_the_verification_and_starts_no_import(deploy: Deploy) -> None:
    deploy.archive()
    waiting = deploy.registry.run("CREATE", deploy.props, stop_after=1)
    assert waiting.status == "IN_PROGRESS"
    deleted = deploy.registry.delete({"Id": waiting.model["Id"]})
    assert deleted.status == "SUCCESS", deleted.message
    stops = [d for d in deploy.engine.world.decisions if d.request.action == "states:StopExecution"]
    (execution,) = deploy.executions()
    # moto's interpreter takes the StopExecution but may go on answering RUNNING: what is proven here is the
    # request, as the execution role, and that IAM allows it.
    assert [(d.request.resource, d.allowed) for d in stops] == [(execution["executionArn"], True)]
    assert deploy.sim.calls("StartImport") == []


def test_a_create_delivered_again_finds_the_verification_it_started(deploy: Deploy) -> None:
    deploy.archive()
    first = deploy.registry.run("CREATE", deploy.props, stop_after=1, token="same-request")
    again = deploy.registry.run("CREATE", deploy.props, token="same-request")
    assert again.status == "SUCCESS", again.message
    assert again.model["Id"] == first.model["Id"]
    assert len(deploy.executions()) == 1
    assert len(deploy.sim.calls("StartImport")) == 1


def test_an_update_resumes_the_import_without_proving_the_window_again(deploy: Deploy) -> None:
    deploy.archive()
    deploy.sim.plan_next_import(ImportPlan(duration=timedelta(hours=2), events=144, files=49,
                                           failures=failures(3)))
    created = deploy.create(MaxFailedEntries=5)
    assert created.status == "SUCCESS", created.message
    assert created.model["ImportStatus"] == "FAILED"
    resumed = deploy.registry.update(created.model, {**deploy.props, "MaxFailedEntries": 5, "RetryToken": "again"})
    assert resumed.status == "SUCCESS", resumed.message
    assert len(deploy.executions()) == 1
    assert resumed.model["ImportId"] == created.model["ImportId"]
    assert resumed.model["EventsVerified"] == 144
    assert "EventsDifference" in resumed.model


def test_a_state_machine_of_another_source_is_refused_and_nothing_is_imported(deploy: Deploy) -> None:
    deploy.archive()
    answer = deploy.create(S3LocationUri="s3://trail-logs/AWSLogs")
    assert answer.status == "FAILED"
    assert "proved s3://trail-logs/org-trail, not s3://trail-logs/AWSLogs: its state machine is another " \
           "ArchiveVerification's" in answer.message
    assert deploy.sim.calls("StartImport") == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"EndEventTime": None}, "VerifyWith: give EndEventTime too: a verification proves a window"),
    ({"VerifyWith": "OrgVerification"}, "VerifyWith: expected the ARN of an ArchiveVerification's state machine"),
    ({"EventDataStoreArn": "archive"}, "EventDataStoreArn: expected an event data store ARN"),
    ({"VerifyWith": None, "ReconcileStrictly": True}, "ReconcileStrictly: give VerifyWith too"),
    ({"VerifyWith": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:CloudTrailLakeVerification-Gone"},
     "StartExecution of arn:aws:states:us-east-1:111122223333:stateMachine:CloudTrailLakeVerification-Gone failed "
     "with StateMachineDoesNotExist"),
])
def test_bad_input_fails_the_first_answer_naming_it_and_leaves_nothing_running(
        deploy: Deploy, changes: dict[str, Any], message: str) -> None:
    props = {k: v for k, v in {**deploy.props, **changes}.items() if v is not None}
    answer = deploy.registry.create(props)
    assert (answer.status, answer.calls) == ("FAILED", 1)
    assert message in answer.message
    assert deploy.executions() == []
    assert deploy.sim.calls("StartImport") == []
    # A Create whose first answer is FAILED made no resource.
    assert deploy.registry.list_all()[0] == []


def test_the_verification_counts_toward_the_registrys_wait(deploy: Deploy, monkeypatch: pytest.MonkeyPatch,
                                                           away_from_utc: str) -> None:
    from trail_import_handler import registry

    deploy.archive()
    # Stand for a verification that takes longer than the registry waits: no time left at all.
    monkeypatch.setattr(registry, "WAIT_LIMIT", timedelta(0))
    deploy.registry.pause = 0  # checked again at once, while the execution has only begun
    answer = deploy.create()
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    # Where the machine's clock is not UTC, the message still says when the verification began, in UTC.
    assert re.fullmatch(
        r"The verification arn:aws:states:us-east-1:111122223333:execution:CloudTrailLakeVerification-\S+:import-"
        r"[0-9a-f-]{36}, running since (\d{4}-\d\d-\d\d \d\d:\d\d) UTC, did not end within the registry's 36-hour "
        r"limit; no import was started, and the rollback stops the verification\. Verify a shorter window per "
        r"resource, or give the ArchiveVerification a larger max_concurrency\.", answer.message), answer.message
    since = datetime.strptime(answer.message.split("running since ", 1)[1][:16], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - since) < timedelta(minutes=5)
    assert answer.calls == 2
    assert deploy.sim.calls("StartImport") == []


def test_a_strict_reconciliation_whose_events_differ_fails_the_create_as_not_stabilized(deploy: Deploy) -> None:
    deploy.archive()
    deploy.sim.default_plan = ImportPlan(duration=timedelta(hours=2), events=140, files=49)
    answer = deploy.create(ReconcileStrictly=True)
    # The import ran to its end, and stays; the resource fails, as one CloudFormation may not call settled.
    assert (answer.status, answer.error_code) == ("FAILED", "NotStabilized")
    assert "with 140 events, but the verification proved 144 events in the window (-4); ReconcileStrictly is " \
           "true" in answer.message
    (started,) = deploy.sim.calls("StartImport")
    assert started is not None


def test_a_window_in_fractions_of_a_second_is_verified_from_the_first_whole_second_in_it(deploy: Deploy) -> None:
    import json

    deploy.archive()
    # An event's time is whole seconds: one at or after 00:00:00.5 is one at or after 00:00:01.
    waiting = deploy.registry.run("CREATE", {**deploy.props, "StartEventTime": "2024-03-01T00:00:00.5Z",
                                             "EndEventTime": "2024-03-03T01:59:59.25+02:00"}, stop_after=1)
    assert waiting.status == "IN_PROGRESS"
    (execution,) = deploy.executions()
    given = json.loads(_admin("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"])
    assert (given["start"], given["end"]) == ("2024-03-01T00:00:01Z", "2024-03-03T00:00:00Z")
    deploy.registry.delete({"Id": waiting.model["Id"]})
