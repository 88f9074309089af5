"""Entry points for the CDK Provider framework behind the verification resource: ``on_event`` and ``is_complete``.

They translate the framework's events and answers; ``verification_resource`` decides. A raised exception becomes
the resource's failure reason.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from botocore.config import Config

from . import clients, clock, verification_resource
from .provider import GIVE_UP_EARLY, WAIT_SECONDS_ENV

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10},
                  user_agent_extra="cdk-cloudtrail-lake-import-verification")


def on_event(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Start, accept or stop the verification; the physical id."""
    _log("on_event", event)
    wait = _wait()
    outcome = verification_resource.begin(
        _client("stepfunctions"), _client("s3"), str(event.get("RequestType", "")), event.get("ResourceProperties"),
        request_id=str(event.get("RequestId", "")), physical_id=str(event.get("PhysicalResourceId", "")),
        wait=wait)
    answer: dict[str, Any] = {"PhysicalResourceId": outcome.physical_id}
    if wait is not None:
        answer["WaitUntil"] = (clock.now() + wait - GIVE_UP_EARLY).isoformat()
    if outcome.attributes:
        answer["Data"] = outcome.attributes
    return answer


def is_complete(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Whether the verification has ended; Data when it has."""
    _log("is_complete", event)
    physical_id = str(event.get("PhysicalResourceId", ""))
    if event.get("RequestType") == "Delete":
        return {"IsComplete": True}
    source = (event.get("ResourceProperties") or {}).get("Source")
    outcome = verification_resource.check(_client("stepfunctions"), physical_id,
                                          source=str(source) if source else None)
    if outcome.attributes is None:
        wait, until = _wait(), event.get("WaitUntil")
        if wait is not None and until and clock.now() >= datetime.fromisoformat(str(until)):
            raise verification_resource.timed_out(physical_id, f"the {int(wait.total_seconds() // 60)}-minute "
                                                               "timeout")
        return {"IsComplete": False}
    # The framework answers CloudFormation with the event (on_event's answer: its physical id, and an accepted
    # report's Data) and this Data merged over it (aws-cdk-lib, custom-resources/lib/provider-framework/runtime/
    # framework.js, isComplete).
    return {"IsComplete": True, "Data": outcome.attributes}


def _wait() -> timedelta | None:
    seconds = os.environ.get(WAIT_SECONDS_ENV)
    return timedelta(seconds=int(seconds)) if seconds and seconds.isdigit() else None


def _client(service: str) -> Any:
    return clients.client(service, config=_RETRIES)


def _log(step: str, event: dict[str, Any]) -> None:
    # Never the whole event: its ResponseURL is a presigned secret.
    logger.info(step, extra={"request_type": event.get("RequestType"), "physical_id": event.get("PhysicalResourceId"),
                             "logical_resource_id": event.get("LogicalResourceId")})
