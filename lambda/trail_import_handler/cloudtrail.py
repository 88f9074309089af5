"""The CloudTrail import API as the lifecycle needs it: typed, paginated, translated.

Service errors that the user must act on become ``ImportResourceError`` with
the property to look at; throttling and 5xx are retried by botocore's standard
retry mode before they reach this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError

from . import clients, source_grants
from .errors import ImportResourceError
from .properties import ImportProperties, ImportWindow

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient as CloudTrailClient
else:
    CloudTrailClient = Any

RUNNING = frozenset({"INITIALIZING", "IN_PROGRESS"})
# An import that ended early: a retry (StartImport with its ImportId) resumes it where it ended
# (CloudTrail User Guide, "Copying trail events to CloudTrail Lake"; console "Event copy details").
RESUMABLE = frozenset({"FAILED", "STOPPED"})
STATISTICS = ("PrefixesFound", "PrefixesCompleted", "FilesCompleted", "EventsCompleted", "FailedEntries")

# Standard mode retries throttling and 5xx with backoff; ten attempts ride out
# a burst of the one-request-per-second class limits of the import APIs.
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10}, user_agent_extra="cdk-cloudtrail-lake-import")

# Which property to look at when StartImport rejects a request.
_START_ERROR_HINTS = {
    "EventDataStoreARNInvalidException": "check EventDataStoreArn",
    "EventDataStoreNotFoundException": "check EventDataStoreArn: no such event data store in this account and region",
    "InvalidEventDataStoreStatusException": "the event data store (EventDataStoreArn) must be ENABLED",
    "InvalidEventDataStoreCategoryException": "the event data store (EventDataStoreArn) must collect CloudTrail events",
    "InactiveEventDataStoreException": "the event data store (EventDataStoreArn) is not active",
    "InvalidImportSourceException": "check S3LocationUri, S3BucketRegion and S3BucketAccessRoleArn",
    "InsufficientEncryptionPolicyException": "the bucket or KMS key policy must let the access role read the logs",
    "InvalidParameterException": "check StartEventTime, EndEventTime and the source properties",
    "OperationNotPermittedException": "only the management account can import into an organization event data store",
    "AccessDeniedException": "the handler's role lacks cloudtrail:StartImport or iam:PassRole on the access role",
}


# When CloudTrail cannot read the source, name what to add and where.
_SOURCE_DENIALS: dict[str, Callable[[ImportProperties], str]] = {
    "InsufficientEncryptionPolicyException": lambda props: (
        f"Add to the policy of bucket {props.source.bucket}: {source_grants.bucket_statement(props.source)} and, "
        "when its logs are SSE-KMS encrypted, to the policy of each KMS key: "
        f"{source_grants.key_statement(props.source, props.destination)}"),
    "InvalidImportSourceException": lambda props: (
        f"If the source is right, access role {props.source.access_role_arn} must trust cloudtrail.amazonaws.com "
        f"for this account and event data store and may s3:ListBucket, s3:GetBucketAcl and s3:GetObject on "
        f"{props.source.uri}; a bucket of another account must also allow it in its policy: "
        f"{source_grants.bucket_statement(props.source)}"),
}

_TRANSIENT_CODES = frozenset({"ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException",
                              "ServiceUnavailable", "InternalFailure", "InternalServerError"})


class TransientError(ImportResourceError):
    """CloudTrail stayed throttled or unavailable through every retry."""


class InvalidToken(Exception):
    """A page token that the service no longer accepts."""


class AccountBusy(Exception):
    """Another import runs in this account and region; this one must wait its turn."""


@dataclass(frozen=True)
class ImportState:
    """What GetImport reports about one import."""

    import_id: str
    status: str
    destination: str
    source_uri: str
    source_region: str
    window: ImportWindow
    updated: datetime | None
    statistics: dict[str, int]
    access_role_arn: str = ""

    @property
    def running(self) -> bool:
        """True while the import initializes or runs."""
        return self.status in RUNNING

    @property
    def resumable(self) -> bool:
        """True when the import ended early (FAILED or STOPPED): a retry resumes it where it ended."""
        return self.status in RESUMABLE

    def describes(self, props: ImportProperties) -> bool:
        """True when this import reads the data ``props`` asks for."""
        return (
            self.destination == props.destination
            and self.source_uri == props.source.uri
            and self.source_region == props.source.region
            and self.window == props.window
        )

    def attributes(self) -> dict[str, str]:
        """The custom resource's attributes (CloudFormation attributes are strings)."""
        data = {"ImportId": self.import_id, "ImportStatus": self.status}
        data.update({name: str(self.statistics.get(name, 0)) for name in STATISTICS})
        return data


@dataclass(frozen=True)
class ImportFailure:
    """One entry of ListImportFailures."""

    location: str
    error_type: str
    message: str


def client(region: str | None = None, *, attempts: int | None = None) -> CloudTrailClient:
    """A CloudTrail client from the request's session (``clients``), with standard retries.

    ``attempts`` lowers how often one request is tried, for a caller that must answer within a deadline.
    """
    config = _RETRIES if attempts is None else _RETRIES.merge(Config(retries={"mode": "standard",
                                                                              "max_attempts": attempts}))
    cloudtrail_client: CloudTrailClient = clients.client("cloudtrail", config=config, region_name=region)
    return cloudtrail_client


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def get_import(ct: CloudTrailClient, import_id: str) -> ImportState | None:
    """GetImport, or ``None`` when the import does not exist."""
    try:
        answer = ct.get_import(ImportId=import_id)
    except ClientError as error:
        if error_code(error) == "ImportNotFoundException":
            return None
        raise _translate("GetImport", error) from error
    return _state(answer)


def newest_first(states: list[ImportState]) -> list[ImportState]:
    """``states`` ordered by when each last changed, newest first."""
    return sorted(states, key=lambda s: s.updated or datetime.min.replace(tzinfo=UTC), reverse=True)


def start_import(ct: CloudTrailClient, props: ImportProperties) -> str:
    """StartImport of a new import; returns its id. Raises ``AccountBusy`` if another runs."""
    request: dict[str, Any] = {
        "Destinations": [props.destination],
        "ImportSource": {
            "S3": {
                "S3LocationUri": props.source.uri,
                "S3BucketRegion": props.source.region,
                "S3BucketAccessRoleArn": props.source.access_role_arn,
            }
        },
    }
    if props.window.start:
        request["StartEventTime"] = props.window.start
    if props.window.end:
        request["EndEventTime"] = props.window.end
    try:
        return _start(ct, request)
    except ImportResourceError as error:
        denied = _SOURCE_DENIALS.get(error.code)
        if denied is None:
            raise
        raise ImportResourceError(f"{error} {denied(props)}", summary=str(error)) from error


def retry_import(ct: CloudTrailClient, import_id: str) -> str:
    """StartImport with ImportId: resume a FAILED or STOPPED import. Raises ``AccountBusy`` if another runs."""
    return _start(ct, {"ImportId": import_id})


def stop_import(ct: CloudTrailClient, import_id: str) -> None:
    """StopImport; an import that is gone or already over needs no stop."""
    try:
        ct.stop_import(ImportId=import_id)
    except ClientError as error:
        if error_code(error) != "ImportNotFoundException":
            raise _translate("StopImport", error) from error


def first_failures(ct: CloudTrailClient, import_id: str, limit: int) -> list[ImportFailure]:
    """The first ``limit`` FAILED entries of ListImportFailures."""
    failures: list[ImportFailure] = []
    token: str | None = None
    while len(failures) < limit:
        entries, token = _page(ct.list_import_failures, "ListImportFailures", "Failures", token,
                               ImportId=import_id, MaxResults=1000)
        failures += [ImportFailure(location=entry.get("Location", "?"), error_type=entry.get("ErrorType", "?"),
                                   message=entry.get("ErrorMessage", ""))
                     for entry in entries if entry.get("Status", "FAILED") == "FAILED"]
        if not token:
            break
    return failures[:limit]


def _start(ct: CloudTrailClient, request: dict[str, Any]) -> str:
    try:
        answer = ct.start_import(**request)
    except ClientError as error:
        if error_code(error) == "AccountHasOngoingImportException":
            raise AccountBusy(str(error)) from error
        raise _translate("StartImport", error) from error
    return answer["ImportId"]


def list_imports_page(ct: CloudTrailClient, destination: str, token: str | None, max_results: int,
                      status: str | None = None) -> tuple[list[Any], str | None]:
    """One page of ListImports of ``destination`` (in ``status``); raises ``InvalidToken`` when ``token`` is no
    longer valid."""
    try:
        return _page(ct.list_imports, "ListImports", "Imports", token, Destination=destination,
                     MaxResults=max_results, **({"ImportStatus": status} if status else {}))
    except ImportResourceError as error:
        if error.code == "InvalidNextTokenException":
            raise InvalidToken(str(error)) from error
        raise


def _page(call: Callable[..., Any], operation: str, key: str, token: str | None,
          **kwargs: Any) -> tuple[list[Any], str | None]:
    """One page of a paginated import API: its entries under ``key`` and the next page's token."""
    try:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
    except ClientError as error:
        raise _translate(operation, error) from error
    return list(page.get(key, [])), page.get("NextToken")


def _state(answer: Any) -> ImportState:
    s3 = answer.get("ImportSource", {}).get("S3", {})
    destinations = answer.get("Destinations") or [""]
    stats = answer.get("ImportStatistics", {})
    return ImportState(
        import_id=answer["ImportId"],
        status=answer.get("ImportStatus", "INITIALIZING"),
        destination=destinations[0],
        source_uri=s3.get("S3LocationUri", ""),
        source_region=s3.get("S3BucketRegion", ""),
        window=ImportWindow(start=answer.get("StartEventTime"), end=answer.get("EndEventTime")),
        updated=answer.get("UpdatedTimestamp"),
        statistics={name: int(stats.get(name, 0)) for name in STATISTICS},
        access_role_arn=s3.get("S3BucketAccessRoleArn", ""),
    )


def _translate(operation: str, error: ClientError) -> ImportResourceError:
    code = error_code(error)
    message = str(error.response.get("Error", {}).get("Message", "")).strip()
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    if status >= 500 or code in _TRANSIENT_CODES:
        return TransientError(f"{operation} failed with {code} after retries: {message}", code=code)
    hint = _START_ERROR_HINTS.get(code) if operation == "StartImport" else None
    if code == "AccessDeniedException" and operation != "StartImport":
        hint = f"the handler's role lacks cloudtrail:{operation}"
    text = f"{operation} failed with {code}: {message}" + (f" ({hint})." if hint else ".")
    return ImportResourceError(text, code=code)
