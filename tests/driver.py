"""Plays CloudFormation requests through the Provider entry points, as the framework does.

The framework's own runtime is exercised in the contract tests; this driver
follows the same rules (onEvent once, isComplete every interval, Data only
when complete, a raise fails the resource) on the simulator's clock.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from cloudtrail_lake_import.testing import CloudTrailImportSimulator
from trail_import_handler import provider
from trail_import_handler.errors import ImportResourceError

ROLE_ARN = "arn:aws:iam::111122223333:role/TrailImportAccess"
OTHER_ROLE_ARN = "arn:aws:iam::111122223333:role/OtherLogsImportAccess"
# A second source, with the access role that may read it: for scenarios that need another import.
OTHER_SOURCE = {"S3LocationUri": "s3://other-logs", "S3BucketAccessRoleArn": OTHER_ROLE_ARN}
# A third: an import that holds the account while a scenario waits its turn.
BLOCKING_SOURCE = {"S3LocationUri": "s3://other-logs/blocking", "S3BucketAccessRoleArn": OTHER_ROLE_ARN}
_request_ids = itertools.count(1)


def import_properties(destination: str, **overrides: str) -> dict[str, str]:
    """ResourceProperties of one import, as CloudFormation sends them."""
    props = {
        "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:provider-onevent",
        "EventDataStoreArn": destination,
        "S3LocationUri": "s3://trail-logs/org-trail",
        "S3BucketRegion": "us-east-1",
        "S3BucketAccessRoleArn": ROLE_ARN,
        "StartEventTime": "2024-01-01T00:00:00Z",
        "EndEventTime": "2024-07-01T00:00:00Z",
        # Preflight reads S3; the scenarios that test it give it a bucket.
        "Preflight": "false",
    }
    props.update(overrides)
    return props


def cfn_request(request_type: str, props: dict[str, Any], *, physical_id: str | None = None,
                old_props: dict[str, Any] | None = None, logical_id: str = "TrailImport",
                response_url: str | None = None) -> dict[str, Any]:
    """A CloudFormation custom resource request, as CloudFormation sends it."""
    request: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": f"request-{next(_request_ids)}",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/trail-import/0b8f6a90",
        "LogicalResourceId": logical_id,
        "ResourceType": "Custom::CloudTrailLakeImport",
        "ResourceProperties": props,
    }
    if response_url is not None:
        request["ResponseURL"] = response_url
    if physical_id is not None:
        request["PhysicalResourceId"] = physical_id
    if old_props is not None:
        request["OldResourceProperties"] = old_props
    return request


@dataclass
class Outcome:
    """What CloudFormation would be told."""

    status: str
    physical_id: str
    data: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    checks: int = 0


class ProviderDriver:
    """Runs on_event then is_complete until done, advancing the simulator between checks."""

    def __init__(self, simulator: CloudTrailImportSimulator, interval: float = 30, timeout: float = 3300) -> None:
        self.simulator = simulator
        self.interval = interval
        self.timeout = timeout

    def create(self, props: dict[str, Any]) -> Outcome:
        return self.request("Create", props)

    def update(self, physical_id: str, props: dict[str, Any], old_props: dict[str, Any]) -> Outcome:
        return self.request("Update", props, physical_id=physical_id, old_props=old_props)

    def delete(self, physical_id: str, props: dict[str, Any]) -> Outcome:
        return self.request("Delete", props, physical_id=physical_id)

    def request(self, request_type: str, props: dict[str, Any], *, physical_id: str | None = None,
                old_props: dict[str, Any] | None = None) -> Outcome:
        event = cfn_request(request_type, props, physical_id=physical_id, old_props=old_props,
                            response_url="https://cloudformation-custom-resource-response.example/presigned")
        try:
            result = provider.on_event(event)
        except ImportResourceError as error:
            return Outcome("FAILED", physical_id or "CREATE_FAILED", reason=str(error))
        assert request_type != "Delete" or result["PhysicalResourceId"] == physical_id
        waiter = {**event, **result}
        for checks in itertools.count(1):
            try:
                answer = provider.is_complete(waiter)
            except ImportResourceError as error:
                return Outcome("FAILED", waiter["PhysicalResourceId"], reason=str(error), checks=checks)
            if answer["IsComplete"]:
                final = answer.get("PhysicalResourceId", waiter["PhysicalResourceId"])
                return Outcome("SUCCESS", final, data=dict(answer.get("Data", {})), checks=checks)
            assert set(answer) == {"IsComplete"}, "Data with IsComplete false fails the framework"
            if checks * self.interval >= self.timeout:
                return Outcome("TIMEOUT", waiter["PhysicalResourceId"], reason="Operation timed out", checks=checks)
            self.simulator.advance(self.interval)
        raise AssertionError("unreachable")
