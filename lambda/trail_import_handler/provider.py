"""Entry points for the CDK Provider framework: ``on_event`` and ``is_complete``.

They translate the framework's events and answers; ``lifecycle`` decides.
The framework answers CloudFormation itself, so nothing here may: a raised
exception becomes the resource's failure reason.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from . import clock, cloudtrail, lifecycle
from .lifecycle import Begun

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# What on_event decided, carried to every is_complete call: the framework
# spreads on_event's answer into the waiter's input, and only the keys
# CloudFormation knows reach CloudFormation.
STATE_KEY = "TrailImport"
WAIT_SECONDS_ENV = "TRAIL_IMPORT_WAIT_SECONDS"
# Answer before the waiter's own timeout (which says only "Operation timed out"): two checks early.
GIVE_UP_EARLY = timedelta(seconds=60)


def on_event(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Act on a CloudFormation request and return the physical id."""
    request_type = event.get("RequestType", "")
    _log_request("on_event", event)
    begun = lifecycle.begin(
        cloudtrail.client(),
        request_type,
        event.get("ResourceProperties"),
        request_id=str(event.get("RequestId", "")),
        physical_id=str(event.get("PhysicalResourceId", "")),
        old_properties=event.get("OldResourceProperties"),
    )
    carried: dict[str, Any] = dict(begun.carried())
    # The framework merges this answer over the request, so the request's own physical id is kept here.
    carried["PreviousId"] = event.get("PhysicalResourceId")
    wait = _wait_limit()
    if wait is not None:
        carried["WaitUntil"] = (clock.now() + wait - GIVE_UP_EARLY).isoformat()
    logger.info("decided", extra={"physical_id": begun.physical_id, **carried})
    return {"PhysicalResourceId": begun.physical_id, STATE_KEY: carried}


def is_complete(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Report whether the request is done; Data only when it is."""
    _log_request("is_complete", event)
    progress = lifecycle.check(
        cloudtrail.client(),
        event.get("RequestType", ""),
        event.get("ResourceProperties"),
        begun=Begun.from_carried(str(event.get("PhysicalResourceId", "")), event.get(STATE_KEY)),
    )
    logger.info("checked", extra={"physical_id": progress.physical_id, "complete": progress.complete,
                                  "import_status": progress.attributes.get("ImportStatus")})
    if not progress.complete:
        carried = event.get(STATE_KEY) or {}
        wait, wait_until = _wait_limit(), carried.get("WaitUntil")
        if wait and wait_until and clock.now() >= datetime.fromisoformat(wait_until):
            raise lifecycle.give_up(
                cloudtrail.client(), event.get("RequestType", ""), event.get("ResourceProperties"),
                physical_id=progress.physical_id, previous_id=carried.get("PreviousId"),
                so_far=progress.attributes, waited=f"the {int(wait.total_seconds() // 60)}-minute timeout",
            )
        return {"IsComplete": False}
    return {"IsComplete": True, "PhysicalResourceId": progress.physical_id, "Data": progress.attributes}


def _wait_limit() -> timedelta | None:
    """The Provider's total timeout, which the construct passes in the environment."""
    seconds = os.environ.get(WAIT_SECONDS_ENV)
    return timedelta(seconds=int(seconds)) if seconds and seconds.isdigit() else None


def _log_request(step: str, event: dict[str, Any]) -> None:
    # Never the whole event: its ResponseURL is a presigned secret.
    logger.info(step, extra={
        "request_type": event.get("RequestType"),
        "logical_resource_id": event.get("LogicalResourceId"),
        "physical_id": event.get("PhysicalResourceId"),
    })
