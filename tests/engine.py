"""A synthesized state machine run on moto's Step Functions interpreter, its Lambda tasks answered in-process.

moto (REFERENCE, "Step Functions, offline") interprets the definition itself: Task, Retry, and a DISTRIBUTED Map
reading its items from S3 with STANDARD child executions. It would invoke a Lambda function in Docker; instead,
``before-call.lambda.Invoke`` is answered here, before moto's own stub, by calling the function's handler module.
The handler runs as its role: every call it makes is authorized against the role the template gives the function
(``IamEnforcement``), and CloudTrail is the simulator. The function's environment is the template's.

Import this module before any boto3 session exists (tests/conftest.py does), because botocore reads
``BUILTIN_HANDLERS`` when it makes a session.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.response import StreamingBody
from moto import mock_aws
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from cloudtrail_lake_import.testing import (
    MOTO_CONFIG,
    CloudTrailImportSimulator,
    Connection,
    Deployment,
    IamEnforcement,
    IamWorld,
    default_session,
)
from trail_import_handler import clients

Answer = Callable[[dict[str, Any]], Any]
_FUNCTIONS: dict[str, Answer] = {}
_LOCK = threading.Lock()


def _invoke(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    """Lambda's answer to Invoke for a function deployed here; None lets any other call through."""
    name = unquote(params.get("url_path", "")).split("/functions/", 1)[-1].split("/invocations", 1)[0]
    answer = _FUNCTIONS.get(name.rsplit(":function:", 1)[-1].split(":", 1)[0])
    if answer is None:
        return None
    payload = json.loads(params.get("body") or b"{}")
    error = None
    try:
        result = answer(payload)
    except Exception as raised:
        # What the Python runtime answers for an unhandled exception: the class name is the error Step Functions
        # retries and catches by.
        error = {"errorType": type(raised).__name__, "errorMessage": str(raised),
                 "stackTrace": traceback.format_tb(raised.__traceback__)}
    body = json.dumps(error if error is not None else result).encode()
    parsed: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST",
                              "Payload": StreamingBody(io.BytesIO(body), len(body))}
    if error is not None:
        parsed["FunctionError"] = "Unhandled"
    return AWSResponse("https://lambda.amazonaws.com", 200, HTTPHeaders(), None), parsed


botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-call.lambda.Invoke", _invoke))

_moto_stop = ExecutionWorker.stop


def _stop_once_begun(worker: ExecutionWorker, stop_date: datetime, error: str | None, cause: str | None) -> None:
    """moto's StopExecution, once the execution has begun.

    moto begins an execution in a thread of its own, which sets the worker's environment; a StopExecution that
    comes first meets none and fails ("'NoneType' object has no attribute 'set_stop'"), where Step Functions stops
    any RUNNING execution. A rollback right after a Create is such a request, and whether it came first depended
    on the machine's load.
    """
    deadline = time.monotonic() + 30
    while worker.env is None and time.monotonic() < deadline:
        time.sleep(0.01)
    _moto_stop(worker, stop_date, error, cause)


ExecutionWorker.stop = _stop_once_begun  # type: ignore[method-assign,assignment]


class Engine:
    """One stack's state machines and functions, deployed into moto and run there."""

    def __init__(self, template: Mapping[str, Any], world: IamWorld, simulator: CloudTrailImportSimulator, *,
                 account: str, region: str) -> None:
        self.deployment = Deployment(template, account=account, region=region)
        self.world, self.simulator, self.region = world, simulator, region
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        """Every invocation answered: the function's name and its payload."""
        self.faults: dict[str, list[tuple[int, str] | tuple[int, str, dict[str, str]]]] = {}
        """Errors the functions' calls meet, by operation (``s3.GetObject``): each the HTTP status and error code
        of one call, and any headers its answer carries, in order; used up as they are met."""
        self.released = threading.Event()
        """Set while the functions answer; cleared, every invocation waits (up to a minute) until it is set again,
        and the executions that make them stay RUNNING."""
        self.released.set()
        self._environment: dict[str, str] = {}

    @contextmanager
    def deployed(self) -> Iterator[Engine]:
        """Create the template's buckets, functions (as answers) and state machines in moto while inside."""
        s3 = boto3.client("s3", region_name=self.region)
        for logical in self.deployment.of_type("AWS::S3::Bucket"):
            s3.create_bucket(Bucket=self.deployment.physical_name(logical))
        names = []
        for logical, props in self.deployment.of_type("AWS::Lambda::Function").items():
            name = self.deployment.physical_name(logical)
            _FUNCTIONS[name] = self._answer(name, props)
            names.append(name)
            self._environment.update(props.get("Environment", {}).get("Variables", {}))
        previous = {k: os.environ.get(k) for k in self._environment}
        os.environ.update(self._environment)
        try:
            yield self
        finally:
            for name in names:
                _FUNCTIONS.pop(name, None)
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def state_machine(self, logical: str | None = None) -> str:
        """Create the template's state machine (its only one, unless ``logical`` names it); its ARN."""
        machines = self.deployment.of_type("AWS::StepFunctions::StateMachine")
        logical = logical or next(iter(machines))
        props = machines[logical]
        sfn = boto3.client("stepfunctions", region_name=self.region)
        return str(sfn.create_state_machine(name=self.deployment.physical_name(logical),
                                            definition=props["DefinitionString"], roleArn=props["RoleArn"],
                                            type=props.get("StateMachineType", "STANDARD"))["stateMachineArn"])

    def run(self, machine: str, request: dict[str, Any], *, name: str = "run-1",
            timeout: float = 300) -> dict[str, Any]:
        """Start an execution and wait for it to end: DescribeExecution's answer."""
        sfn = boto3.client("stepfunctions", region_name=self.region)
        arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(request))["executionArn"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if answer["status"] != "RUNNING":
                return answer
            time.sleep(0.05)
        raise AssertionError(f"execution {name} still runs after {timeout} s")

    def _answer(self, name: str, props: Mapping[str, Any]) -> Answer:
        module, _, function = str(props["Handler"]).rpartition(".")
        role = str(props["Role"])

        def answer(payload: dict[str, Any]) -> Any:
            self.released.wait(timeout=60)
            with _LOCK:
                self.invocations.append((name, payload))
            # A session of its own for each invocation: the interpreter runs children in threads, and a boto3
            # session is not to be shared between threads.
            session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=self.region)
            fault: Any = self._fault  # a before-call handler answers in botocore's stead by returning
            session.events.register_first("before-call", fault, unique_id="engine-faults")
            IamEnforcement(self.world, role).attach(session.events)
            Connection(self.simulator, role).attach(session.events)
            with clients.using(session):
                return getattr(importlib.import_module(module), function)(payload, None)

        return answer

    def _fault(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        """The next fault of this operation, as the service would answer it once botocore's retries gave up."""
        with _LOCK:
            queued = self.faults.get(f"{model.service_model.endpoint_prefix}.{model.name}")
            if not queued:
                return None
            status, code, *headers = queued.pop(0)
        return faulted(status, code, *headers)


def faulted(status: int, code: str, headers: Mapping[str, str] | None = None) -> tuple[AWSResponse, dict[str, Any]]:
    """A service's error answer, with ``headers``, as a before-call handler returns it in botocore's stead."""
    sent = HTTPHeaders()
    for name, value in (headers or {}).items():
        sent[name] = value
    return AWSResponse("https://aws.amazon.com", status, sent, None), {
        "Error": {"Code": code, "Message": f"{code} (a fault of the test)"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": dict(headers or {})}}


@contextmanager
def running(template: Mapping[str, Any], *, account: str, region: str, source_bucket: str) -> Iterator[Engine]:
    """``template`` deployed into a fresh IAM model and moto (its interpreter on), beside an empty source bucket
    of ``account`` and the simulator answering CloudTrail."""
    simulator = CloudTrailImportSimulator()
    world = IamWorld(default_account=account)
    world.load(template, account=account, region=region)
    world.add_bucket(source_bucket, account=account)
    config: Any = {**MOTO_CONFIG, "stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config), default_session(simulator):
        boto3.client("s3", region_name=region).create_bucket(Bucket=source_bucket)
        with Engine(template, world, simulator, account=account, region=region).deployed() as engine:
            try:
                yield engine
            finally:
                engine.released.set()  # a held invocation ends while moto is still there
