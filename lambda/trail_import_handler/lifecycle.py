"""The import lifecycle: every decision about starting, adopting, retrying, checking and stopping.

Entry points call ``begin`` once per CloudFormation request and ``check``
until it says complete. Both are stateless between calls: what ``begin``
decided travels in a ``Begun`` that the entry point hands back to ``check``.

An account runs one import at a time. When another runs, ``begin`` answers
with a pending physical id and ``check`` keeps trying to start; it finds its
own import again by destination, source and window, which also makes a Create
delivered twice start one import, never two.

Finding the imports to adopt reads every past import of the destination
(``import_search``). A caller with a deadline gives ``begin`` one; a search
that outlasts it comes back unfinished in ``Begun.search``, and that caller
calls ``begin`` again with it (``resume``) until the search is done.

An import of the same destination, source and window is never started afresh:
CloudTrail does not de-duplicate, so a second import copies every event again.
A Create adopts a completed import as it is, waits for a running one, and
resumes one that ended early (FAILED, or STOPPED by a rollback or by hand) with
StartImport and its ImportId, which continues where the copy ended.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError

from . import clock, cloudtrail, destination, import_search, preflight, reasons, reconciliation
from .cloudtrail import AccountBusy, CloudTrailClient, ImportState
from .errors import ImportResourceError
from .import_search import ImportSearch
from .properties import ImportProperties, parse_properties

logger = logging.getLogger(__name__)

PENDING_PREFIX = "pending-import-"
_IMPORT_ID = re.compile(r"^[a-f0-9-]{36}$")


@dataclass(frozen=True)
class Begun:
    """What a request started: the physical id, and which failed run still waits for its retry.

    ``retry_after`` is the UpdatedTimestamp of a FAILED run that this request
    wants retried while another import held the account. The service's own
    timestamp tells that run from a later one, with no clock of ours involved.
    """

    physical_id: str
    retry_after: datetime | None = None
    search: ImportSearch | None = None
    """A search for an import to adopt that ran out of time: ``begin`` must be called again with this."""
    examined_before: datetime | None = None
    """A pending request's imports are newer than this: every older import of the destination was read."""
    started: bool = False
    """True when this very call started or resumed the import (not carried: only the first answer needs it)."""

    def carried(self) -> dict[str, Any]:
        """What the entry point must carry from ``begin`` to every ``check``, as JSON."""
        carried: dict[str, Any] = {"RetryAfter": self.retry_after.isoformat() if self.retry_after else None}
        if self.examined_before is not None:
            carried["ExaminedBefore"] = self.examined_before.isoformat()
        if self.search is not None:
            carried["Search"] = self.search.carried()
        return carried

    @classmethod
    def from_carried(cls, physical_id: str, carried: Mapping[str, Any] | None) -> Begun:
        """The ``Begun`` that ``carried()`` described."""
        carried = carried or {}
        search = carried.get("Search")
        return cls(physical_id, _time_or_none(carried.get("RetryAfter")),
                   search=ImportSearch.from_carried(search) if isinstance(search, Mapping) else None,
                   examined_before=_time_or_none(carried.get("ExaminedBefore")))


@dataclass(frozen=True)
class Progress:
    """The answer of ``check``: done or not, under which physical id, and the import's attributes so far."""

    complete: bool
    physical_id: str
    attributes: dict[str, str]


def is_import_id(physical_id: str) -> bool:
    return bool(_IMPORT_ID.fullmatch(physical_id))


def is_pending(physical_id: str) -> bool:
    return physical_id.startswith(PENDING_PREFIX)


def pending_id(request_id: str) -> str:
    """The physical id of request ``request_id`` while it has no import yet."""
    return PENDING_PREFIX + request_id


def begin(
    ct: CloudTrailClient,
    request_type: str,
    properties: Mapping[str, Any] | None,
    *,
    request_id: str,
    physical_id: str = "",
    old_properties: Mapping[str, Any] | None = None,
    resume: Begun | None = None,
    deadline: datetime | None = None,
) -> Begun:
    """Act on one CloudFormation request: Create, Update or Delete.

    ``resume`` is what an earlier call for the same request began: its unfinished search goes on. With
    ``deadline``, a search still unfinished then comes back in ``Begun.search``.
    """
    if request_type == "Delete":
        stop_owned(ct, physical_id, properties)
        return Begun(physical_id)
    props = parse_properties(properties)
    search = resume.search if resume else None
    if request_type == "Create":
        return _begin_import(ct, props, request_id, search, deadline)
    if request_type == "Update":
        return _begin_update(ct, props, old_properties, physical_id, request_id, search, deadline)
    raise ImportResourceError(f"RequestType: expected Create, Update or Delete; got {request_type!r}.")


def check(
    ct: CloudTrailClient,
    request_type: str,
    properties: Mapping[str, Any] | None,
    *,
    begun: Begun,
) -> Progress:
    """Whether the request ``begun`` is done; raises ``ImportResourceError`` when it failed.

    A service that stays throttled or unavailable past botocore's retries is
    "not done yet": the next check asks again instead of failing the stack.
    """
    try:
        return _check(ct, request_type, properties, begun)
    except (cloudtrail.TransientError, BotoCoreError) as error:
        logger.warning("CloudTrail unavailable; checking again later", extra={"error": str(error)})
        return Progress(False, begun.physical_id, {})


def _check(
    ct: CloudTrailClient,
    request_type: str,
    properties: Mapping[str, Any] | None,
    begun: Begun,
) -> Progress:
    if request_type == "Delete":
        running = _owned(ct, begun.physical_id, properties)
        return Progress(not running, begun.physical_id, running[0].attributes() if running else {})
    props = parse_properties(properties)
    if is_pending(begun.physical_id):
        state = _resolve_pending(ct, props, begun.examined_before)
        if state is None:
            return Progress(False, begun.physical_id, {})
    else:
        state = cloudtrail.get_import(ct, begun.physical_id)
        if state is None:
            raise ImportResourceError(
                f"Import {begun.physical_id} no longer exists in this account and region (GetImport found nothing).",
                unsettled=True,
            )
        if begun.retry_after and state.resumable and _same_run(state.updated, begun.retry_after):
            _try_retry(ct, state.import_id)
            return Progress(False, begun.physical_id, state.attributes())
    return _judge(ct, state, props)


def _begin_import(ct: CloudTrailClient, props: ImportProperties, request_id: str,
                  search: ImportSearch | None = None, deadline: datetime | None = None) -> Begun:
    pending = pending_id(request_id)
    search = import_search.run(ct, props, search or ImportSearch.fresh(), deadline)
    if not search.done:
        logger.info("still looking for an import to adopt", extra={"read": search.offset})
        return Begun(pending, search=search)
    existing = _pick(import_search.found(ct, search))
    if existing is not None:
        logger.info("adopting import", extra={"import_id": existing.import_id, "import_status": existing.status})
        if existing.resumable:
            # Never a fresh import of the same data: that would copy again what the first one copied.
            return _retry(ct, existing)
        return Begun(existing.import_id)
    if props.preflight:
        _preflight(ct, props)
    try:
        import_id = cloudtrail.start_import(ct, props)
    except AccountBusy:
        logger.info("another import runs in the account; waiting its turn")
        return Begun(pending, examined_before=search.covers_before)
    logger.info("started import", extra={"import_id": import_id})
    return Begun(import_id, started=True)


def _begin_update(
    ct: CloudTrailClient,
    props: ImportProperties,
    old_properties: Mapping[str, Any] | None,
    physical_id: str,
    request_id: str,
    search: ImportSearch | None,
    deadline: datetime | None,
) -> Begun:
    old = _parse_or_none(old_properties)
    if old is None or not props.same_import_as(old) or not is_import_id(physical_id):
        logger.info("destination, source or window changed: a new import", extra={"old_physical_id": physical_id})
        return _begin_import(ct, props, request_id, search, deadline)
    if props.retry_token != old.retry_token:
        state = cloudtrail.get_import(ct, physical_id)
        if state is not None and state.resumable:
            logger.info("RetryToken changed: retrying import", extra={"import_id": physical_id})
            return _retry(ct, state)
    return Begun(physical_id)


def _preflight(ct: CloudTrailClient, props: ImportProperties) -> None:
    """Fail before StartImport when the import cannot work or would copy nothing.

    The destination: it exists, takes copies of CloudTrail events, keeps events of the window, and is not an
    organization store of another management account. The source: its region, ACLs off, a file in the window.
    """
    found = destination.check_destination(ct, props.destination, props.window, clock.now())
    if not any(p.blocking for p in found):
        found += preflight.check_source(preflight.s3_client(props.source.region), props.source, props.window)
    for warning in (p for p in found if not p.blocking):
        logger.warning("preflight", extra={"problem": warning.message})
    problems = [p for p in found if p.blocking]
    if problems:
        details = " ".join(p.message for p in problems)
        raise ImportResourceError(f"Preflight of {props.source.uri} failed: {details} "
                                  'Set Preflight to "false" to skip these checks.',
                                  summary=f"Preflight failed: {problems[0].message}")


def _resolve_pending(ct: CloudTrailClient, props: ImportProperties,
                     examined_before: datetime | None) -> ImportState | None:
    """The import a pending request now owns, starting it once the account is free.

    No matching import existed when the request began (it would have been
    adopted), so a match found now is this request's own, a FAILED one included;
    only imports created since then need reading.
    """
    existing = _pick(import_search.everything(ct, props, created_since=examined_before))
    if existing is not None:
        return existing
    try:
        import_id = cloudtrail.start_import(ct, props)
    except AccountBusy:
        return None
    logger.info("started import after waiting its turn", extra={"import_id": import_id})
    return cloudtrail.get_import(ct, import_id)


def _judge(ct: CloudTrailClient, state: ImportState, props: ImportProperties) -> Progress:
    done = Progress(True, state.import_id, state.attributes())
    if state.running:
        return done if not props.wait_for_completion else Progress(False, state.import_id, state.attributes())
    if props.verified is not None:
        done.attributes.update(reconciliation.attributes(state, props.verified))
    if state.status == "COMPLETED":
        failure = reconciliation.mismatch(state, props.verified) if props.verified else None
        if failure is not None:
            raise failure
        return done
    if state.status == "FAILED":
        if state.statistics["FailedEntries"] <= props.max_failed_entries:
            return done
        failures = cloudtrail.first_failures(ct, state.import_id, reasons.FAILURES_SHOWN)
        raise reasons.too_many_failures(state, props.max_failed_entries, failures)
    raise reasons.stopped(state)


def stop_owned(ct: CloudTrailClient, physical_id: str, properties: Mapping[str, Any] | None) -> None:
    """Stop the imports ``physical_id`` owns that still run (Delete, or a request given up)."""
    for state in _owned(ct, physical_id, properties):
        logger.info("stopping import", extra={"import_id": state.import_id})
        cloudtrail.stop_import(ct, state.import_id)


def give_up(
    ct: CloudTrailClient,
    request_type: str,
    properties: Mapping[str, Any] | None,
    *,
    physical_id: str,
    previous_id: str | None,
    so_far: dict[str, str],
    waited: str,
    custom_resource: bool = True,
) -> ImportResourceError:
    """The error for a request whose wait ran out; stops what no rollback would stop.

    A replacement whose update failed is never deleted by CloudFormation: it is stopped here. A custom
    resource's failed Create is stopped by the rollback's Delete, and its timeout can be raised. The registry
    type already waited the longest CloudFormation allows (``custom_resource=False``): its import is stopped
    here, so that nothing runs unwatched, and the next Create resumes it where it ended.
    """
    status = so_far.get("ImportStatus", "not started")
    message = (f"{request_type} of import {physical_id} did not finish within {waited}: status {status}, "
               f"{so_far.get('EventsCompleted', '0')} events so far.")
    if request_type == "Update" and physical_id != previous_id:
        # CloudFormation deletes no replacement whose update failed: stop it here.
        stop_owned(ct, physical_id, properties)
        message += f" The replacement was stopped; import {previous_id} is unchanged."
    elif request_type == "Create" and custom_resource:
        message += " The rollback stops it."
    elif request_type == "Create":
        stop_owned(ct, physical_id, properties)
        message += " It was stopped; the next Create of the same import resumes it where it ended."
    elif not custom_resource:
        message += " It runs on, owned by this resource: Read reports its progress."
    advice = (' Raise the timeout, or set WaitForCompletion to "false".' if custom_resource
              else ' Set WaitForCompletion to "false" to stop waiting for it.')
    return ImportResourceError(message + advice, summary=message, unsettled=True)


def _owned(ct: CloudTrailClient, physical_id: str, properties: Mapping[str, Any] | None) -> list[ImportState]:
    """The running imports this resource owns."""
    if is_import_id(physical_id):
        owned = [s for s in [cloudtrail.get_import(ct, physical_id)] if s is not None]
    elif is_pending(physical_id):
        # A request that waited its turn may have started its import since.
        props = _parse_or_none(properties)
        owned = import_search.running(ct, props) if props else []
    else:
        owned = []
    return [state for state in owned if state.running]


def _retry(ct: CloudTrailClient, failed: ImportState) -> Begun:
    if _try_retry(ct, failed.import_id):
        return Begun(failed.import_id, started=True)
    logger.info("another import runs in the account; the retry waits its turn")
    return Begun(failed.import_id, retry_after=failed.updated or datetime.min.replace(tzinfo=UTC))


def _try_retry(ct: CloudTrailClient, import_id: str) -> bool:
    """Resume a FAILED or STOPPED import; False when another import runs and the retry must wait."""
    try:
        cloudtrail.retry_import(ct, import_id)
    except AccountBusy:
        return False
    return True


def _pick(states: list[ImportState]) -> ImportState | None:
    """The import to adopt: a running one, else a completed one, else the newest that ended early."""
    for wanted in (("INITIALIZING", "IN_PROGRESS"), ("COMPLETED",), ("FAILED", "STOPPED")):
        for state in states:
            if state.status in wanted:
                return state
    return None


def _same_run(updated: datetime | None, retry_after: datetime) -> bool:
    return updated is None or updated <= retry_after


def _time_or_none(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def _parse_or_none(properties: Mapping[str, Any] | None) -> ImportProperties | None:
    try:
        return parse_properties(properties)
    except ImportResourceError:
        return None
