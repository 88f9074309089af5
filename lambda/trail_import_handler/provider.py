"""Entry points for the CDK Provider framework: ``on_event`` and ``is_complete``.

They translate the framework's events and answers; ``lifecycle`` decides.
The framework answers CloudFormation itself, so nothing here may: a raised
exception becomes the resource's failure reason.
"""

from __future__ import annotations

import logging
from typing import Any

from . import cloudtrail, lifecycle
from .lifecycle import Begun

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# What on_event decided, carried to every is_complete call: the framework
# spreads on_event's answer into the waiter's input, and only the keys
# CloudFormation knows reach CloudFormation.
STATE_KEY = "TrailImport"


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
    logger.info("decided", extra={"physical_id": begun.physical_id, **begun.carried()})
    return {"PhysicalResourceId": begun.physical_id, STATE_KEY: begun.carried()}


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
        return {"IsComplete": False}
    return {"IsComplete": True, "PhysicalResourceId": progress.physical_id, "Data": progress.attributes}


def _log_request(step: str, event: dict[str, Any]) -> None:
    # Never the whole event: its ResponseURL is a presigned secret.
    logger.info(step, extra={
        "request_type": event.get("RequestType"),
        "logical_resource_id": event.get("LogicalResourceId"),
        "physical_id": event.get("PhysicalResourceId"),
    })
