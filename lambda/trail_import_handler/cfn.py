"""Entry point for plain CloudFormation templates, through crhelper: ``handler``.

crhelper answers CloudFormation and polls through an EventBridge rule; this
module translates its callbacks into ``lifecycle`` calls. crhelper has no
timeout of its own, so polling gives up here when the custom resource's
ServiceTimeout is about to run out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crhelper import CfnResource

from . import clock, cloudtrail, lifecycle
from .errors import ImportResourceError
from .lifecycle import Begun

logger = logging.getLogger(__name__)

POLL_MINUTES = 1
_DEFAULT_SERVICE_TIMEOUT = 3600
# Give up one poll early, so that our reason reaches CloudFormation before its own timeout.
_MARGIN = timedelta(minutes=POLL_MINUTES, seconds=30)

# INFO, not crhelper's DEBUG: DEBUG logs the event with its presigned ResponseURL.
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="ERROR",
                     polling_interval=POLL_MINUTES, sleep_on_delete=15)


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda handler named in the template's function."""
    helper(event, context)


@helper.create
@helper.update
@helper.delete
def _begin(event: dict[str, Any], context: Any) -> str:
    now = clock.now()
    try:
        begun = lifecycle.begin(
            cloudtrail.client(),
            event["RequestType"],
            event.get("ResourceProperties"),
            request_id=str(event.get("RequestId", "")),
            physical_id=str(event.get("PhysicalResourceId", "")),
            old_properties=event.get("OldResourceProperties"),
        )
    except ImportResourceError as error:
        raise ImportResourceError(error.summary) from error
    helper.Data.update({**begun.carried(), "WaitUntil": (now + _service_timeout(event) - _MARGIN).isoformat()})
    return begun.physical_id


@helper.poll_create
@helper.poll_update
@helper.poll_delete
def _poll(event: dict[str, Any], context: Any) -> str | None:
    state = event.get("CrHelperData") or {}
    physical_id = str(state.get("PhysicalResourceId", ""))
    previous_id = event.get("PhysicalResourceId")
    # crhelper answers a failed poll with the event's physical id, or a random one:
    # keep ours, so that the rollback's Delete reaches this import.
    event["PhysicalResourceId"] = physical_id
    ct = cloudtrail.client()
    try:
        progress = lifecycle.check(
            ct,
            event["RequestType"],
            event.get("ResourceProperties"),
            begun=Begun.from_carried(physical_id, state),
        )
        if progress.complete:
            helper.Data.clear()
            helper.Data.update(progress.attributes)
            return progress.physical_id
        if clock.now() < datetime.fromisoformat(str(state.get("WaitUntil"))):
            return None
        error = lifecycle.give_up(
            ct, event["RequestType"], event.get("ResourceProperties"), physical_id=physical_id,
            previous_id=previous_id, so_far=progress.attributes,
            waited=f"ServiceTimeout ({int(_service_timeout(event).total_seconds())} s)",
        )
    except ImportResourceError as failure:
        raise ImportResourceError(failure.summary) from failure
    raise ImportResourceError(error.summary)


def _service_timeout(event: dict[str, Any]) -> timedelta:
    raw = (event.get("ResourceProperties") or {}).get("ServiceTimeout")
    try:
        seconds = int(raw) if raw is not None else _DEFAULT_SERVICE_TIMEOUT
    except (TypeError, ValueError):
        seconds = _DEFAULT_SERVICE_TIMEOUT
    return timedelta(seconds=min(max(seconds, 1), _DEFAULT_SERVICE_TIMEOUT))
