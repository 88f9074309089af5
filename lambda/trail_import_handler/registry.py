"""Entry point for the CloudFormation registry resource type: ``resource``.

The type's handlers translate registry requests into ``lifecycle`` calls and
its answers into progress events; ``lifecycle`` decides, as for the custom
resource. What differs is the wait: a handler may take up to 36 hours over
many invocations, answering IN_PROGRESS with a ``callbackContext`` that
carries what ``begin`` decided, so an import of a whole organization's
archive finishes inside one deploy.

A resource is known by an ``Id`` of the type's own, fixed by its Create's
first answer: CloudTrail gives an ImportId only once the import starts, and
while another import holds the account that can be hours later. The type
keeps a record per resource (``ownership``): an import outlives its Delete,
but the resource must not.

Every invocation answers within CloudFormation's 60 seconds: requests are
tried fewer times than elsewhere, and the search for an import to adopt stops
after ``SEARCH_BUDGET`` and goes on in the next invocation.
"""

from __future__ import annotations

import contextvars
import logging
import os
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError
from cloudformation_cli_python_lib.boto3_proxy import SessionProxy
from cloudformation_cli_python_lib.interface import (
    Action,
    BaseModel,
    BaseResourceHandlerRequest,
    HandlerErrorCode,
    OperationStatus,
    ProgressEvent,
)
from cloudformation_cli_python_lib.resource import Resource
from cloudformation_cli_python_lib.utils import HandlerRequest

from . import clients, clock, cloudtrail, lifecycle, reconciliation, registry_verification
from .cloudtrail import TransientError
from .errors import ImportResourceError
from .lifecycle import Begun
from .ownership import Ownership, Record
from .properties import VerifiedCounts
from .registry_verification import STRICT, VERIFY_WITH, Verified

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

TYPE_NAME = "TrailLogs::CloudTrailLake::Import"
CALLBACK_SECONDS_ENV = "TRAIL_IMPORT_CALLBACK_SECONDS"
_CALLBACK_SECONDS = 60
_MAX_CALLBACK_SECONDS = 300
# The create and update handlers' timeoutInMinutes (the most the registry allows), less two checks:
# the import is stopped and the reason given before CloudFormation's own timeout says only that it timed out.
WAIT_LIMIT = timedelta(minutes=2160) - timedelta(seconds=2 * _MAX_CALLBACK_SECONDS)

CREATE_ONLY = ("EventDataStoreArn", "S3LocationUri", "S3BucketRegion", "StartEventTime", "EndEventTime")
WRITE_ONLY = ("WaitForCompletion", "MaxFailedEntries", "RetryToken", "Preflight", VERIFY_WITH, STRICT)
_STATISTICS = cloudtrail.STATISTICS
_COUNTS = (*_STATISTICS, "DigestsVerified", "LogFilesVerified", "EventsVerified", "FilesDifference",
           "EventsDifference")
_READ_ONLY = frozenset({"Id", "ImportId", "ImportStatus", *_COUNTS, *registry_verification.ATTRIBUTES})
# How long one invocation reads past imports of the destination before it answers and goes on in the next one,
# and how often it tries one request: what is left of the 60 seconds covers the rest of the invocation.
SEARCH_BUDGET = timedelta(seconds=25)
_ATTEMPTS = 4
_SEARCH_CALLBACK_SECONDS = 1
_ID = "Id"
_RESOURCE, _CONTEXT_ID, _CONTEXT_SINCE = "ResourceId", "PhysicalId", "Since"
_RECORDED, _PROPERTIES = "Recorded", "Properties"
_VERIFYING, _VERIFIED = "Verifying", "Verified"
_STATES_RETRIES = Config(retries={"mode": "standard", "max_attempts": _ATTEMPTS})
_TYPE: contextvars.ContextVar[str] = contextvars.ContextVar("registry_type_name", default=TYPE_NAME)

# AWS error codes a user fixes with other input or other grants, and those worth asking again.
_INVALID = frozenset({
    "EventDataStoreARNInvalidException", "EventDataStoreNotFoundException", "InvalidEventDataStoreStatusException",
    "InvalidEventDataStoreCategoryException", "InactiveEventDataStoreException", "InvalidImportSourceException",
    "InsufficientEncryptionPolicyException", "InvalidParameterException", "OperationNotPermittedException",
    "ValidationException",
})
_LIMITS = frozenset({"ParameterLimitExceeded"})  # the account's 10,000 standard SSM parameters
_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
_THROTTLED = frozenset({"ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
                        "TooManyUpdates"})


class ImportModel(BaseModel):
    """The resource's properties as the schema names them; values as CloudFormation sent them."""

    def __init__(self, properties: Mapping[str, Any] | None = None) -> None:
        self.properties: dict[str, Any] = {k: v for k, v in (properties or {}).items() if v is not None}

    def _serialize(self) -> Mapping[str, Any]:
        return dict(self.properties)

    @classmethod
    def _deserialize(cls, json_data: Mapping[str, Any] | None) -> ImportModel | None:
        return cls(json_data) if json_data is not None else None


class _Resource(Resource):
    """The support library's resource, handing the list handler its nextToken."""

    def _cast_resource_request(self, request: HandlerRequest) -> BaseResourceHandlerRequest:
        # The name the type was registered under, which users choose: it names the ownership records.
        _TYPE.set(request.resourceType or TYPE_NAME)
        modelled = super()._cast_resource_request(request)
        # cloudformation-cli-python-lib 2.1.20 leaves nextToken out: List would answer its first page forever.
        modelled.nextToken = request.nextToken
        return modelled


resource = _Resource(TYPE_NAME, ImportModel)
"""The handler that the type's ``.rpdk-config`` names as its entrypoint."""


def callback_seconds(waited: timedelta) -> int:
    """Seconds until the next check of an import this request has waited ``waited`` for.

    Each check is one invocation and one GetImport: every minute at first, then a tenth of the time waited,
    at most every five minutes (from 50 minutes on). Tests set a fixed delay through the environment.
    """
    raw = os.environ.get(CALLBACK_SECONDS_ENV, "")
    if raw.isdigit():
        return int(raw)
    return int(min(max(waited.total_seconds() / 10, _CALLBACK_SECONDS), _MAX_CALLBACK_SECONDS))


@resource.handler(Action.CREATE)
def create(session: SessionProxy | None, request: BaseResourceHandlerRequest,
           context: MutableMapping[str, Any]) -> ProgressEvent:
    """Begin (adopt, resume or start) the import, then answer IN_PROGRESS until it is done."""
    return _answer(session, request, lambda ct, owned, sfn: _create(ct, owned, sfn, request, context), states=True)


@resource.handler(Action.UPDATE)
def update(session: SessionProxy | None, request: BaseResourceHandlerRequest,
           context: MutableMapping[str, Any]) -> ProgressEvent:
    """A new RetryToken resumes a FAILED or STOPPED import; other changes only change the record."""
    return _answer(session, request, lambda ct, owned, sfn: _update(ct, owned, request, context))


@resource.handler(Action.DELETE)
def delete(session: SessionProxy | None, request: BaseResourceHandlerRequest,
           context: MutableMapping[str, Any]) -> ProgressEvent:
    """Stop the import while it runs, wait until it stopped, then forget it. Imported events stay."""
    return _answer(session, request, lambda ct, owned, sfn: _delete(ct, owned, sfn, request, context), states=True)


@resource.handler(Action.READ)
def read(session: SessionProxy | None, request: BaseResourceHandlerRequest,
         context: MutableMapping[str, Any]) -> ProgressEvent:
    """The resource's record, and GetImport into the model once it has an import; NotFound for an Id the type
    has no record of."""
    return _answer(session, request, lambda ct, owned, sfn: _read(ct, owned, request))


@resource.handler(Action.LIST)
def list_imports(session: SessionProxy | None, request: BaseResourceHandlerRequest,
                 context: MutableMapping[str, Any]) -> ProgressEvent:
    """One page of the type's records: its resources, by Id, with their ImportId once they have one."""
    return _answer(session, request, lambda ct, owned, sfn: _list(ct, owned, request))


def _create(ct: Any, owned: Ownership, sfn: Any, request: BaseResourceHandlerRequest,
            context: MutableMapping[str, Any]) -> ProgressEvent:
    desired = _properties(request.desiredResourceState)
    token = request.clientRequestToken or ""
    first = _RESOURCE not in context
    begun: Begun | None = None
    claimed = False
    if first:
        # The resource exists from this first answer on, with an import or not: fix its Id and record it
        # before anything starts, so that a rollback's Delete finds whatever this Create goes on to start.
        resource_id = _resource_id(request)
        claimed = owned.claim(resource_id, Record(lifecycle.pending_id(token), _writable(desired)))
        context = {_RESOURCE: resource_id, _CONTEXT_SINCE: clock.now().isoformat()}
    resource_id = str(context[_RESOURCE])
    try:
        beginning = first
        if first or (_VERIFYING in context and _VERIFIED not in context):
            proving = _prove(owned, sfn, desired, context, token, first=first)
            if proving is not None:
                return proving
            beginning = True
        verified_now = Verified.from_attributes(context.get(_VERIFIED))
        resume = None if beginning else Begun.from_carried(str(context[_CONTEXT_ID]), context)
        if beginning or (resume is not None and resume.search is not None):
            begun = lifecycle.begin(ct, "Create", _for_import(desired, verified_now), request_id=token,
                                    resume=resume, deadline=_deadline())
            context = {**_kept(context), **_context(resource_id, begun, since=str(context[_CONTEXT_SINCE]))}
            if begun.search is not None:
                model = {**desired, _ID: resource_id}
                return ProgressEvent(status=OperationStatus.IN_PROGRESS, resourceModel=ImportModel(model),
                                     callbackContext=dict(context), callbackDelaySeconds=_SEARCH_CALLBACK_SECONDS)
        return _wait(ct, owned, "Create", desired, context)
    except ImportResourceError:
        # The contract: a Create whose first answer is FAILED made no resource, and Read must say NotFound.
        # Nobody would own what it set running: stop it (a later Create resumes it) and forget the resource.
        if first:
            _abandon(ct, owned, sfn, resource_id, begun, desired, claimed)
        raise


def _prove(owned: Ownership, sfn: Any, desired: dict[str, Any], context: MutableMapping[str, Any], token: str, *,
           first: bool) -> ProgressEvent | None:
    """The window is proved before anything is imported: the answer while the resource's verification runs, or
    None once the import may begin (the verification has ended well, or none was asked for)."""
    wanted = registry_verification.requested(_writable(desired))
    if wanted is None:
        return None
    resource_id = str(context[_RESOURCE])
    if first:
        context[_VERIFYING] = registry_verification.start(sfn, wanted, resource_id)
        return _verifying(desired, context, limit=False)
    verified = registry_verification.check(sfn, str(context[_VERIFYING]), wanted)
    if verified is None:
        return _verifying(desired, context, limit=True)
    context[_VERIFIED] = verified.attributes()
    # Kept with the resource: an Update reconciles a resumed import with it, and Read reports it.
    owned.record(resource_id, Record(lifecycle.pending_id(token), _writable(desired), context[_VERIFIED]))
    return None


def _verifying(desired: dict[str, Any], context: MutableMapping[str, Any], *, limit: bool) -> ProgressEvent:
    """The answer while the resource's verification runs: no import yet. Past the registry's wait (``limit``),
    the Create fails, and its rollback stops the verification."""
    since = datetime.fromisoformat(str(context[_CONTEXT_SINCE]))
    waited = clock.now() - since
    if limit and waited >= WAIT_LIMIT:
        raise registry_verification.timed_out(str(context[_VERIFYING]), since)
    model = {**desired, _ID: context[_RESOURCE]}
    return ProgressEvent(status=OperationStatus.IN_PROGRESS, resourceModel=ImportModel(model),
                         callbackContext=dict(context), callbackDelaySeconds=callback_seconds(waited))


def _update(ct: Any, owned: Ownership, request: BaseResourceHandlerRequest,
            context: MutableMapping[str, Any]) -> ProgressEvent:
    desired = _properties(request.desiredResourceState)
    previous = _properties(request.previousResourceState)
    if _RESOURCE not in context:
        resource_id = str(desired.get(_ID) or previous.get(_ID) or "")
        record = owned.recorded(resource_id) if resource_id else None
        if record is None:
            return _not_found(resource_id)
        changed = [name for name in CREATE_ONLY if desired.get(name) != previous.get(name)]
        if changed:
            return ProgressEvent.failed(HandlerErrorCode.NotUpdatable,
                                        f"{', '.join(changed)} cannot change: a new destination, source or window "
                                        "is a new import, which CloudFormation makes by replacing the resource.")
        # No deadline: an Update searches for an import only when its record names none, which a Create that
        # succeeded never leaves. Nor a verification: an Update resumes the import of the window its Create proved.
        verified = Verified.from_attributes(record.verified)
        begun = lifecycle.begin(ct, "Update", _for_import(desired, verified),
                                request_id=request.clientRequestToken or "", physical_id=record.physical_id,
                                old_properties=_for_import(previous, verified))
        context = _context(resource_id, begun, since=clock.now().isoformat())
        context[_RECORDED] = record.physical_id
        if record.verified:
            context[_VERIFIED] = record.verified
    return _wait(ct, owned, "Update", desired, context)


def _wait(ct: Any, owned: Ownership, request_type: str, desired: dict[str, Any],
          context: MutableMapping[str, Any]) -> ProgressEvent:
    resource_id = str(context[_RESOURCE])
    begun = Begun.from_carried(str(context[_CONTEXT_ID]), context)
    kept = context.get(_VERIFIED)
    verified = Verified.from_attributes(kept)
    progress = lifecycle.check(ct, request_type, _for_import(desired, verified), begun=begun)
    context[_CONTEXT_ID] = progress.physical_id
    attributes = {_ID: resource_id, **(verified.attributes() if verified else {}), **_typed(progress.attributes)}
    if progress.complete:
        owned.record(resource_id, Record(progress.physical_id, _writable(desired), kept))
        model = {**_without(desired, WRITE_ONLY), **attributes}
        return ProgressEvent(status=OperationStatus.SUCCESS, resourceModel=ImportModel(model))
    if context.get(_RECORDED) != progress.physical_id:
        # The import's id is known now: a rollback's Delete must find it.
        owned.record(resource_id, Record(progress.physical_id, _writable(desired), kept))
        context[_RECORDED] = progress.physical_id
    waited = clock.now() - datetime.fromisoformat(str(context[_CONTEXT_SINCE]))
    if waited >= WAIT_LIMIT:
        raise lifecycle.give_up(ct, request_type, _for_import(desired, verified), physical_id=progress.physical_id,
                                previous_id=desired.get("ImportId"), so_far=progress.attributes,
                                waited="the registry's 36-hour limit", custom_resource=False)
    # The model goes back to the next call as its desired state: it keeps every property it was given.
    model = {**desired, **attributes}
    if lifecycle.is_import_id(progress.physical_id):
        model["ImportId"] = progress.physical_id
    return ProgressEvent(status=OperationStatus.IN_PROGRESS, resourceModel=ImportModel(model),
                         callbackContext=dict(context), callbackDelaySeconds=callback_seconds(waited))


def _abandon(ct: Any, owned: Ownership, sfn: Any, resource_id: str, begun: Begun | None,
             desired: Mapping[str, Any], claimed: bool) -> None:
    """Stop what a Create that failed at once set running, and forget the resource it claimed; what cannot be
    done is logged, so that the Create's own reason reaches CloudFormation. An import it only adopted runs on."""
    steps: list[tuple[str, Callable[[], None]]] = []
    if begun is not None and begun.started:
        import_id = begun.physical_id
        steps.append((f"stop import {import_id}",
                      lambda: lifecycle.stop_owned(ct, import_id, _for_import(desired, None))))
    if desired.get(VERIFY_WITH):
        steps.append(("stop the verification", lambda: registry_verification.stop(sfn, desired, resource_id)))
    if claimed:
        steps.append(("forget", lambda: owned.release(resource_id)))
    for step, act in steps:
        try:
            act()
        except ImportResourceError as error:
            logger.warning("could not %s of a failed Create %s: %s", step, resource_id, error)


def _delete(ct: Any, owned: Ownership, sfn: Any, request: BaseResourceHandlerRequest,
            context: MutableMapping[str, Any]) -> ProgressEvent:
    if _RESOURCE not in context:
        resource_id = str(_properties(request.desiredResourceState).get(_ID) or "")
        record = owned.recorded(resource_id) if resource_id else None
        if record is None:
            return _not_found(resource_id)
        properties = _for_import(record.properties, None)
        if not lifecycle.is_import_id(record.physical_id) and record.properties.get(VERIFY_WITH):
            # A Create that was still proving its window: nobody would wait for that verification any more.
            registry_verification.stop(sfn, record.properties, resource_id)
        # Read once: an ImportId alone names what to stop. A Create that was still waiting its turn has none;
        # its properties tell which import it may have started since.
        begun = lifecycle.begin(ct, "Delete", properties, request_id=request.clientRequestToken or "",
                                physical_id=record.physical_id)
        context = _context(resource_id, begun, since=clock.now().isoformat())
        if not lifecycle.is_import_id(record.physical_id):
            context[_PROPERTIES] = properties
    physical_id = str(context[_CONTEXT_ID])
    progress = lifecycle.check(ct, "Delete", context.get(_PROPERTIES),
                               begun=Begun.from_carried(physical_id, context))
    if not progress.complete:
        return ProgressEvent(status=OperationStatus.IN_PROGRESS, resourceModel=ImportModel({_ID: context[_RESOURCE]}),
                             callbackContext=dict(context), callbackDelaySeconds=min(callback_seconds(timedelta()), 10))
    owned.release(str(context[_RESOURCE]))
    return ProgressEvent(status=OperationStatus.SUCCESS)


def _read(ct: Any, owned: Ownership, request: BaseResourceHandlerRequest) -> ProgressEvent:
    resource_id = str(_properties(request.desiredResourceState).get(_ID) or "")
    record = owned.recorded(resource_id) if resource_id else None
    if record is None:
        return _not_found(resource_id)
    verified = Verified.from_attributes(record.verified)
    proved = verified.attributes() if verified else {}
    if not lifecycle.is_import_id(record.physical_id):
        # Still proving its window or waiting its turn: no import to read yet.
        return ProgressEvent(status=OperationStatus.SUCCESS, resourceModel=ImportModel(
            {**_without(record.properties, WRITE_ONLY), **proved, _ID: resource_id}))
    state = cloudtrail.get_import(ct, record.physical_id)
    if state is None:
        return _not_found(resource_id)
    model = {_ID: resource_id, **_model_of(state, record.properties), **proved}
    if verified is not None and not state.running:
        # As the Create that waited for the import's end set them.
        counts = VerifiedCounts(verified.log_files, verified.events, False)
        model.update(_typed(reconciliation.attributes(state, counts)))
    return ProgressEvent(status=OperationStatus.SUCCESS, resourceModel=ImportModel(model))


def _list(ct: Any, owned: Ownership, request: BaseResourceHandlerRequest) -> ProgressEvent:
    records, next_token = owned.page(request.nextToken)
    models: list[BaseModel] = []
    for resource_id, record in records:
        model = {_ID: resource_id, **{k: v for k, v in record.properties.items() if k in CREATE_ONLY}}
        if lifecycle.is_import_id(record.physical_id):
            model["ImportId"] = record.physical_id
        models.append(ImportModel(model))
    return ProgressEvent(status=OperationStatus.SUCCESS, resourceModels=models, nextToken=next_token)


def _answer(session: SessionProxy | None, request: BaseResourceHandlerRequest,
            act: Callable[[Any, Ownership, Any], ProgressEvent], *, states: bool = False) -> ProgressEvent:
    """Run ``act`` with this request's clients (Step Functions' only for the handlers that verify, ``states``);
    turn a failure into the contract's error code."""
    if session is None or request is None:
        return ProgressEvent.failed(HandlerErrorCode.InvalidCredentials,
                                    "No credentials came with the request: register the type with an execution role.")
    region = request.region or session.session.region_name
    with clients.using(session.session):
        ct = cloudtrail.client(region, attempts=_ATTEMPTS)
        owned = Ownership(clients.client("ssm", region_name=region), _TYPE.get())
        sfn = clients.client("stepfunctions", region_name=region, config=_STATES_RETRIES) if states else None
        try:
            return act(ct, owned, sfn)
        except ImportResourceError as error:
            logger.warning("request failed (%s): %s", error.code or "no AWS error", error)
            return ProgressEvent.failed(_error_code(error), str(error))
        except BotoCoreError as error:
            # No answer from AWS at all (connection, endpoint, credentials): CloudFormation may try again.
            logger.warning("no answer from AWS: %s", error)
            return ProgressEvent.failed(HandlerErrorCode.NetworkFailure, f"No answer from AWS: {error}")


def _error_code(error: ImportResourceError) -> HandlerErrorCode:
    if error.unsettled:
        return HandlerErrorCode.NotStabilized
    if error.code in _DENIED:
        return HandlerErrorCode.AccessDenied
    if error.code in _THROTTLED:
        return HandlerErrorCode.Throttling
    if error.code in _LIMITS:
        return HandlerErrorCode.ServiceLimitExceeded
    if isinstance(error, TransientError):
        return HandlerErrorCode.ServiceInternalError
    if not error.code or error.code in _INVALID:
        return HandlerErrorCode.InvalidRequest
    return HandlerErrorCode.GeneralServiceException


def _not_found(resource_id: str) -> ProgressEvent:
    return ProgressEvent.failed(HandlerErrorCode.NotFound,
                                f"No resource of this type has Id {resource_id or '(no Id given)'}: it was deleted, "
                                "or never made by this type in this account and region.")


def _resource_id(request: BaseResourceHandlerRequest) -> str:
    """The Id of the resource a Create makes: the same for every delivery of the same request."""
    token = request.clientRequestToken
    if not token:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{request.stackId}/{request.logicalResourceIdentifier}/{token}"))


def _deadline() -> datetime:
    return clock.now() + SEARCH_BUDGET


def _context(resource_id: str, begun: Begun, *, since: str) -> dict[str, Any]:
    return {_RESOURCE: resource_id, _CONTEXT_ID: begun.physical_id, _CONTEXT_SINCE: since, **begun.carried()}


def _kept(context: Mapping[str, Any]) -> dict[str, Any]:
    """What a Create's context keeps of its verification once the import has begun."""
    return {k: context[k] for k in (_VERIFYING, _VERIFIED) if k in context}


def _model_of(state: cloudtrail.ImportState, recorded: Mapping[str, Any]) -> dict[str, Any]:
    """The import as GetImport reports it, times written as the resource last gave them when they agree."""
    model: dict[str, Any] = {
        "EventDataStoreArn": state.destination,
        "S3LocationUri": state.source_uri,
        "S3BucketRegion": state.source_region,
        "S3BucketAccessRoleArn": state.access_role_arn or recorded.get("S3BucketAccessRoleArn"),
        **_typed(state.attributes()),
    }
    for name, value in (("StartEventTime", state.window.start), ("EndEventTime", state.window.end)):
        if value is not None:
            given = recorded.get(name)
            model[name] = given if isinstance(given, str) and _same_time(given, value) else _utc(value)
    return {k: v for k, v in model.items() if v is not None}


def _same_time(text: str, value: datetime) -> bool:
    try:
        return datetime.fromisoformat(text) == value
    except ValueError:
        return False


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _typed(attributes: Mapping[str, str]) -> dict[str, Any]:
    """The counts as the schema's integers; ImportId and ImportStatus as they are."""
    return {name: int(value) if name in _COUNTS else value for name, value in attributes.items()}


def _properties(model: BaseModel | None) -> dict[str, Any]:
    return dict(model.properties) if isinstance(model, ImportModel) else {}


def _writable(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if k not in _READ_ONLY}


def _for_import(properties: Mapping[str, Any], verified: Verified | None) -> dict[str, Any]:
    """The properties as the import lifecycle takes them."""
    return registry_verification.import_properties(_writable(properties), verified)


def _without(properties: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if k not in names}
