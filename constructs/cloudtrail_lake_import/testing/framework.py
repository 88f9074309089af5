"""The CDK Provider framework's own runtime, run locally around Python handlers.

``ProviderFramework`` loads framework.js and its helpers from the installed
aws-cdk-lib (its jsii bundle), replaces only outbound.js, and plays what AWS
would do around it: Lambda invokes the user functions (here, Python callables
given the exact JSON payload), Step Functions calls isComplete every query
interval until the total timeout and then onTimeout, and CloudFormation
receives the PUT to the ResponseURL. What it returns is the response body
framework.js sent, as CloudFormation would read it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
import subprocess
import tarfile
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_RUNTIME = "package/custom-resources/lib/provider-framework/runtime/"
_KEPT = ("framework.js", "cfn-response.js", "util.js", "consts.js")
_ON_EVENT = "user-on-event"
RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack?X-Amz-Signature=secret"


@dataclass
class FrameworkRun:
    """One CloudFormation request played through the framework."""

    response: dict[str, Any]
    is_complete_calls: int = 0
    timed_out: bool = False
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@functools.cache
def runtime_folder() -> Path:
    """framework.js and the helpers it keeps, from the installed aws-cdk-lib, with outbound.js replaced."""
    # Found without importing aws_cdk, which would start a jsii runtime for nothing.
    spec = importlib.util.find_spec("aws_cdk")
    if spec is None or spec.origin is None:
        raise RuntimeError("aws-cdk-lib is not installed")
    (bundle,) = (Path(spec.origin).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    folder = Path(tempfile.mkdtemp(prefix="provider-framework-"))
    with tarfile.open(bundle) as archive:
        for name in _KEPT:
            source = archive.extractfile(_RUNTIME + name)
            if source is None:
                raise RuntimeError(f"{name} is missing from {bundle.name}")
            (folder / name).write_bytes(source.read())
    here = resources.files(__package__)
    (folder / "outbound.js").write_text(here.joinpath("framework_outbound.js").read_text())
    (folder / "bridge.js").write_text(here.joinpath("framework_bridge.js").read_text())
    return folder


class ProviderFramework:
    """Plays CloudFormation requests through framework.js around ``on_event`` and ``is_complete``."""

    def __init__(self, on_event: Handler, is_complete: Handler, *, advance: Callable[[float], None],
                 query_interval: float = 30, total_timeout: float = 1800,
                 observe: Callable[[int], None] | None = None) -> None:
        """
        :param advance: moves the world's clock between isComplete calls (the simulator's ``advance``).
        :param observe: called with the number of each isComplete call that asked to wait, for progress.
        :param query_interval: seconds between isComplete calls, as the waiter's Retry interval.
        :param total_timeout: the waiter's total timeout; MaxAttempts = total_timeout / query_interval.
        """
        if total_timeout % query_interval:
            raise ValueError("total_timeout must be a multiple of query_interval, as the Provider requires")
        self._handlers = {_ON_EVENT: on_event, "user-is-complete": is_complete}
        self._advance = advance
        self._observe = observe
        self.query_interval = query_interval
        self.max_attempts = int(total_timeout // query_interval)

    def request(self, cfn_request: dict[str, Any]) -> FrameworkRun:
        """Send one CloudFormation request and return what CloudFormation receives."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("Node.js is needed to run the Provider framework's runtime")
        folder = runtime_folder()
        with subprocess.Popen([node, str(folder / "bridge.js"), str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
            to_node, from_node = process.stdin, process.stdout
            if to_node is None or from_node is None:
                raise RuntimeError("no pipe to the Provider framework runtime")
            try:
                return self._play(_Session(to_node, from_node, self._handlers),
                                  {"ResponseURL": RESPONSE_URL, **cfn_request})
            finally:
                to_node.close()
                process.wait(timeout=30)

    def _play(self, session: _Session, cfn_request: dict[str, Any]) -> FrameworkRun:
        session.run("onEvent", cfn_request)
        run = FrameworkRun(response={}, invocations=session.invocations)
        for _ in range(self.max_attempts):
            if session.response is not None or session.waiter_input is None:
                break
            run.is_complete_calls += 1
            outcome = session.run("isComplete", session.waiter_input)
            if not outcome.get("retry"):
                break
            retry_message = outcome.get("error", "")
            if self._observe is not None:
                self._observe(run.is_complete_calls)
            self._advance(self.query_interval)
        else:
            if session.response is None:
                run.timed_out = True
                session.run("onTimeout", {"Cause": json.dumps({"errorMessage": retry_message})})
        if session.response is None:
            raise AssertionError("framework.js never answered CloudFormation")
        run.response = session.response
        return run


class _Session:
    """The Python side of the bridge: answers invocations and collects what framework.js sends."""

    def __init__(self, to_node: IO[str], from_node: IO[str], handlers: dict[str, Handler]) -> None:
        self._to_node = to_node
        self._from_node = from_node
        self._handlers = handlers
        self.response: dict[str, Any] | None = None
        self.waiter_input: dict[str, Any] | None = None
        self.invocations: list[tuple[str, dict[str, Any]]] = []

    def run(self, op: str, event: dict[str, Any]) -> dict[str, Any]:
        self._send({"op": op, "event": event})
        while True:
            line = self._from_node.readline()
            if not line:
                raise RuntimeError("the Provider framework runtime exited early")
            message = json.loads(line)
            if "done" in message:
                return dict(message["done"])
            if "invoke" in message:
                self._send({"reply": self._invoke(message["invoke"])})
            elif "startExecution" in message:
                self.waiter_input = json.loads(message["startExecution"]["input"])
            elif "response" in message:
                self.response = json.loads(message["response"]["body"])

    def _invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        name = str(request["FunctionName"]).rsplit(":", 1)[-1]
        payload = json.loads(request["Payload"])
        self.invocations.append((name, payload))
        try:
            result = self._handlers[name](payload, None)
        except Exception as error:
            return {"FunctionError": "Unhandled", "Payload": json.dumps({
                "errorMessage": str(error), "errorType": type(error).__name__, "requestId": "local",
                "stackTrace": traceback.format_tb(error.__traceback__),
            })}
        return {"Payload": json.dumps(result)}

    def _send(self, message: dict[str, Any]) -> None:
        self._to_node.write(json.dumps(message) + "\n")
        self._to_node.flush()
