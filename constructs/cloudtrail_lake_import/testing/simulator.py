"""A stateful simulator of the CloudTrail Lake import service.

Imports move INITIALIZING -> IN_PROGRESS -> COMPLETED or FAILED over a clock
the caller controls; their statistics grow with it; failures are scripted per
import; StopImport moves a running import to STOPPED; one import runs at a
time per account and region. It answers real boto3 clients over botocore's
``before-send`` hook (see ``_wire``), so botocore validates every request
against the real service model and parses every answer, errors included.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .iam_world import IamWorld
from .import_access import check_import_access
from .service_error import ServiceError

RUNNING = ("INITIALIZING", "IN_PROGRESS")


@dataclass(frozen=True)
class ScriptedFailure:
    """One entry ListImportFailures will report."""

    location: str
    error_type: str = "FileParseError"
    message: str = "The file is not a valid CloudTrail log file."


@dataclass(frozen=True)
class ImportPlan:
    """How one run of an import goes: how long it takes, what it finds, what fails."""

    duration: timedelta = timedelta(minutes=10)
    initializing: timedelta = timedelta(minutes=1)
    prefixes: int = 12
    files: int = 240
    events: int = 48_000
    failures: tuple[ScriptedFailure, ...] = ()
    retry: ImportPlan | None = None

    def retried(self) -> ImportPlan:
        """The plan of the run a retry starts: ``retry`` if scripted, else a clean run."""
        return self.retry if self.retry is not None else replace(self, failures=())


def failures(count: int, *, bucket: str = "trail-logs", message_size: int = 60) -> tuple[ScriptedFailure, ...]:
    """``count`` distinct failures on realistic trail log keys."""
    return tuple(
        ScriptedFailure(
            location=f"s3://{bucket}/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/{i % 28 + 1:02d}/"
            f"111122223333_CloudTrail_us-east-1_20240101T{i % 24:02d}00Z_{i:016d}.json.gz",
            message=("Unexpected token in JSON record. " * (message_size // 30 + 1))[:message_size],
        )
        for i in range(count)
    )


@dataclass
class SimulatedImport:
    """One import as the service keeps it."""

    import_id: str
    destinations: list[str]
    source: dict[str, str]
    start_event_time: datetime | None
    end_event_time: datetime | None
    created: datetime
    plan: ImportPlan
    run_started: datetime
    stop_requested: datetime | None = None
    stop_seconds: float = 10.0
    extra_updates: list[datetime] = field(default_factory=list)
    resumed_from: float = 0.0
    """The share of the source a STOPPED run had copied when a retry resumed it."""

    def status(self, now: datetime) -> str:
        if self.stop_requested is not None and now >= self._stopped_at():
            return "STOPPED"
        elapsed = now - self.run_started
        if elapsed < self.plan.initializing:
            return "INITIALIZING"
        if elapsed < self._run_length():
            return "IN_PROGRESS"
        return "FAILED" if self.plan.failures else "COMPLETED"

    def updated(self, now: datetime) -> datetime:
        """When the status last changed, as UpdatedTimestamp reports it."""
        marks = [self.created, self.run_started, self.run_started + self.plan.initializing,
                 self.run_started + self._run_length(), *self.extra_updates]
        if self.stop_requested is not None:
            # A stopped run changes no more: the marks its plan had after the stop never happen.
            marks = [m for m in marks if m <= self._stopped_at()] + [self._stopped_at()]
        return max(m for m in marks if m <= now)

    def fraction(self, now: datetime) -> float:
        until = min(now, self._stopped_at()) if self.stop_requested is not None else now
        running = self._run_length() - self.plan.initializing
        done = (until - self.run_started - self.plan.initializing) / running if running else 1.0
        this_run = max(0.0, min(1.0, done))
        return self.resumed_from + (1.0 - self.resumed_from) * this_run

    def statistics(self, now: datetime) -> dict[str, int]:
        f = self.fraction(now)
        found = self.plan.prefixes if self.status(now) != "INITIALIZING" else 0
        return {
            "PrefixesFound": found,
            "PrefixesCompleted": int(self.plan.prefixes * f),
            "FilesCompleted": int(self.plan.files * f),
            "EventsCompleted": int(self.plan.events * f),
            "FailedEntries": int(len(self.plan.failures) * f),
        }

    def visible_failures(self, now: datetime) -> tuple[ScriptedFailure, ...]:
        return self.plan.failures[: self.statistics(now)["FailedEntries"]]

    def _run_length(self) -> timedelta:
        """How long this run takes: a resumed run copies only what the stopped one left."""
        return self.plan.initializing + (self.plan.duration - self.plan.initializing) * (1.0 - self.resumed_from)

    def _stopped_at(self) -> datetime:
        assert self.stop_requested is not None
        return self.stop_requested + timedelta(seconds=self.stop_seconds)


@dataclass
class EventDataStore:
    """One event data store, as GetEventDataStore describes it."""

    arn: str
    status: str = "ENABLED"
    retention_days: int = 2557
    organization: bool = False
    categories: tuple[str, ...] = ("Management",)
    created: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def describe(self) -> dict[str, Any]:
        selectors = [{"Name": "events", "FieldSelectors": [{"Field": "eventCategory",
                                                            "Equals": list(self.categories)}]}]
        return {
            "EventDataStoreArn": self.arn, "Name": self.arn.rsplit("/", 1)[-1], "Status": self.status,
            "AdvancedEventSelectors": selectors, "MultiRegionEnabled": True,
            "OrganizationEnabled": self.organization, "RetentionPeriod": self.retention_days,
            "TerminationProtectionEnabled": True, "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.created, "BillingMode": "FIXED_RETENTION_PRICING",
        }


@dataclass
class Fault:
    """An error the next matching request gets; ``applied`` means the request took effect first."""

    code: str
    status: int
    message: str
    applied: bool


@dataclass(frozen=True)
class Request:
    """One request as the service saw it, and how it was answered."""

    operation: str
    params: dict[str, Any]
    error: str | None


class CloudTrailImportSimulator:
    """The import APIs of one account and region, over a controllable clock."""

    def __init__(self, *, account: str = "111122223333", region: str = "us-east-1",
                 start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) -> None:
        self.account = account
        self.region = region
        self.now = start
        self.imports: dict[str, SimulatedImport] = {}
        self.event_data_stores: dict[str, EventDataStore] = {}
        self.requests: list[Request] = []
        self.default_plan = ImportPlan()
        self.stop_seconds = 10.0
        self.page_size = {"ListImports": 20, "ListImportFailures": 50}
        self.rejected_sources: dict[str, str] = {}
        self.iam: IamWorld | None = None
        """When set, StartImport checks IAM as CloudTrail does (see ``import_access``)."""
        self._caller: str | None = None
        self._plans: deque[ImportPlan] = deque()
        self._faults: dict[str, deque[Fault]] = {}
        self._ids = (uuid.UUID(int=n) for n in itertools.count(0xA000_0000_0000_0000_0000_0000_0000_0001))

    # --- scripting -------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)

    def add_event_data_store(self, name: str = "trail-archive", **details: Any) -> str:
        """Register an event data store (``details``: see ``EventDataStore``) and return its ARN."""
        arn = name if name.startswith("arn:") else \
            f"arn:aws:cloudtrail:{self.region}:{self.account}:eventdatastore/{name}"
        self.event_data_stores[arn] = EventDataStore(arn, **details)
        return arn

    def plan_next_import(self, plan: ImportPlan) -> None:
        """The next import started (not retried) runs by ``plan``; otherwise ``default_plan``."""
        self._plans.append(plan)

    def inject_fault(self, operation: str, code: str = "ThrottlingException", *, status: int = 400,
                     times: int = 1, message: str = "Rate exceeded", applied: bool = False) -> None:
        """The next ``times`` requests of ``operation`` fail with ``code``."""
        queue = self._faults.setdefault(operation, deque())
        queue.extend(Fault(code, status, message, applied) for _ in range(times))

    def reject_source(self, uri: str, message: str) -> None:
        """StartImport from ``uri`` answers InvalidImportSourceException with ``message``."""
        self.rejected_sources[uri] = message

    def stop_from_outside(self, import_id: str) -> None:
        """Someone else calls StopImport on ``import_id``."""
        self._stop(self.imports[import_id])

    def status_of(self, import_id: str) -> str:
        return self.imports[import_id].status(self.now)

    def running(self) -> list[str]:
        """Ids of the imports running now."""
        return [i for i, imp in self.imports.items() if imp.status(self.now) in RUNNING]

    def calls(self, operation: str) -> list[Request]:
        """Requests of ``operation`` that the service answered without an error."""
        return [r for r in self.requests if r.operation == operation and r.error is None]

    def copied_events(self, destination: str) -> int:
        """Events the imports into ``destination`` copied, counted once per copy: a duplicate import counts again."""
        return sum(imp.statistics(self.now)["EventsCompleted"] for imp in self.imports.values()
                   if destination in imp.destinations)

    def finish_all(self) -> None:
        """Advance the clock until no import runs."""
        while self.running():
            self.advance(60)

    # --- the API ----------------------------------------------------------------------
    def handle(self, operation: str, params: dict[str, Any], caller: str | None = None) -> dict[str, Any]:
        """Answer one request of ``caller`` (a role ARN) or raise ``ServiceError``; records it either way."""
        queue = self._faults.get(operation)
        fault = queue.popleft() if queue else None
        try:
            if fault is not None and not fault.applied:
                raise ServiceError(fault.code, fault.message, fault.status)
            method = getattr(self, "_op_" + operation, None)
            if method is None:
                raise ServiceError("UnsupportedOperationException", f"{operation} is not simulated.")
            self._caller = caller
            answer: dict[str, Any] = method(params)
            if fault is not None:
                raise ServiceError(fault.code, fault.message, fault.status)
        except ServiceError as error:
            self.requests.append(Request(operation, params, error.code))
            raise
        self.requests.append(Request(operation, params, None))
        return answer

    def _op_StartImport(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("ImportId"):
            imp = self._find(params["ImportId"])
            if imp.status(self.now) not in ("FAILED", "STOPPED"):
                raise ServiceError("InvalidParameterException", "Only an import that FAILED or was STOPPED can be "
                                                                 "retried.")
            self._one_at_a_time()
            if imp.status(self.now) == "STOPPED":
                # A retry resumes where the copy ended: what the stopped run copied is not copied again.
                imp.resumed_from = imp.fraction(self.now)
            else:
                imp.plan, imp.resumed_from = imp.plan.retried(), 0.0
            imp.run_started, imp.stop_requested = self.now, None
            return self._describe(imp, statistics=False)
        destinations, source = params.get("Destinations"), params.get("ImportSource")
        if not destinations or not source:
            raise ServiceError("InvalidParameterException", "Destinations and ImportSource are required.")
        arn = destinations[0]
        if not arn.startswith("arn:") or ":eventdatastore/" not in arn:
            raise ServiceError("EventDataStoreARNInvalidException", "The specified event data store ARN is not valid.")
        if arn not in self.event_data_stores:
            raise ServiceError("EventDataStoreNotFoundException", f"The event data store {arn} was not found.")
        store = self.event_data_stores[arn]
        if store.status in ("CREATED", "PENDING_DELETION"):
            raise ServiceError("InvalidEventDataStoreStatusException",
                               "The event data store is not in a status that supports the operation.")
        if not set(store.categories) & {"Management", "Data", "NetworkActivity"}:
            raise ServiceError("InvalidEventDataStoreCategoryException",
                               "This exception is thrown when event categories of specified event data stores are "
                               "not valid.")
        s3 = source["S3"]
        if not s3["S3LocationUri"].startswith("s3://"):
            raise ServiceError("InvalidImportSourceException", "The S3 location URI is not valid.")
        if s3["S3LocationUri"] in self.rejected_sources:
            raise ServiceError("InvalidImportSourceException", self.rejected_sources[s3["S3LocationUri"]])
        start, end = params.get("StartEventTime"), params.get("EndEventTime")
        if start and end and start >= end:
            raise ServiceError("InvalidParameterException", "StartEventTime must be before EndEventTime.")
        if self.iam is not None:
            check_import_access(self.iam, caller=self._caller, destination=arn, source=s3, start=start,
                                account=self.account, region=self.region)
        self._one_at_a_time()
        imp = SimulatedImport(
            import_id=str(next(self._ids)), destinations=list(destinations), source=dict(s3),
            start_event_time=start, end_event_time=end, created=self.now,
            plan=self._plans.popleft() if self._plans else self.default_plan,
            run_started=self.now, stop_seconds=self.stop_seconds,
        )
        self.imports[imp.import_id] = imp
        return self._describe(imp, statistics=False)

    def _op_GetEventDataStore(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = params["EventDataStore"]
        for arn, store in self.event_data_stores.items():
            if wanted in (arn, arn.rsplit("/", 1)[-1]):
                return store.describe()
        raise ServiceError("EventDataStoreNotFoundException", f"The event data store {wanted} was not found.")

    def _op_GetImport(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self._find(params["ImportId"]), statistics=True)

    def _op_StopImport(self, params: dict[str, Any]) -> dict[str, Any]:
        imp = self._find(params["ImportId"])
        if imp.status(self.now) in RUNNING and imp.stop_requested is None:
            self._stop(imp)
        return self._describe(imp, statistics=True)

    def _op_ListImports(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            {"ImportId": imp.import_id, "ImportStatus": imp.status(self.now), "Destinations": imp.destinations,
             "CreatedTimestamp": imp.created, "UpdatedTimestamp": imp.updated(self.now)}
            for imp in self.imports.values()
            if params.get("Destination") in (None, *imp.destinations)
            and params.get("ImportStatus") in (None, imp.status(self.now))
        ]
        page, token = self._page("ListImports", items, params)
        return {"Imports": page, **token}

    def _op_ListImportFailures(self, params: dict[str, Any]) -> dict[str, Any]:
        imp = self._find(params["ImportId"])
        items = [
            {"Location": f.location, "Status": "FAILED", "ErrorType": f.error_type, "ErrorMessage": f.message,
             "LastUpdatedTime": imp.updated(self.now)}
            for f in imp.visible_failures(self.now)
        ]
        page, token = self._page("ListImportFailures", items, params)
        return {"Failures": page, **token}

    # --- helpers ----------------------------------------------------------------------
    def _find(self, import_id: str) -> SimulatedImport:
        if import_id not in self.imports:
            raise ServiceError("ImportNotFoundException", f"The import {import_id} was not found.")
        return self.imports[import_id]

    def _one_at_a_time(self) -> None:
        if self.running():
            raise ServiceError("AccountHasOngoingImportException",
                               "This account has an import in progress. Wait for it to finish.")

    def _stop(self, imp: SimulatedImport) -> None:
        imp.stop_requested = self.now
        imp.extra_updates.append(self.now)

    def _describe(self, imp: SimulatedImport, *, statistics: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ImportId": imp.import_id, "Destinations": imp.destinations, "ImportSource": {"S3": imp.source},
            "ImportStatus": imp.status(self.now), "CreatedTimestamp": imp.created,
            "UpdatedTimestamp": imp.updated(self.now),
        }
        if imp.start_event_time:
            answer["StartEventTime"] = imp.start_event_time
        if imp.end_event_time:
            answer["EndEventTime"] = imp.end_event_time
        if statistics:
            answer["ImportStatistics"] = imp.statistics(self.now)
        return answer

    def _page(self, operation: str, items: list[dict[str, Any]],
              params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        size = min(int(params.get("MaxResults") or self.page_size[operation]), self.page_size[operation])
        token = params.get("NextToken")
        start = 0
        if token:
            prefix = f"{operation}:"
            if not token.startswith(prefix) or not token[len(prefix):].isdigit():
                raise ServiceError("InvalidNextTokenException", "The NextToken is not valid.")
            start = int(token[len(prefix):])
        end = start + size
        return items[start:end], ({"NextToken": f"{operation}:{end}"} if end < len(items) else {})
