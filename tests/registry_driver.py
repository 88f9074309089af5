"""Plays CloudFormation's registry requests through the resource type's entry point, as CloudFormation does.

Each request is a full HandlerRequest (protocol 2.0.0) given to ``registry.resource``
itself, so the support library parses it and serializes the answer. An
IN_PROGRESS answer is sent again with its callbackContext after its
callbackDelaySeconds, which pass on the simulator's clock.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from cloudtrail_lake_import.testing import CloudTrailImportSimulator
from trail_import_handler import registry

ACCOUNT = "111122223333"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/trail-import/0b8f6a90"
_tokens = itertools.count(1)


@dataclass
class Answer:
    """What the handlers told CloudFormation in the end."""

    status: str
    model: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    message: str = ""
    calls: int = 0
    waited: float = 0.0
    models: list[dict[str, Any]] = field(default_factory=list)
    next_token: str | None = None
    progress: list[dict[str, Any]] = field(default_factory=list)


def handler_request(action: str, properties: dict[str, Any] | None, *, previous: dict[str, Any] | None = None,
                    context: dict[str, Any] | None = None, next_token: str | None = None,
                    token: str | None = None, type_name: str = registry.TYPE_NAME) -> dict[str, Any]:
    """A registry HandlerRequest as CloudFormation sends it."""
    return {
        "action": action,
        "awsAccountId": ACCOUNT,
        "bearerToken": f"token-{next(_tokens)}" if token is None else token,
        "region": "us-east-1",
        "resourceType": type_name,
        "resourceTypeVersion": "00000001",
        "stackId": STACK_ID,
        "callbackContext": context,
        "nextToken": next_token,
        "requestData": {
            "callerCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "secret", "sessionToken": "t"},
            "logicalResourceId": "TrailImport",
            "resourceProperties": properties or {},
            "previousResourceProperties": previous,
        },
    }


class RegistryDriver:
    """Runs one operation to its end, following IN_PROGRESS answers on the simulator's clock."""

    def __init__(self, simulator: CloudTrailImportSimulator, caller: str = "", max_calls: int = 5000,
                 type_name: str = registry.TYPE_NAME, pause: float = 0.0) -> None:
        self.simulator = simulator
        self.pause = pause
        """Real seconds between invocations, for work that runs in real time beside them (a state machine on
        moto's interpreter)."""
        self.type_name = type_name
        self.caller = caller
        self.max_calls = max_calls
        self.used: dict[str, set[str]] = {}
        """The IAM actions each handler (create, read, ...) was authorized for as ``caller``, through the IAM model."""
        self.invocation_seconds: list[float] = []
        """How long each invocation took on the simulator's clock (throttled requests wait on it)."""

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        world = self.simulator.iam
        seen = len(world.decisions) if world else 0
        began = self.simulator.now
        answer: dict[str, Any] = registry.resource(request, None)
        self.invocation_seconds.append((self.simulator.now - began).total_seconds())
        if world is not None:
            self.used.setdefault(request["action"].lower(), set()).update(
                d.request.action for d in world.decisions[seen:] if d.request.principal == self.caller)
        return answer

    def run(self, action: str, properties: dict[str, Any] | None, *, previous: dict[str, Any] | None = None,
            next_token: str | None = None, stop_after: int | None = None, token: str | None = None) -> Answer:
        """Follow the operation to its end; or, with ``stop_after``, only that many invocations, as when a stack
        rolls back while it still waits (the answer is then the last IN_PROGRESS one)."""
        request = handler_request(action, properties, previous=previous, next_token=next_token, token=token,
                                  type_name=self.type_name)
        progress: list[dict[str, Any]] = []
        waited = 0.0
        for calls in itertools.count(1):
            answer = self.invoke(request)
            if answer["status"] != "IN_PROGRESS":
                return Answer(answer["status"], dict(answer.get("resourceModel") or {}),
                              str(answer.get("errorCode", "")), str(answer.get("message", "")), calls, waited,
                              list(answer.get("resourceModels") or []), answer.get("nextToken"), progress)
            assert calls < self.max_calls, f"{action} still IN_PROGRESS after {calls} calls"
            assert "errorCode" not in answer
            assert not answer.get("resourceModels")
            # AWS's contract tester asserts the primary identifier in every IN_PROGRESS model
            # (resource_client.py, assert_primary_identifier).
            assert (answer.get("resourceModel") or {}).get("Id"), f"{action} answered IN_PROGRESS without its Id"
            progress.append(dict(answer.get("resourceModel") or {}))
            if stop_after is not None and calls >= stop_after:
                return Answer("IN_PROGRESS", progress[-1], calls=calls, waited=waited, progress=progress)
            delay = float(answer.get("callbackDelaySeconds", 0))
            waited += delay
            self.simulator.advance(delay)
            time.sleep(self.pause)
            # The next call carries the answer's model as the desired state and its callbackContext, as AWS's
            # contract tester re-invokes (cloudformation-cli 0.2.41, rpdk/core/contract/resource_client.py,
            # call_and_assert): a model that dropped what the next call needs fails here as it would in AWS.
            request = {**request, "callbackContext": answer.get("callbackContext"),
                       "requestData": {**request["requestData"],
                                       "resourceProperties": dict(answer.get("resourceModel") or {})}}
        raise AssertionError("unreachable")

    def create(self, properties: dict[str, Any]) -> Answer:
        return self.run("CREATE", properties)

    def read(self, resource_id: str) -> Answer:
        return self.run("READ", {"Id": resource_id})

    def update(self, model: dict[str, Any], properties: dict[str, Any]) -> Answer:
        return self.run("UPDATE", {**properties, "Id": model["Id"]}, previous=model)

    def delete(self, model: dict[str, Any]) -> Answer:
        return self.run("DELETE", model)

    def list_all(self) -> tuple[list[str], int]:
        """Every Id the list handler returns, following nextToken; and the pages it took."""
        ids: list[str] = []
        token: str | None = None
        for pages in itertools.count(1):
            answer = self.run("LIST", {}, next_token=token)
            assert answer.status == "SUCCESS", answer.message
            ids += [m["Id"] for m in answer.models]
            token = answer.next_token
            if not token:
                return ids, pages
        raise AssertionError("unreachable")
