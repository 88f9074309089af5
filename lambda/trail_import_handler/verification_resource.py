"""The verification resource (``Custom::CloudTrailLakeArchiveVerification``): what Create, Update and Delete do,
and when the verification is done.

Create, and an Update (CloudFormation sends one only when a property changed: a new window, source or report),
start an execution of the ArchiveVerification state machine, named by the request so that a repeated request
starts nothing new, or accept a report that a finished execution wrote for the same source and window. The
execution's ARN, or the report's URI, is the physical id. The resource is complete when the execution ends; an
archive that is not intact fails it, naming its first problems. Delete stops an execution that still runs,
except one this resource stopped waiting for: the timeout's message tells the user to accept that run's report.

Its failures carry no short summary: the Provider framework and the registry type, its only callers, give the
whole reason (within 4 KB, ``REASON_BYTES``).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from . import clock
from .errors import ImportResourceError, shorten

RESOURCE_TYPE = "Custom::CloudTrailLakeArchiveVerification"
ATTRIBUTES = ("DigestsVerified", "LogFilesVerified", "EventsInWindow", "Problems", "ReportUri")
REASON_BYTES = 2500
"""Our part of the failure reason: what the Provider framework adds around it keeps the answer under 4 KB."""

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
STATE_MACHINE_ARN = r"^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}(?![\s\S])"
"""A state machine's ARN, as the registry type's schema writes it for VerifyWith."""
_STATE_MACHINE_ARN = re.compile(STATE_MACHINE_ARN)
_SOURCE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$")
_REPORT = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>verifications/[A-Za-z0-9_-]{1,80}/"
                     r"report\.json)$")
_FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
_START_HINTS = {
    "StateMachineDoesNotExist": ": no such state machine in this account and region; give the state machine of "
                                "an ArchiveVerification deployed here.",
    "AccessDeniedException": ": the caller may not start it. A VerifiedWindow's provider may start its own "
                             "ArchiveVerification's state machine; the registry type's execution role those that "
                             "ResourceTypeRegistration's verification_state_machine_names names.",
    "InvalidArn": ": give a state machine ARN such as "
                  "arn:aws:states:us-east-1:111122223333:stateMachine:CloudTrailLakeVerification-Example.",
}


@dataclass(frozen=True)
class VerificationProperties:
    """The resource's properties, as CloudFormation sends them (every value a string, lists of strings)."""

    state_machine_arn: str
    source: str
    start: str
    end: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    accept_report: str | None

    @classmethod
    def parse(cls, props: Any) -> VerificationProperties:
        """The properties; an error names the property that is wrong and the form expected."""
        if not isinstance(props, dict):
            raise ImportResourceError("ResourceProperties must be an object")
        machine = _required(props, "StateMachineArn", _STATE_MACHINE_ARN, "a state machine ARN")
        source = _required(props, "Source", _SOURCE, "s3://BUCKET[/PREFIX], the archive the state machine verifies")
        start = _required(props, "StartTime", _TIME, "a UTC time such as 2024-01-01T00:00:00Z")
        end = _required(props, "EndTime", _TIME, "a UTC time such as 2024-01-01T00:00:00Z")
        try:
            if _time(start) >= _time(end):
                raise ImportResourceError(f"StartTime ({start}) must be before EndTime ({end})")
        except ValueError:
            raise ImportResourceError(f"StartTime or EndTime is not a real time: {start}, {end}") from None
        report = props.get("AcceptReport") or None
        if report is not None and not _REPORT.fullmatch(str(report)):
            raise ImportResourceError(f"AcceptReport must be s3://REPORT_BUCKET/verifications/RUN/report.json, "
                                      f"the report of a finished verification; got {str(report)[:200]!r}")
        return cls(machine, source.rstrip("/"), start, end, _listed(props, "Accounts"), _listed(props, "Regions"),
                   str(report) if report else None)

    @property
    def request(self) -> dict[str, Any]:
        """The state machine's input."""
        return {"start": self.start, "end": self.end, "accounts": list(self.accounts), "regions": list(self.regions)}


@dataclass(frozen=True)
class Outcome:
    """Where a request stands: the physical id, and the attributes once it is done (none for a Delete)."""

    physical_id: str
    attributes: dict[str, str] | None = None


def begin(sfn: Any, s3: Any, request_type: str, props: Any, *, request_id: str, physical_id: str,
          wait: timedelta | None = None) -> Outcome:
    """Act on a request: start (or accept) the verification, or stop it."""
    if request_type == "Delete":
        _stop(sfn, physical_id, wait)
        return Outcome(physical_id)
    if request_type not in ("Create", "Update"):
        raise ImportResourceError(f"RequestType must be Create, Update or Delete; got {request_type!r}")
    properties = VerificationProperties.parse(props)
    if properties.accept_report:
        return Outcome(properties.accept_report, accepted(s3, properties))
    # StartExecution's name: 1-80 characters, and only these keep it usable in CloudWatch Logs (its API reference).
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"cfn-{request_id}")[:80]
    return Outcome(start(sfn, properties.state_machine_arn, name, properties.request))


def start(sfn: Any, machine: str, name: str, request: dict[str, Any]) -> str:
    """Start the execution ``name`` of ``machine`` with ``request``: its ARN. A request delivered again finds the
    execution its first delivery started, running or ended, rather than starting a second one."""
    try:
        return str(sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(request))["executionArn"])
    except ClientError as error:
        if _code(error) == "ExecutionAlreadyExists":
            # Step Functions answers so for a name that ran with other input, or ran and ended: ours if its input
            # is this request's.
            arn = execution_arn(machine, name)
            if _same_input(sfn, arn, request):
                return arn
        hint = _START_HINTS.get(_code(error), "")
        raise ImportResourceError(f"StartExecution of {machine} failed with {_code(error)}: {_message(error)}"
                                  f"{hint}") from None


def is_state_machine_arn(value: object) -> bool:
    """Whether ``value`` is a state machine's ARN."""
    return isinstance(value, str) and bool(_STATE_MACHINE_ARN.match(value))


def execution_arn(machine: str, name: str) -> str:
    """The ARN of the execution ``name`` of the state machine ``machine``."""
    return f"{machine.replace(':stateMachine:', ':execution:', 1)}:{name}"


def check(sfn: Any, physical_id: str, *, source: str | None = None) -> Outcome:
    """Whether the execution has ended; an archive that is not intact, a run that failed, or a run of another
    source than ``source`` (``s3://BUCKET[/PREFIX]``) raises."""
    if not physical_id.startswith("arn:"):
        return Outcome(physical_id, {})  # an accepted report: complete when begun
    try:
        answer = sfn.describe_execution(executionArn=physical_id)
    except ClientError as error:
        raise ImportResourceError(f"DescribeExecution of {physical_id} failed with {_code(error)}: "
                                  f"{_message(error)}") from None
    status = str(answer["status"])
    if status not in _FINISHED:
        return Outcome(physical_id)
    if status != "SUCCEEDED":
        raise ImportResourceError(f"The verification {physical_id} ended {status}: {_failure(answer)}")
    summary = json.loads(answer.get("output") or "{}")
    verified = str(summary.get("source") or "")  # the machine's source, stored without a trailing slash
    if source is not None and verified != source.rstrip("/"):
        raise ImportResourceError(
            f"The verification {physical_id} proved {verified or 'an unnamed source'}, not {source.rstrip('/')}: "
            "its state machine is another ArchiveVerification's. Give the state machine of an ArchiveVerification "
            "of this source.")
    return Outcome(physical_id, _attributes(summary))


def stop(sfn: Any, physical_id: str) -> None:
    """Stop the execution ``physical_id`` if it still runs."""
    _stop(sfn, physical_id, None)


def accepted(s3: Any, properties: VerificationProperties) -> dict[str, str]:
    """The attributes of a finished report, once it is shown to be this source's and this window's."""
    assert properties.accept_report is not None
    where = _REPORT.fullmatch(properties.accept_report)
    assert where is not None
    try:
        data = json.loads(s3.get_object(Bucket=where["bucket"], Key=where["key"])["Body"].read())
    except ClientError as error:
        raise ImportResourceError(f"AcceptReport {properties.accept_report} cannot be read: {_code(error)}: "
                                  f"{_message(error).rstrip('.')}. Give the report of a finished verification.") \
            from None
    report = data.get("report") or {}
    theirs = (report.get("source"), data.get("request"))
    ours = (properties.source, properties.request)
    if theirs != ours:
        raise ImportResourceError(
            f"AcceptReport {properties.accept_report} is the report of {theirs[0]} for {_window(theirs[1])}, not "
            f"of {ours[0]} for {_window(ours[1])}: a report proves only its own source and window. Verify this "
            "window, or give its report.")
    summary = {"intact": not report.get("problems"), "source": properties.source,
               "digestsVerified": report["digests"]["valid"], "logFilesVerified": report["logFiles"]["valid"],
               "eventsInWindow": report.get("eventsInWindow"),
               "problems": len(report.get("problems") or []), "reportUri": properties.accept_report,
               "firstProblems": [f"{p['key'] or p['account'] + ' ' + p['region']}: {p['message']}"
                                 for p in report.get("problems") or []]}
    return _attributes(summary)


def timed_out(physical_id: str, waited: str) -> ImportResourceError:
    """What to do when the deploy stopped waiting for a verification that goes on."""
    run = physical_id.rsplit(":", 1)[-1]
    return ImportResourceError(  # only the Provider framework's entry raises it, which gives the reason alone
        f"The verification {physical_id} still runs after {waited}; it goes on. When it has SUCCEEDED, set "
        f"AcceptReport to its report (s3://REPORT_BUCKET/verifications/{run}/report.json, in ArchiveVerification's "
        "report bucket) and deploy again, or use the registry type, whose create waits up to 36 hours.")


def _attributes(summary: dict[str, Any]) -> dict[str, str]:
    # The summary is the state machine's output (archive_verification.summarize) or an accepted report's, built
    # alike; a run of another source never gets here (check).
    if not summary.get("intact"):
        head = (f"The archive {summary['source']} is not intact: {summary['problems']} problem(s) in "
                f"{summary['reportUri']}. It is not imported. First:")
        lines, used = [], len(head.encode())
        for line in summary.get("firstProblems") or []:
            text = shorten(str(line), 400)
            if used + len(text.encode()) + 3 > REASON_BYTES:
                break
            lines.append(f"- {text}")
            used += len(text.encode()) + 3
        raise ImportResourceError("\n".join([head, *lines]), unsettled=True)
    return {"DigestsVerified": str(summary["digestsVerified"]), "LogFilesVerified": str(summary["logFilesVerified"]),
            "EventsInWindow": str(summary.get("eventsInWindow") or 0), "Problems": "0",
            "ReportUri": str(summary["reportUri"])}


def _stop(sfn: Any, physical_id: str, wait: timedelta | None) -> None:
    if not physical_id.startswith("arn:") or ":execution:" not in physical_id:
        return
    try:
        answer = sfn.describe_execution(executionArn=physical_id)
    except ClientError as error:
        if _code(error) == "ExecutionDoesNotExist":
            return
        raise ImportResourceError(f"DescribeExecution of {physical_id} failed with {_code(error)}: "
                                  f"{_message(error)}") from None
    if answer["status"] != "RUNNING":
        return
    started: datetime = answer["startDate"]
    if wait is not None and clock.now() - started >= wait:
        return  # handed to the user by the timeout's message: its report may still be accepted
    sfn.stop_execution(executionArn=physical_id, error="StackDeleted",
                       cause="The resource that started this verification was deleted.")


def _same_input(sfn: Any, arn: str, request: dict[str, Any]) -> bool:
    try:
        answer = sfn.describe_execution(executionArn=arn)
    except ClientError:
        return False
    try:
        return bool(json.loads(answer.get("input") or "null") == request)
    except ValueError:
        return False


def _failure(answer: dict[str, Any]) -> str:
    error, cause = str(answer.get("error") or "no error given"), str(answer.get("cause") or "")
    with contextlib.suppress(ValueError, AttributeError):  # a Lambda error's cause is its JSON answer
        cause = str(json.loads(cause).get("errorMessage", cause))
    return shorten(f"{error}: {cause}" if cause else error, REASON_BYTES - 200)


def _required(props: dict[str, Any], name: str, pattern: re.Pattern[str], form: str) -> str:
    value = props.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ImportResourceError(f"{name} must be {form}; got {str(value)[:200]!r}")
    return value


def _listed(props: dict[str, Any], name: str) -> tuple[str, ...]:
    value = props.get(name) or []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImportResourceError(f"{name} must be a list of strings; got {value!r}")
    return tuple(v.strip() for v in value)


def _window(request: Any) -> str:
    if not isinstance(request, dict):
        return "an unknown window"
    chosen = "".join(f", {k} {', '.join(request[k])}" for k in ("accounts", "regions") if request.get(k))
    return f"{request.get('start')} to {request.get('end')}{chosen}"


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")).strip()
